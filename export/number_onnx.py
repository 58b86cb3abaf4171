"""number.onnx: RGBA pixels of any size in, the number written there out.

Three graphs in one file, joined by name (joined_graphs.py), as pipeline.onnx is:
- the strip preprocessing (lstm_digits.preprocessing.strip_form, onnxscript functions, steps 1-6
  shared with the digit's): the number's ink, its height scaled to 20 rows, in a 28-row strip;
- the reader (training/number_model.py, exported by torch.onnx): per-column log-probabilities;
- the reading rule (number_reading.py, onnxscript): CTC's greedy reading, per-digit probabilities
  and boxes, and the rejection rule, its threshold a constant here and in the metadata.
"""

import functools
import io
import json

import onnx
import onnxscript.optimizer
import torch
from onnx import helper
from onnxscript import BOOL, FLOAT, INT64, script
from onnxscript import opset18 as op
from torch import nn

from ..models import NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES, OPSET
from ..preprocessing import STRIP_FORM_INPUTS, STRIP_FORM_OUTPUTS
from ..preprocessing.build import built_model
from ..preprocessing.strip_form import STRIP_MARGIN
from ..training.number_model import CLASSES, NumberRNN
from ..training.number_strings import STRIP_HEIGHT, STRIP_INK_HEIGHT
from .formats import FOLD_LIMIT, quiet_torch
from .joined_graphs import folded, prefixed, renamed
from .number_reading import read_number
from .simplify import simplify

READER_INPUT, READER_OUTPUT = "strip", "log_probs"
PREPROCESSING, READER, READING = "strip_form/", "reader/", "reading/"


class _OneStrip(nn.Module):
    """The reader on one strip [1, 28, W], unpadded: its log-probabilities [T, 1, 11]."""

    def __init__(self, model: NumberRNN):
        super().__init__()
        self.model = model

    def forward(self, strip: torch.Tensor) -> torch.Tensor:
        return self.model(strip)[0]


def reader_model(model: NumberRNN) -> onnx.ModelProto:
    """The reader as ONNX: `strip` float32 [1, 28, width] -> `log_probs` float32 [columns, 1, 11].

    torch.onnx's TorchScript-based exporter (dynamo=False), not torch.export's: with torch 2.14,
    torch.export cannot follow a width that is free through two bidirectional LSTM layers after the
    pooling ("stack expects each tensor to be equal size ... Min(s//2, s//64)"), whatever the
    width's bounds; one layer exports. The parity check holds either way."""
    example = torch.rand(1, STRIP_HEIGHT, 64, generator=torch.Generator().manual_seed(0))
    written = io.BytesIO()
    with quiet_torch():
        torch.onnx.export(_OneStrip(model).eval(), (example,), written, dynamo=False, input_names=[READER_INPUT],
                          output_names=[READER_OUTPUT], opset_version=OPSET,
                          dynamic_axes={READER_INPUT: {2: "width"}, READER_OUTPUT: {0: "columns"}})
    proto = onnxscript.optimizer.optimize(onnx.load_from_string(written.getvalue()), input_size_limit=FOLD_LIMIT,
                                          output_size_limit=FOLD_LIMIT)
    proto = simplify(proto)
    onnx.checker.check_model(proto, full_check=True)
    return proto


def reading_model(column_stride: int, min_probability: float) -> onnx.ModelProto:
    """The reading rule as ONNX: the reader's log_probs, the strip, the number's box and no_number
    -> digits, probabilities, boxes, number_probability, rejected."""
    @script(default_opset=op)
    def reading(log_probs: FLOAT["columns", 1, CLASSES], strip: FLOAT[STRIP_HEIGHT, "strip_width"], box: INT64[4],
                no_number: BOOL) -> tuple[INT64["digits"], FLOAT["digits"], INT64["digits", 4], FLOAT, BOOL]:
        stride = op.Constant(value_int=column_stride)
        threshold = op.Constant(value_float=min_probability)
        digits, probabilities, boxes, number_probability, rejected = read_number(log_probs, strip, box, no_number,
                                                                                 stride, threshold)
        return digits, probabilities, boxes, number_probability, rejected
    return onnxscript.optimizer.optimize(reading.to_model_proto())


@functools.cache
def _strip_form() -> onnx.ModelProto:
    """The strip preprocessing, built once a process (about 10 s; prefixed() leaves it as it is)."""
    return built_model("strip_form")


