"""The whole preprocessing: RGBA pixels of any size -> the digit in MNIST form, the steps in order,
numbered as the rules in docs/PREPROCESSING.md (the rules in words, with a picture of each kind of
input), which the other modules' docstrings use too:

  1-6  find_ink            the image's ink, cleaned, bright on black (ink.py; shared with a number's strip)
  7    crop, scale, place  the ink's box, longest side to digit_box px, centre of mass at the canvas's centre (placement.py);
                           the box is an output too, in the input's pixels

Before step 1 the host decodes the image: upright (EXIF orientation applied), any mode as RGBA
uint8 (in Python lstm_digits.runtime.preprocess.rgba_pixels, in Node.js examples/node/decode.js,
in the browser createImageBitmap and a canvas).
"""

from pathlib import Path

import numpy as np
import onnx
from onnxscript import BOOL, FLOAT, INT64, UINT8, script
from onnxscript import opset18 as op

from . import MNIST_FORM_GRAPH, MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS, MNIST_FORM_RUNTIME_GRAPH
from .build import built_model, write_runtime_format
from .ink import find_ink
from .placement import box_in_frame, crop_to_ink, ink_box, no_box, place_by_centre_of_mass, scale_into_box, thickened


@script()
def _blank(canvas: INT64) -> FLOAT[None, None]:
    """[canvas, canvas] zeros: the image when there is no digit."""
    side = op.Reshape(canvas, op.Constant(value_ints=[1]))
    return op.ConstantOfShape(op.Concat(side, side, axis=0), value=np.zeros(1, np.float32))


@script(default_opset=op)
def _digit_in_form(pixels: UINT8[None, None, 4], canvas: INT64, digit_box: INT64
                   ) -> tuple[FLOAT[None, None], BOOL, FLOAT[None, None], INT64[4]]:
    """(image [canvas, canvas], no_digit, ink, box) of an image with pixels. No digit when find_ink
    finds nothing written: the image is then all zeros, and the box too."""
    ink, no_digit = find_ink(pixels)
    if no_digit:
        image = _blank(canvas)
        box = no_box()
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
        box = no_box()
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
    runs (MNIST_FORM_GRAPH), and the first part of pipeline.onnx, its sizes given as constants there."""
    return built_model("mnist_form")


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


if __name__ == "__main__":  # make preprocessing-graph
    print(write_preprocessing_graph())
