"""Step 1 of the preprocessing (mnist_form.py), after limit_size: alpha and grayscale. Pixel planes
float32 [4, h, w] (R, G, B, A in 0-255, from limit_size) -> gray float32 [h, w] in [0, 1]. (EXIF
orientation and the conversion of any image mode to RGBA uint8 stay with the host that decodes
the image.)

Gray is taken two ways: an opaque image (every alpha 255: a JPEG, an RGB PNG) exactly as Pillow's
convert("L") takes it, in 8 bits (libImaging/Convert.c), so a photo's gray levels are Pillow's; a
translucent one (a drawing on a transparent canvas) by GRAY_WEIGHTS in float32, its transparent
pixels composited on the background that makes the opaque strokes stand out."""

import numpy as np
from onnxscript import FLOAT, INT32, script
from onnxscript import opset18 as op

from .common import flat
from .percentiles import median

GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601 luma: colour -> gray

# Pillow's convert("L") from RGB (libImaging/Convert.c, L24): GRAY_WEIGHTS in 16-bit fixed point, rounded.
PILLOW_L_WEIGHTS = (19595, 38470, 7471)
PILLOW_L_SHIFT = 16
# ... as one row of float32 weights over 2^16 for the planes R, G, B, A (A weighs 0), and the 1/2
# that rounds: (R w_R + G w_G + B w_B + 2^15) >> 16 = int(R w_R / 2^16 + ... + 1/2).
PILLOW_L_ROW = np.array([[w / float(1 << PILLOW_L_SHIFT) for w in PILLOW_L_WEIGHTS] + [0.0]], np.float32)
PILLOW_L_ROUNDING = np.array([0.5], np.float32)
RED_WEIGHT, GREEN_WEIGHT, BLUE_WEIGHT = (np.array(w, np.float32) for w in GRAY_WEIGHTS)


@script()
def pillow_gray(planes: FLOAT[4, None, None]) -> FLOAT[None, None]:
    """Pillow's convert("L") of opaque pixels, / 255: one Gemm of the planes [4, h w] with
    PILLOW_L_ROW and PILLOW_L_ROUNDING, in float32 exactly, as every product and sum is a multiple
    of 2^-16 below 2^8 (24 bits). Casting to int32 then truncates, which is the shift."""
    shifted = op.Gemm(PILLOW_L_ROW, op.Reshape(planes, [4, -1]), PILLOW_L_ROUNDING)
    level = op.Cast(op.Cast(shifted, to=INT32.dtype), to=FLOAT.dtype)
    return op.Div(op.Reshape(level, op.Shape(planes, start=1, end=3)), 255.0)


@script()
def composited_gray(planes: FLOAT[4, None, None]) -> FLOAT[None, None]:
    """Translucent pixels: gray by GRAY_WEIGHTS (elementwise: MatMul with a vector is slow in
    onnxruntime), composited by alpha on white behind dark strokes, black behind light ones. The
    strokes are the pixels at least half as opaque as the most opaque one; dark strokes: their
    median gray below 1/2."""
    red, green, blue, alpha = op.Split(planes, axis=0, num_outputs=4)
    red = op.Div(op.Squeeze(red, [0]), 255.0)
    green = op.Div(op.Squeeze(green, [0]), 255.0)
    blue = op.Div(op.Squeeze(blue, [0]), 255.0)
    alpha = op.Div(op.Squeeze(alpha, [0]), 255.0)
    # R w_R + G w_G + B w_B, summed in this order (written out: a Python loop would become an ONNX Loop):
    gray = op.Add(op.Add(op.Mul(red, RED_WEIGHT), op.Mul(green, GREEN_WEIGHT)), op.Mul(blue, BLUE_WEIGHT))
    opaque = op.GreaterOrEqual(alpha, op.Mul(op.ReduceMax(alpha, keepdims=0), 0.5))
    strokes = median(op.Compress(flat(gray), flat(opaque), axis=0))
    background = op.Where(op.Less(strokes, 0.5), op.Constant(value_float=1.0), op.Constant(value_float=0.0))
    return op.Add(op.Mul(gray, alpha), op.Mul(background, op.Sub(1.0, alpha)))


@script()
def grayscale(planes: FLOAT[4, None, None]) -> FLOAT[None, None]:
    """Gray [h, w] in [0, 1]: composited_gray if any pixel is translucent (alpha below 255), else pillow_gray."""
    alpha = op.Slice(planes, [3], [4], [0])
    if op.Less(op.ReduceMin(alpha, keepdims=0), 255.0):
        gray = composited_gray(planes)
    else:
        gray = pillow_gray(planes)
    return gray
