"""Issue 22, items 9 and 5 (prediction time): a model that fails on some inputs at prediction time
(onnxruntime raises, its output is not finite, not floating-point or not one row per image) gives
those inputs one-line errors, never a traceback; the other inputs keep the answers they get alone.

Each hostile model is the shipped model.onnx with a few operators digit-export writes (Reshape,
Gemm, Cast, Gather, Mul) between its probabilities and the graph's output. They keep the
declared output [batch, 10] and answer a blank image normally, so they pass the checks at load
(runtime/model_check.py); they misbehave only on some images (those with more ink than a limit,
chosen between the samples' own), or on batches of more than one."""

import json
import re
from pathlib import Path

import numpy as np
import onnx
import pytest
from onnx import TensorProto, helper, numpy_helper

from lstm_digits.runtime import DigitClassifier, ModelError
from lstm_digits.runtime.model_file import default_model_path
from test_classify_cli import SAMPLES, classify

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)


@pytest.fixture(scope="module")
def shipped():
    return DigitClassifier(threads=1)


@pytest.fixture(scope="module")
def ink_limit(shipped) -> float:
    """An amount of ink (the sum of the 28x28 image the model sees) that two samples are over."""
    inks = sorted(float(shipped.model_input(path).sum()) for path in SAMPLES)
    return (inks[-3] + inks[-2]) / 2


def heavy(shipped, ink_limit) -> list[bool]:
    return [float(shipped.model_input(path).sum()) > ink_limit for path in SAMPLES]


def constant(name: str, values, dtype) -> onnx.TensorProto:
    return numpy_helper.from_array(np.asarray(values, dtype), name)


def model_with(folder: Path, name: str, nodes: list, constants: list, output_type=TensorProto.FLOAT) -> Path:
    """The shipped model with `nodes` after it: they read 'raw' (its probabilities) and 'image' (its
    input) and write the graph's 'probabilities'."""
    proto = onnx.load(str(default_model_path()))
    graph = proto.graph
    for node in graph.node:
        node.output[:] = ["raw" if output == "probabilities" else output for output in node.output]
    graph.initializer.extend(constants)
    graph.node.extend(nodes)
    next(o for o in graph.output if o.name == "probabilities").type.tensor_type.elem_type = output_type
    path = folder / f"{name}.onnx"
    onnx.save(proto, str(path))
    return path


def heavy_nodes(canvas: int, ink_limit: float) -> tuple[list, list]:
    """Nodes and constants making 'heavy': [N, 1] int64, 1 for an image with more ink than the limit
    (and less than twice it, as all the samples), else 0."""
    nodes = [
        helper.make_node("Reshape", ["image", "rows"], ["pixels"]),
        helper.make_node("Gemm", ["pixels", "per_limit"], ["ink_over_limit"]),  # [N, 1]: ink / limit
        helper.make_node("Cast", ["ink_over_limit"], ["heavy"], to=TensorProto.INT64),  # whole: 0 under the limit
    ]
    constants = [constant("rows", [-1, canvas * canvas], np.int64),
                 constant("per_limit", np.full((canvas * canvas, 1), 1 / ink_limit), np.float32)]
    return nodes, constants


def nan_model(folder: Path, canvas: int, ink_limit: float) -> Path:
    """probabilities * [1, NaN][heavy]: NaN in the rows of images with more ink than the limit."""
    nodes, constants = heavy_nodes(canvas, ink_limit)
    nodes += [
        helper.make_node("Gather", ["one_or_nan", "heavy"], ["factor"], axis=0),
        helper.make_node("Mul", ["raw", "factor"], ["probabilities"]),
    ]
    return model_with(folder, "nan", nodes, constants + [constant("one_or_nan", [1, np.nan], np.float32)])


def gather_error_model(folder: Path, canvas: int, ink_limit: float) -> Path:
    """probabilities * [1][100 * heavy]: onnxruntime refuses the index 100 when a batch holds an image
    with more ink than the limit."""
    nodes, constants = heavy_nodes(canvas, ink_limit)
    nodes += [
        helper.make_node("Mul", ["heavy", "far"], ["index"]),
        helper.make_node("Gather", ["just_one", "index"], ["one"], axis=0),
        helper.make_node("Mul", ["raw", "one"], ["probabilities"]),
    ]
    constants += [constant("far", 100, np.int64), constant("just_one", [1.0], np.float32)]
    return model_with(folder, "gather-error", nodes, constants)


