"""Pillow's resampling (Image.resize and Image.reduce of a float image): each axis is a weight
matrix [out, in] computed in the graph from the sizes, with Pillow's filters, windows and
normalisation (libImaging/Resample.c, precompute_coeffs), so the result matches Pillow's to float
rounding. ONNX's own Resize has no Lanczos and other window rules.

The coefficients are computed in double, as Pillow computes them. Each filter (box, Lanczos) has
its own functions: the filter is chosen when the graph is built, not when it runs."""

import math

import numpy as np
from onnxscript import DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

# The filters' supports (Pillow's `support` at scale 1), and pi, as double constants: a Python
# float in an onnxscript op call becomes a float32 constant (cast like the other operand), and
# float32(pi) is not pi. The float literals below (0, 0.5, 1, 3) are exact in float32.
BOX_SUPPORT = np.array(0.5, np.float64)
LANCZOS_SUPPORT = np.array(3.0, np.float64)
PI = np.array(math.pi, np.float64)
ONE, ZERO = np.array(1.0, np.float64), np.array(0.0, np.float64)  # (where no operand gives a literal its type)


@script()
def sinc(x: DOUBLE[...]) -> DOUBLE[...]:
    """sin(pi x) / (pi x), 1 at 0 (the division made safe there)."""
    pix = op.Mul(x, PI)
    safe = op.Where(op.Equal(x, 0.0), 1.0, pix)
    return op.Where(op.Equal(x, 0.0), 1.0, op.Div(op.Sin(safe), safe))


@script()
def box_filter(x: DOUBLE[...]) -> DOUBLE[...]:
    """Pillow's box filter: 1 on (-0.5, 0.5], else 0."""
    inside = op.And(op.Greater(x, -0.5), op.LessOrEqual(x, 0.5))
    return op.Where(inside, ONE, ZERO)


@script()
def lanczos_filter(x: DOUBLE[...]) -> DOUBLE[...]:
    """Pillow's Lanczos filter: sinc(x) sinc(x / 3) on [-3, 3), else 0."""
    inside = op.And(op.GreaterOrEqual(x, -3.0), op.Less(x, 3.0))
    value = op.Mul(sinc(x), sinc(op.Div(x, 3.0)))
    return op.Where(inside, value, 0.0)


@script()
def window(in_size: INT64, in_end: DOUBLE, out_size: INT64, support_at_1: DOUBLE):
    """Pillow's precompute_coeffs for each output pixel: (centre on the input axis, the window
    [xmin, xmax) of input pixels it reads ([out, 1] double each), the filter's scale and support).
    Pixels [0, in_end) of an axis of in_size are resampled to out_size (int64 scalars; in_end: double
    scalar, the box's end); support_at_1: the filter's support at scale 1."""
    scale = op.Div(in_end, op.Cast(out_size, to=DOUBLE.dtype))
    filterscale = op.Max(scale, 1.0)
    support = op.Mul(support_at_1, filterscale)
    outs = op.Unsqueeze(op.Cast(op.Range(0, out_size, 1), to=DOUBLE.dtype), [1])
    center = op.Mul(op.Add(outs, 0.5), scale)
    xmin = op.Max(op.Floor(op.Add(op.Sub(center, support), 0.5)), 0.0)
    xmax = op.Min(op.Floor(op.Add(op.Add(center, support), 0.5)), op.Cast(in_size, to=DOUBLE.dtype))
    return center, xmin, xmax, filterscale, support


@script()
def filter_position(ins: DOUBLE[...], center: DOUBLE[None, None], filterscale: DOUBLE) -> DOUBLE[None, None]:
    """Where input pixels `ins` fall on the filter of each output pixel: (in - centre + 0.5) / filterscale."""
    return op.Div(op.Add(op.Sub(ins, center), 0.5), filterscale)


@script()
def normalised(weights: DOUBLE[None, None]) -> DOUBLE[None, None]:
    """Each output pixel's weights (a row) scaled to sum to 1 (rows of zeros stay zeros)."""
    total = op.ReduceSum(weights, [1], keepdims=1)
    total = op.Where(op.Equal(total, 0.0), 1.0, total)
    return op.Div(weights, total)


@script()
def lanczos_weights(in_size: INT64, in_end: DOUBLE, out_size: INT64) -> DOUBLE[None, None]:
    """[out_size, in_size] double: Pillow's Lanczos coefficients for resampling pixels [0, in_end)
    of an axis of in_size pixels to out_size pixels, as a dense matrix."""
    center, xmin, xmax, filterscale, support = window(in_size, in_end, out_size, LANCZOS_SUPPORT)
    ins = op.Unsqueeze(op.Cast(op.Range(0, in_size, 1), to=DOUBLE.dtype), [0])
    inside = op.And(op.GreaterOrEqual(ins, xmin), op.Less(ins, xmax))  # [out, in]
    return normalised(op.Where(inside, lanczos_filter(filter_position(ins, center, filterscale)), ZERO))


@script()
def box_banded_weights(in_size: INT64, in_end: DOUBLE, out_size: INT64):
    """Pillow's box coefficients as Pillow stores them: (input index [out, K] int64, weight
    [out, K] float32), K = 2 ceil(support) + 1 taps per output pixel. Far cheaper to apply than a
    dense matrix when an image is resampled by a large factor."""
    center, xmin, xmax, filterscale, support = window(in_size, in_end, out_size, BOX_SUPPORT)
    taps = op.Add(op.Mul(op.Cast(op.Ceil(support), to=INT64.dtype), 2), 1)
    ks = op.Unsqueeze(op.Cast(op.Range(0, taps, 1), to=DOUBLE.dtype), [0])
    ins = op.Add(xmin, ks)  # [out, K]
    weight = normalised(op.Where(op.Less(ins, xmax), box_filter(filter_position(ins, center, filterscale)), ZERO))
    index = op.Min(op.Cast(ins, to=INT64.dtype), op.Sub(in_size, 1))
    return index, op.Cast(weight, to=FLOAT.dtype)


