"""model.onnx -> model.int8.onnx: dynamic int8 quantization of the weights (onnxruntime.quantization),
keeping the metadata that the runtime reads. Needs onnx and onnxruntime only."""

import logging
import tempfile
from pathlib import Path

import onnx
from onnxruntime.quantization import QuantType, quantize_dynamic

from .onnx_files import save_onnx

# What model.int8.onnx must keep of model.onnx (the shipped model's tests and the benchmarks' goals).
MAX_SIZE_FRACTION = 0.35  # of model.onnx's size
MAX_ACCURACY_DROP = 0.003  # MNIST test accuracy, as a fraction: 0.3 percentage points


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
