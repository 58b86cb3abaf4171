"""Step 7 of the preprocessing (mnist_form.py): crop to the ink (the core that keeps all but
CROP_MASS of its mass on each side, grown back over adjacent inked rows and columns), scale the
longest side to the digit box (Pillow's Lanczos with reducing_gap, resample.py), place in the
canvas by centre of mass. The digit box and the canvas are the model's sizes (its metadata):
int64 scalars, constants once the graph is built (an int attribute used as a value inside an If
branch loses its scope when inlined)."""

import numpy as np
from onnxscript import DOUBLE, FLOAT, INT64, UINT8, script
from onnxscript import opset18 as op

from .background import stroke_width
from .common import dims, scaled_side
from .resample import resize_lanczos_with_reducing_gap

CROP_MASS = 0.002  # the crop's core keeps all but this fraction of the ink's mass on each side
REDUCING_GAP = 3.0  # the scale to the digit box: Pillow's LANCZOS with this reducing_gap

# As double constants (a Python float in an op call is a float32 one).
CORE_START = np.array(CROP_MASS, np.float64)  # the crop's core: from the pixel where the cumulative mass passes this ...
CORE_END = np.array(1 - CROP_MASS, np.float64)  # ... to the one where it reaches this
GAP = np.array(REDUCING_GAP, np.float64)


@script()
def _bounds(mass: DOUBLE[None]) -> tuple[INT64[1], INT64[1]]:
    """(first, last + 1) of the crop along one axis (each [1], to Concat into Slice's starts and ends), from the ink's mass on it (double): the core
    that keeps all but CROP_MASS of the mass on each side, grown back over adjacent pixels with ink
    (up to the nearest empty one on each side). The core starts at the first pixel whose
    cumulative mass passes CORE_START and ends at the first that reaches CORE_END; the cumulative
    mass never decreases (sums of masses >= 0, over their positive total), so the pixels before the
    core are those at or below CORE_START, and those from its end on are those at or above CORE_END
    (the end itself has mass, so it is never the empty one looked for)."""
    n = op.Size(mass)
    cumulative = op.Div(op.CumSum(mass, 0), op.ReduceSum(mass, keepdims=0))
    index = op.Range(0, n, 1)
    empty = op.Equal(mass, 0.0)
    gap_before = op.ReduceMax(op.Where(op.And(empty, op.LessOrEqual(cumulative, CORE_START)), index, -1), keepdims=1)
    gap_after = op.ReduceMin(op.Where(op.And(empty, op.GreaterOrEqual(cumulative, CORE_END)), index, n), keepdims=1)
    return op.Add(gap_before, 1), gap_after


@script()
def ink_box(ink: FLOAT[None, None]) -> INT64[4]:
    """The crop of the ink [h, w]: [top, left, bottom, right] (bottom and right exclusive), its
    rows and columns by _bounds (masses summed in double)."""
    ink_d = op.Cast(ink, to=DOUBLE.dtype)
    top, bottom = _bounds(op.ReduceSum(ink_d, [1], keepdims=0))
    left, right = _bounds(op.ReduceSum(ink_d, [0], keepdims=0))
    return op.Concat(top, left, bottom, right, axis=0)


@script()
def no_box() -> INT64[4]:
    """The box when nothing is written: [0, 0, 0, 0]."""
    return op.Constant(value=np.zeros(4, np.int64))


@script()
def crop_to_ink(ink: FLOAT[None, None], box: INT64[4]) -> FLOAT[None, None]:
    """The ink cropped to its box (ink_box)."""
    return op.Slice(ink, op.Slice(box, [0], [2]), op.Slice(box, [2], [4]), [0, 1])


@script()
def _scaled_box(box: INT64[4], ink: FLOAT[None, None], pixels: UINT8[None, None, 4]) -> INT64[4]:
    """The box, found in the ink's frame, in the input's pixels, when the ink is smaller: each side
    scaled by the ratio of the sizes, starts rounded down and ends up (within the reduction's
    factor of the exact box)."""
    input_size = op.Slice(op.Shape(pixels), [0], [2])
    ratio = op.Div(op.Cast(input_size, to=DOUBLE.dtype), op.Cast(op.Shape(ink), to=DOUBLE.dtype))  # [rows, columns]
    scaled = op.Mul(op.Cast(box, to=DOUBLE.dtype), op.Concat(ratio, ratio, axis=0))
    starts = op.Cast(op.Floor(op.Slice(scaled, [0], [2])), to=INT64.dtype)
    ends = op.Min(op.Cast(op.Ceil(op.Slice(scaled, [2], [4])), to=INT64.dtype), input_size)
    return op.Concat(starts, ends, axis=0)


@script()
def box_in_frame(box: INT64[4], ink: FLOAT[None, None], pixels: UINT8[None, None, 4]) -> INT64[4]:
    """The box, found in the ink's frame, in the input's pixels: the same box where the ink has the
    input's size (the ink has as many pixels as the input has RGBA quadruples), else _scaled_box (an
    input reduced by limit_size)."""
    if op.Equal(op.Mul(op.Size(ink), 4), op.Size(pixels)):
        in_frame = op.Identity(box)
    else:
        in_frame = _scaled_box(box, ink, pixels)
    return in_frame


