"""Pillow's resampling (Image.resize and Image.reduce of a float image) as ONNX: each axis is a
weight matrix [out, in] computed in the graph from the sizes, with Pillow's filters, windows and
normalisation (libImaging/Resample.c, precompute_coeffs), so the result matches Pillow's to float
rounding. ONNX's own Resize has no Lanczos and other window rules."""

import math

import numpy as np

from .builder import DOUBLE, FLOAT, INT64, Builder

SUPPORT = {"box": 0.5, "lanczos": 3.0}


def _sinc(g: Builder, x: str) -> str:
    pix = g.op("Mul", x, g.scalar(math.pi, np.float64))
    safe = g.op("Where", g.op("Equal", x, g.scalar(0.0, np.float64)), g.scalar(1.0, np.float64), pix)
    return g.op("Where", g.op("Equal", x, g.scalar(0.0, np.float64)), g.scalar(1.0, np.float64),
                g.op("Div", g.op("Sin", safe), safe))


def _filter(g: Builder, x: str, kind: str) -> str:
    """Pillow's filter functions (double) at x."""
    zero = g.scalar(0.0, np.float64)
    if kind == "box":  # 1 on (-0.5, 0.5]
        inside = g.op("And", g.op("Greater", x, g.scalar(-0.5, np.float64)), g.op("LessOrEqual", x, g.scalar(0.5, np.float64)))
        return g.op("Where", inside, g.scalar(1.0, np.float64), zero)
    if kind == "lanczos":  # sinc(x) sinc(x/3) on [-3, 3)
        inside = g.op("And", g.op("GreaterOrEqual", x, g.scalar(-3.0, np.float64)), g.op("Less", x, g.scalar(3.0, np.float64)))
        value = g.op("Mul", _sinc(g, x), _sinc(g, g.op("Div", x, g.scalar(3.0, np.float64))))
        return g.op("Where", inside, value, zero)
    raise ValueError(kind)


def _window(g: Builder, in_size: str, in_end: str, out_size: str, kind: str) -> dict:
    """Pillow's precompute_coeffs for each output pixel: its centre on the input axis, the window
    [xmin, xmax) of input pixels it reads ([out, 1] double each), the filter's scale and support."""
    scale = g.op("Div", in_end, g.cast(out_size, DOUBLE))
    filterscale = g.op("Max", scale, g.scalar(1.0, np.float64))
    support = g.op("Mul", g.scalar(SUPPORT[kind], np.float64), filterscale)
    outs = g.op("Unsqueeze", g.cast(g.op("Range", g.scalar(0, np.int64), out_size, g.scalar(1, np.int64)), DOUBLE), g.ints(1))
    center = g.op("Mul", g.op("Add", outs, g.scalar(0.5, np.float64)), scale)
    half = g.scalar(0.5, np.float64)
    xmin = g.op("Max", g.op("Floor", g.op("Add", g.op("Sub", center, support), half)), g.scalar(0.0, np.float64))
    xmax = g.op("Min", g.op("Floor", g.op("Add", g.op("Add", center, support), half)), g.cast(in_size, DOUBLE))
    return {"center": center, "xmin": xmin, "xmax": xmax, "filterscale": filterscale, "support": support}


def _normalised(g: Builder, window: dict, ins: str, inside: str, kind: str) -> str:
    """The filter at input pixels `ins` (double, broadcast against [out, 1]), 0 outside the window,
    each output's weights scaled to sum to 1."""
    x = g.op("Div", g.op("Add", g.op("Sub", ins, window["center"]), g.scalar(0.5, np.float64)), window["filterscale"])
    w = g.op("Where", inside, _filter(g, x, kind), g.scalar(0.0, np.float64))
    total = g.op("ReduceSum", w, g.ints(1), keepdims=1)
    total = g.op("Where", g.op("Equal", total, g.scalar(0.0, np.float64)), g.scalar(1.0, np.float64), total)
    return g.op("Div", w, total)


def weights(g: Builder, in_size: str, in_end: str, out_size: str, kind: str) -> str:
    """[out_size, in_size] double: Pillow's coefficients for resampling pixels [0, in_end) of an axis
    of in_size pixels (in_end: double scalar, the box's end) to out_size pixels (int64 scalars)."""
    window = _window(g, in_size, in_end, out_size, kind)
    ins = g.op("Unsqueeze", g.cast(g.op("Range", g.scalar(0, np.int64), in_size, g.scalar(1, np.int64)), DOUBLE), g.ints(0))
    inside = g.op("And", g.op("GreaterOrEqual", ins, window["xmin"]), g.op("Less", ins, window["xmax"]))  # [out, in]
    return _normalised(g, window, ins, inside, kind)


