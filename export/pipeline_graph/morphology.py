"""runtime/morphology.py's filters whose sizes depend on the image, as ONNX: windows by doubling
(a Loop), Otsu's threshold, binary reconstruction (a Loop until nothing changes)."""

import numpy as np

from .builder import BOOL, DOUBLE, FLOAT, INT64, Builder
from .ops import as_2d, as_4d, count, flat

MAX_DOUBLINGS = 24


def window_rows(g: Builder, image: str, side: str, reduce: str) -> str:
    """morphology.window_rows: reduce ("Min" or "Max") over `side` rows (int64 scalar) centred on each
    row, edges replicated. The window doubles log2(side) times in a Loop; the shape stays fixed (the
    rows past the end, padded, are never read)."""
    half = g.op("Reshape", g.op("Div", side, g.scalar(2, np.int64)), g.ints(1))
    zero = g.ints(0)
    padded = g.op("Pad", image, g.op("Concat", half, zero, half, zero, axis=0), mode="edge")
    powers = g.const([2 ** k for k in range(1, MAX_DOUBLINGS)], np.int64)
    trips = count(g, g.op("LessOrEqual", powers, side))

    body = g.sub("double")
    it, cond, window, width = (body.name(n) for n in ("iter", "cond", "window", "width"))
    w = body.op("Reshape", width, body.ints(1))
    shifted = body.op("Pad", body.op("Slice", window, w, body.ints(2**62), body.ints(0)),
                      body.op("Concat", body.ints(0), body.ints(0), w, body.ints(0), axis=0), mode="edge")
    new_window = body.op(reduce, window, shifted)
    new_width = body.op("Mul", width, body.scalar(2, np.int64))
    cond_out = body.op("Identity", cond)
    graph = body.graph("double", [(it, INT64, []), (cond, BOOL, []), (window, FLOAT), (width, INT64)],
                       [(cond_out, BOOL, []), (new_window, FLOAT), (new_width, INT64)])
    window, width = g.op("Loop", trips, g.const(True, np.bool_), padded, g.scalar(1, np.int64), outputs=2, body=graph)

    length = g.op("Shape", image, start=0, end=1)
    start = g.op("Reshape", g.op("Sub", side, width), g.ints(1))
    first = g.op("Slice", window, zero, length, zero)
    second = g.op("Slice", window, start, g.op("Add", start, length), zero)
    return g.op(reduce, first, second)


def square_filter(g: Builder, image: str, side: str, reduce: str) -> str:
    rows = window_rows(g, image, side, reduce)
    cols = window_rows(g, g.op("Transpose", rows, perm=[1, 0]), side, reduce)
    return g.op("Transpose", cols, perm=[1, 0])


def opening(g: Builder, image: str, side: str) -> str:
    return square_filter(g, square_filter(g, image, side, "Min"), side, "Max")


def otsu_threshold(g: Builder, values: str, bins: int = 64) -> str:
    """morphology.otsu_threshold of values in [0, 1] (float32 scalar)."""
    values = flat(g, values)
    index = g.op("Min", g.cast(g.op("Mul", values, g.scalar(bins - 1e-3)), INT64), g.scalar(bins, np.int64))
    counts = g.op("ScatterElements", g.const(np.zeros(bins + 1), np.float64), index,
                  g.op("Expand", g.scalar(1.0, np.float64), g.op("Shape", index)), axis=0, reduction="add")
    counts = g.op("Slice", counts, g.ints(0), g.ints(bins))
    below = g.op("CumSum", counts, g.scalar(0, np.int64))
    mass = g.op("CumSum", g.op("Mul", counts, g.const(np.arange(bins), np.float64)), g.scalar(0, np.int64))
    total = g.op("Slice", below, g.ints(-1), g.ints(bins))
    total_mass = g.op("Slice", mass, g.ints(-1), g.ints(bins))
    spread = g.op("Sub", g.op("Mul", mass, total), g.op("Mul", total_mass, below))
    between = g.op("Div", g.op("Mul", spread, spread), g.op("Mul", below, g.op("Sub", total, below)))
    finite = g.op("Not", g.op("Or", g.op("IsNaN", between), g.op("IsInf", between)))
    between = g.op("Where", finite, between, g.scalar(0.0, np.float64))
    best = g.op("ArgMax", between, axis=0, keepdims=0, select_last_index=0)
    return g.cast(g.op("Div", g.cast(g.op("Add", best, g.scalar(1, np.int64)), DOUBLE), g.scalar(float(bins), np.float64)), FLOAT)


def _grow(g: Builder, mask: str) -> str:
    """Dilation by the 3 x 3 square of a float 0/1 mask."""
    return as_2d(g, g.op("MaxPool", as_4d(g, mask), kernel_shape=[3, 3], pads=[1, 1, 1, 1]))


def reconstruct(g: Builder, seeds: str, allowed: str) -> str:
    """morphology.reconstruct: the pixels of `allowed` 8-connected to a seed (bool masks), grown
    four steps at a time until the count stops changing."""
    allowed_f = g.cast(allowed, FLOAT)
    current = g.op("Mul", g.cast(seeds, FLOAT), allowed_f)
    body = g.sub("reconstruct")
    it, cond, mask, before = (body.name(n) for n in ("iter", "cond", "mask", "count"))
    grown = mask
    for _ in range(4):
        grown = body.op("Mul", _grow(body, grown), allowed_f)
    after = body.op("ReduceSum", grown, keepdims=0)
    changed = body.op("Not", body.op("Equal", after, before))
    graph = body.graph("reconstruct", [(it, INT64, []), (cond, BOOL, []), (mask, FLOAT), (before, FLOAT)],
                       [(changed, BOOL, []), (grown, FLOAT), (after, FLOAT)])
    start = g.op("ReduceSum", current, keepdims=0)
    result, _ = g.op("Loop", "", g.const(True, np.bool_), current, start, outputs=2, body=graph)
    return g.cast(result, BOOL)
