"""Steps 2-3 of runtime/preprocess.py (_grayscale, RGBA case): pixels uint8 [h, w, 4] -> gray
float32 [h, w] in [0, 1], transparent pixels composited on the background that makes the opaque
strokes stand out. (Step 1, EXIF orientation, stays with the host that decodes the image.)"""

import numpy as np

from ...runtime.preprocess import GRAY_WEIGHTS
from .builder import FLOAT, Builder
from .ops import flat, percentiles


def grayscale(g: Builder, pixels: str) -> str:
    rgba = g.op("Div", g.cast(pixels, FLOAT), g.scalar(255.0))
    rgb = g.op("Slice", rgba, g.ints(0), g.ints(3), g.ints(2))
    alpha = g.op("Squeeze", g.op("Slice", rgba, g.ints(3), g.ints(4), g.ints(2)), g.ints(2))
    gray = g.op("MatMul", rgb, g.const(GRAY_WEIGHTS))
    # Transparent pixels: white behind dark strokes, black behind light ones. The strokes are the
    # pixels at least half as opaque as the most opaque one.
    opaque = g.op("GreaterOrEqual", alpha, g.op("Mul", g.op("ReduceMax", alpha, keepdims=0), g.scalar(0.5)))
    (median,) = percentiles(g, g.op("Compress", flat(g, gray), flat(g, opaque), axis=0), 50)
    background = g.op("Where", g.op("Less", median, g.scalar(0.5)), g.scalar(1.0), g.scalar(0.0))
    composited = g.op("Add", g.op("Mul", gray, alpha), g.op("Mul", background, g.op("Sub", g.scalar(1.0), alpha)))
    translucent = g.op("Less", g.op("ReduceMin", alpha, keepdims=0), g.scalar(1.0))
    return g.op("Where", translucent, composited, gray)
