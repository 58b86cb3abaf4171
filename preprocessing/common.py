"""The building blocks every preprocessing step uses, as onnxscript functions: sizes and counts,
the border, a bool dilation, block sums and box means. Percentiles are in percentiles.py, the
filters whose size depends on the image in filters.py.

Public functions (scalars are 0-d tensors):
    dims(image) -> (height: INT64, width: INT64)         a 2-D tensor of any element type
    size(x) -> INT64                                     the number of elements, any element type
    count(mask: BOOL[...]) -> INT64                      the number of True values
    flat(x) -> 1-D                                       any element type
    maximum(x: FLOAT[...]) -> FLOAT
    border(image: FLOAT[None, None]) -> FLOAT[None]      the border pixels, flattened
    is_flat(values: FLOAT[...], level: FLOAT) -> BOOL
    as_4d(image: FLOAT[None, None]) -> FLOAT[1, 1, None, None];  as_2d: the reverse
    dilate_mask_5(mask: BOOL[None, None]) -> BOOL[None, None]    over the 5 x 5 square (2 EDGE_PX + 1)
    block_sums(image: FLOAT[None, None], factor: INT64) -> FLOAT[None, None]
    block_counts(mask: BOOL[None, None], factor: INT64) -> FLOAT[None, None]   the True values per block
    box_mean(image: FLOAT[None, None], radius: INT64) -> FLOAT[None, None]

Notes on writing these functions (checked with onnxscript 0.7.2):
  - Constants: int64 scalar op.Constant(value_int=5); int64 1-D op.Constant(value_ints=[0, 1]);
    float32 scalar op.Constant(value_float=0.5); float64 scalar op.Constant(value=np.float64(x));
    any array op.Constant(value=np.array(..., dtype=...)). These are exact and add no CastLike.
  - Never a float literal where a double is wanted: op.Mul(x_double, 0.999) makes a float32
    constant and a CastLike: 0.9990000128746033, not 0.999. A Python float passed as an argument
    (or a global Python float used in the body) is a float32 constant too.
  - Literals like op.Add(n, 1) or op.Reshape(x, [-1]) are exact int64 once onnxscript.optimizer
    folds their CastLike, but inside a Loop body the CastLike stays: op.Constant avoids the question.
  - Type annotations are facts the optimizer works from: a bare FLOAT is a SCALAR (a bare FLOAT on
    an image gave "Unexpected axis value" in onnxruntime while the optimizer's value_info was kept in
    the file; build.optimized drops it now, but the optimizer still folds by it). Use FLOAT[None,
    None] for an image, FLOAT[None] for 1-D, FLOAT[...] for any shape; no named dims ("H") unless
    equal everywhere; leave a parameter (and the return) unannotated when any element type may come.
  - A function that calls no operator itself needs @script(default_opset=op).
  - Operators with an optional second output (MaxPool, TopK): write `pooled, _ = op.MaxPool(...)`.
    Eager mode returns every output (a lone `pooled =` gets a list); the optimizer drops the unused one.
  - Eager mode takes numpy arrays (0-d for scalars: np.array(3), not np.int64(3)).
"""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

BORDER_FRACTION = 20  # the border: the pixels within 1/20 of the shorter side (at least 1) of each edge
EDGE_PX = 2  # pixels next to a kept stroke are its anti-aliased edge and are kept


END = 2**62  # a Slice end past any axis
SMALL_MASK = 64 * 64  # dilate_mask_5: masks of at most this many pixels are dilated by MaxPools (as fast at 128 x 128)


# --- sizes and counts -------------------------------------------------------------------------

@script()
def dims(image) -> tuple[INT64, INT64]:
    """(height, width) of a 2-D tensor (of any element type) as int64 scalars (Gather with a scalar
    index: one kernel each, where Slice and Squeeze are two)."""
    shape = op.Shape(image)
    height = op.Gather(shape, op.Constant(value_int=0), axis=0)
    width = op.Gather(shape, op.Constant(value_int=1), axis=0)
    return height, width


