"""Steps 2-3 of runtime/preprocess.py (_grayscale): pixel planes float32 [4, h, w] (R, G, B, A in
0-255, from limit_size) -> gray float32 [h, w] in [0, 1]. (Step 1, EXIF orientation, stays with
the host that decodes the image.)

The runtime takes gray two ways, and so does the graph: an opaque image (a JPEG or an RGB PNG, as
Pillow decodes it) by Pillow's convert("L"), in 8 bits; a translucent one (a drawing on a
transparent canvas) by GRAY_WEIGHTS in float, its transparent pixels composited on the background
that makes the opaque strokes stand out."""

from ...runtime.preprocess import GRAY_WEIGHTS
from .builder import FLOAT, INT32, Builder
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


def _pillow_gray(g: Builder, planes: str) -> str:
    """(R w_R + G w_G + B w_B + 2^15) >> 16 as one Gemm of the planes [4, h w] with the weights over
    2^16 and a bias of 1/2: in float32, exactly, as every product and sum is a multiple of 2^-16
    below 2^8 (24 bits). Casting to int32 then truncates, which is the shift."""
    unit = float(1 << PILLOW_L_SHIFT)
    weights = g.const([[w / unit for w in PILLOW_L_WEIGHTS] + [0.0]])
    shifted = g.op("Gemm", weights, g.op("Reshape", planes, g.ints(4, -1)), g.const([0.5]))
    level = g.cast(g.cast(shifted, INT32), FLOAT)
    return g.op("Div", g.op("Reshape", level, g.op("Shape", planes, start=1, end=3)), g.scalar(255.0))


def _composited_gray(g: Builder, planes: str) -> str:
    channels = [g.op("Squeeze", part, g.ints(0)) for part in g.op("Split", planes, axis=0, num_outputs=4, outputs=4)]
    *rgb, alpha = (g.op("Div", channel, g.scalar(255.0)) for channel in channels)
    gray = _weighted_sum(g, rgb, GRAY_WEIGHTS)
    # White behind dark strokes, black behind light ones. The strokes are the pixels at least half
    # as opaque as the most opaque one.
    opaque = g.op("GreaterOrEqual", alpha, g.op("Mul", g.op("ReduceMax", alpha, keepdims=0), g.scalar(0.5)))
    (median,) = percentiles(g, g.op("Compress", flat(g, gray), flat(g, opaque), axis=0), 50)
    background = g.op("Where", g.op("Less", median, g.scalar(0.5)), g.scalar(1.0), g.scalar(0.0))
    return g.op("Add", g.op("Mul", gray, alpha), g.op("Mul", background, g.op("Sub", g.scalar(1.0), alpha)))


def grayscale(g: Builder, planes: str) -> str:
    alpha = g.op("Slice", planes, g.ints(3), g.ints(4), g.ints(0))
    translucent = g.op("Less", g.op("ReduceMin", alpha, keepdims=0), g.scalar(255.0))
    then_b, else_b = g.sub("translucent"), g.sub("opaque")
    return g.if_(translucent, then_b, [_composited_gray(then_b, planes)], else_b, [_pillow_gray(else_b, planes)], [FLOAT])[0]
