"""pipeline_test_data/test_data_set_{0,1,2}: raw RGBA inputs (a photo from samples/, a drawing, a
blank page) with the expected outputs, in the ONNX model zoo's layout. The expected outputs come
from the Python runtime (the preprocessing graph, then model.onnx and the metadata's rule), not from
pipeline.onnx, which must agree with them within TOLERANCE before they are written."""

from pathlib import Path

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from PIL import Image

from ..models import INPUT_NAME, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES, PIPELINE_TEST_DATA, PIPELINE_TEST_SETS
from ..models import PIPELINE_TEST_TOLERANCE as TOLERANCE
from ..runtime.confidence import RejectionRule
from ..runtime.preprocess import Form, run_graph
from . import ExportError

# samples/ at the package's root: the repository's folder in a checkout; in an installed package, the
# two files named below, which pyproject.toml ships as package data.
SAMPLES = Path(__file__).resolve().parents[1] / "samples"
# The inputs: samples at half size (small files for every runtime to load), and a blank page.
PHOTO, DRAWING, SHRINK, BLANK_SIZE = "ruled-2.png", "drawing-3.png", 2, (48, 64)


def inputs() -> dict[str, np.ndarray]:
    """{set name: RGBA pixels uint8 [h, w, 4]} in PIPELINE_TEST_SETS order."""
    def shrunk(name):
        if not (SAMPLES / name).is_file():
            raise ExportError(f"{SAMPLES / name}: missing (the pipeline's test data is made from samples/)")
        image = Image.open(SAMPLES / name).convert("RGBA")
        return np.asarray(image.resize((image.width // SHRINK, image.height // SHRINK), Image.Resampling.LANCZOS))
    pixels = {"photo": shrunk(PHOTO), "drawing": shrunk(DRAWING), "blank": np.full((*BLANK_SIZE, 4), 255, np.uint8)}
    return {name: pixels[name] for name in PIPELINE_TEST_SETS}


def runtime_outputs(classifier: onnxruntime.InferenceSession, pixels: np.ndarray) -> dict[str, np.ndarray]:
    """What the Python runtime gives for these pixels, under the pipeline's output names."""
    metadata = classifier.get_modelmeta().custom_metadata_map
    form = Form.from_metadata(__import__("json").loads(metadata["preprocessing"]))
    image, no_digit, _, box = run_graph(Image.fromarray(pixels, "RGBA"), form)
    logits, probabilities = classifier.run(None, {INPUT_NAME: image[None]})
    rejected = no_digit or RejectionRule.from_metadata(metadata).rejects(probabilities[0])
    values = {"logits": logits, "probabilities": probabilities, "image": image,
              "rejected": np.array([rejected]), "no_digit": np.array([no_digit]), "box": np.array(box or (0, 0, 0, 0), np.int64)}
    return {name: values[name] for name in PIPELINE_OUTPUT_NAMES}


def differences(expected: dict, actual: dict) -> list[str]:
    """What differs beyond TOLERANCE (empty when the outputs agree)."""
    problems = []
    for name in PIPELINE_OUTPUT_NAMES:
        a, b = np.asarray(expected[name]), np.asarray(actual[name])
        if a.shape != b.shape:
            problems.append(f"{name}: shape {b.shape}, expected {a.shape}")
        elif a.dtype in (np.bool_, np.int64):
            if not np.array_equal(a, b):
                problems.append(f"{name}: {b.tolist()}, expected {a.tolist()}")
        elif (worst := float(np.abs(a - b).max())) > TOLERANCE[name]:
            problems.append(f"{name}: max abs difference {worst:.2e} > {TOLERANCE[name]:.0e}")
    return problems


def write_pipeline_test_data(folder: Path, model_path: Path, pipeline_path: Path) -> None:
    """folder/pipeline_test_data/test_data_set_{i}/: input_0.pb and output_{j}.pb, checked against the graph."""
    classifier = onnxruntime.InferenceSession(str(model_path), providers=["CPUExecutionProvider"])
    pipeline = onnxruntime.InferenceSession(str(pipeline_path), providers=["CPUExecutionProvider"])
    for index, (name, pixels) in enumerate(inputs().items()):
        expected = runtime_outputs(classifier, pixels)
        actual = dict(zip(PIPELINE_OUTPUT_NAMES, pipeline.run(None, {PIPELINE_INPUT_NAME: pixels})))
        if problems := differences(expected, actual):
            raise ExportError(f"{pipeline_path}: the {name} test input differs from the runtime: {'; '.join(problems)}")
        target = Path(folder) / PIPELINE_TEST_DATA / f"test_data_set_{index}"
        target.mkdir(parents=True)
        tensors = [(PIPELINE_INPUT_NAME, pixels)] + [(n, expected[n]) for n in PIPELINE_OUTPUT_NAMES]
        for position, (tensor_name, array) in enumerate(tensors):
            file = "input_0.pb" if position == 0 else f"output_{position - 1}.pb"
            (target / file).write_bytes(numpy_helper.from_array(np.asarray(array), name=tensor_name).SerializeToString())


def read_test_data(folder: Path) -> list[tuple[np.ndarray, dict[str, np.ndarray]]]:
    """[(pixels, {output name: expected})] for each set under folder/pipeline_test_data."""
    sets = []
    for index in range(len(PIPELINE_TEST_SETS)):
        target = Path(folder) / PIPELINE_TEST_DATA / f"test_data_set_{index}"
        load = lambda file: numpy_helper.to_array(onnx.load_tensor(str(target / file)))  # noqa: E731
        sets.append((load("input_0.pb"), {n: load(f"output_{i}.pb") for i, n in enumerate(PIPELINE_OUTPUT_NAMES)}))
    return sets
