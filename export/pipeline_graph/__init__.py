"""pipeline.onnx: the runtime's whole preprocessing (runtime/preprocess.py steps 2-8, cleaning.py,
morphology.py) as standard ONNX operators, followed by the classifier graph of model.onnx, in one
file: RGBA pixels of any size in, the digit's logits and calibrated probabilities out.

Built from an exported model.onnx alone (its metadata has the sizes, temperature and rejection
threshold): `write_pipeline(model_path, folder)`. Decoding and EXIF orientation stay with the host.
"""

import json
import logging
import shutil
from pathlib import Path

import numpy as np
import onnx
import onnxscript.optimizer
from onnx import compose, helper

from ...models import (INPUT_NAME, OPSET, OUTPUT_NAMES, PIPELINE, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES,
                       PIPELINE_TEST_DATA)
from ...runtime.confidence import RejectionRule
from ...runtime.preprocess import MIN_INK_PIXELS
from .builder import BOOL, FLOAT, Builder
from .cleaning import suppress_background
from .grayscale import grayscale
from .limit_size import limit_size
from .ops import count
from .placement import crop_to_ink, place_by_centre_of_mass, scale_into_box
from .polarity import make_ink_bright
from .test_data import write_test_data

CLASSIFIER_PREFIX = "classifier/"


def preprocess(g: Builder, pixels: str, canvas: int, box: int) -> tuple[str, str]:
    """(image [canvas, canvas] float32, no_digit bool scalar): zeros when nothing stands out, or when
    there are no pixels at all (height or width 0)."""
    none, some = g.sub("no_pixels"), g.sub("pixels")
    nothing = [none.const(np.zeros((canvas, canvas), np.float32)), none.scalar(True, np.bool_)]
    return g.if_(g.op("Equal", g.op("Size", pixels), g.scalar(0, np.int64)), none, nothing,
                 some, list(_preprocess_pixels(some, pixels, canvas, box)), [FLOAT, BOOL])


def _preprocess_pixels(g: Builder, pixels: str, canvas: int, box: int) -> tuple[str, str]:
    ink, faint_only = suppress_background(g, make_ink_bright(g, grayscale(g, limit_size(g, pixels))))
    too_little = g.op("Less", count(g, g.op("Greater", ink, g.scalar(0.0))), g.scalar(MIN_INK_PIXELS, np.int64))
    no_digit = g.op("Or", faint_only, too_little)
    blank, digit = g.sub("blank"), g.sub("digit")
    empty = blank.const(np.zeros((canvas, canvas), np.float32))
    placed = place_by_centre_of_mass(digit, scale_into_box(digit, crop_to_ink(digit, ink), box), canvas)
    (image,) = g.if_(no_digit, blank, [empty], digit, [placed], [FLOAT])
    return image, no_digit


def _metadata(classifier: onnx.ModelProto) -> dict:
    props = {p.key: p.value for p in classifier.metadata_props}
    preprocessing = json.loads(props["preprocessing"])
    canvas = preprocessing["canvas"]
    props["input"] = json.dumps({
        "name": PIPELINE_INPUT_NAME, "shape": ["height", "width", 4], "dtype": "uint8", "layout": "RGBA, rows first",
        "decoding": "by the host, EXIF orientation applied; any size (over 4 megapixels, area-averaged first, "
                    "as the runtime does)",
    })
    props["outputs"] = json.dumps({
        "logits": [1, 10], "probabilities": [1, 10], "image": [canvas, canvas], "rejected": [1], "no_digit": [1],
        "order": list(PIPELINE_OUTPUT_NAMES),
        "meaning": {"image": "what the model saw: float32 in [0, 1], bright digit on black",
                    "rejected": "not a digit: the largest probability is below rejection.min_confidence, or no_digit",
                    "no_digit": "nothing stands out of the paper: image is all zeros, the other outputs are the model's on it"},
    })
    props["pipeline"] = json.dumps({"classifier": "model.onnx's graph, inlined", "preprocessing": "lstm_digits.runtime "
                                    "(preprocess.py steps 2-8, cleaning.py) in standard ONNX operators"})
    return props


def pipeline_model(classifier: onnx.ModelProto) -> onnx.ModelProto:
    props = _metadata(classifier)
    preprocessing = json.loads(props["preprocessing"])
    canvas, box = int(preprocessing["canvas"]), int(preprocessing["digit_box"])
    min_confidence = RejectionRule.from_metadata(props).min_confidence

    g = Builder("pre")
    image, no_digit = preprocess(g, PIPELINE_INPUT_NAME, canvas, box)
    inner = compose.add_prefix(classifier, CLASSIFIER_PREFIX).graph
    g.nodes.append(helper.make_node("Unsqueeze", [image, g.ints(0)], [CLASSIFIER_PREFIX + INPUT_NAME]))
    logits, probabilities = (CLASSIFIER_PREFIX + name for name in OUTPUT_NAMES)
    post = Builder("post", g.counter)
    unsure = post.op("Less", post.op("ReduceMax", probabilities, post.ints(1), keepdims=0), post.scalar(min_confidence))
    no_digit_1 = post.op("Reshape", no_digit, post.ints(1))
    outputs = {"logits": logits, "probabilities": probabilities, "image": image,
               "rejected": post.op("Or", unsure, no_digit_1), "no_digit": no_digit_1}
    post.nodes += [helper.make_node("Identity", [outputs[name]], [name]) for name in PIPELINE_OUTPUT_NAMES]
    types = {"logits": (FLOAT, [1, 10]), "probabilities": (FLOAT, [1, 10]), "image": (FLOAT, [canvas, canvas]),
             "rejected": (BOOL, [1]), "no_digit": (BOOL, [1])}
    graph = helper.make_graph(
        g.nodes + list(inner.node) + post.nodes, "pixels_to_digit",
        [helper.make_tensor_value_info(PIPELINE_INPUT_NAME, onnx.TensorProto.UINT8, ["height", "width", 4])],
        [helper.make_tensor_value_info(name, *types[name]) for name in PIPELINE_OUTPUT_NAMES],
        initializer=list(inner.initializer), value_info=list(inner.value_info))
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=classifier.ir_version,
                              producer_name="lstm-digits", doc_string="RGBA pixels to digit; see metadata_props.")
    helper.set_model_props(model, props)
    return _optimized(model)


def _optimized(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxscript's optimizer: constants folded, shared values merged, and the nodes nothing reads
    removed, in If branches too (onnxruntime warns embedders about unused constants). Outputs are
    unchanged; a 640x480 photo runs about 4% faster. Its note that branch outputs which are constants
    cannot be merged is expected here, so it is not shown."""
    deduplication = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
    level = deduplication.level
    deduplication.setLevel(logging.ERROR)
    try:
        return onnxscript.optimizer.optimize(model)
    finally:
        deduplication.setLevel(level)


def write_pipeline(model_path: Path, folder: Path) -> Path:
    """folder/pipeline.onnx from the exported model.onnx at model_path, checked (full_check), and its
    test data (pipeline_test_data/), checked against the Python runtime."""
    model = pipeline_model(onnx.load(str(model_path)))
    onnx.checker.check_model(model, full_check=True)
    path = Path(folder) / PIPELINE
    onnx.save(model, str(path))
    shutil.rmtree(Path(folder) / PIPELINE_TEST_DATA, ignore_errors=True)
    write_test_data(folder, model_path, path)
    return path