def number_model(reader: onnx.ModelProto, column_stride: int, min_probability: float, props: dict) -> onnx.ModelProto:
    """The three graphs joined: `pixels` -> NUMBER_OUTPUT_NAMES, with props as metadata."""
    pre = prefixed(_strip_form(), PREPROCESSING)
    inner = prefixed(reader, READER)
    post = prefixed(reading_model(column_stride, min_probability), READING)
    pixels, strip_height, ink_height = STRIP_FORM_INPUTS
    strip, no_number, box = STRIP_FORM_OUTPUTS
    sizes = [helper.make_node("Constant", [], [PREPROCESSING + name], name=f"{PREPROCESSING}{name}_of_the_reader",
                              value=helper.make_tensor(name, onnx.TensorProto.INT64, [], [value]))
             for name, value in ((strip_height, STRIP_HEIGHT), (ink_height, STRIP_INK_HEIGHT))]
    batch_axis = helper.make_tensor(PREPROCESSING + "batch_axis", onnx.TensorProto.INT64, [1], [0])
    batch = helper.make_node("Unsqueeze", [PREPROCESSING + strip, batch_axis.name], [PREPROCESSING + "batch"],
                             name=PREPROCESSING + "batch_of_one")
    joins = [renamed(PREPROCESSING + pixels, NUMBER_INPUT_NAME),
             renamed(READER + READER_INPUT, PREPROCESSING + "batch"),
             renamed(READING + "log_probs", READER + READER_OUTPUT),
             renamed(READING + "strip", PREPROCESSING + strip),
             renamed(READING + "box", PREPROCESSING + box),
             renamed(READING + "no_number", PREPROCESSING + no_number)]
    sources = {"digits": READING + "digits", "probabilities": READING + "probabilities", "boxes": READING + "boxes",
               "number_probability": READING + "number_probability", "rejected": READING + "rejected",
               "no_number": PREPROCESSING + no_number, "strip": PREPROCESSING + strip,
               "log_probs": READER + READER_OUTPUT}
    outputs = [helper.make_tensor_value_info(name, element, shape) for name, element, shape in (
        ("digits", onnx.TensorProto.INT64, ["digits"]), ("probabilities", onnx.TensorProto.FLOAT, ["digits"]),
        ("boxes", onnx.TensorProto.INT64, ["digits", 4]), ("number_probability", onnx.TensorProto.FLOAT, []),
        ("rejected", onnx.TensorProto.BOOL, []), ("no_number", onnx.TensorProto.BOOL, []),
        ("strip", onnx.TensorProto.FLOAT, [STRIP_HEIGHT, "strip_width"]),
        ("log_probs", onnx.TensorProto.FLOAT, ["columns", 1, CLASSES]))]
    assert tuple(o.name for o in outputs) == NUMBER_OUTPUT_NAMES
    graph = helper.make_graph(
        [joins[0], *sizes, *pre.graph.node, batch, joins[1], *inner.graph.node, *joins[2:], *post.graph.node,
         *(renamed(name, sources[name]) for name in NUMBER_OUTPUT_NAMES)],
        "pixels_to_number",
        [helper.make_tensor_value_info(NUMBER_INPUT_NAME, onnx.TensorProto.UINT8, ["height", "width", 4])],
        outputs,
        initializer=[batch_axis, *pre.graph.initializer, *inner.graph.initializer, *post.graph.initializer])
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=reader.ir_version,
                              producer_name="lstm-digits", doc_string="RGBA pixels to a handwritten number; see metadata_props.")
    helper.set_model_props(model, {key: value if isinstance(value, str) else json.dumps(value) for key, value in props.items()})
    return folded(model)


def reading_metadata(column_stride: int, min_probability: float, chosen_by: str) -> dict:
    """What an embedder needs to run the file and read its outputs."""
    return {
        "input": {"name": NUMBER_INPUT_NAME, "shape": ["height", "width", 4], "dtype": "uint8",
                  "layout": "RGBA, rows first", "decoding": "by the host, EXIF orientation applied; any size"},
        "outputs": {
            "order": list(NUMBER_OUTPUT_NAMES),
            "digits": "int64 [L]: the digits read, left to right (a number is a string: leading zeros count)",
            "probabilities": "float32 [L]: each digit's probability, the highest of its digit over its columns",
            "boxes": "int64 [L, 4]: each digit's box in the input's pixels, x0, y0, x1, y1, x1 and y1 exclusive",
            "number_probability": "float32: the product of the digits' probabilities; 0 when no digit is read",
            "rejected": "bool: not a number; nothing written, nothing read, or a digit below rejection.min_probability",
            "no_number": "bool: nothing stands out of the paper",
            "strip": f"float32 [{STRIP_HEIGHT}, W]: what the reader saw, bright ink on black",
            "log_probs": f"float32 [T, 1, {CLASSES}]: the reader's log-probabilities per column, classes 0-9 "
                         f"then the CTC blank (10); T = W / {column_stride}",
        },
        "strip": {"height": STRIP_HEIGHT, "ink_height": STRIP_INK_HEIGHT, "margin": STRIP_MARGIN,
                  "column_stride": column_stride},
        "decoding": "CTC greedy: the best class per column, a run of one digit is one digit, blanks dropped "
                    "(lstm_digits.export.number_reading)",
        "rejection": {"rule": "any digit's probability below min_probability", "min_probability": min_probability,
                      "chosen_by": chosen_by},
    }
