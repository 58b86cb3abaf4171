"""pipeline.onnx: RGBA pixels of any size in, the digit's logits and calibrated probabilities out.

Three graphs in one file, joined by name: the preprocessing (lstm_digits.preprocessing, written
once as onnxscript functions), the classifier graph of model.onnx, and the rejection rule. Built
from an exported model.onnx alone: its metadata has the sizes, labels, temperature and rejection
threshold. Decoding and EXIF orientation stay with the host.
"""

import json
import shutil
from pathlib import Path

import onnx
from onnx import helper
from onnxscript import BOOL, FLOAT, script
from onnxscript import opset18 as op

from ..models import INPUT_NAME, OPSET, OUTPUT_NAMES, PIPELINE, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES, PIPELINE_TEST_DATA
from ..preprocessing import MNIST_FORM_GRAPH, MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS
from ..runtime.confidence import RejectionRule
from .joined_graphs import folded, prefixed, renamed
from .pipeline_test_data import write_pipeline_test_data

PREPROCESSING, CLASSIFIER, REJECTION = "preprocessing/", "classifier/", "rejection/"


def rejection_model(min_confidence: float) -> onnx.ModelProto:
    """probabilities [1, labels] and no_digit (bool scalar) -> rejected and no_digit, bool [1] each:
    rejected when the largest probability is below min_confidence, or when there is no digit."""
    @script(default_opset=op)
    def reject(probabilities: FLOAT[1, "labels"], no_digit: BOOL) -> tuple[BOOL[1], BOOL[1]]:
        largest = op.ReduceMax(probabilities, op.Constant(value_ints=[1]), keepdims=0)
        unsure = op.Less(largest, op.Constant(value_float=min_confidence))
        no_digit_1 = op.Reshape(no_digit, op.Constant(value_ints=[1]))
        rejected = op.Or(unsure, no_digit_1)
        return rejected, no_digit_1
    return reject.to_model_proto()


def _metadata(classifier: onnx.ModelProto) -> dict:
    props = {p.key: p.value for p in classifier.metadata_props}
    canvas = json.loads(props["preprocessing"])["canvas"]
    labels = len(json.loads(props["labels"]))
    props["input"] = json.dumps({
        "name": PIPELINE_INPUT_NAME, "shape": ["height", "width", 4], "dtype": "uint8", "layout": "RGBA, rows first",
        "decoding": "by the host, EXIF orientation applied; any size (over 4 megapixels, area-averaged first, "
                    "as the runtime does)",
    })
    props["outputs"] = json.dumps({
        "logits": [1, labels], "probabilities": [1, labels], "image": [canvas, canvas], "rejected": [1], "no_digit": [1], "box": [4],
        "order": list(PIPELINE_OUTPUT_NAMES),
        "meaning": {"image": "what the model saw: float32 in [0, 1], bright digit on black",
                    "rejected": "not a digit: the largest probability is below rejection.min_confidence, or no_digit",
                    "no_digit": "nothing stands out of the paper: image is all zeros, the other outputs are the model's on it",
                    "box": "the digit's crop in the input's pixels, int64 [top, left, bottom, right], bottom and right "
                           "exclusive; all 0 with no_digit"},
    })
    props["pipeline"] = json.dumps({"classifier": "model.onnx's graph, inlined", "preprocessing": "lstm_digits.preprocessing "
                                    "(onnxscript functions), inlined"})
    return props


def pipeline_model(classifier: onnx.ModelProto) -> onnx.ModelProto:
    props = _metadata(classifier)
    preprocessing, shapes = json.loads(props["preprocessing"]), json.loads(props["outputs"])
    pre = prefixed(onnx.load(str(MNIST_FORM_GRAPH)), PREPROCESSING)  # the graph the runtime runs; its sizes as constants
    inner = prefixed(classifier, CLASSIFIER)
    post = prefixed(rejection_model(RejectionRule.from_metadata(props).min_confidence), REJECTION)
    logits, probabilities = (CLASSIFIER + name for name in OUTPUT_NAMES)
    pixels, *size_names = MNIST_FORM_INPUTS  # (the sizes are named as in the metadata's `preprocessing`)
    image, no_digit, _, box = MNIST_FORM_OUTPUTS
    sizes = [helper.make_node("Constant", [], [PREPROCESSING + name], name=f"{PREPROCESSING}{name}_of_the_model",
                              value=helper.make_tensor(name, onnx.TensorProto.INT64, [], [int(preprocessing[name])]))
             for name in size_names]
    batch = helper.make_node("Unsqueeze", [PREPROCESSING + image, PREPROCESSING + "batch_axis"], [PREPROCESSING + "batch"],
                             name=PREPROCESSING + "batch_of_one")
    batch_axis = helper.make_tensor(PREPROCESSING + "batch_axis", onnx.TensorProto.INT64, [1], [0])
    joins = [renamed(PREPROCESSING + pixels, PIPELINE_INPUT_NAME),
             renamed(CLASSIFIER + INPUT_NAME, PREPROCESSING + "batch"),
             renamed(REJECTION + "probabilities", probabilities),
             renamed(REJECTION + "no_digit", PREPROCESSING + no_digit)]
    outputs = {"logits": logits, "probabilities": probabilities, "image": PREPROCESSING + image,
               "rejected": REJECTION + "rejected", "no_digit": REJECTION + "no_digit_1", "box": PREPROCESSING + box}
    types = {name: onnx.TensorProto.BOOL if name in ("rejected", "no_digit") else onnx.TensorProto.INT64 if name == "box"
             else onnx.TensorProto.FLOAT for name in PIPELINE_OUTPUT_NAMES}
    graph = helper.make_graph(
        [joins[0], *sizes, *pre.graph.node, batch, joins[1], *inner.graph.node, *joins[2:], *post.graph.node,
         *(renamed(name, outputs[name]) for name in PIPELINE_OUTPUT_NAMES)],
        "pixels_to_digit",
        [helper.make_tensor_value_info(PIPELINE_INPUT_NAME, onnx.TensorProto.UINT8, ["height", "width", 4])],
        [helper.make_tensor_value_info(name, types[name], shapes[name]) for name in PIPELINE_OUTPUT_NAMES],
        initializer=[batch_axis, *pre.graph.initializer, *inner.graph.initializer, *post.graph.initializer])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=classifier.ir_version,
                              producer_name="lstm-digits", doc_string="RGBA pixels to digit; see metadata_props.")
    helper.set_model_props(model, props)
    return folded(model)


def write_pipeline(model_path: Path, folder: Path) -> Path:
    """folder/pipeline.onnx from the exported model.onnx at model_path, checked (full_check), and its
    test data (pipeline_test_data/), checked against the Python runtime."""
    model = pipeline_model(onnx.load(str(model_path)))
    onnx.checker.check_model(model, full_check=True)
    path = Path(folder) / PIPELINE
    onnx.save(model, str(path))
    shutil.rmtree(Path(folder) / PIPELINE_TEST_DATA, ignore_errors=True)
    write_pipeline_test_data(folder, model_path, path)
    return path
