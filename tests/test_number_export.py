"""digit-export on a number reader's checkpoint: number.onnx, raw pixels to number, checked as the digit files are."""

import json
import warnings
import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import numpy_helper
from onnx.reference import ReferenceEvaluator

from lstm_digits.export.number_paper import strip_on_paper
from lstm_digits.models import CARD, NUMBER, NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES, PARITY, TEST_DATA
from lstm_digits.training.checkpoint import load_model

pytest_plugins = ["number_checkpoint"]  # the fixtures number_trained and number_exported


@pytest.fixture(scope="module")
def number_export_result(number_trained, number_exported):
    """(folder, report, checkpoint)."""
    return *number_exported, number_trained[0]


@pytest.fixture(scope="module")
def session(number_export_result):
    return onnxruntime.InferenceSession(str(number_export_result[0] / NUMBER), providers=["CPUExecutionProvider"])


def run(session, pixels) -> dict:
    return dict(zip(NUMBER_OUTPUT_NAMES, session.run(None, {NUMBER_INPUT_NAME: pixels})))


def test_the_export_writes_a_checked_file_with_its_rule_in_the_metadata(number_export_result):
    folder, report, _ = number_export_result
    assert sorted(p.name for p in folder.iterdir()) == sorted([NUMBER, PARITY, CARD, TEST_DATA])
    model = onnx.load(str(folder / NUMBER))
    onnx.checker.check_model(model, full_check=True)
    assert {o.domain for o in model.opset_import} == {""}  # standard operators only
    props = {p.key: json.loads(p.value) for p in model.metadata_props if p.key in ("rejection", "outputs", "model_config")}
    assert props["rejection"]["min_probability"] == report["min_probability"]
    assert props["outputs"]["order"] == list(NUMBER_OUTPUT_NAMES) and props["model_config"]["conv"] is True
    assert report["reader_max_abs_log_prob_diff"] <= report["tolerance"]
    assert json.loads((folder / PARITY).read_text())["min_probability"] == report["min_probability"]
    # The figures per length, for digits in the generator's styles and as MNIST wrote them, in the card.
    for figures in (report["test_per_length"], report["test_per_length_as_written"]):
        assert sorted(figures) == list(range(1, 11)) and all(0 <= f["right_without_rejection"] <= 1 for f in figures.values())
    card = (folder / CARD).read_text()
    five, as_written = report["test_per_length"][5], report["test_per_length_as_written"][5]
    assert f"| 5 | {five['right_without_rejection']:.1%} |" in card and f"| {as_written['right_without_rejection']:.1%} |" in card


def test_the_file_reads_its_strip_as_pytorch_does(number_export_result, session, mnist):
    """Through the joined file, the reader's scores on the strip it made are PyTorch's on that strip."""
    folder, report, checkpoint = number_export_result
    model, _ = load_model(checkpoint, task="number")
    digits = (mnist.test.images[:3].float() / 255).numpy()
    pixels = strip_on_paper(np.concatenate([np.pad(d, ((0, 0), (2, 2))) for d in digits], axis=1))
    out = run(session, pixels)
    with torch.no_grad():
        expected = model(torch.from_numpy(out["strip"])[None])[0].numpy()
    assert np.abs(out["log_probs"] - expected).max() <= report["tolerance"]
    assert out["strip"].shape[0] == 28 and not out["no_number"]


def test_test_data_reproduces_and_boxes_lie_within_the_written_number(number_export_result, session):
    folder = number_export_result[0]
    arrays = [numpy_helper.to_array(onnx.load_tensor(str(folder / TEST_DATA / name)))
              for name in ["input_0.pb", *(f"output_{i}.pb" for i in range(len(NUMBER_OUTPUT_NAMES)))]]
    out = run(session, arrays[0])
    for name, expected in zip(NUMBER_OUTPUT_NAMES, arrays[1:]):
        np.testing.assert_allclose(out[name], expected, atol=1e-5, err_msg=name)
    # The paper's ink (strip_on_paper leaves a 20 px margin of paper) holds every box.
    ink = np.argwhere(arrays[0][:, :, 0] < 200)
    for x0, y0, x1, y1 in out["boxes"]:
        assert ink[:, 1].min() - 1 <= x0 < x1 <= ink[:, 1].max() + 2 and ink[:, 0].min() - 1 <= y0 < y1 <= ink[:, 0].max() + 2


@pytest.mark.parametrize("shape, value", [((0, 0, 4), 0), ((1, 1, 4), 255), ((60, 200, 4), 255), ((40, 50, 4), 0)])
def test_nothing_written_is_rejected_as_an_output_not_an_error(session, shape, value):
    out = run(session, np.full(shape, value, np.uint8))
    assert out["no_number"] and out["rejected"]


def test_reference_evaluator_runs_it(number_export_result, session, mnist):
    """onnx's reference evaluator, which knows only the standard: the same reading (a small image; it is slow)."""
    digits = (mnist.test.images[:2].float() / 255).numpy()
    pixels = strip_on_paper(np.concatenate(list(digits), axis=1), scale=1)
    expected = run(session, pixels)
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "(invalid value|divide by zero) encountered in divide", RuntimeWarning)
        got = dict(zip(NUMBER_OUTPUT_NAMES, ReferenceEvaluator(str(number_export_result[0] / NUMBER)).run(None, {NUMBER_INPUT_NAME: pixels})))
    assert np.abs(got["strip"] - expected["strip"]).max() < 1e-5
    assert np.abs(got["log_probs"] - expected["log_probs"]).max() < 1e-4
    assert got["digits"].tolist() == expected["digits"].tolist() and got["boxes"].tolist() == expected["boxes"].tolist()
    assert bool(got["rejected"]) == bool(expected["rejected"])


def test_the_threshold_is_chosen_on_the_validation_numbers_training_scores(mnist):
    """The same numbers, digits as written: training's score and the export's rule see one set."""
    import torch

    from lstm_digits.export.export_number import calibration_numbers_of
    from lstm_digits.training.tasks import EVAL_NUMBERS, NumberTask

    scored = NumberTask().numbers_from(mnist.val)
    calibrated = calibration_numbers_of(mnist.val, EVAL_NUMBERS)
    assert torch.equal(calibrated.strips, scored.strips)
    assert [calibrated.text(i) for i in range(len(calibrated))] == [scored.text(i) for i in range(len(scored))]


def test_the_same_checkpoint_exported_twice_gives_the_same_bytes_in_every_file(number_export_result, data_dir, tmp_path):
    """Another process exports the same checkpoint into a folder of another name: every file the
    export writes (number.onnx, its card, parity report and test data) has the same bytes."""
    import subprocess
    import sys

    from number_checkpoint import EXPORT_SETTINGS

    first, _, checkpoint = number_export_result
    again = tmp_path / "elsewhere"
    subprocess.run([sys.executable, "-c", "import json, sys; from lstm_digits.export.export_number import export_number; "
                    "export_number(sys.argv[1], sys.argv[2], sys.argv[3], log=lambda text: None, **json.loads(sys.argv[4]))",
                    checkpoint, again, data_dir, json.dumps(EXPORT_SETTINGS)], check=True, timeout=600)
    written = sorted(str(path.relative_to(first)) for path in first.rglob("*") if path.is_file())
    assert NUMBER in written and len(written) > 3
    assert sorted(str(path.relative_to(again)) for path in again.rglob("*") if path.is_file()) == written
    assert [name for name in written if (first / name).read_bytes() != (again / name).read_bytes()] == []