def banded_weights(g: Builder, in_size: str, in_end: str, out_size: str, kind: str) -> tuple[str, str]:
    """The same coefficients as `weights`, as Pillow stores them: (input index [out, K] int64, weight
    [out, K] float32), K = 2 ceil(support) + 1 taps per output pixel. Far cheaper to apply than the
    dense matrix when an image is resampled by a large factor."""
    window = _window(g, in_size, in_end, out_size, kind)
    taps = g.op("Add", g.op("Mul", g.cast(g.op("Ceil", window["support"]), INT64), g.scalar(2, np.int64)), g.scalar(1, np.int64))
    ks = g.op("Unsqueeze", g.cast(g.op("Range", g.scalar(0, np.int64), taps, g.scalar(1, np.int64)), DOUBLE), g.ints(0))
    ins = g.op("Add", window["xmin"], ks)  # [out, K]
    w = _normalised(g, window, ins, g.op("Less", ins, window["xmax"]), kind)
    index = g.op("Min", g.cast(ins, INT64), g.op("Sub", in_size, g.scalar(1, np.int64)))
    return index, g.cast(w, FLOAT)


def apply_banded(g: Builder, image: str, index: str, weight: str, axis: int) -> str:
    """Resample image [h, w] along axis (1: columns, 0: rows) with banded coefficients. The taps are
    gathered as whole rows (columns: of the transposed image), the fast way for Gather."""
    if axis == 1:
        return g.op("Transpose", apply_banded(g, g.op("Transpose", image, perm=[1, 0]), index, weight, 0), perm=[1, 0])
    gathered = g.op("Gather", image, g.op("Reshape", index, g.ints(-1)), axis=0)
    shape = g.op("Concat", g.op("Shape", index), g.op("Shape", image, start=1, end=2), axis=0)
    return g.op("ReduceSum", g.op("Mul", g.op("Reshape", gathered, shape), g.op("Unsqueeze", weight, g.ints(2))), g.ints(1), keepdims=0)


def resize_banded(g: Builder, image: str, height: str, width: str, out_height: str, out_width: str, kind: str) -> str:
    """Image.resize((out_width, out_height), kind) of a float image, columns first as Pillow."""
    cols = apply_banded(g, image, *banded_weights(g, width, g.cast(width, DOUBLE), out_width, kind), axis=1)
    return apply_banded(g, cols, *banded_weights(g, height, g.cast(height, DOUBLE), out_height, kind), axis=0)


def reduce_weights(g: Builder, in_size: str, factor: str) -> str:
    """[ceil(in/factor), in] double: Image.reduce along one axis (the mean of each block of `factor`
    pixels; the last block may be shorter)."""
    out_size = g.op("Div", g.op("Add", in_size, g.op("Sub", factor, g.scalar(1, np.int64))), factor)
    ins = g.op("Unsqueeze", g.op("Range", g.scalar(0, np.int64), in_size, g.scalar(1, np.int64)), g.ints(0))
    outs = g.op("Unsqueeze", g.op("Range", g.scalar(0, np.int64), out_size, g.scalar(1, np.int64)), g.ints(1))
    member = g.cast(g.op("Equal", g.op("Div", ins, factor), outs), DOUBLE)
    return g.op("Div", member, g.op("ReduceSum", member, g.ints(1), keepdims=1))


def apply(g: Builder, image: str, rows: str, cols: str) -> str:
    """rows [out_h, h] and cols [out_w, w] (double) applied to image [h, w] (float32): columns first, as Pillow."""
    horizontal = g.op("MatMul", image, g.op("Transpose", g.cast(cols, FLOAT), perm=[1, 0]))
    return g.op("MatMul", g.cast(rows, FLOAT), horizontal)


def resize_with_reducing_gap(g: Builder, image: str, height: str, width: str, out_height: str, out_width: str,
                             kind: str, gap: float) -> str:
    """Image.resize(..., reducing_gap=gap): first Image.reduce by int(in / out / gap) per axis (if > 1),
    then the filter on the reduced image's box (Pillow's Image.resize)."""
    def axis(size, out):
        size_d = g.cast(size, DOUBLE)
        factor = g.op("Max", g.cast(g.op("Floor", g.op("Div", g.op("Div", size_d, g.cast(out, DOUBLE)), g.scalar(gap, np.float64))), INT64),
                      g.scalar(1, np.int64))
        reduced = reduce_weights(g, size, factor)
        reduced_size = g.op("Div", g.op("Add", size, g.op("Sub", factor, g.scalar(1, np.int64))), factor)
        box_end = g.op("Div", size_d, g.cast(factor, DOUBLE))
        return g.op("MatMul", weights(g, reduced_size, box_end, out, kind), reduced)
    return apply(g, image, axis(height, out_height), axis(width, out_width))


def enlarge_bilinear(g: Builder, image: str, out_height: str, out_width: str) -> str:
    """Image.resize((out_width, out_height), BILINEAR) of a float image to a size no smaller on either
    axis: ONNX's Resize (linear, half_pixel). Enlarging, Pillow's filter is the plain triangle and its
    window clipped at the edges is the edge pixel, which is what half_pixel's clamping gives; the two
    differ only in float rounding (~1e-7)."""
    sizes = g.op("Concat", g.ints(1, 1), g.op("Reshape", out_height, g.ints(1)), g.op("Reshape", out_width, g.ints(1)), axis=0)
    resized = g.op("Resize", g.op("Unsqueeze", image, g.ints(0, 1)), "", "", sizes, mode="linear",
                   coordinate_transformation_mode="half_pixel")
    return g.op("Squeeze", resized, g.ints(0, 1))
