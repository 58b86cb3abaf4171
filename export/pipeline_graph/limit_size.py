"""Step 1b of runtime/preprocess.py (_limit_size): images over MAX_WORK_PIXELS are area-averaged
down by an integer factor first, as Pillow's Image.reduce does it: colour premultiplied by alpha
(RGBa), each block's 8-bit mean rounded with Pillow's fixed-point multiplier (libImaging/Reduce.c),
the last, shorter blocks averaged over the pixels they have, and alpha divided out again.
The pixels leave as float32 planes [4, h, w] (R, G, B, A, 0-255): what grayscale reads."""

import numpy as np

from ...runtime.preprocess import MAX_WORK_PIXELS
from .builder import DOUBLE, FLOAT, INT64, Builder
from .ops import block_sums

MULTIPLIER_BITS = 24  # Reduce.c: v = ((sum + n / 2) * (2^32 / (256 n))) >> 24


def planes(g: Builder, pixels: str) -> str:
    """uint8 [h, w, 4] -> float32 [4, h, w]: cast first, as float32 transposes about twice as fast as
    uint8 (and Split along the last axis is slower still)."""
    return g.op("Transpose", g.cast(pixels, FLOAT), perm=[2, 0, 1])


def _reduce(g: Builder, pixels: str, factor: str) -> str:
    red, green, blue, alpha = (g.op("Squeeze", c, g.ints(0)) for c in
                               g.op("Split", planes(g, pixels), axis=0, num_outputs=4, outputs=4))

    def premultiplied(c):  # MULDIV255(c, alpha): tmp = c a + 128; ((tmp >> 8) + tmp) >> 8
        tmp = g.op("Add", g.op("Mul", c, alpha), g.scalar(128.0))
        return g.op("Floor", g.op("Div", g.op("Add", g.op("Floor", g.op("Div", tmp, g.scalar(256.0))), tmp), g.scalar(256.0)))
    ones = g.op("Expand", g.scalar(1.0), g.op("Shape", alpha))
    count = g.cast(block_sums(g, ones, factor), DOUBLE)
    multiplier = g.cast(g.op("Floor", g.op("Div", g.scalar(float(2**32)), g.op("Mul", g.cast(count, FLOAT), g.scalar(256.0)))), DOUBLE)
    amend = g.op("Floor", g.op("Div", count, g.scalar(2.0, np.float64)))

    def mean(c):
        total = g.cast(block_sums(g, c, factor), DOUBLE)
        value = g.op("Floor", g.op("Div", g.op("Mul", g.op("Add", total, amend), multiplier), g.scalar(float(2**MULTIPLIER_BITS), np.float64)))
        return g.cast(g.op("Min", value, g.scalar(255.0, np.float64)), FLOAT)
    a = mean(alpha)
    safe = g.op("Where", g.op("Equal", a, g.scalar(0.0)), g.scalar(1.0), a)
    keep = g.op("Or", g.op("Equal", a, g.scalar(0.0)), g.op("Equal", a, g.scalar(255.0)))

    def unpremultiplied(c):  # alpha 0 or 255: as is; else CLIP8(255 c / alpha)
        divided = g.op("Min", g.op("Floor", g.op("Div", g.op("Mul", c, g.scalar(255.0)), safe)), g.scalar(255.0))
        return g.op("Where", keep, c, divided)
    channels = [g.op("Unsqueeze", unpremultiplied(mean(premultiplied(c))), g.ints(0)) for c in (red, green, blue)]
    return g.op("Concat", *channels, g.op("Unsqueeze", a, g.ints(0)), axis=0)  # whole numbers 0-255, as Pillow's 8 bits


def limit_size(g: Builder, pixels: str) -> str:
    """pixels uint8 [h, w, 4], reduced by ceil(sqrt(h w / MAX_WORK_PIXELS)) when that is over 1, as
    float32 planes [4, h, w]."""
    shape = g.cast(g.op("Shape", pixels, start=0, end=2), DOUBLE)
    area = g.op("ReduceProd", shape, keepdims=0)
    factor = g.cast(g.op("Ceil", g.op("Sqrt", g.op("Div", area, g.scalar(float(MAX_WORK_PIXELS), np.float64)))), INT64)
    small, large = g.sub("small_enough"), g.sub("reduce")
    return g.if_(g.op("Greater", factor, g.scalar(1, np.int64)), large, [_reduce(large, pixels, factor)],
                 small, [planes(small, pixels)], [FLOAT])[0]
