"""The shipped default model (installed as package data): models/default/, as written by
`digit-export`, with its model card, parity report and test data. Rebuild it with `make model`."""

from pathlib import Path

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_MODEL = DEFAULT_DIR / "model.onnx"
DEFAULT_INT8_MODEL = DEFAULT_DIR / "model.int8.onnx"  # the same, with int8 weights
