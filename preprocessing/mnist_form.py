"""The whole preprocessing: RGBA pixels of any size -> the digit in MNIST form, the steps in order,
numbered as the rules in docs/PREPROCESSING.md (the rules in words, with a picture of each kind of
input), which the other modules' docstrings use too:

  1    limit_size          images over 4 MP (MAX_WORK_PIXELS) are area-averaged first (limit_size.py)
  1    grayscale           translucent pixels composited on the background that shows the strokes (grayscale.py)
  2    make_ink_bright     polarity: bright ink on black (polarity.py)
  3-6  suppress_background the paper's brightness subtracted (3, background.py), noise measured and
                           averaged out (4, noise.py), printed lines dropped (5, printed_lines.py), the
                           strokes and the faint ink connected to them kept (6, cleaning.py)
  7    crop, scale, place  the ink's box, longest side to digit_box px, centre of mass at the canvas's centre (placement.py);
                           the box is an output too, in the input's pixels

Before step 1 the host decodes the image: upright (EXIF orientation applied), any mode as RGBA
uint8 (in Python lstm_digits.runtime.preprocess.rgba_pixels, in Node.js examples/node/decode.js,
in the browser createImageBitmap and a canvas).
"""

import logging
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import onnx_ir
import onnxscript.optimizer
from onnx_ir.passes.common import InlinePass
from onnxscript import BOOL, FLOAT, INT64, UINT8, script
from onnxscript import opset18 as op

from . import MNIST_FORM_GRAPH, MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS, MNIST_FORM_RUNTIME_GRAPH
from .cleaning import suppress_background
from .common import count
from .grayscale import grayscale
from .limit_size import limit_size
from .placement import box_in_frame, crop_to_ink, ink_box, place_by_centre_of_mass, scale_into_box, thickened
from .polarity import make_ink_bright

MIN_INK_PIXELS = 4  # fewer pixels of ink than this (after the cleaning): no digit

HASH_SEED = "0"


@script()
def _blank(canvas: INT64) -> FLOAT[None, None]:
    """[canvas, canvas] zeros: the image when there is no digit."""
    side = op.Reshape(canvas, op.Constant(value_ints=[1]))
    return op.ConstantOfShape(op.Concat(side, side, axis=0), value=np.zeros(1, np.float32))


@script()
def _no_box() -> INT64[4]:
    """The box when there is no digit: [0, 0, 0, 0]."""
    return op.Constant(value=np.zeros(4, np.int64))


@script()
def _digit_in_form(pixels: UINT8[None, None, 4], canvas: INT64, digit_box: INT64
                   ) -> tuple[FLOAT[None, None], BOOL, FLOAT[None, None], INT64[4]]:
    """(image [canvas, canvas], no_digit, ink, box) of an image with pixels. No digit when no ink
    stands out of the paper, or when fewer than MIN_INK_PIXELS pixels are ink: the image is then all
    zeros, and the box too."""
    bright, border_level, flat_border = make_ink_bright(grayscale(limit_size(pixels)))
    ink, faint_only = suppress_background(bright, border_level, flat_border)
    too_little = op.Less(count(op.Greater(ink, 0.0)), op.Constant(value_int=MIN_INK_PIXELS))
    no_digit = op.Or(faint_only, too_little)
    if no_digit:
        image = _blank(canvas)
        box = _no_box()
    else:
        crop = ink_box(ink)
        image = place_by_centre_of_mass(scale_into_box(thickened(crop_to_ink(ink, crop), digit_box), digit_box), canvas)
        box = box_in_frame(crop, ink, pixels)
    return image, no_digit, ink, box


@script()
def to_mnist_form(pixels: UINT8[None, None, 4], canvas: INT64, digit_box: INT64
                  ) -> tuple[FLOAT[None, None], BOOL, FLOAT[None, None], INT64[4]]:
    """(image [canvas, canvas] float32 in [0, 1], bright digit on black; no_digit; ink, what was
    kept as ink in the image's own frame, before the crop: [h, w] float32, or smaller for an image
    over MAX_WORK_PIXELS; box, the digit's crop in the input's pixels: [top, left, bottom, right],
    bottom and right exclusive, all 0 with no digit). An input with no pixels at all (height or
    width 0) has no digit."""
    if op.Equal(op.Size(pixels), op.Constant(value_int=0)):
        image = _blank(canvas)
        no_digit = op.Constant(value=np.array(True))
        ink = op.ConstantOfShape(op.Slice(op.Shape(pixels), op.Constant(value_ints=[0]), op.Constant(value_ints=[2])),
                                 value=np.zeros(1, np.float32))
        box = _no_box()
    else:
        image, no_digit, ink, box = _digit_in_form(pixels, canvas, digit_box)
    return image, no_digit, ink, box


# (The graph's inputs and outputs take the names of these arguments and returned values: MNIST_FORM_INPUTS
# and MNIST_FORM_OUTPUTS, which write_preprocessing_graph checks.)
@script(default_opset=op)
def _preprocess(pixels: UINT8["height", "width", 4], canvas: INT64, digit_box: INT64
                ) -> tuple[FLOAT["canvas", "canvas"], BOOL, FLOAT["ink_height", "ink_width"], INT64[4]]:
    image, no_digit, ink, box = to_mnist_form(pixels, canvas, digit_box)
    return image, no_digit, ink, box


