"""The load-time check of runtime/model_check.py against what it must agree with: the onnx package
reads the same fields as runtime/onnx_structure.py, onnxruntime computes the shapes that
runtime/graph_shapes.py works out, and the accepted operators are exactly those digit-export writes.
The hostile models themselves are in test_hostile_models.py."""

import random
import time
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import pytest
from onnx import helper

from lstm_digits.models import DEFAULT_INT8_MODEL, DEFAULT_MODEL, INT8, ONNX
from lstm_digits.runtime import DigitClassifier
from lstm_digits.runtime.graph_shapes import BATCH, SHAPES, value_shapes
from lstm_digits.runtime.model_check import EXPORTED_OPERATORS, MAX_NODES, check_file
from lstm_digits.runtime.onnx_structure import MAX_FIELDS, SMALL_TENSOR, ModelProblem, read_model
from lstm_digits.training.model import ModelConfig
from hostile_model_files import protobuf_field

SHIPPED = (DEFAULT_MODEL, DEFAULT_INT8_MODEL)
# With the shipped LSTM, these cover every cell and the bidirectional reshapes (Shape, Slice, Concat).
# Two of test_export's architectures: random_model_export (conftest.py) exports each once a session.
FRESH_EXPORTS = (ModelConfig("gru", 2, 16, True), ModelConfig("rnn-relu", 1, 16, False))


@pytest.fixture(scope="module")
def architecture_files(random_model_export) -> list[Path]:
    """model.onnx and model.int8.onnx as digit-export writes them, for FRESH_EXPORTS (random
    weights), beside the shipped pair."""
    paths = list(SHIPPED)
    for config in FRESH_EXPORTS:
        folder, _ = random_model_export(config)
        paths += [folder / ONNX, folder / INT8]
    return paths


def test_the_accepted_operators_are_exactly_those_digit_export_writes(architecture_files):
    written = {(node.domain, node.op_type) for path in architecture_files for node in onnx.load(str(path)).graph.node}
    assert written == EXPORTED_OPERATORS
    assert {name for _, name in EXPORTED_OPERATORS} <= SHAPES.keys()
    for path in architecture_files:
        classifier = DigitClassifier(path)
        assert classifier.probabilities(np.zeros((2, 28, 28), np.float32)).shape == (2, 10), path


def test_the_shapes_worked_out_are_those_onnxruntime_computes(architecture_files):
    """Every value each graph computes, at batch 1 and 3: the shape (and for shape tensors the
    numbers) graph_shapes gives, against onnxruntime running the graph with all of them as outputs."""
    for path in architecture_files:
        shapes = value_shapes(read_model(path.read_bytes(), MAX_NODES), {"image": (BATCH, (28, 0), (28, 0))})
        proto = onnx.load(str(path))
        names = [name for node in proto.graph.node for name in node.output if name]
        declared = {output.name for output in proto.graph.output}
        proto.graph.output.extend(onnx.ValueInfoProto(name=name) for name in names if name not in declared)
        session = onnxruntime.InferenceSession(proto.SerializeToString(), providers=["CPUExecutionProvider"])
        for batch in (1, 3):
            results = session.run(names, {"image": np.random.default_rng(batch).random((batch, 28, 28), np.float32)})
            for name, result in zip(names, results):
                worked_out = shapes[name]
                assert np.shape(result) == tuple(c * batch**k for c, k in worked_out.shape), (path.name, name)
                if worked_out.values is not None:
                    assert list(np.ravel(result)) == [c * batch**k for c, k in worked_out.values], (path.name, name)


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_reader_reads_what_onnx_reads(path):
    model, proto = read_model(path.read_bytes(), MAX_NODES), onnx.load(str(path))
    assert model.opsets == {opset.domain: opset.version for opset in proto.opset_import}
    assert model.metadata == {prop.key: prop.value for prop in proto.metadata_props}
    assert [(n.op_type, n.domain, n.inputs, n.outputs) for n in model.nodes] == [
        (n.op_type, n.domain, tuple(n.input), tuple(n.output)) for n in proto.graph.node]
    for node, expected in zip(model.nodes, proto.graph.node):
        for attribute in expected.attribute:
            value = helper.get_attribute_value(attribute)
            assert node.attributes[attribute.name] == (tuple(value) if isinstance(value, list) else value), attribute.name
    assert [(t.name, t.dims, t.data_type, t.external) for t in model.initializers] == [
        (t.name, tuple(t.dims), t.data_type, False) for t in proto.graph.initializer]
    small = {t.name: tuple(onnx.numpy_helper.to_array(t).ravel()) for t in proto.graph.initializer
             if t.data_type == onnx.TensorProto.INT64 and np.prod(t.dims) <= SMALL_TENSOR}
    assert {t.name: t.values for t in model.initializers if t.name in small} == small
    for values, expected in ((model.inputs, proto.graph.input), (model.outputs, proto.graph.output)):
        assert [(v.name, v.elem_type, v.dims) for v in values] == [
            (e.name, e.type.tensor_type.elem_type, tuple(d.dim_value if d.HasField("dim_value") else d.dim_param
                                                           for d in e.type.tensor_type.shape.dim)) for e in expected]


@pytest.mark.parametrize("path", SHIPPED, ids=lambda p: p.name)
def test_the_shipped_models_pass_and_the_check_costs_little(path):
    data = path.read_bytes()
    check_file(data)
    costs = []
    for _ in range(20):
        start = time.perf_counter()
        check_file(data)
        costs.append(time.perf_counter() - start)
    print(f"{path.name}: check {min(costs) * 1e3:.2f} ms")
    assert min(costs) < 0.02  # measured 0.6 ms; the load it adds to is 2 ms, the one-image command 0.13 s


def test_damaged_files_are_model_problems_and_never_anything_else():
    """Bits flipped, bytes changed, cut and spliced in the shipped models' structure (their weights
    emptied, so that the changes land in what the reader reads): a ModelProblem or a pass."""
    skeletons = []
    for path in SHIPPED:
        proto = onnx.load(str(path))
        for tensor in proto.graph.initializer:
            if len(tensor.raw_data) > 64:
                tensor.raw_data = b""
        skeletons.append(proto.SerializeToString())
    generator = random.Random(22)
    outcomes = {"passed": 0, "refused": 0}
    for _ in range(600):
        data = bytearray(generator.choice(skeletons))
        for _ in range(generator.randint(1, 6)):
            position = generator.randrange(len(data))
            data[position] = generator.randrange(256) if generator.random() < 0.5 else data[position] ^ 1 << generator.randrange(8)
        if generator.random() < 0.2:
            data = data[: generator.randrange(len(data))]
        try:
            check_file(bytes(data))
            outcomes["passed"] += 1
        except ModelProblem as problem:
            assert "\n" not in str(problem) and "\r" not in str(problem)
            outcomes["refused"] += 1
    assert min(outcomes.values()) > 50, outcomes  # both paths taken


def test_the_reader_stops_at_its_budget():
    many = b"".join(protobuf_field(14, protobuf_field(1, b"k") + protobuf_field(2, b"v")) for _ in range(MAX_FIELDS))
    packed_dims = protobuf_field(7, protobuf_field(5, protobuf_field(1, b"\x01" * (MAX_FIELDS + 1))))
    for data in (many, packed_dims):
        start = time.perf_counter()
        with pytest.raises(ModelProblem, match=f"more than {MAX_FIELDS:,} fields"):
            read_model(data, MAX_NODES)
        assert time.perf_counter() - start < 2
