"""checkpoint -> a folder of exported files, validated, written all at once or not at all.

Everything is written into a temporary folder beside the destination and moved into place only
after the parity check (and, if asked, the int8 limits) have passed, so a half-written export never
looks complete.
"""

import contextlib
import json
import os
import shutil
import tempfile
from pathlib import Path

import numpy as np
import torch
from onnx import numpy_helper

from ..models import (INPUT_NAME, INT8, MODEL_FILES, ONNX, OUTPUT_NAMES, PARITY, PROGRAM, TEST_DATA, TEST_DATA_FILES,
                      TORCHSCRIPT)
from ..training.checkpoint import load_model, require_complete
from ..training.data import can_write_in, load_mnist, to_float
from ..training.model import describe, parameter_count
from . import ExportError, calibration, formats, metadata, parity, quantize
from .card import write_card
from .pipeline_onnx import write_pipeline

PARITY_DIGITS = 1000


def write_test_data(folder: Path, model, images: np.ndarray, temperature: float = 1.0) -> None:
    """folder/test_data_set_0 in the ONNX model zoo's layout: the input and each output as TensorProtos."""
    (folder / TEST_DATA).mkdir()
    with torch.no_grad():
        outputs = formats.WithProbabilities(model, temperature)(torch.from_numpy(images))
    tensors = [(INPUT_NAME, images)] + [(name, out.numpy()) for name, out in zip(OUTPUT_NAMES, outputs)]
    for file, (name, array) in zip(TEST_DATA_FILES, tensors, strict=True):
        (folder / file).write_bytes(numpy_helper.from_array(array, name=name).SerializeToString())


def _one_of_each_digit(images: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return images[[int(np.flatnonzero(labels == digit)[0]) for digit in range(10)]]


def export_checkpoint(checkpoint_path: Path, output_dir: Path, data_dir=None, log=print,
                      parity_digits: int = PARITY_DIGITS, random_images: int = 256,
                      tolerance: float = parity.TOLERANCE, int8_limits: bool = False) -> dict:
    """int8_limits: fail (quantize.Int8LimitError) when model.int8.onnx breaks quantize.py's limits,
    as digit-export does unless told not to."""
    checkpoint_path, output_dir = Path(checkpoint_path), Path(output_dir)
    model, checkpoint = load_model(checkpoint_path)
    require_complete(checkpoint_path, checkpoint)  # an interrupted run is finished first, not exported
    check_destination(output_dir)
    mnist = load_mnist(data_dir)
    test_images, test_labels = to_float(mnist.test.images).numpy(), mnist.test.labels.numpy()
    # Calibration and the rejection threshold, chosen on the validation split (export/calibration.py).
    temperature, confidence = calibration.confidence_metadata(
        parity.torch_logits(model)(to_float(mnist.val.images).numpy()), mnist.val.labels.numpy(),
        parity.torch_logits(model)(test_images), test_labels)

    with staged_folder(output_dir) as staging:
        props = metadata.build(checkpoint, checkpoint_path) | confidence
        log(f"exporting {checkpoint_path} -> {output_dir}")
        formats.export_onnx(model, staging / ONNX, props, doc="Handwritten digit classifier; see metadata_props.",
                            temperature=temperature)
        formats.export_torchscript(model, staging / TORCHSCRIPT, temperature)
        formats.export_program(model, staging / PROGRAM, temperature)
        write_test_data(staging, model, _one_of_each_digit(test_images, test_labels), temperature)
        write_pipeline(staging / ONNX, staging)  # pixels to digit in one file (export/pipeline_onnx.py)

        log(f"checking parity on {parity_digits} MNIST test digits and {random_images} random images ...")
        runners = parity.backends(model, staging / ONNX, formats.load_torchscript(staging / TORCHSCRIPT),
                                  formats.load_program(staging / PROGRAM))
        report = parity.check(runners, test_images[:parity_digits], random_images, tolerance=tolerance)
        parity.require_parity(report, checkpoint_path)
        report["onnx_test_accuracy"] = parity.accuracy(runners["onnxruntime"], test_images, test_labels)
        report["pytorch_test_accuracy"] = metadata.recorded_results(checkpoint).get("test_accuracy")
        # int8: weights dynamically quantized; not bit-for-bit, so judged by MNIST accuracy, not parity.
        quantize.quantize(staging / ONNX, staging / INT8)
        int8_logits = parity.onnxruntime_logits(staging / INT8)
        report["int8_test_accuracy"] = parity.accuracy(int8_logits, test_images, test_labels)
        if int8_limits:
            quantize.require_limits(staging / ONNX, staging / INT8, report["onnx_test_accuracy"], report["int8_test_accuracy"])
        (staging / PARITY).write_text(json.dumps(report, indent=1))
        write_card(staging, MODEL_FILES, props, report, parameter_count(model), describe(model))
    return report


def check_destination(output_dir: Path) -> None:
    if output_dir.exists() and not output_dir.is_dir():
        raise ExportError(f"{output_dir}: exists and is not a folder")
    if not can_write_in(output_dir.parent):
        raise ExportError(f"{output_dir}: cannot write there ({output_dir.parent} is not writable)")


@contextlib.contextmanager
def staged_folder(output_dir: Path):
    """A temporary folder beside output_dir to write the export into; when the block ends without
    an error, it takes output_dir's place as a whole (the old folder, if any, steps aside first and
    then goes). On an error nothing of it is left."""
    output_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{output_dir.name}.partial-", dir=output_dir.parent))
    umask = os.umask(0)
    os.umask(umask)
    staging.chmod(0o777 & ~umask)  # mkdtemp makes it private; the export is an ordinary folder
    try:
        yield staging
        previous = None
        if output_dir.exists():
            previous = output_dir.with_name(f".{output_dir.name}.previous-{os.getpid()}")
            os.rename(output_dir, previous)
        os.rename(staging, output_dir)
        if previous is not None:
            shutil.rmtree(previous, ignore_errors=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
