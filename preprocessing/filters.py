"""The filters whose sizes depend on the image, as onnxscript functions: windows by doubling (a
Loop), square minimum and maximum filters, the opening, Otsu's threshold, binary reconstruction (a
Loop until nothing changes).

Public functions (side: an int64 scalar, odd):
    window_rows_min(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]   (and window_rows_max)
    square_min(image, side) -> FLOAT[None, None]                                  (and square_max)
    opening(image, side) -> FLOAT[None, None]
    otsu_threshold(values: FLOAT[...]) -> FLOAT                 values in [0, 1]
    reconstruct(seeds: BOOL[None, None], allowed: BOOL[None, None]) -> BOOL[None, None]
"""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .common import END, as_2d, as_4d, count, flat

MAX_DOUBLINGS = 24  # windows up to 2^24 rows
POWERS = np.array([2**k for k in range(1, MAX_DOUBLINGS)], np.int64)  # the widths a doubling reaches


# --- minimum and maximum over windows, by doubling ---------------------------------------------
# window_rows_min, window_rows_max: the minimum (maximum) over the `side` rows centred on each row
# (side odd), edges replicated: side // 2 copies of the first row above, of the last row below. The
# window doubles floor(log2(side)) times in a Loop; the shape stays fixed (the rows past the end,
# padded, are never read). Then two overlapping windows of the largest width make `side`.