@script()
def apply_banded_to_rows(image: FLOAT[None, None], index: INT64[None, None], weight: FLOAT[None, None]) -> FLOAT[None, None]:
    """Resample image [h, w] along its rows axis (axis 0) with banded coefficients: the taps are
    gathered as whole rows, the fast way for Gather."""
    gathered = op.Gather(image, op.Reshape(index, [-1]), axis=0)
    shape = op.Concat(op.Shape(index), op.Shape(image, start=1, end=2), axis=0)
    return op.ReduceSum(op.Mul(op.Reshape(gathered, shape), op.Unsqueeze(weight, [2])), [1], keepdims=0)


@script()
def apply_banded_to_columns(image: FLOAT[None, None], index: INT64[None, None], weight: FLOAT[None, None]) -> FLOAT[None, None]:
    """Resample image [h, w] along its columns axis (axis 1): as rows of the transposed image."""
    return op.Transpose(apply_banded_to_rows(op.Transpose(image, perm=[1, 0]), index, weight), perm=[1, 0])


@script()
def resize_box(image: FLOAT[None, None], height: INT64, width: INT64, out_height: INT64, out_width: INT64) -> FLOAT[None, None]:
    """Image.resize((out_width, out_height), BOX) of a float image [height, width], columns first as Pillow."""
    column_index, column_weight = box_banded_weights(width, op.Cast(width, to=DOUBLE.dtype), out_width)
    columns = apply_banded_to_columns(image, column_index, column_weight)
    row_index, row_weight = box_banded_weights(height, op.Cast(height, to=DOUBLE.dtype), out_height)
    return apply_banded_to_rows(columns, row_index, row_weight)


@script()
def reduce_weights(in_size: INT64, factor: INT64) -> DOUBLE[None, None]:
    """[ceil(in / factor), in] double: Image.reduce along one axis (the mean of each block of
    `factor` pixels; the last block may be shorter)."""
    out_size = op.Div(op.Add(in_size, op.Sub(factor, 1)), factor)
    ins = op.Unsqueeze(op.Range(0, in_size, 1), [0])
    outs = op.Unsqueeze(op.Range(0, out_size, 1), [1])
    member = op.Cast(op.Equal(op.Div(ins, factor), outs), to=DOUBLE.dtype)
    return op.Div(member, op.ReduceSum(member, [1], keepdims=1))


@script()
def apply_separable(image: FLOAT[None, None], rows: DOUBLE[None, None], columns: DOUBLE[None, None]) -> FLOAT[None, None]:
    """rows [out_h, h] and columns [out_w, w] (double) applied to image [h, w] (float32): columns
    first, as Pillow."""
    horizontal = op.MatMul(image, op.Transpose(op.Cast(columns, to=FLOAT.dtype), perm=[1, 0]))
    return op.MatMul(op.Cast(rows, to=FLOAT.dtype), horizontal)


@script()
def reduce_then_lanczos_weights(size: INT64, out: INT64, gap: DOUBLE) -> DOUBLE[None, None]:
    """One axis of Image.resize(..., LANCZOS, reducing_gap=gap): Image.reduce by
    int(size / out / gap) (if over 1), then Lanczos on the reduced pixels' box, as one [out, size] matrix."""
    size_d = op.Cast(size, to=DOUBLE.dtype)
    factor = op.Max(op.Cast(op.Floor(op.Div(op.Div(size_d, op.Cast(out, to=DOUBLE.dtype)), gap)), to=INT64.dtype), 1)
    reduced = reduce_weights(size, factor)
    reduced_size = op.Div(op.Add(size, op.Sub(factor, 1)), factor)
    box_end = op.Div(size_d, op.Cast(factor, to=DOUBLE.dtype))
    return op.MatMul(lanczos_weights(reduced_size, box_end, out), reduced)


@script()
def resize_lanczos_with_reducing_gap(image: FLOAT[None, None], height: INT64, width: INT64, out_height: INT64,
                                     out_width: INT64, gap: DOUBLE) -> FLOAT[None, None]:
    """Image.resize((out_width, out_height), LANCZOS, reducing_gap=gap) of a float image [height,
    width]: per axis, first Image.reduce by int(in / out / gap) (if > 1), then the filter on the
    reduced image's box. gap: a double scalar, as Pillow's Python float."""
    return apply_separable(image, reduce_then_lanczos_weights(height, out_height, gap),
                           reduce_then_lanczos_weights(width, out_width, gap))


@script()
def enlarge_bilinear(image: FLOAT[None, None], out_height: INT64, out_width: INT64) -> FLOAT[None, None]:
    """Image.resize((out_width, out_height), BILINEAR) of a float image to a size no smaller on
    either axis: ONNX's Resize (linear, half_pixel). Enlarging, Pillow's filter is the plain
    triangle and its window clipped at the edges is the edge pixel, which is what half_pixel's
    clamping gives; the two differ only in float rounding (~1e-7)."""
    sizes = op.Concat([1, 1], op.Reshape(out_height, [1]), op.Reshape(out_width, [1]), axis=0)
    resized = op.Resize(op.Unsqueeze(image, [0, 1]), None, None, sizes, mode="linear",
                        coordinate_transformation_mode="half_pixel")
    return op.Squeeze(resized, [0, 1])