@script()
def scaled_side(side: INT64, scale: DOUBLE) -> INT64:
    """max(1, round(side scale)), the product in double, halves rounded to even: a side of an image
    scaled by `scale`."""
    return op.Max(op.Constant(value_int=1), op.Cast(op.Round(op.Mul(op.Cast(side, to=DOUBLE.dtype), scale)), to=INT64.dtype))


@script()
def size(x) -> INT64:
    """The number of elements (of a tensor of any element type)."""
    return op.Size(x)


@script()
def count(mask: BOOL[...]) -> INT64:
    """The number of True values (int64 scalar; summed in float32, exact below 2^24 pixels, faster)."""
    return op.Cast(op.ReduceSum(op.Cast(mask, to=FLOAT.dtype), keepdims=0), to=INT64.dtype)


@script()
def flat(x):
    """The values in one row (1-D), of any element type."""
    return op.Reshape(x, op.Constant(value_ints=[-1]))


@script()
def maximum(x: FLOAT[...]) -> FLOAT:
    """The largest value (float32 scalar)."""
    return op.ReduceMax(x, keepdims=0)


# --- the border -------------------------------------------------------------------------------

@script()
def border(image: FLOAT[None, None]) -> FLOAT[None]:
    """The pixels within max(1, min(h, w) // BORDER_FRACTION) of each edge, flattened, the corners
    twice (in both a row and a column): the top rows, the bottom rows, the left columns, the right
    columns."""
    height, width = dims(image)
    margin = op.Max(op.Div(op.Min(height, width), op.Constant(value_int=BORDER_FRACTION)), op.Constant(value_int=1))
    m = op.Reshape(margin, op.Constant(value_ints=[1]))
    minus = op.Neg(m)
    zero, one, end = op.Constant(value_ints=[0]), op.Constant(value_ints=[1]), op.Constant(value_ints=[END])
    top = flat(op.Slice(image, zero, m, zero))
    bottom = flat(op.Slice(image, minus, end, zero))
    left = flat(op.Slice(image, zero, m, one))
    right = flat(op.Slice(image, minus, end, one))
    return op.Concat(top, bottom, left, right, axis=0)


@script()
def is_flat(values: FLOAT[...], level: FLOAT) -> BOOL:
    """Half or more of the values within 1/255 of level (bool scalar)."""
    near = op.LessOrEqual(op.Abs(op.Sub(values, level)), op.Constant(value_float=1 / 255))
    return op.GreaterOrEqual(op.Mul(count(near), op.Constant(value_int=2)), op.Size(values))


# --- shapes for the 4-D operators (MaxPool, Resize) -------------------------------------------

@script()
def as_4d(image: FLOAT[None, None]) -> FLOAT[1, 1, None, None]:
    """[1, 1, h, w]: one image of one channel."""
    return op.Unsqueeze(image, op.Constant(value_ints=[0, 1]))


@script()
def as_2d(image: FLOAT[1, 1, None, None]) -> FLOAT[None, None]:
    """[h, w] again."""
    return op.Squeeze(image, op.Constant(value_ints=[0, 1]))


# --- dilation of a bool mask ------------------------------------------------------------------

if 2 * EDGE_PX + 1 != 5:  # dilate_mask_5 is the square of the pixels within EDGE_PX of a stroke (cleaning.py)
    raise ImportError("EDGE_PX changed: write dilate_mask_5's windows out for the new side")


@script()
def _or_shifted(window: BOOL[None, None], shift: INT64[1], axis: INT64[1]) -> BOOL[None, None]:
    """True where the entry or the one `shift` further along axis is (shift shorter along axis)."""
    end = op.Constant(value_ints=[END])
    return op.Or(op.Slice(window, op.Constant(value_ints=[0]), op.Neg(shift), axis), op.Slice(window, shift, end, axis))