@script()
def _padded_rows(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """side // 2 copies of the first row above and of the last row below."""
    half = op.Reshape(op.Div(side, op.Constant(value_int=2)), op.Constant(value_ints=[1]))
    zero = op.Constant(value_ints=[0])
    return op.Pad(image, op.Concat(half, zero, half, zero, axis=0), mode="edge")


@script()
def _doublings(side: INT64) -> INT64:
    """floor(log2(side)): how many times a window of 1 row doubles within `side` rows."""
    return count(op.LessOrEqual(op.Constant(value=POWERS), side))


@script()
def _shifted_up(window: FLOAT[None, None], width: INT64) -> FLOAT[None, None]:
    """The window `width` rows further down, at each row (the last row repeated: never read)."""
    w = op.Reshape(width, op.Constant(value_ints=[1]))
    zero = op.Constant(value_ints=[0])
    return op.Pad(op.Slice(window, w, op.Constant(value_ints=[END]), zero), op.Concat(zero, zero, w, zero, axis=0),
                  mode="edge")


@script()
def _overlapping(windows: FLOAT[None, None], image: FLOAT[None, None], side: INT64,
                 width: INT64) -> tuple[FLOAT[None, None], FLOAT[None, None]]:
    """The windows of `width` rows starting at each row of the image and at each row side - width
    further down: together they cover the `side` rows centred on each row."""
    length = op.Shape(image, start=0, end=1)
    zero = op.Constant(value_ints=[0])
    start = op.Reshape(op.Sub(side, width), op.Constant(value_ints=[1]))
    return op.Slice(windows, zero, length, zero), op.Slice(windows, start, op.Add(start, length), zero)


@script()
def window_rows_min(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """The minimum over the `side` rows centred on each row, edges replicated (see above)."""
    window = _padded_rows(image, side)
    width = op.Constant(value_int=1)
    for _ in range(_doublings(side)):
        window = op.Min(window, _shifted_up(window, width))
        width = op.Mul(width, op.Constant(value_int=2))
    first, second = _overlapping(window, image, side, width)
    return op.Min(first, second)


@script()
def window_rows_max(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """The maximum over the `side` rows centred on each row, edges replicated (see above)."""
    window = _padded_rows(image, side)
    width = op.Constant(value_int=1)
    for _ in range(_doublings(side)):
        window = op.Max(window, _shifted_up(window, width))
        width = op.Mul(width, op.Constant(value_int=2))
    first, second = _overlapping(window, image, side, width)
    return op.Max(first, second)


@script()
def square_min(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """The minimum over the side x side square centred on each pixel, edges replicated: over rows,
    then (transposed) columns."""
    rows = window_rows_min(image, side)
    return op.Transpose(window_rows_min(op.Transpose(rows, perm=[1, 0]), side), perm=[1, 0])


@script()
def square_max(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """The maximum over the side x side square centred on each pixel, edges replicated: over rows,
    then (transposed) columns."""
    rows = window_rows_max(image, side)
    return op.Transpose(window_rows_max(op.Transpose(rows, perm=[1, 0]), side), perm=[1, 0])


@script()
def opening(image: FLOAT[None, None], side: INT64) -> FLOAT[None, None]:
    """The minimum over side x side squares, then the maximum: what is left of the paper without
    the strokes narrower than side."""
    return square_max(square_min(image, side), side)


# --- Otsu's threshold -------------------------------------------------------------------------

OTSU_BINS = 64  # Otsu's threshold: a histogram of this many bins over [0, 1]
BIN_SCALE = OTSU_BINS - 1e-3  # value v falls in bin int(v BIN_SCALE) (a float32 constant): 1 in the last bin
NO_COUNTS = np.zeros(OTSU_BINS + 1, np.float64)  # (one more bin: a value above 1 lands there, and is dropped)
BIN_INDEX = np.arange(OTSU_BINS, dtype=np.float64)


@script()
def otsu_threshold(values: FLOAT[...]) -> FLOAT:
    """The level that best splits values in [0, 1] into two classes (Otsu 1979), a float32 scalar:
    a histogram of OTSU_BINS bins (counts in double), the split after bin k that maximises the
    between-class variance, (mass total - total_mass below)^2 / (below (total - below)) with
    `below` and `mass` the counts and the counts times bin index cumulated to bin k (non-finite
    values count as 0, the first k on ties), returned as the upper edge of bin k: (k + 1) / OTSU_BINS."""
    values = flat(values)
    index = op.Min(op.Cast(op.Mul(values, op.Constant(value_float=BIN_SCALE)), to=INT64.dtype),
                   op.Constant(value_int=OTSU_BINS))
    ones = op.Expand(op.Constant(value=np.float64(1.0)), op.Shape(index))
    counts = op.ScatterElements(op.Constant(value=NO_COUNTS), index, ones, axis=0, reduction="add")
    counts = op.Slice(counts, op.Constant(value_ints=[0]), op.Constant(value_ints=[OTSU_BINS]))
    below = op.CumSum(counts, op.Constant(value_int=0))
    mass = op.CumSum(op.Mul(counts, op.Constant(value=BIN_INDEX)), op.Constant(value_int=0))
    total = op.Slice(below, op.Constant(value_ints=[-1]), op.Constant(value_ints=[OTSU_BINS]))
    total_mass = op.Slice(mass, op.Constant(value_ints=[-1]), op.Constant(value_ints=[OTSU_BINS]))
    spread = op.Sub(op.Mul(mass, total), op.Mul(total_mass, below))
    between = op.Div(op.Mul(spread, spread), op.Mul(below, op.Sub(total, below)))
    finite = op.Not(op.Or(op.IsNaN(between), op.IsInf(between)))
    between = op.Where(finite, between, op.Constant(value=np.float64(0.0)))
    best = op.ArgMax(between, axis=0, keepdims=0, select_last_index=0)
    split = op.Cast(op.Add(best, op.Constant(value_int=1)), to=DOUBLE.dtype)
    return op.Cast(op.Div(split, op.Constant(value=np.float64(float(OTSU_BINS)))), to=FLOAT.dtype)


# --- binary reconstruction --------------------------------------------------------------------

@script()
def _grow(mask: FLOAT[None, None]) -> FLOAT[None, None]:
    """Dilation by the 3 x 3 square of a float 0/1 mask. (Eager MaxPool returns its Indices too;
    the optimizer drops the unused output.)"""
    grown, _ = op.MaxPool(as_4d(mask), kernel_shape=[3, 3], pads=[1, 1, 1, 1])
    return as_2d(grown)


@script()
def reconstruct(seeds: BOOL[None, None], allowed: BOOL[None, None]) -> BOOL[None, None]:
    """Binary reconstruction: the pixels of `allowed` 8-connected to a seed (bool masks) through
    `allowed`, the seeds in `allowed` grown by the 3 x 3 square and cut back to `allowed`, four steps
    at a time until the count stops changing (as 0/1 floats: MaxPool grows them)."""
    allowed_f = op.Cast(allowed, to=FLOAT.dtype)
    current = op.Mul(op.Cast(seeds, to=FLOAT.dtype), allowed_f)
    total = op.ReduceSum(current, keepdims=0)
    changed = op.Constant(value=True)
    while changed:
        before = total
        # four steps between counts (written out: a Python `for` would be a Loop inside this one)
        current = op.Mul(_grow(current), allowed_f)
        current = op.Mul(_grow(current), allowed_f)
        current = op.Mul(_grow(current), allowed_f)
        current = op.Mul(_grow(current), allowed_f)
        total = op.ReduceSum(current, keepdims=0)
        changed = op.Not(op.Equal(total, before))
    return op.Cast(current, to=BOOL.dtype)
