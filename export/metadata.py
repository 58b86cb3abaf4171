"""The ONNX file's metadata_props: the input contract and where the model came from.

build() gives the values; export_onnx writes each as a JSON string (ONNX metadata values are strings).
The runtime reads `input`, `labels` and `preprocessing`; nothing in it is copied by hand from the
training code.
"""

import hashlib
from pathlib import Path

import onnx
import onnxscript
import torch

from .. import __version__
from ..training import contract
from ..models import INPUT_NAME, OPSET, OUTPUT_NAMES

METADATA_VERSION = "1"


def sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def input_contract() -> dict:
    return {
        "name": INPUT_NAME,
        "shape": ["batch", contract.IMAGE_SIZE, contract.IMAGE_SIZE],
        "dtype": "float32",
        "range": list(contract.PIXEL_RANGE),
        "layout": "rows are time steps: image[n, row, column]",
        "polarity": contract.POLARITY,
        "normalisation": f"inside the graph: (x - {contract.MNIST_MEAN}) / {contract.MNIST_STD}",
    }


def preprocessing() -> dict:
    return {
        "canvas": contract.IMAGE_SIZE,
        "digit_box": contract.DIGIT_BOX,
        "placement": contract.PLACEMENT,
        "polarity": contract.POLARITY,
        "description": (
            "MNIST form: bright ink on a black background, the digit's bounding box scaled so its "
            f"longest side is {contract.DIGIT_BOX} px (aspect kept, anti-aliased), then placed in a "
            f"{contract.IMAGE_SIZE}x{contract.IMAGE_SIZE} canvas with its centre of mass at the centre"
        ),
    }


def recorded_results(checkpoint: dict) -> dict:
    """What training recorded at the end of the run (empty for a checkpoint with no summary)."""
    final = checkpoint["metrics"][-1] if checkpoint["metrics"] else {}
    return {key: final[key] for key in ("val_accuracy", "test_accuracy", "iterations", "train_seconds") if key in final}


def provenance(checkpoint: dict, checkpoint_path: Path) -> dict:
    """Where the exported model came from: its config, its training run, the checkpoint, the exporter."""
    training = recorded_results(checkpoint)
    training.update(recipe=checkpoint["recipe"]["name"], seed=checkpoint.get("seed"), versions=checkpoint["versions"])
    return {
        "lstm_digits.metadata_version": METADATA_VERSION,
        "model_config": checkpoint["model_config"],
        "training": training,
        "source_checkpoint_sha256": sha256(checkpoint_path),
        "exporter": {"lstm_digits": __version__, "torch": str(torch.__version__), "onnx": onnx.__version__,
                     "onnxscript": onnxscript.__version__, "opset": OPSET},
    }


def build(checkpoint: dict, checkpoint_path: Path) -> dict:
    return {
        "lstm_digits.metadata_version": METADATA_VERSION,
        "input": input_contract(),
        "outputs": {**{name: ["batch", len(contract.LABELS)] for name in OUTPUT_NAMES}, "order": list(OUTPUT_NAMES)},
        "labels": contract.LABELS,
        "preprocessing": preprocessing(),
        **provenance(checkpoint, checkpoint_path),
    }