@script()
def _any_within_2(mask: BOOL[None, None], axis: INT64[1], pads: INT64[4]) -> BOOL[None, None]:
    """True where any of the 5 entries centred on it along axis is (False beyond the edges; pads:
    2 before and after along axis). Windows of 2, then 4, then two overlapping windows of 4 make 5:
    a window doubling up to side 5, written out (onnxscript does not unroll Python loops)."""
    padded = op.Pad(mask, pads)
    pairs = _or_shifted(padded, op.Constant(value_ints=[1]), axis)
    fours = _or_shifted(pairs, op.Constant(value_ints=[2]), axis)
    return _or_shifted(fours, op.Constant(value_ints=[1]), axis)


@script()
def _dilate_by_or_5(mask: BOOL[None, None]) -> BOOL[None, None]:
    """The 5 x 5 dilation of a large mask: Or on bools moves a quarter of MaxPool's bytes on float,
    and is about twice as fast. Along rows, then columns."""
    rows = _any_within_2(mask, op.Constant(value_ints=[1]), op.Constant(value_ints=[0, 2, 0, 2]))
    return _any_within_2(rows, op.Constant(value_ints=[0]), op.Constant(value_ints=[2, 0, 2, 0]))


@script()
def _dilate_by_pool_5(mask: BOOL[None, None]) -> BOOL[None, None]:
    """The 5 x 5 dilation of a small mask: the mask as 0/1 floats, padded with 2 zeros at each end
    of its rows (False beyond the edges, as _dilate_by_or_5) and pooled along them, then padded at
    each end of its columns and pooled down them: eight kernels where the Ors take 19. (The zeros
    are padded, not MaxPool's pads: onnx's reference evaluator fails on padded 1 x n pools. Each
    Pad is along its pool's axis only: onnxruntime fuses a Pad into the MaxPool after it, and
    onnxruntime-node 1.30 refuses a pool padded by more than its kernel on an axis.)"""
    along_rows = op.Pad(as_4d(op.Cast(mask, to=FLOAT.dtype)), op.Constant(value_ints=[0, 0, 0, 2, 0, 0, 0, 2]))
    rows, _ = op.MaxPool(along_rows, kernel_shape=[1, 5])
    down_columns = op.Pad(rows, op.Constant(value_ints=[0, 0, 2, 0, 0, 0, 2, 0]))
    square, _ = op.MaxPool(down_columns, kernel_shape=[5, 1])
    return op.Cast(as_2d(square), to=BOOL.dtype)


@script(default_opset=op)
def dilate_mask_5(mask: BOOL[None, None]) -> BOOL[None, None]:
    """The dilation of a bool mask by the 5 x 5 square: True where any pixel within 2 rows and 2
    columns is (the square clipped at the edges). _dilate_by_pool_5 on masks of at most SMALL_MASK
    pixels, where each kernel's fixed cost outweighs its work, else _dilate_by_or_5."""
    if op.LessOrEqual(op.Size(mask), op.Constant(value_int=SMALL_MASK)):
        grown = _dilate_by_pool_5(mask)
    else:
        grown = _dilate_by_or_5(mask)
    return grown


# --- block sums and box means -----------------------------------------------------------------

@script()
def _pad_to_blocks(image, factor: INT64):
    """(image zero-padded at the end to whole factor x factor blocks, blocks down, blocks across);
    any element type (a bool mask is padded False)."""
    height, width = dims(image)
    pad_h = op.Mod(op.Sub(factor, op.Mod(height, factor)), factor)
    pad_w = op.Mod(op.Sub(factor, op.Mod(width, factor)), factor)
    blocks_h = op.Div(op.Add(height, pad_h), factor)
    blocks_w = op.Div(op.Add(width, pad_w), factor)
    one = op.Constant(value_ints=[1])
    pads = op.Concat(op.Constant(value_ints=[0, 0]), op.Reshape(pad_h, one), op.Reshape(pad_w, one), axis=0)
    return op.Pad(image, pads), blocks_h, blocks_w