def strings_model(folder: Path) -> Path:
    nodes = [helper.make_node("Cast", ["raw"], ["probabilities"], to=TensorProto.STRING)]
    return model_with(folder, "strings", nodes, [], output_type=TensorProto.STRING)


def first_row_model(folder: Path) -> Path:
    """Only the first image's row, whatever the batch: right for one image, short for more."""
    nodes = [helper.make_node("Gather", ["raw", "first"], ["probabilities"], axis=0)]
    return model_with(folder, "first-row", nodes, [constant("first", [0], np.int64)])


def strict_json(line: str) -> dict:
    def refuse(constant):
        raise ValueError(f"{constant} is not JSON")
    return json.loads(line, parse_constant=refuse)


def assert_errors_only_where_expected(results, failing: list[bool], shipped, problem: str):
    """Failing inputs: a one-line error naming the problem; the others: the shipped model's answer."""
    for path, result, fails in zip(SAMPLES, results, failing):
        if fails:
            assert not result.ok and re.search(problem, result.error) and "\n" not in result.error, result
        else:
            assert result.ok and result.digit == shipped.predict(path).digit, (path, result)


def test_a_model_output_that_is_not_a_number_is_that_inputs_error_and_json_stays_json(tmp_path, shipped, ink_limit):
    model = nan_model(tmp_path, shipped.form.canvas, ink_limit)
    failing = heavy(shipped, ink_limit)
    assert 0 < sum(failing) < len(failing)
    classifier = DigitClassifier(model, threads=1)
    results = classifier.predict([*SAMPLES, tmp_path / "missing.png"])
    assert_errors_only_where_expected(results, failing, shipped, "not finite")
    assert results[-1].error == "no such file"
    with pytest.raises(ModelError, match="not finite") as raised:
        classifier.predict(SAMPLES[failing.index(True)])
    assert "\n" not in str(raised.value)
    code, out, err = classify(*SAMPLES, "--json", "--model", model)
    records = [strict_json(line) for line in out.splitlines()]
    assert code == 1 and [("error" in record) for record in records] == failing
    assert "Traceback" not in err and len(err.splitlines()) == sum(failing)


def test_an_onnxruntime_error_at_prediction_is_those_inputs_error(tmp_path, shipped, ink_limit):
    model = gather_error_model(tmp_path, shipped.form.canvas, ink_limit)
    failing = heavy(shipped, ink_limit)
    classifier = DigitClassifier(model, threads=1)
    results = classifier.predict(SAMPLES)
    assert_errors_only_where_expected(results, failing, shipped, "onnxruntime")
    with pytest.raises(ModelError, match="onnxruntime") as raised:
        classifier.predict(SAMPLES[failing.index(True)])
    assert "\n" not in str(raised.value)
    code, out, err = classify(*SAMPLES, "--model", model)
    assert code == 1 and "Traceback" not in err
    assert [line.split(": ")[1] for line in err.splitlines()] == [str(p) for p, f in zip(SAMPLES, failing) if f]
    assert len(out.splitlines()) == len(SAMPLES) - sum(failing)


def test_outputs_that_are_not_numbers_are_errors_not_tracebacks(tmp_path):
    model = strings_model(tmp_path)
    classifier = DigitClassifier(model, threads=1)
    results = classifier.predict([*SAMPLES, tmp_path / "missing.png"])
    assert all("not floating-point" in r.error and "\n" not in r.error for r in results[:-1]), results
    assert results[-1].error == "no such file"
    with pytest.raises(ModelError, match="not floating-point"):
        classifier.probabilities(np.zeros((2, 28, 28), np.float32))
    with pytest.raises(ModelError, match="not floating-point"):
        classifier.predict(SAMPLES[0])
    code, out, err = classify(*SAMPLES, "--json", "--model", model)
    assert code == 1 and "Traceback" not in err and len(err.splitlines()) == len(SAMPLES)
    assert all("error" in strict_json(line) for line in out.splitlines())


def test_a_model_with_fewer_rows_than_images_answers_each_image_as_alone(tmp_path, shipped):
    classifier = DigitClassifier(first_row_model(tmp_path), threads=1)
    with pytest.raises(ModelError, match=r"\[1, 10\] for 2 images"):
        classifier.probabilities(np.zeros((2, 28, 28), np.float32))
    results = classifier.predict(SAMPLES)
    assert [r.digit for r in results] == [shipped.predict(path).digit for path in SAMPLES]
    code, out, err = classify(*SAMPLES, "--model", first_row_model(tmp_path))
    assert code == 0 and err == "" and [line.split("\t")[1] for line in out.splitlines()] == [p.stem[-1] for p in SAMPLES]
