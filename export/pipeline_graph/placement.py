"""Steps 6-8 of runtime/preprocess.py: crop to the ink (its 0.2% mass rule and grow-back), scale
the longest side to the digit box (Pillow's Lanczos with reducing_gap, as resample.py), place in
the canvas by centre of mass."""

import numpy as np

from ...runtime.preprocess import CROP_MASS, REDUCING_GAP
from . import resample
from .builder import DOUBLE, FLOAT, INT64, Builder
from .ops import dims



def _bounds(g: Builder, mass: str) -> tuple[str, str]:
    """(first, last + 1) of one axis: the core, grown back over adjacent rows with ink."""
    n = g.op("Size", mass)
    cumulative = g.op("Div", g.op("CumSum", mass, g.scalar(0, np.int64)), g.op("ReduceSum", mass, keepdims=0))
    first = g.op("ReduceSum", g.cast(g.op("LessOrEqual", cumulative, g.scalar(CROP_MASS, np.float64)), INT64), keepdims=0)
    last = g.op("ReduceSum", g.cast(g.op("Less", cumulative, g.scalar(1 - CROP_MASS, np.float64)), INT64), keepdims=0)
    index = g.op("Range", g.scalar(0, np.int64), n, g.scalar(1, np.int64))
    empty = g.op("Equal", mass, g.scalar(0.0, np.float64))
    gap_before = g.op("ReduceMax", g.op("Where", g.op("And", empty, g.op("Less", index, first)), index, g.scalar(-1, np.int64)), keepdims=0)
    gap_after = g.op("ReduceMin", g.op("Where", g.op("And", empty, g.op("Greater", index, last)), index, n), keepdims=0)
    return g.op("Add", gap_before, g.scalar(1, np.int64)), gap_after


def crop_to_ink(g: Builder, ink: str) -> str:
    ink_d = g.cast(ink, DOUBLE)
    top, bottom = _bounds(g, g.op("ReduceSum", ink_d, g.ints(1), keepdims=0))
    left, right = _bounds(g, g.op("ReduceSum", ink_d, g.ints(0), keepdims=0))
    starts = g.op("Concat", *(g.op("Reshape", v, g.ints(1)) for v in (top, left)), axis=0)
    ends = g.op("Concat", *(g.op("Reshape", v, g.ints(1)) for v in (bottom, right)), axis=0)
    return g.op("Slice", ink, starts, ends, g.ints(0, 1))


def scale_into_box(g: Builder, digit: str, box: int) -> str:
    height, width = dims(g, digit)
    scale = g.op("Div", g.scalar(float(box), np.float64), g.cast(g.op("Max", height, width), DOUBLE))

    def scaled(side):
        return g.op("Max", g.scalar(1, np.int64), g.cast(g.op("Round", g.op("Mul", g.cast(side, DOUBLE), scale)), INT64))
    out_h, out_w = scaled(height), scaled(width)
    same = g.op("And", g.op("Equal", out_h, height), g.op("Equal", out_w, width))
    keep, resize = g.sub("keep_size"), g.sub("resize")
    resized = resample.resize_with_reducing_gap(resize, digit, height, width, out_h, out_w, "lanczos", REDUCING_GAP)
    resized = resize.op("Clip", resized, resize.scalar(0.0), resize.scalar(1.0))
    return g.if_(same, keep, [digit], resize, [resized], [FLOAT])[0]


def place_by_centre_of_mass(g: Builder, digit: str, canvas: int) -> str:
    height, width = dims(g, digit)
    row_mass, col_mass = g.op("ReduceSum", digit, g.ints(1), keepdims=0), g.op("ReduceSum", digit, g.ints(0), keepdims=0)
    total = g.op("ReduceSum", row_mass, keepdims=0)

    def offset(mass, length):  # as numpy does it: the moment in double, the rest in float32
        positions = g.cast(g.op("Range", g.scalar(0, np.int64), length, g.scalar(1, np.int64)), DOUBLE)
        moment = g.cast(g.op("ReduceSum", g.op("Mul", g.cast(mass, DOUBLE), positions), keepdims=0), FLOAT)
        centre = g.op("Div", moment, total)
        wanted = g.cast(g.op("Round", g.op("Sub", g.scalar(canvas / 2), centre)), INT64)
        return g.op("Min", g.op("Max", wanted, g.scalar(0, np.int64)), g.op("Sub", g.scalar(canvas, np.int64), length))
    top, left = offset(row_mass, height), offset(col_mass, width)
    bottom = g.op("Sub", g.op("Sub", g.scalar(canvas, np.int64), top), height)
    right = g.op("Sub", g.op("Sub", g.scalar(canvas, np.int64), left), width)
    pads = g.op("Concat", *(g.op("Reshape", v, g.ints(1)) for v in (top, left, bottom, right)), axis=0)
    return g.op("Pad", digit, pads)
