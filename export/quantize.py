"""model.onnx -> model.int8.onnx: dynamic int8 quantization of the weights (onnxruntime.quantization),
keeping the metadata that the runtime reads. Needs onnx and onnxruntime only."""

import logging
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from . import ExportError
from .onnx_files import save_onnx

# What model.int8.onnx must keep of model.onnx: digit-export checks them (require_limits), as do the
# shipped model's tests and the benchmarks' goals.
MAX_SIZE_FRACTION = 0.35  # of model.onnx's size
MAX_ACCURACY_DROP = 0.003  # MNIST test accuracy, as a fraction: 0.3 percentage points


class Int8LimitError(ExportError):
    """model.int8.onnx is larger, or less accurate, than MAX_SIZE_FRACTION and MAX_ACCURACY_DROP allow.
    onnxruntime's dynamic quantization has int8 kernels for LSTM and MatMul but not for GRU or a
    plain RNN, whose weights stay float (the int8 file is as large as model.onnx); and a very small
    model's file is mostly metadata, which quantization does not shrink."""


def require_limits(model: Path, int8: Path, accuracy: float, int8_accuracy: float) -> None:
    """Raises Int8LimitError, in one line with the measured value and the limit, if int8 breaks one."""
    model, int8 = Path(model), Path(int8)
    fraction = int8.stat().st_size / model.stat().st_size
    if fraction > MAX_SIZE_FRACTION:
        raise Int8LimitError(f"{int8.name} is {fraction:.1%} of {model.name}'s size; the limit is {MAX_SIZE_FRACTION:.1%}")
    drop = accuracy - int8_accuracy
    if drop > MAX_ACCURACY_DROP:
        raise Int8LimitError(f"{int8.name} scores {int8_accuracy:.2%} on MNIST test, {100 * drop:.2f} points below "
                             f"{model.name}'s {accuracy:.2%}; the limit is {100 * MAX_ACCURACY_DROP:.2f} points")


def quantize(source: Path, target: Path) -> Path:
    source, target = Path(source), Path(target)
    with tempfile.TemporaryDirectory() as folder:
        staged = Path(folder) / target.name
        previous_level = logging.getLogger().level
        logging.getLogger().setLevel(logging.ERROR)  # it suggests "pre-processing" on every call
        try:
            quantize_dynamic(source, staged, weight_type=QuantType.QInt8)
        finally:
            logging.getLogger().setLevel(previous_level)
        quantized = onnx.load(str(staged))
    original = onnx.load(str(source))
    del quantized.metadata_props[:]
    quantized.metadata_props.extend(original.metadata_props)
    quantized.metadata_props.add(key="quantization", value='{"method": "onnxruntime dynamic", "weights": "int8"}')
    quantized.doc_string = original.doc_string
    save_onnx(quantized, target)
    return target