def preprocessing_model() -> onnx.ModelProto:
    """The preprocessing as one ONNX model, functions inlined: inputs `pixels` (uint8 [height, width,
    4], RGBA), `canvas` and `digit_box` (int64 scalars: the model's sizes, from its metadata); outputs
    `image` [canvas, canvas], `no_digit` (bool scalar), `ink` and `box` (see to_mnist_form). What the runtime
    runs (MNIST_FORM_GRAPH), and the first part of pipeline.onnx, its sizes given as constants there.

    Built in a Python process whose string hashing is fixed (PYTHONHASHSEED=0): onnxscript orders an
    If's outputs and a Loop's carried values as a Python set does, so the same code gave other bytes
    from one process to the next. Same outputs either way; a rebuild must give the same file."""
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        built = subprocess.run([sys.executable, "-m", __spec__.name], capture_output=True,
                               env={**os.environ, "PYTHONHASHSEED": HASH_SEED}, check=False)
        if built.returncode != 0:
            raise RuntimeError(f"building the preprocessing model failed: {built.stderr.decode(errors='replace')[-2000:]}")
        return onnx.load_model_from_string(built.stdout)
    # onnx_ir's inliner: onnx.inliner leaves attribute defaults (reduce_by_tiles' tile sizes) unset,
    # and the optimizer's own inlining loses values that If branches read from outer scopes.
    model = onnx_ir.from_proto(_preprocess.to_model_proto())
    InlinePass()(model)
    model = onnx_ir.to_proto(model)
    _give_loops_a_condition(model.graph)
    return optimized(model)


def write_preprocessing_graph(path: Path = MNIST_FORM_GRAPH) -> Path:
    """MNIST_FORM_GRAPH (or path), checked (full_check), and, when it changed or the runtime's copy
    is missing, that copy beside it (MNIST_FORM_RUNTIME_GRAPH: .ort): what `make preprocessing-graph` runs."""
    model = preprocessing_model()
    onnx.checker.check_model(model, full_check=True)
    names = (tuple(i.name for i in model.graph.input), tuple(o.name for o in model.graph.output))
    if names != (MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS):
        raise RuntimeError(f"the preprocessing graph's inputs and outputs are {names}, not {MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS}")
    data, runtime_path = model.SerializeToString(), path.with_suffix(MNIST_FORM_RUNTIME_GRAPH.suffix)
    changed = not path.is_file() or path.read_bytes() != data
    path.write_bytes(data)
    if changed or not runtime_path.is_file():
        write_runtime_format(path, runtime_path)
    return path


def write_runtime_format(source: Path, target: Path) -> None:
    """The graph at `source` saved by onnxruntime in its own format (ORT) at `target`, as it is (no
    optimisation: the runtime opens it with none)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.save_model_format", "ORT")
    options.log_severity_level = 3
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def optimized(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxscript's optimizer: constants folded, shared values merged, and the nodes nothing reads
    removed, in If branches too (onnxruntime warns embedders about unused constants). Its notes that
    branch outputs which are constants cannot be deduplicated are expected here, so they are not shown.
    The types and shapes it writes for the values inside the graph (value_info) are dropped: every
    runtime infers them again, and onnxruntime opens the graph sooner without them (117 ms against
    100 ms, docs/BENCHMARKS.md)."""
    deduplication = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
    level = deduplication.level
    deduplication.setLevel(logging.ERROR)
    try:
        model = onnxscript.optimizer.optimize(model)
    finally:
        deduplication.setLevel(level)
    drop_value_info(model.graph)
    return model


def drop_value_info(graph: onnx.GraphProto) -> None:
    """The types and shapes of the values inside the graph and its If and Loop bodies, removed."""
    del graph.value_info[:]
    for node in graph.node:
        for attribute in node.attribute:
            for body in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
                drop_value_info(body)


def _give_loops_a_condition(graph: onnx.GraphProto) -> None:
    """A Python `for` becomes a Loop with no condition input, which ONNX reads as "always true" and
    onnx's reference evaluator as "false" (it runs none of the iterations): each gets a constant True."""
    for index in reversed(range(len(graph.node))):
        node = graph.node[index]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _give_loops_a_condition(attribute.g)
        if node.op_type == "Loop" and (len(node.input) < 2 or not node.input[1]):
            always = f"{node.output[0]}_always"
            graph.node.insert(index, onnx.helper.make_node("Constant", [], [always], value=onnx.helper.make_tensor(
                always, onnx.TensorProto.BOOL, [], [True])))
            node.input[1] = always


if __name__ == "__main__":
    if sys.argv[1:] == ["--write"]:  # make preprocessing-graph
        print(write_preprocessing_graph())
    else:  # (preprocessing_model's child process) the model's bytes on stdout
        sys.stdout.buffer.write(preprocessing_model().SerializeToString())
