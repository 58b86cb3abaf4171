"""Step 1b of runtime/preprocess.py (_limit_size): images over MAX_WORK_PIXELS are area-averaged
down by an integer factor first, as Pillow's Image.reduce does it: colour premultiplied by alpha
(RGBa), each block's 8-bit mean rounded with Pillow's fixed-point multiplier (libImaging/Reduce.c),
the last, shorter blocks averaged over the pixels they have, and alpha divided out again."""

import numpy as np

from ...runtime.preprocess import MAX_WORK_PIXELS
from .builder import DOUBLE, FLOAT, INT64, UINT8, Builder

MULTIPLIER_BITS = 24  # Reduce.c: v = ((sum + n / 2) * (2^32 / (256 n))) >> 24


def _block_sums(g: Builder, channel: str, factor: str, height: str, width: str) -> str:
    """Sums of float32 [h, w] over factor x factor blocks (the last ones shorter): [ceil(h/f), ceil(w/f)]."""
    def blocks(side):
        return g.op("Div", g.op("Add", side, g.op("Sub", factor, g.scalar(1, np.int64))), factor)
    rows, cols = blocks(height), blocks(width)
    pad_h, pad_w = (g.op("Sub", g.op("Mul", n, factor), side) for n, side in ((rows, height), (cols, width)))
    one = lambda v: g.op("Reshape", v, g.ints(1))  # noqa: E731
    padded = g.op("Pad", channel, g.op("Concat", g.ints(0, 0), one(pad_h), one(pad_w), axis=0))
    shape = g.op("Concat", one(rows), one(factor), one(cols), one(factor), axis=0)
    return g.op("ReduceSum", g.op("Reshape", padded, shape), g.ints(1, 3), keepdims=0)


def _reduce(g: Builder, pixels: str, factor: str) -> str:
    height = g.op("Squeeze", g.op("Shape", pixels, start=0, end=1), g.ints(0))
    width = g.op("Squeeze", g.op("Shape", pixels, start=1, end=2), g.ints(0))
    red, green, blue, alpha = (g.op("Squeeze", c, g.ints(2)) for c in
                               g.op("Split", g.cast(pixels, FLOAT), axis=2, num_outputs=4, outputs=4))

    def premultiplied(c):  # MULDIV255(c, alpha): tmp = c a + 128; ((tmp >> 8) + tmp) >> 8
        tmp = g.op("Add", g.op("Mul", c, alpha), g.scalar(128.0))
        return g.op("Floor", g.op("Div", g.op("Add", g.op("Floor", g.op("Div", tmp, g.scalar(256.0))), tmp), g.scalar(256.0)))
    ones = g.op("Expand", g.scalar(1.0), g.op("Shape", alpha))
    count = g.cast(_block_sums(g, ones, factor, height, width), DOUBLE)
    multiplier = g.cast(g.op("Floor", g.op("Div", g.scalar(float(2**32)), g.op("Mul", g.cast(count, FLOAT), g.scalar(256.0)))), DOUBLE)
    amend = g.op("Floor", g.op("Div", count, g.scalar(2.0, np.float64)))

    def mean(c):
        total = g.cast(_block_sums(g, c, factor, height, width), DOUBLE)
        value = g.op("Floor", g.op("Div", g.op("Mul", g.op("Add", total, amend), multiplier), g.scalar(float(2**MULTIPLIER_BITS), np.float64)))
        return g.cast(g.op("Min", value, g.scalar(255.0, np.float64)), FLOAT)
    a = mean(alpha)
    safe = g.op("Where", g.op("Equal", a, g.scalar(0.0)), g.scalar(1.0), a)
    keep = g.op("Or", g.op("Equal", a, g.scalar(0.0)), g.op("Equal", a, g.scalar(255.0)))

    def unpremultiplied(c):  # alpha 0 or 255: as is; else CLIP8(255 c / alpha)
        divided = g.op("Min", g.op("Floor", g.op("Div", g.op("Mul", c, g.scalar(255.0)), safe)), g.scalar(255.0))
        return g.op("Where", keep, c, divided)
    channels = [g.op("Unsqueeze", unpremultiplied(mean(premultiplied(c))), g.ints(2)) for c in (red, green, blue)]
    return g.cast(g.op("Concat", *channels, g.op("Unsqueeze", a, g.ints(2)), axis=2), UINT8)


def limit_size(g: Builder, pixels: str) -> str:
    """pixels uint8 [h, w, 4], reduced by ceil(sqrt(h w / MAX_WORK_PIXELS)) when that is over 1."""
    shape = g.cast(g.op("Shape", pixels, start=0, end=2), DOUBLE)
    area = g.op("ReduceProd", shape, keepdims=0)
    factor = g.cast(g.op("Ceil", g.op("Sqrt", g.op("Div", area, g.scalar(float(MAX_WORK_PIXELS), np.float64)))), INT64)
    small, large = g.sub("small_enough"), g.sub("reduce")
    return g.if_(g.op("Greater", factor, g.scalar(1, np.int64)), large, [_reduce(large, pixels, factor)],
                 small, [pixels], [UINT8])[0]
