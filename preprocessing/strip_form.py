"""A number's strip: RGBA pixels of any size -> the number's ink in a strip STRIP_HEIGHT rows high,
what the number reader reads column by column (docs/NUMBERS.md).

  1-6  find_ink       the image's ink, cleaned, bright on black (ink.py), as for a digit
  7    crop           the ink's box (placement.ink_box), as for a digit
  8    scale, place   the ink's height scaled to ink_height rows, aspect kept (thin strokes thickened
                      first, as for a digit), centred in strip_height rows, STRIP_MARGIN blank columns
                      either side

The strip's columns map back to the input's: strip column c lies over input column
box_left + (c - STRIP_MARGIN + 0.5) * box_width / ink_width - 0.5, where ink_width is the strip's
width less its two margins (number_columns does this).
"""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, UINT8, script
from onnxscript import opset18 as op

from .common import dims, scaled_side
from .ink import find_ink
from .placement import GAP, box_in_frame, crop_to_ink, ink_box, no_box, thickened_for
from .resample import resize_lanczos_with_reducing_gap

STRIP_MARGIN = 6  # blank columns either side of the number's ink (training draws 2-10)
TWO_MARGINS = 2 * STRIP_MARGIN
MARGIN_COLUMNS = np.array(STRIP_MARGIN, np.float32)


@script()
def _empty_strip(strip_height: INT64) -> FLOAT[None, None]:
    """[strip_height, 2 STRIP_MARGIN] zeros: the strip when nothing is written."""
    shape = op.Concat(op.Reshape(strip_height, [1]), op.Constant(value_ints=[TWO_MARGINS]), axis=0)
    return op.ConstantOfShape(shape, value=np.zeros(1, np.float32))


@script()
def ink_into_strip(number: FLOAT[None, None], strip_height: INT64, ink_height: INT64) -> FLOAT[None, None]:
    """The cropped number [h, w] with its height scaled to ink_height, aspect kept (Pillow's LANCZOS
    with the digit's reducing gap, clipped to [0, 1]; as it is when already that high), centred in
    strip_height rows (one row more below when the rest is odd), with STRIP_MARGIN columns either side."""
    height, width = dims(number)
    if op.Equal(height, ink_height):
        scaled = op.Identity(number)
    else:
        thick = thickened_for(number, height, ink_height)  # (grown by a few pixels on each side, or not)
        thick_height, thick_width = dims(thick)
        scale = op.Div(op.Cast(ink_height, to=DOUBLE.dtype), op.Cast(thick_height, to=DOUBLE.dtype))
        resized = resize_lanczos_with_reducing_gap(thick, thick_height, thick_width, ink_height,
                                                   scaled_side(thick_width, scale), GAP)
        scaled = op.Clip(resized, 0.0, 1.0)
    rest = op.Sub(strip_height, ink_height)
    top = op.Reshape(op.Div(rest, 2), [1])
    bottom = op.Sub(op.Reshape(rest, [1]), top)
    margin = op.Constant(value_ints=[STRIP_MARGIN])
    return op.Pad(scaled, op.Concat(top, margin, bottom, margin, axis=0))


@script(default_opset=op)
def _number_in_strip(pixels: UINT8[None, None, 4], strip_height: INT64, ink_height: INT64
                     ) -> tuple[FLOAT[None, None], BOOL, INT64[4]]:
    ink, no_number = find_ink(pixels)
    if no_number:
        strip = _empty_strip(strip_height)
        box = no_box()
    else:
        crop = ink_box(ink)
        strip = ink_into_strip(crop_to_ink(ink, crop), strip_height, ink_height)
        box = box_in_frame(crop, ink, pixels)
    return strip, no_number, box


@script()
def to_strip_form(pixels: UINT8[None, None, 4], strip_height: INT64, ink_height: INT64
                  ) -> tuple[FLOAT[None, None], BOOL, INT64[4]]:
    """(strip [strip_height, W] float32 in [0, 1], bright ink on black; no_number: nothing written,
    the strip then all zeros; box: the number's crop in the input's pixels, [top, left, bottom,
    right], bottom and right exclusive, all 0 with no number). An input with no pixels has no number."""
    if op.Equal(op.Size(pixels), op.Constant(value_int=0)):
        strip = _empty_strip(strip_height)
        no_number = op.Constant(value=np.array(True))
        box = no_box()
    else:
        strip, no_number, box = _number_in_strip(pixels, strip_height, ink_height)
    return strip, no_number, box


@script()
def number_columns(columns: FLOAT[None], strip_width: INT64, box: INT64[4]) -> FLOAT[None]:
    """Strip columns (float, any count) -> the input's columns, through the number's box."""
    box_left = op.Cast(op.Slice(box, [1], [2]), to=FLOAT.dtype)
    box_width = op.Cast(op.Sub(op.Slice(box, [3], [4]), op.Slice(box, [1], [2])), to=FLOAT.dtype)
    ink_width = op.Cast(op.Sub(strip_width, TWO_MARGINS), to=FLOAT.dtype)
    return op.Sub(op.Add(box_left, op.Mul(op.Add(op.Sub(columns, MARGIN_COLUMNS), 0.5),
                                          op.Div(box_width, ink_width))), 0.5)


# (The graph's inputs and outputs take the names of these arguments and returned values: STRIP_FORM_INPUTS
# and STRIP_FORM_OUTPUTS.)
@script(default_opset=op)
def strip_graph(pixels: UINT8["height", "width", 4], strip_height: INT64, ink_height: INT64
                ) -> tuple[FLOAT["strip_height", "strip_width"], BOOL, INT64[4]]:
    strip, no_number, box = to_strip_form(pixels, strip_height, ink_height)
    return strip, no_number, box
