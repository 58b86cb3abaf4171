"""What a model file may hold to be loaded, checked on its bytes before onnxruntime opens it: the
metadata's contract, the operators digit-export writes and bounds on everything that costs time or
memory. onnxruntime folds constants when it opens a file, so a check after that would come too
late. Each bound and why it is what it is: docs/PROMISES.md, "What an accepted model may contain".
"""

import json
from dataclasses import dataclass
from typing import Mapping

from ..models import OPSET
from .graph_shapes import BATCH, node_work, shown, size, value_shapes
from .metadata_values import label_problem, metadata_json, shown_label
from .onnx_structure import Model, ModelProblem, quoted, read_model
from .preprocess import Form

# The operators digit-export writes, as (domain, operator): model.onnx for every cell, layer count and
# direction, and model.int8.onnx. tests/test_hostile_models.py ties this list to the shipped files and
# to fresh exports; graph_shapes.SHAPES knows the shapes each one makes.
EXPORTED_OPERATORS = frozenset({
    *(("", name) for name in ("Add", "Cast", "Concat", "Div", "DynamicQuantizeLinear", "GRU", "Gather", "Gemm",
                              "LSTM", "MatMulInteger", "Mul", "RNN", "Reshape", "Shape", "Slice", "Softmax",
                              "Squeeze", "Sub", "Transpose")),
    ("com.microsoft", "DynamicQuantizeLSTM"),  # int8 quantization's LSTM (onnxruntime's own operator)
})
OPSETS = {"": OPSET, "com.microsoft": 1}  # the operator sets digit-export declares, and their versions
WEIGHT_TYPES = {1: 4, 2: 1, 3: 1, 6: 4, 7: 8}  # initializer types (float, uint8, int8, int32, int64): bytes each
FLOAT = 1

MAX_FILE_BYTES = 32 << 20  # the file, and all its initializers together, as declared
MAX_NODES = 256  # nodes in the graph
MAX_CANVAS = 256  # the metadata's canvas, in pixels a side
MAX_NUMBERS = MAX_CANVAS**2  # in any value the graph computes, per image (in all, if it does not grow with the batch)
MAX_LABELS = 256  # labels, and so the graph's outputs per image
MAX_WORK = 10**9  # multiply-adds per image, all nodes together (the shipped model does 3.7 million)


@dataclass(frozen=True)
class Contract:
    """What the metadata promises and the graph was checked to keep."""

    input_name: str
    labels: list[str]
    form: Form


def contract_from_metadata(metadata: Mapping[str, str]) -> Contract:
    """The input contract in a model's metadata_props, or ModelProblem naming what is wrong with it."""
    try:
        contract, labels, preprocessing = (metadata_json(metadata, key) for key in ("input", "labels", "preprocessing"))
    except KeyError:
        raise ModelProblem("no lstm-digits input contract in its metadata (input, labels, preprocessing)") from None
    if not isinstance(contract, dict) or not isinstance(preprocessing, dict):
        raise ModelProblem("metadata 'input' and 'preprocessing' must be JSON objects")
    if not isinstance(contract.get("name"), str):
        raise ModelProblem("metadata 'input' names no input")
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        raise ModelProblem(f"metadata 'labels' must be a list of strings, not {json.dumps(labels)[:80]}")
    if len(labels) > MAX_LABELS:
        raise ModelProblem(f"metadata 'labels' has {len(labels)} labels, more than {MAX_LABELS}")
    first = {}
    for index, label in enumerate(labels):
        problem = label_problem(label)
        if problem:
            raise ModelProblem(f"metadata 'labels': label {index} {shown_label(label)} {problem}")
        if label in first:
            raise ModelProblem(f"metadata 'labels': label {index} {shown_label(label)} repeats label {first[label]}")
        first[label] = index
    canvas, digit_box = preprocessing.get("canvas"), preprocessing.get("digit_box")
    if not all(isinstance(n, int) and not isinstance(n, bool) for n in (canvas, digit_box)):
        raise ModelProblem("metadata 'preprocessing' needs whole numbers 'canvas' and 'digit_box'")
    if not 0 < canvas <= MAX_CANVAS:
        raise ModelProblem(f"metadata 'preprocessing': canvas {canvas} is not from 1 to {MAX_CANVAS} px")
    if not 0 < digit_box <= canvas:
        raise ModelProblem(f"digit_box {digit_box} does not fit in canvas {canvas}")
    return Contract(contract["name"], labels, Form(canvas=canvas, digit_box=digit_box))


