"""pipeline.onnx (issue 14): raw RGBA pixels to digit in one standard ONNX file. It is built here
from the shipped model.onnx, checked with onnx's full checker, run in the reference evaluator, and
held to the Python runtime's answers on subsets of the parity sets (the full sets:
`python -m benchmarks.pipeline`)."""

import io
import json
import sys
import warnings
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx.reference import ReferenceEvaluator
from PIL import Image, ImageDraw

from lstm_digits.export.pipeline_onnx import write_pipeline
from lstm_digits.export.pipeline_agreement import compare, pipeline_session
from lstm_digits.export.pipeline_test_data import differences, read_test_data, runtime_outputs
from lstm_digits.models import (DEFAULT_DIR, DEFAULT_MODEL, OPSET, PIPELINE, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES,
                                PIPELINE_TEST_SETS)
from lstm_digits.runtime.classifier import DigitClassifier

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.*g"))


def unused_nodes(graph) -> list:
    """Nodes (in the graph and its subgraphs) none of whose outputs is read."""
    used, nodes = {o.name for o in graph.output}, []

    def walk(g):
        for node in g.node:
            used.update(node.input)
            nodes.append((g, node))
            for attribute in node.attribute:
                if attribute.type == onnx.AttributeProto.GRAPH:
                    used.update(o.name for o in attribute.g.output)
                    walk(attribute.g)
    walk(graph)
    return [(g, node) for g, node in nodes if not used.intersection(node.output)]


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> Path:
    """A folder with pipeline.onnx and its test data, written from the shipped model.onnx."""
    folder = tmp_path_factory.mktemp("pipeline")
    write_pipeline(DEFAULT_MODEL, folder)
    return folder


@pytest.fixture(scope="module")
def session(built):
    return pipeline_session(built / PIPELINE)


@pytest.fixture(scope="module")
def classifier():
    with DigitClassifier(DEFAULT_MODEL) as runtime:
        yield runtime


def run(session, pixels):
    return dict(zip(PIPELINE_OUTPUT_NAMES, session.run(None, {PIPELINE_INPUT_NAME: pixels})))


def test_graph_is_standard_onnx_with_its_contract(built):
    model = onnx.load(str(built / PIPELINE))
    onnx.checker.check_model(model, full_check=True)
    assert [(o.domain, o.version) for o in model.opset_import] == [("", OPSET)]
    (pixels,) = model.graph.input
    assert pixels.name == PIPELINE_INPUT_NAME and pixels.type.tensor_type.elem_type == onnx.TensorProto.UINT8
    assert [o.name for o in model.graph.output] == list(PIPELINE_OUTPUT_NAMES)
    metadata = {p.key: p.value for p in model.metadata_props}
    shipped = {p.key: p.value for p in onnx.load(str(DEFAULT_MODEL)).metadata_props}
    for key in ("labels", "preprocessing", "calibration", "rejection"):
        assert metadata[key] == shipped[key]
    assert json.loads(metadata["input"])["name"] == PIPELINE_INPUT_NAME
    assert json.loads(metadata["outputs"])["order"] == list(PIPELINE_OUTPUT_NAMES)
    assert unused_nodes(model.graph) == [], "nodes nothing reads (onnxruntime warns embedders about such constants)"


def test_test_data_sets_are_photo_drawing_blank_and_pass(built, session):
    sets = read_test_data(built)
    assert len(sets) == len(PIPELINE_TEST_SETS) == 3
    (photo, photo_out), (drawing, drawing_out), (blank, blank_out) = sets
    assert photo[..., 3].min() == 255 and drawing[..., 3].min() < 255 and blank.max() == blank.min() == 255
    assert not photo_out["no_digit"][0] and not drawing_out["no_digit"][0] and blank_out["no_digit"][0]
    for pixels, expected in sets:
        assert differences(expected, run(session, pixels)) == []


def test_shipped_pipeline_passes_its_test_data():
    """The files in models/default (as digit-export wrote them) agree with each other in onnxruntime."""
    session = pipeline_session(DEFAULT_DIR / PIPELINE)
    for pixels, expected in read_test_data(DEFAULT_DIR):
        assert differences(expected, run(session, pixels)) == []


def test_reference_evaluator_runs_it(built, session):
    evaluator = ReferenceEvaluator(str(built / PIPELINE))
    drawing = np.asarray(Image.open(SAMPLES[0]).convert("RGBA").resize((60, 70)))  # drawing-3.png, small: the evaluator is slow
    assert SAMPLES[0].name == "drawing-3.png"
    ruled = np.asarray(Image.open(ROOT / "samples" / "ruled-2.png").convert("RGBA").resize((120, 100)))  # printed lines
    blank = np.zeros((9, 13, 4), np.uint8)
    for pixels in (drawing, ruled, blank):
        expected = run(session, pixels)
        with warnings.catch_warnings():
            # Otsu's threshold divides by the class sizes of each split, 0 at the histogram's ends, and
            # replaces what is not finite (IsNaN, IsInf, Where): numpy warns of those divisions in the
            # evaluator's Div (ruled-2.png's).
            warnings.filterwarnings("ignore", "(invalid value|divide by zero) encountered in divide", RuntimeWarning,
                                    module="onnx.reference.ops.op_div")
            got = dict(zip(PIPELINE_OUTPUT_NAMES, evaluator.run(None, {PIPELINE_INPUT_NAME: pixels})))
        assert np.abs(got["image"] - expected["image"]).max() < 1e-5
        assert np.abs(got["logits"] - expected["logits"]).max() < 1e-4
        assert got["rejected"].tolist() == expected["rejected"].tolist()
        assert got["no_digit"].tolist() == expected["no_digit"].tolist()
    assert run(session, drawing)["probabilities"].argmax() == 3 and run(session, ruled)["probabilities"].argmax() == 2