@script()
def _sum_blocks(padded: FLOAT[None, None], blocks_h: INT64, blocks_w: INT64, factor: INT64) -> FLOAT[None, None]:
    """Each block's rows summed first, then its columns: two reductions over one axis are faster
    than one over two."""
    one = op.Constant(value_ints=[1])
    f = op.Reshape(factor, one)
    rows = op.ReduceSum(op.Reshape(padded, op.Concat(op.Reshape(blocks_h, one), f, op.Constant(value_ints=[-1]), axis=0)),
                        one, keepdims=0)  # [blocks_h, w]
    return op.ReduceSum(op.Reshape(rows, op.Concat(op.Reshape(blocks_h, one), op.Reshape(blocks_w, one), f, axis=0)),
                        op.Constant(value_ints=[2]), keepdims=0)


@script()
def block_sums(image: FLOAT[None, None], factor: INT64) -> FLOAT[None, None]:
    """Sums of a float [h, w] over factor x factor blocks (int64 scalar factor; the last blocks
    zero-padded): float32 [ceil(h / factor), ceil(w / factor)]."""
    padded, blocks_h, blocks_w = _pad_to_blocks(image, factor)
    return _sum_blocks(padded, blocks_h, blocks_w, factor)


@script()
def block_counts(mask: BOOL[None, None], factor: INT64) -> FLOAT[None, None]:
    """The True values of a bool [h, w] in each factor x factor block, as block_sums (float32).
    The mask is padded before its cast to float: a quarter of the bytes."""
    padded, blocks_h, blocks_w = _pad_to_blocks(mask, factor)
    return _sum_blocks(op.Cast(padded, to=FLOAT.dtype), blocks_h, blocks_w, factor)


@script()
def _box_mean_along(image: FLOAT[None, None], side: INT64, pads: INT64[4], axis: int) -> FLOAT[None, None]:
    """The mean over `side` entries centred on each along axis, edges replicated (pads: side // 2
    before and after along axis), from running sums in double."""
    axes = op.Reshape(op.Constant(value_int=axis), op.Constant(value_ints=[1]))
    padded = op.Pad(op.Cast(image, to=DOUBLE.dtype), pads, mode="edge")
    sums = op.CumSum(padded, op.Constant(value_int=axis))
    zeros = op.Mul(op.Slice(sums, op.Constant(value_ints=[0]), op.Constant(value_ints=[1]), axes),
                   op.Constant(value=np.float64(0.0)))  # (the first sums times 0: zeros of the right shape)
    sums = op.Concat(zeros, sums, axis=axis)  # sums[i]: the sum of the first i entries
    s = op.Reshape(side, op.Constant(value_ints=[1]))
    ahead = op.Slice(sums, s, op.Constant(value_ints=[END]), axes)
    behind = op.Slice(sums, op.Constant(value_ints=[0]), op.Neg(s), axes)
    return op.Cast(op.Div(op.Sub(ahead, behind), op.Cast(side, to=DOUBLE.dtype)), to=FLOAT.dtype)


@script()
def box_mean(image: FLOAT[None, None], radius: INT64) -> FLOAT[None, None]:
    """The mean over the (2 radius + 1)^2 square centred on each pixel, edges replicated (radius
    copies of the edge rows and columns), from running sums in double (radius: int64 scalar). Down
    the columns first, then along the rows, each pass's means cast to float32."""
    side = op.Add(op.Mul(radius, op.Constant(value_int=2)), op.Constant(value_int=1))
    r = op.Reshape(radius, op.Constant(value_ints=[1]))
    zero = op.Constant(value_ints=[0])
    down = _box_mean_along(image, side, op.Concat(r, zero, r, zero, axis=0), axis=0)
    return _box_mean_along(down, side, op.Concat(zero, r, zero, r, axis=0), axis=1)
