"""digit-export's int8 limits (export/quantize.py): a model.int8.onnx larger than MAX_SIZE_FRACTION of
model.onnx, or more than MAX_ACCURACY_DROP less accurate on MNIST test, stops the export with one
line naming the measured value and the limit, and nothing is written."""

import pytest
import torch

from lstm_digits.export.quantize import MAX_ACCURACY_DROP, MAX_SIZE_FRACTION, Int8LimitError, require_limits
from lstm_digits.training.checkpoint import save_checkpoint, versions
from lstm_digits.training.model import DigitRNN, ModelConfig
from lstm_digits.training.recipes import DEFAULT

from export_cli import run_export_cli


def test_each_limit_is_reported_with_the_measured_value_and_the_limit(tmp_path):
    model, int8 = tmp_path / "model.onnx", tmp_path / "model.int8.onnx"
    model.write_bytes(bytes(100_000))
    int8.write_bytes(bytes(round(100_000 * MAX_SIZE_FRACTION)))
    require_limits(model, int8, 0.9900, 0.9900 - MAX_ACCURACY_DROP / 2)  # within both: no error
    int8.write_bytes(bytes(round(100_000 * MAX_SIZE_FRACTION) + 100))
    with pytest.raises(Int8LimitError) as error:
        require_limits(model, int8, 0.99, 0.99)
    assert str(error.value) == (f"model.int8.onnx is {100 * MAX_SIZE_FRACTION + 0.1:.1f}% of model.onnx's size; "
                                f"the limit is {MAX_SIZE_FRACTION:.1%}")
    int8.write_bytes(bytes(1000))
    with pytest.raises(Int8LimitError) as error:
        require_limits(model, int8, 0.9900, 0.9900 - 2 * MAX_ACCURACY_DROP)
    assert str(error.value) == (f"model.int8.onnx scores {0.99 - 2 * MAX_ACCURACY_DROP:.2%} on MNIST test, "
                                f"{200 * MAX_ACCURACY_DROP:.2f} points below model.onnx's 99.00%; "
                                f"the limit is {100 * MAX_ACCURACY_DROP:.2f} points")


def test_digit_export_stops_at_a_broken_limit_and_writes_nothing(data_dir, tmp_path):
    # A GRU: onnxruntime's dynamic quantization has no int8 GRU, so model.int8.onnx keeps float weights.
    config = ModelConfig("gru", 1, 8, False)
    torch.manual_seed(0)
    checkpoint = tmp_path / "gru.pt"
    save_checkpoint(checkpoint, {"model_config": config.to_dict(), "recipe": DEFAULT.to_dict(), "metrics": [],
                                 "state_dict": DigitRNN(config).state_dict(), "versions": versions(), "seed": 0,
                                 "complete": True})
    result = run_export_cli(checkpoint, "--output-dir", tmp_path / "out", "--data-dir", data_dir)
    assert result.returncode == 1 and "Traceback" not in result.stderr, result.stderr
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith(f"Error: {checkpoint}: model.int8.onnx is ") and line.endswith(
        f"% of model.onnx's size; the limit is {MAX_SIZE_FRACTION:.1%} (--no-int8-limits exports it anyway)"), line
    assert sorted(path.name for path in tmp_path.iterdir()) == ["gru.pt"], "no folder, staged or final, is left"