@pytest.mark.parametrize("shape, value", [((1, 1, 4), 255), ((1, 300, 4), 0), ((200, 3, 4), 128), ((40, 50, 4), 255)])
def test_nothing_to_classify_is_an_output_not_an_error(session, shape, value):
    out = run(session, np.full(shape, value, np.uint8))
    assert out["no_digit"].tolist() == [True] and out["rejected"].tolist() == [True]
    assert out["image"].shape == (28, 28) and not out["image"].any()
    assert out["probabilities"].shape == (1, 10) and np.isfinite(out["logits"]).all()


def test_noise_transparent_and_tiny_images_give_the_runtimes_answers(session):
    """Odd inputs run (never a runtime error) and give the Python runtime's outputs: random RGBA
    noise, a wholly transparent image, a 1x1 pixel, a 2 px high strip, opaque noise."""
    model = onnxruntime.InferenceSession(str(DEFAULT_MODEL), providers=["CPUExecutionProvider"])
    rng = np.random.default_rng(0)

    def opaque(rgb):
        return np.concatenate([rgb, np.full(rgb.shape[:2] + (1,), 255, np.uint8)], axis=2)
    cases = [rng.integers(0, 256, (37, 53, 4), dtype=np.uint8), np.zeros((30, 30, 4), np.uint8),
             opaque(np.full((1, 1, 3), 255, np.uint8)), opaque(rng.integers(0, 256, (2, 300, 3), dtype=np.uint8)),
             opaque(rng.integers(0, 256, (64, 64, 3), dtype=np.uint8))]
    for pixels in cases:
        assert differences(runtime_outputs(model, pixels), run(session, pixels)) == [], pixels.shape


def _pngs(arrays):
    out = []
    for array in arrays:
        buffer = io.BytesIO()
        Image.fromarray(array).save(buffer, "PNG")
        out.append(buffer.getvalue())
    return out


def test_same_answers_and_images_as_the_runtime_on_subsets_of_the_sets(mnist, classifier, session):
    sys.path.insert(0, str(ROOT / "tests"))
    import robustness

    images, labels = mnist.test.images.numpy(), mnist.test.labels.numpy()
    sets = {
        "mnist": _pngs(images[:150]),
        "robustness": [data for data, *_ in robustness.build(images, labels, 25)],
        "tight": [items[0][0] for items in robustness.build_tight(images[:1], 1).values()] +
                 [items[0][0] for items in robustness.build_tight(images[1:2], 1, seed=5).values()],
        "samples": [p.read_bytes() for p in SAMPLES],
    }
    for name, encoded in sets.items():
        agreement = compare(classifier, session, encoded)
        assert agreement.holds, (name, agreement)


def test_photos_over_four_megapixels_are_reduced_as_the_runtime_does(classifier, session):
    """2600 x 2000 (5.2 MP), opaque and translucent: area-averaged by 2 first (Image.reduce), like the runtime."""
    photo = Image.open(ROOT / "samples" / "photo-9.png").convert("RGB").resize((2600, 2000))
    drawing = Image.open(ROOT / "samples" / "drawing-3.png").resize((2200, 2400))
    encoded = []
    for image in (photo, drawing):
        buffer = io.BytesIO()
        image.save(buffer, "PNG", compress_level=1)
        encoded.append(buffer.getvalue())
    agreement = compare(classifier, session, encoded)
    assert agreement.holds, agreement


@pytest.mark.parametrize("scale", [1, 8])
def test_box_is_where_the_digit_is_in_the_input(session, scale):
    """The `box` output, the digit's crop in the input's pixels (what the page draws over the camera's
    video): a 7 drawn at a known place on a white page, 400x300 and 3200x2400 (7.7 MP: reduced by 2
    before the preprocessing, the box scaled back), is boxed to its strokes' extent within a pixel of
    the work image; the runtime gives the same box; a blank page's box is all 0."""
    page = Image.new("RGB", (400 * scale, 300 * scale), "white")
    points = [(150 * scale, 100 * scale), (250 * scale, 100 * scale), (190 * scale, 260 * scale)]
    ImageDraw.Draw(page).line(points, fill="black", width=12 * scale, joint="curve")
    pixels = np.asarray(page.convert("RGBA"))
    rows, columns = np.nonzero(pixels[..., 0] < 128)
    strokes = [rows.min(), columns.min(), rows.max() + 1, columns.max() + 1]
    out = run(session, pixels)
    work_pixel = 1 if scale == 1 else 2  # a pixel of the image the preprocessing works on, in the input's
    assert out["box"].dtype == np.int64 and np.abs(out["box"] - strokes).max() <= 2 * work_pixel, (out["box"], strokes)
    model = onnxruntime.InferenceSession(str(DEFAULT_MODEL), providers=["CPUExecutionProvider"])
    assert differences(runtime_outputs(model, pixels), out) == []
    assert run(session, np.full((300, 400, 4), 255, np.uint8))["box"].tolist() == [0, 0, 0, 0]
