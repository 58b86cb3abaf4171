"""The numpy building blocks of runtime/cleaning.py and runtime/morphology.py as ONNX: percentiles
("nearest", as cleaning._percentiles), the border, square filters, box means, counts."""

import numpy as np

from .builder import BOOL, DOUBLE, FLOAT, INT64, Builder


def dims(g: Builder, image: str) -> tuple[str, str]:
    """(height, width) of a 2-D tensor as int64 scalars."""
    shape = g.op("Shape", image)
    return (g.op("Squeeze", g.op("Slice", shape, g.ints(0), g.ints(1)), g.ints(0)),
            g.op("Squeeze", g.op("Slice", shape, g.ints(1), g.ints(2)), g.ints(0)))


def flat(g: Builder, x: str) -> str:
    return g.op("Reshape", x, g.ints(-1))


def count(g: Builder, mask: str) -> str:
    """The number of True values (int64 scalar)."""
    return g.op("ReduceSum", g.cast(mask, INT64), keepdims=0)


def size(g: Builder, x: str) -> str:
    return g.op("Size", x)


def any_(g: Builder, mask: str) -> str:
    return g.op("Greater", count(g, mask), g.scalar(0, np.int64))


def percentiles(g: Builder, values: str, *qs: float) -> list[str]:
    """cleaning._percentiles: the value of rank min(n-1, round(q/100 (n-1))) of the flattened values,
    one float32 scalar per q: the largest of the rank + 1 smallest values (or the smallest of the
    largest, from whichever end is nearer; TopK unsorted is several times faster than sorted)."""
    values = flat(g, values)
    n = size(g, values)
    last = g.op("Sub", n, g.scalar(1, np.int64))
    out = []
    for q in qs:
        rank = g.op("Min", last, g.cast(g.op("Round", g.op("Mul", g.cast(last, DOUBLE), g.scalar(q / 100, np.float64))), INT64))
        if q <= 50:
            k = g.op("Add", rank, g.scalar(1, np.int64))
            top, _ = g.op("TopK", values, g.op("Reshape", k, g.ints(1)), outputs=2, largest=0, sorted=0)
            out.append(g.op("ReduceMax", top, keepdims=0))
        else:
            k = g.op("Sub", n, rank)
            top, _ = g.op("TopK", values, g.op("Reshape", k, g.ints(1)), outputs=2, largest=1, sorted=0)
            out.append(g.op("ReduceMin", top, keepdims=0))
    return out


def maximum(g: Builder, x: str) -> str:
    return g.op("ReduceMax", x, keepdims=0)


def border(g: Builder, image: str) -> str:
    """The pixels within max(1, min(h, w) // 20) of each edge, flattened (corners twice, as cleaning.py)."""
    height, width = dims(g, image)
    margin = g.op("Max", g.op("Div", g.op("Min", height, width), g.scalar(20, np.int64)), g.scalar(1, np.int64))
    m = g.op("Reshape", margin, g.ints(1))
    minus = g.op("Neg", m)
    big = g.ints(2**62)
    parts = [g.op("Slice", image, g.ints(0), m, g.ints(0)), g.op("Slice", image, minus, big, g.ints(0)),
             g.op("Slice", image, g.ints(0), m, g.ints(1)), g.op("Slice", image, minus, big, g.ints(1))]
    return g.op("Concat", *[flat(g, p) for p in parts], axis=0)


def is_flat(g: Builder, values: str, level: str) -> str:
    """Half or more of the values within 1/255 of level (bool scalar)."""
    near = g.op("LessOrEqual", g.op("Abs", g.op("Sub", values, level)), g.scalar(1 / 255))
    return g.op("GreaterOrEqual", g.op("Mul", count(g, near), g.scalar(2, np.int64)), size(g, values))


def as_4d(g: Builder, image: str) -> str:
    return g.op("Unsqueeze", image, g.ints(0, 1))


def as_2d(g: Builder, image: str) -> str:
    return g.op("Squeeze", image, g.ints(0, 1))


def square_max(g: Builder, image: str, side: int) -> str:
    """morphology.square_filter(image, side, np.maximum) for a fixed odd side (float image)."""
    pad = side // 2
    return as_2d(g, g.op("MaxPool", as_4d(g, image), kernel_shape=[side, side], pads=[pad, pad, pad, pad]))


def dilate_mask(g: Builder, mask: str, side: int) -> str:
    return g.cast(square_max(g, g.cast(mask, FLOAT), side), BOOL)


def box_mean(g: Builder, image: str, radius: str) -> str:
    """morphology.box_mean: the mean over a (2 radius + 1)^2 square, edges replicated, running sums in
    double (radius: int64 scalar)."""
    side = g.op("Add", g.op("Mul", radius, g.scalar(2, np.int64)), g.scalar(1, np.int64))
    r = g.op("Reshape", radius, g.ints(1))
    zero = g.ints(0)
    out = image
    for axis in (0, 1):
        pads = g.op("Concat", *( [r, zero, r, zero] if axis == 0 else [zero, r, zero, r]), axis=0)
        padded = g.op("Pad", g.cast(out, DOUBLE), pads, mode="edge")
        sums = g.op("CumSum", padded, g.scalar(axis, np.int64))
        sums = g.op("Concat", g.op("Mul", g.op("Slice", sums, g.ints(0), g.ints(1), g.ints(axis)), g.scalar(0.0, np.float64)), sums, axis=axis)
        s = g.op("Reshape", side, g.ints(1))
        ahead = g.op("Slice", sums, s, g.ints(2**62), g.ints(axis))
        behind = g.op("Slice", sums, zero, g.op("Neg", s), g.ints(axis))
        out = g.cast(g.op("Div", g.op("Sub", ahead, behind), g.cast(side, DOUBLE)), FLOAT)
    return out