MNIST_STROKE = 1.84  # MNIST's median stroke width in its 20 px box (stroke_width of the pixels over half)
THIN_STROKE = 1.0  # strokes thinner than this in the box (MNIST's 1st percentile) are thickened to MNIST_STROKE
THIN_FROM = 3  # ... in digits at least this many times the box (smaller ones, a thin stroke fades less)


@script()
def _grown(digit: FLOAT[None, None], per_box: DOUBLE) -> FLOAT[None, None]:
    """The digit's strokes grown by 3 x 3 maxima to MNIST_STROKE at the box's scale (per_box: box
    pixels per digit pixel) if they are thinner than THIN_STROKE there; else the digit as it is."""
    measured = stroke_width(op.Greater(digit, 0.5))
    if op.Less(op.Mul(measured, per_box), op.Constant(value=np.float64(THIN_STROKE))):
        wanted = op.Div(op.Constant(value=np.float64(MNIST_STROKE)), per_box)
        steps = op.Max(op.Cast(op.Round(op.Div(op.Sub(wanted, measured), op.Constant(value=np.float64(2.0)))), to=INT64.dtype), 0)
        side = op.Reshape(steps, [1])
        grown = op.Unsqueeze(op.Pad(digit, op.Concat(side, side, side, side, axis=0)), [0, 1])
        for _ in range(steps):
            grown, _ = op.MaxPool(grown, kernel_shape=[3, 3], pads=[1, 1, 1, 1])
        out = op.Squeeze(grown, [0, 1])
    else:
        out = op.Identity(digit)
    return out


@script()
def thickened_for(digit: FLOAT[None, None], side: INT64, box: INT64) -> FLOAT[None, None]:
    """The cropped ink with its strokes thickened (_grown) when the side that will be scaled to `box`
    is THIN_FROM times the box or larger: a thin pen on a large photo, which the scale would fade to
    a trace."""
    if op.GreaterOrEqual(side, op.Mul(box, THIN_FROM)):
        out = _grown(digit, op.Div(op.Cast(box, to=DOUBLE.dtype), op.Cast(side, to=DOUBLE.dtype)))
    else:
        out = op.Identity(digit)
    return out


@script()
def thickened(digit: FLOAT[None, None], box: INT64) -> FLOAT[None, None]:
    """The cropped digit, thickened_for the scale of its longest side to the box."""
    height, width = dims(digit)
    return thickened_for(digit, op.Max(height, width), box)


@script()
def scale_into_box(digit: FLOAT[None, None], box: INT64) -> FLOAT[None, None]:
    """The digit with its longest side scaled to `box` pixels, aspect kept (each side at least 1):
    Pillow's LANCZOS with reducing_gap REDUCING_GAP, clipped to [0, 1]; as it is if already that size,
    which is when its longest side is `box`: the scale is then exactly 1 and each side stays; any
    other longest side L scales to round(L (box / L)) = box (off by far less than 1/2), so it changes.
    (The sizes are worked out only when needed.)"""
    height, width = dims(digit)
    longest = op.Max(height, width)
    if op.Equal(longest, box):
        scaled = op.Identity(digit)
    else:
        scale = op.Div(op.Cast(box, to=DOUBLE.dtype), op.Cast(longest, to=DOUBLE.dtype))
        out_height = scaled_side(height, scale)
        out_width = scaled_side(width, scale)
        resized = resize_lanczos_with_reducing_gap(digit, height, width, out_height, out_width, GAP)
        scaled = op.Clip(resized, 0.0, 1.0)
    return scaled


@script()
def _offset(mass: FLOAT[None], length: INT64, total: FLOAT, canvas: INT64, room: INT64) -> INT64[1]:
    """Where the digit starts along one axis so that its centre of mass falls at the canvas's
    centre, within the canvas (room: canvas - length, the largest start), as [1]: round(canvas / 2
    - moment / total), halves to even, then clipped to [0, room]. The moment (the mass times the
    position, summed) is taken in double and cast to float32; the mass, its total, the centre and
    the difference are float32."""
    positions = op.Cast(op.Range(0, length, 1), to=DOUBLE.dtype)
    moment = op.Cast(op.ReduceSum(op.Mul(op.Cast(mass, to=DOUBLE.dtype), positions), keepdims=1), to=FLOAT.dtype)
    centre = op.Div(moment, total)
    middle = op.Div(op.Cast(canvas, to=FLOAT.dtype), 2.0)  # (folded: the float32 constant canvas / 2)
    wanted = op.Cast(op.Round(op.Sub(middle, centre)), to=INT64.dtype)
    return op.Min(op.Max(wanted, 0), room)


@script()
def place_by_centre_of_mass(digit: FLOAT[None, None], canvas: INT64) -> FLOAT[None, None]:
    """The digit [h, w] (each side at most canvas) zero-padded to [canvas, canvas], placed by _offset."""
    height, width = dims(digit)
    row_mass = op.ReduceSum(digit, [1], keepdims=0)
    column_mass = op.ReduceSum(digit, [0], keepdims=0)
    total = op.ReduceSum(row_mass, keepdims=0)
    room_down = op.Sub(canvas, height)
    room_across = op.Sub(canvas, width)
    top = _offset(row_mass, height, total, canvas, room_down)
    left = _offset(column_mass, width, total, canvas, room_across)
    return op.Pad(digit, op.Concat(top, left, op.Sub(room_down, top), op.Sub(room_across, left), axis=0))