def check_file(data: bytes) -> Contract:
    """A model file's bytes, read and checked whole; ModelProblem names the first thing wrong."""
    if len(data) > MAX_FILE_BYTES:
        raise ModelProblem(f"larger than the {MAX_FILE_BYTES >> 20} MB a model file may be")
    return check_model(read_model(data, MAX_NODES))


def check_model(model: Model) -> Contract:
    """The whole model against the contract and the bounds; ModelProblem names the first thing wrong."""
    if model.repeated_metadata:
        raise ModelProblem(f"metadata {quoted(model.repeated_metadata[0])} is given more than once")
    contract = contract_from_metadata(model.metadata)
    _check_contents(model)
    initializers = {tensor.name for tensor in model.initializers}
    inputs = [value for value in model.inputs if value.name not in initializers]
    if len(inputs) != 1 or inputs[0].name != contract.input_name:
        raise ModelProblem(f"the graph's inputs [{', '.join(quoted(i.name) for i in inputs[:4])}] do not match the contract's "
                           f"{quoted(contract.input_name)}")
    image, canvas = inputs[0], contract.form.canvas
    if image.elem_type != FLOAT or image.dims is None or len(image.dims) != 3 or list(image.dims[1:]) != [canvas, canvas]:
        kind = "float" if image.elem_type == FLOAT else f"type {image.elem_type}"
        dims = "of no shape" if image.dims is None else f"[{', '.join(str(d) if isinstance(d, int) else '?' for d in image.dims[:8])}]"
        raise ModelProblem(f"input {quoted(image.name)} is {kind} {dims}, not float [batch, {canvas}, {canvas}]")
    batch = (image.dims[0], 0) if isinstance(image.dims[0], int) and image.dims[0] > 0 else BATCH
    values = value_shapes(model, {image.name: (batch, (canvas, 0), (canvas, 0))})
    work = 0
    for node in model.nodes:
        for name in filter(None, node.outputs):
            numbers, power = size(values[name].shape)
            if power > 1:
                raise ModelProblem(f"a {node.op_type} node makes {shown(values[name].shape)}, which grows as the batch "
                                   f"to the power {power}")
            if numbers > MAX_NUMBERS:
                raise ModelProblem(f"a {node.op_type} node makes {shown(values[name].shape)}: {numbers:,} numbers"
                                   f"{' per image' if power else ''}, more than {MAX_NUMBERS:,}")
        cost, power = node_work(node, values)
        work += cost
        if power > 1 or work > MAX_WORK:
            raise ModelProblem(f"the graph does more than {MAX_WORK:,} multiply-adds per image"
                               f"{', more the larger the batch' if power > 1 else ''}")
    return contract


def _check_contents(model: Model) -> None:
    """The operators, operator sets, size and weights of the graph."""
    opsets = {("" if domain == "ai.onnx" else domain): version for domain, version in model.opsets.items()}
    for domain, version in opsets.items():
        if OPSETS.get(domain) != version:
            raise ModelProblem(f"operator set {quoted(domain or 'ai.onnx')} version {version}: digit-export writes {OPSETS}")
    if "" not in opsets:
        raise ModelProblem("the file declares no ONNX operator set")
    if model.extras:
        raise ModelProblem(f"the file holds {model.extras[0]}, which digit-export never writes")
    for node in model.nodes:
        domain = "" if node.domain == "ai.onnx" else node.domain
        if (domain, node.op_type) not in EXPORTED_OPERATORS:
            name = f"{domain}.{node.op_type}" if domain else node.op_type
            raise ModelProblem(f"operator {quoted(name)} is not one digit-export writes")
        if node.nested:
            raise ModelProblem(f"a {node.op_type} node holds a graph, tensor or type as an attribute")
    declared = 0
    for tensor in model.initializers:
        if tensor.external:
            raise ModelProblem(f"initializer {quoted(tensor.name)} keeps its data in another file")
        if tensor.data_type not in WEIGHT_TYPES or any(dim < 0 for dim in tensor.dims):
            raise ModelProblem(f"initializer {quoted(tensor.name)} is of type {tensor.data_type} and shape {list(tensor.dims[:8])}")
        count = 1
        for dim in tensor.dims:
            count *= dim
        declared += count * WEIGHT_TYPES[tensor.data_type]
        if declared > MAX_FILE_BYTES:
            raise ModelProblem(f"the initializers declare more than {MAX_FILE_BYTES >> 20} MB")
