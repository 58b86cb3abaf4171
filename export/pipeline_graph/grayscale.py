"""Steps 2-3 of runtime/preprocess.py (_grayscale): pixels uint8 [h, w, 4] -> gray float32 [h, w]
in [0, 1]. (Step 1, EXIF orientation, stays with the host that decodes the image.)

The runtime takes gray two ways, and so does the graph: an opaque image (a JPEG or an RGB PNG, as
Pillow decodes it) by Pillow's convert("L"), in 8 bits; a translucent one (a drawing on a
transparent canvas) by GRAY_WEIGHTS in float, its transparent pixels composited on the background
that makes the opaque strokes stand out."""

import numpy as np

from ...runtime.preprocess import GRAY_WEIGHTS
from .builder import FLOAT, Builder
from .ops import flat, percentiles

# Pillow's convert("L") from RGB (libImaging/Convert.c, L24): GRAY_WEIGHTS in 16-bit fixed point, rounded.
PILLOW_L_WEIGHTS = (19595, 38470, 7471)
PILLOW_L_SHIFT = 16


def _weighted_sum(g: Builder, channels: list[str], weights) -> str:
    """channels[0] w[0] + channels[1] w[1] + ... (elementwise: MatMul with a vector is slow in onnxruntime)."""
    total = g.op("Mul", channels[0], g.scalar(weights[0]))
    for channel, weight in zip(channels[1:], weights[1:]):
        total = g.op("Add", total, g.op("Mul", channel, g.scalar(weight)))
    return total


def _pillow_gray(g: Builder, rgb: list[str]) -> str:
    # In float32, exactly: every sum is an integer below 2^24 (255 x 65,536 + 32,768).
    weighted = g.op("Add", _weighted_sum(g, [g.cast(c, FLOAT) for c in rgb], [float(w) for w in PILLOW_L_WEIGHTS]),
                    g.scalar(float(1 << (PILLOW_L_SHIFT - 1))))
    return g.op("Div", g.op("Floor", g.op("Div", weighted, g.scalar(float(1 << PILLOW_L_SHIFT)))), g.scalar(255.0))


def _composited_gray(g: Builder, channels: list[str]) -> str:
    *rgb, alpha = (g.op("Div", g.cast(channel, FLOAT), g.scalar(255.0)) for channel in channels)
    gray = _weighted_sum(g, rgb, GRAY_WEIGHTS)
    # White behind dark strokes, black behind light ones. The strokes are the pixels at least half
    # as opaque as the most opaque one.
    opaque = g.op("GreaterOrEqual", alpha, g.op("Mul", g.op("ReduceMax", alpha, keepdims=0), g.scalar(0.5)))
    (median,) = percentiles(g, g.op("Compress", flat(g, gray), flat(g, opaque), axis=0), 50)
    background = g.op("Where", g.op("Less", median, g.scalar(0.5)), g.scalar(1.0), g.scalar(0.0))
    return g.op("Add", g.op("Mul", gray, alpha), g.op("Mul", background, g.op("Sub", g.scalar(1.0), alpha)))


def grayscale(g: Builder, pixels: str) -> str:
    channels = [g.op("Squeeze", part, g.ints(2)) for part in g.op("Split", pixels, axis=2, num_outputs=4, outputs=4)]  # uint8 [h, w]
    translucent = g.op("Less", g.op("ReduceMin", channels[3], keepdims=0), g.scalar(255, np.uint8))
    then_b, else_b = g.sub("translucent"), g.sub("opaque")
    return g.if_(translucent, then_b, [_composited_gray(then_b, channels)], else_b, [_pillow_gray(else_b, channels[:3])], [FLOAT])[0]
