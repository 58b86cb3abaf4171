"""The whole preprocessing: RGBA pixels of any size -> the digit in MNIST form, the steps in order.

  limit_size          images over 4 MP are area-averaged first (limit_size.py)
  grayscale           translucent pixels composited on the background that shows the strokes (grayscale.py)
  make_ink_bright     polarity: bright ink on black (polarity.py)
  suppress_background paper, shading, noise and printed lines removed (background.py, cleaning.py)
  crop, scale, place  the ink's box, longest side to digit_box px, centre of mass at the canvas's centre (placement.py)

The rules in words, with a picture of each kind of input: docs/PREPROCESSING.md.
"""

import logging
import os
import subprocess
import sys

import numpy as np
import onnx
import onnx_ir
import onnxscript.optimizer
from onnx_ir.passes.common import InlinePass
from onnxscript import BOOL, FLOAT, INT64, UINT8, script
from onnxscript import opset18 as op

from ..runtime.preprocess import MIN_INK_PIXELS
from .cleaning import suppress_background
from .common import count
from .grayscale import grayscale
from .limit_size import limit_size
from .placement import crop_to_ink, place_by_centre_of_mass, scale_into_box
from .polarity import make_ink_bright

HASH_SEED = "0"


@script()
def _blank(canvas: INT64) -> FLOAT[None, None]:
    """[canvas, canvas] zeros: the image when there is no digit."""
    side = op.Reshape(canvas, op.Constant(value_ints=[1]))
    return op.ConstantOfShape(op.Concat(side, side, axis=0), value=np.zeros(1, np.float32))


@script()
def _digit_in_form(pixels: UINT8[None, None, 4], canvas: INT64, digit_box: INT64) -> tuple[FLOAT[None, None], BOOL]:
    """(image [canvas, canvas], no_digit) of an image with pixels. No digit when no ink stands out of
    the paper, or when fewer than MIN_INK_PIXELS pixels are ink: the image is then all zeros."""
    bright, border_level, flat_border = make_ink_bright(grayscale(limit_size(pixels)))
    ink, faint_only = suppress_background(bright, border_level, flat_border)
    too_little = op.Less(count(op.Greater(ink, 0.0)), op.Constant(value_int=MIN_INK_PIXELS))
    no_digit = op.Or(faint_only, too_little)
    if no_digit:
        image = _blank(canvas)
    else:
        image = place_by_centre_of_mass(scale_into_box(crop_to_ink(ink), digit_box), canvas)
    return image, no_digit


@script()
def to_mnist_form(pixels: UINT8[None, None, 4], canvas: INT64, digit_box: INT64) -> tuple[FLOAT[None, None], BOOL]:
    """(image [canvas, canvas] float32 in [0, 1], bright digit on black; no_digit). An input with no
    pixels at all (height or width 0) has no digit."""
    if op.Equal(op.Size(pixels), op.Constant(value_int=0)):
        image = _blank(canvas)
        no_digit = op.Constant(value=np.array(True))
    else:
        image, no_digit = _digit_in_form(pixels, canvas, digit_box)
    return image, no_digit


def preprocessing_model(canvas: int, digit_box: int) -> onnx.ModelProto:
    """The preprocessing as one ONNX model, functions inlined: input `pixels` (uint8 [height, width, 4],
    RGBA); outputs `image` [canvas, canvas], `batch` (the image as a batch of one, [1, canvas, canvas],
    what model.onnx reads) and `no_digit` (bool scalar).

    Built in a Python process whose string hashing is fixed (PYTHONHASHSEED=0): onnxscript orders an
    If's outputs and a Loop's carried values as a Python set does, so the same code gave other bytes
    from one process to the next. Same outputs either way; a re-export must give the same file."""
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        built = subprocess.run([sys.executable, "-m", __name__, str(canvas), str(digit_box)], capture_output=True,
                               env={**os.environ, "PYTHONHASHSEED": HASH_SEED}, check=False)
        if built.returncode != 0:
            raise RuntimeError(f"building the preprocessing model failed: {built.stderr.decode(errors='replace')[-2000:]}")
        return onnx.load_model_from_string(built.stdout)
    @script(default_opset=op)
    def preprocess(pixels: UINT8["height", "width", 4]) -> tuple[FLOAT[canvas, canvas], FLOAT[1, canvas, canvas], BOOL]:
        image, no_digit = to_mnist_form(pixels, op.Constant(value_int=canvas), op.Constant(value_int=digit_box))
        batch = op.Unsqueeze(image, op.Constant(value_ints=[0]))
        return image, batch, no_digit
    # onnx_ir's inliner: onnx.inliner leaves attribute defaults (reduce_by_tiles' tile sizes) unset,
    # and the optimizer's own inlining loses values that If branches read from outer scopes.
    model = onnx_ir.from_proto(preprocess.to_model_proto())
    InlinePass()(model)
    model = onnx_ir.to_proto(model)
    _give_loops_a_condition(model.graph)
    return optimized(model)


def optimized(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxscript's optimizer: constants folded, shared values merged, and the nodes nothing reads
    removed, in If branches too (onnxruntime warns embedders about unused constants). Its notes that
    branch outputs which are constants cannot be deduplicated are expected here, so they are not shown."""
    deduplication = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
    level = deduplication.level
    deduplication.setLevel(logging.ERROR)
    try:
        return onnxscript.optimizer.optimize(model)
    finally:
        deduplication.setLevel(level)


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


if __name__ == "__main__":  # python -m lstm_digits.preprocessing.mnist_form CANVAS DIGIT_BOX: the model's bytes on stdout
    sys.stdout.buffer.write(preprocessing_model(int(sys.argv[1]), int(sys.argv[2])).SerializeToString())
