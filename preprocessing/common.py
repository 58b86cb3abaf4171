"""The building blocks every preprocessing step uses, as onnxscript functions: sizes and counts,
percentiles ("nearest", as runtime/morphology.percentiles), the border, a bool dilation, block sums
and box means (runtime/cleaning.py, runtime/morphology.py).

Public functions (image: FLOAT["H", "W"]; scalars are 0-d tensors; q: a DOUBLE percentage, see below):
    dims(image) -> (height: INT64, width: INT64)        any element type
    size(x) -> INT64                                    the number of elements
    count(mask: BOOL) -> INT64                          the number of True values
    maximum(x: FLOAT) -> FLOAT
    low_percentile(values: FLOAT, q) -> FLOAT           q <= 50 (the k-th smallest)
    high_percentile(values: FLOAT, q) -> FLOAT          q > 50 (the k-th largest)
    median(values: FLOAT) -> FLOAT                      low_percentile at 50
    low_high_percentiles(values, low_q, high_q) -> (FLOAT, FLOAT)          (0.5, 99.5)
    median_in_band(values: FLOAT) -> FLOAT              large arrays (the border's median)
    median_in_band_among(values: FLOAT, among: INT64) -> FLOAT              (cleaning's noise)
    high_percentile_sampled(values: FLOAT, q) -> FLOAT  large arrays, q near 100 (contrast's 99.9)
    tail_percentiles_sampled(values, low_q, high_q) -> (FLOAT, FLOAT)      large arrays (1, 99)
    border(image) -> FLOAT["N"]                         the border pixels, flattened
    is_flat(values: FLOAT, level: FLOAT) -> BOOL
    dilate_mask_5(mask: BOOL["H", "W"]) -> BOOL["H", "W"]   the 5 x 5 square (cleaning's 2 EDGE_PX + 1)
    block_sums(image, factor: INT64) -> FLOAT           sums over factor x factor blocks
    block_counts(mask: BOOL["H", "W"], factor: INT64) -> FLOAT   (the old block_sums(mask=True))
    box_mean(image, radius: INT64) -> FLOAT["H", "W"]
    as_4d(image) -> [1, 1, H, W],  as_2d(image4d) -> [H, W]

Constants, written so that they stay exact and add no nodes (checked here with onnxscript 0.7.2):
  - int64 scalar: op.Constant(value_int=5); int64 1-D: op.Constant(value_ints=[0, 1]);
    float32 scalar: op.Constant(value_float=0.5); float64 scalar: op.Constant(value=np.float64(x));
    any array: op.Constant(value=np.array(..., dtype=...)).
  - Never a float literal where a double is wanted: op.Mul(x_double, 0.999) makes a float32
    constant and a CastLike, and the result is 0.9990000128746033, not 0.999. A Python float passed
    as an argument (or a global Python float) also becomes a float32 constant.
  - Literals like op.Add(n, 1) or op.Reshape(x, [-1]) are exact int64 after onnxscript.optimizer
    folds their CastLike, but inside a Loop body the CastLike stays: use op.Constant there.
  - A percentage q for the percentile functions: a module-level np.float64 (e.g.
    CONTRAST_Q = np.float64(CONTRAST_PERCENTILE)) passed as the argument. The functions divide it
    by 100 in double; the optimizer folds that into the same float64 constant as Python's q / 100.
"""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from ..runtime.cleaning import BORDER_FRACTION

END = 2**62  # a Slice end past any axis

SAMPLE_STEP = 32  # percentiles of large arrays: a first guess from every 32nd value ...
SAMPLE_MARGIN = 2.0  # ... at twice the rank, so that the guess bounds the answer nearly always
SAMPLE_SPREAD = 4.0  # medians: a band of this many standard deviations of the sampled rank either side

FIFTY = np.float64(50.0)  # the median's q


# --- sizes and counts -------------------------------------------------------------------------

@script()
def dims(image: FLOAT["H", "W"]) -> tuple[INT64, INT64]:
    """(height, width) of a 2-D tensor (of any element type) as int64 scalars."""
    shape = op.Shape(image)
    zero = op.Constant(value_ints=[0])
    height = op.Squeeze(op.Slice(shape, zero, op.Constant(value_ints=[1])), zero)
    width = op.Squeeze(op.Slice(shape, op.Constant(value_ints=[1]), op.Constant(value_ints=[2])), zero)
    return height, width


@script()
def size(x: FLOAT) -> INT64:
    """The number of elements (of a tensor of any element type)."""
    return op.Size(x)


@script()
def count(mask: BOOL) -> INT64:
    """The number of True values (int64 scalar; summed in float32, exact below 2^24 pixels, faster)."""
    return op.Cast(op.ReduceSum(op.Cast(mask, to=FLOAT.dtype), keepdims=0), to=INT64.dtype)


@script()
def maximum(x: FLOAT) -> FLOAT:
    return op.ReduceMax(x, keepdims=0)


# --- percentiles ------------------------------------------------------------------------------
# morphology.percentiles: the value of rank min(n - 1, round(q / 100 (n - 1))) of the flattened
# values, found from whichever end is nearer: the k-th smallest (k = rank + 1) for q <= 50, the
# k-th largest (k = n - rank) above. TopK unsorted is several times faster than sorted.

@script()
def _flat(x: FLOAT) -> FLOAT["N"]:
    return op.Reshape(x, op.Constant(value_ints=[-1]))


@script()
def _rank(last: INT64, q: DOUBLE) -> INT64:
    """min(last, round(last q / 100)): the rank of the q-th percentile among last + 1 values."""
    fraction = op.Div(q, op.Constant(value=np.float64(100.0)))  # folded: the constant q / 100
    return op.Min(last, op.Cast(op.Round(op.Mul(op.Cast(last, to=DOUBLE.dtype), fraction)), to=INT64.dtype))


@script()
def _low_k(n: INT64, q: DOUBLE) -> INT64:
    """k of the q-th percentile among n values counted from the smallest (q <= 50)."""
    last = op.Sub(n, op.Constant(value_int=1))
    return op.Add(_rank(last, q), op.Constant(value_int=1))


@script()
def _high_k(n: INT64, q: DOUBLE) -> INT64:
    """k of the q-th percentile among n values counted from the largest (q > 50)."""
    last = op.Sub(n, op.Constant(value_int=1))
    return op.Sub(n, _rank(last, q))


@script()
def _smallest(values: FLOAT["N"], k: INT64) -> FLOAT["K"]:
    """The k smallest of the 1-D values, in no order (k: int64 scalar, 1 <= k <= n)."""
    top, _ = op.TopK(values, op.Reshape(k, op.Constant(value_ints=[1])), largest=0, sorted=0)
    return top


@script()
def _largest(values: FLOAT["N"], k: INT64) -> FLOAT["K"]:
    """The k largest of the 1-D values, in no order (k: int64 scalar, 1 <= k <= n)."""
    top, _ = op.TopK(values, op.Reshape(k, op.Constant(value_ints=[1])), largest=1, sorted=0)
    return top


@script()
def _kth_smallest(values: FLOAT["N"], k: INT64) -> FLOAT:
    return op.ReduceMax(_smallest(values, k), keepdims=0)


@script()
def _kth_largest(values: FLOAT["N"], k: INT64) -> FLOAT:
    return op.ReduceMin(_largest(values, k), keepdims=0)


@script()
def low_percentile(values: FLOAT, q: DOUBLE) -> FLOAT:
    """The q-th percentile (q <= 50: from the smallest) of the flattened values (float32 scalar)."""
    flat = _flat(values)
    return _kth_smallest(flat, _low_k(op.Size(flat), q))


@script()
def high_percentile(values: FLOAT, q: DOUBLE) -> FLOAT:
    """The q-th percentile (q > 50: from the largest) of the flattened values (float32 scalar)."""
    flat = _flat(values)
    return _kth_largest(flat, _high_k(op.Size(flat), q))


@script()
def median(values: FLOAT) -> FLOAT:
    """The 50th percentile ("nearest": the lower middle value of an even count)."""
    return low_percentile(values, op.Constant(value=FIFTY))


@script()
def low_high_percentiles(values: FLOAT, low_q: DOUBLE, high_q: DOUBLE) -> tuple[FLOAT, FLOAT]:
    """(low_percentile(values, low_q), high_percentile(values, high_q)), low_q <= 50 < high_q."""
    flat = _flat(values)
    n = op.Size(flat)
    return _kth_smallest(flat, _low_k(n, low_q)), _kth_largest(flat, _high_k(n, high_q))


# Large arrays: a first guess from every SAMPLE_STEP-th value. For the median, a band of values
# around the rank; for percentiles near either end, a bound that the k extreme values pass.

@script()
def _sample(values: FLOAT["N"]) -> FLOAT["M"]:
    """Every SAMPLE_STEP-th value."""
    return op.Slice(values, op.Constant(value_ints=[0]), op.Constant(value_ints=[END]), op.Constant(value_ints=[0]),
                    op.Constant(value_ints=[SAMPLE_STEP]))


@script()
def _kth_smallest_in_band(values: FLOAT["N"], k: INT64) -> FLOAT:
    """The k-th smallest, faster on large arrays for ranks in the middle (a median): every
    SAMPLE_STEP-th value gives a band of values around the rank (SAMPLE_SPREAD standard deviations of
    a sampled rank either side); when the k-th value is in the band (nearly always), it is taken
    among the band's values, else among all of them: exact either way."""
    n = op.Cast(op.Size(values), to=DOUBLE.dtype)
    sample = _sample(values)
    m = op.Size(sample)
    m_d = op.Cast(m, to=DOUBLE.dtype)
    centre = op.Div(op.Mul(op.Cast(k, to=DOUBLE.dtype), m_d), n)
    spread = op.Add(op.Mul(op.Sqrt(m_d), op.Constant(value=np.float64(SAMPLE_SPREAD / 2))),
                    op.Constant(value=np.float64(1.0)))
    one = op.Constant(value_int=1)
    top_rank = op.Min(m, op.Max(one, op.Cast(op.Ceil(op.Add(centre, spread)), to=INT64.dtype)))
    bottom_rank = op.Min(m, op.Max(one, op.Cast(op.Floor(op.Sub(centre, spread)), to=INT64.dtype)))
    lowest = _smallest(sample, top_rank)
    high = op.ReduceMax(lowest, keepdims=0)
    low = _kth_smallest(lowest, bottom_rank)  # (the lower rank is among these)
    below = count(op.Less(values, low))
    band = op.And(op.GreaterOrEqual(values, low), op.LessOrEqual(values, high))
    inside = op.And(op.Less(below, k), op.LessOrEqual(k, op.Add(below, count(band))))
    if inside:
        kth = _kth_smallest(op.Compress(values, band, axis=0), op.Sub(k, below))
    else:
        kth = _kth_smallest(values, k)
    return kth


@script()
def median_in_band(values: FLOAT) -> FLOAT:
    """median(values), faster on large arrays (see _kth_smallest_in_band)."""
    flat = _flat(values)
    return _kth_smallest_in_band(flat, _low_k(op.Size(flat), op.Constant(value=FIFTY)))


@script()
def median_in_band_among(values: FLOAT, among: INT64) -> FLOAT:
    """The median of the first `among` values in order, when all the others are larger than them
    (they stand for values left out): median_in_band with the rank among `among` values."""
    flat = _flat(values)
    return _kth_smallest_in_band(flat, _low_k(among, op.Constant(value=FIFTY)))


@script()
def _sample_k(sample: FLOAT["M"], k: INT64) -> INT64:
    """The rank in the sample that bounds the k-th value nearly always: SAMPLE_MARGIN k / SAMPLE_STEP
    (rounded up) + 1, at most the sample's size."""
    scaled = op.Div(op.Mul(op.Cast(k, to=DOUBLE.dtype), op.Constant(value=np.float64(SAMPLE_MARGIN))),
                    op.Constant(value=np.float64(float(SAMPLE_STEP))))
    return op.Min(op.Size(sample), op.Add(op.Cast(op.Ceil(scaled), to=INT64.dtype), op.Constant(value_int=1)))


@script()
def _kth_largest_by_sample(values: FLOAT["N"], k: INT64) -> FLOAT:
    """The k-th largest, faster on large arrays when k is small: every SAMPLE_STEP-th value gives a
    bound that SAMPLE_MARGIN k values pass; the k-th is taken among the values that pass, or, if
    fewer than k pass (an unlucky sample), among all: exact either way."""
    sample = _sample(values)
    bound = _kth_largest(sample, _sample_k(sample, k))
    passes = op.GreaterOrEqual(values, bound)
    enough = op.GreaterOrEqual(count(passes), k)
    if enough:
        kth = _kth_largest(op.Compress(values, passes, axis=0), k)
    else:
        kth = _kth_largest(values, k)
    return kth


@script()
def _kth_both_by_sample(values: FLOAT["N"], k_low: INT64, k_high: INT64) -> tuple[FLOAT, FLOAT]:
    """(the k_low-th smallest, the k_high-th largest) as _kth_largest_by_sample: one Compress keeps
    the values that pass either bound, and each is taken among those of its own bound (a superset
    would do, but a smaller TopK is faster)."""
    sample = _sample(values)
    low_bound = _kth_smallest(sample, _sample_k(sample, k_low))
    high_bound = _kth_largest(sample, _sample_k(sample, k_high))
    below = op.LessOrEqual(values, low_bound)
    above = op.GreaterOrEqual(values, high_bound)
    enough = op.And(op.GreaterOrEqual(count(below), k_low), op.GreaterOrEqual(count(above), k_high))
    passing = op.Or(below, above)
    if enough:
        kept = op.Compress(values, passing, axis=0)
        low = _kth_smallest(op.Compress(kept, op.LessOrEqual(kept, low_bound), axis=0), k_low)
        high = _kth_largest(op.Compress(kept, op.GreaterOrEqual(kept, high_bound), axis=0), k_high)
    else:
        low = _kth_smallest(values, k_low)
        high = _kth_largest(values, k_high)
    return low, high


@script()
def high_percentile_sampled(values: FLOAT, q: DOUBLE) -> FLOAT:
    """high_percentile(values, q), faster on large arrays for q near 100 (see _kth_largest_by_sample)."""
    flat = _flat(values)
    return _kth_largest_by_sample(flat, _high_k(op.Size(flat), q))


@script()
def tail_percentiles_sampled(values: FLOAT, low_q: DOUBLE, high_q: DOUBLE) -> tuple[FLOAT, FLOAT]:
    """low_high_percentiles(values, low_q, high_q), faster on large arrays for q near 0 and 100."""
    flat = _flat(values)
    n = op.Size(flat)
    low, high = _kth_both_by_sample(flat, _low_k(n, low_q), _high_k(n, high_q))
    return low, high


# --- the border -------------------------------------------------------------------------------

@script()
def border(image: FLOAT["H", "W"]) -> FLOAT["N"]:
    """The pixels within max(1, min(h, w) // BORDER_FRACTION) of each edge, flattened (corners
    twice, as cleaning.py): the top rows, the bottom rows, the left columns, the right columns."""
    height, width = dims(image)
    margin = op.Max(op.Div(op.Min(height, width), op.Constant(value_int=BORDER_FRACTION)), op.Constant(value_int=1))
    m = op.Reshape(margin, op.Constant(value_ints=[1]))
    minus = op.Neg(m)
    zero, one, end = op.Constant(value_ints=[0]), op.Constant(value_ints=[1]), op.Constant(value_ints=[END])
    top = _flat(op.Slice(image, zero, m, zero))
    bottom = _flat(op.Slice(image, minus, end, zero))
    left = _flat(op.Slice(image, zero, m, one))
    right = _flat(op.Slice(image, minus, end, one))
    return op.Concat(top, bottom, left, right, axis=0)


@script()
def is_flat(values: FLOAT, level: FLOAT) -> BOOL:
    """Half or more of the values within 1/255 of level (bool scalar)."""
    near = op.LessOrEqual(op.Abs(op.Sub(values, level)), op.Constant(value_float=1 / 255))
    return op.GreaterOrEqual(op.Mul(count(near), op.Constant(value_int=2)), op.Size(values))


# --- shapes for the 4-D operators (MaxPool, Resize) -------------------------------------------

@script()
def as_4d(image: FLOAT["H", "W"]) -> FLOAT[1, 1, "H", "W"]:
    return op.Unsqueeze(image, op.Constant(value_ints=[0, 1]))


@script()
def as_2d(image: FLOAT[1, 1, "H", "W"]) -> FLOAT["H", "W"]:
    return op.Squeeze(image, op.Constant(value_ints=[0, 1]))


# --- dilation of a bool mask ------------------------------------------------------------------

DILATION_SIDE = 5  # dilate_mask_5's square


@script()
def _or_shifted(window: BOOL, shift: INT64[1], axis: INT64[1]) -> BOOL:
    """True where the entry or the one `shift` further along axis is (shift shorter along axis)."""
    end = op.Constant(value_ints=[END])
    return op.Or(op.Slice(window, op.Constant(value_ints=[0]), op.Neg(shift), axis), op.Slice(window, shift, end, axis))


@script()
def _any_within_2(mask: BOOL, axis: INT64[1], pads: INT64[4]) -> BOOL:
    """True where any of the 5 entries centred on it along axis is (False beyond the edges; pads:
    2 before and after along axis). Windows of 2, then 4, then two overlapping windows of 4 make 5:
    the old builder's doubling for side 5, written out (onnxscript does not unroll Python loops)."""
    padded = op.Pad(mask, pads)
    pairs = _or_shifted(padded, op.Constant(value_ints=[1]), axis)
    fours = _or_shifted(pairs, op.Constant(value_ints=[2]), axis)
    return _or_shifted(fours, op.Constant(value_ints=[1]), axis)


@script()
def dilate_mask_5(mask: BOOL["H", "W"]) -> BOOL["H", "W"]:
    """morphology.square_filter(mask, 5, np.maximum) of a bool mask: Or on bools moves a quarter of
    MaxPool's bytes on float, and is about twice as fast. Along rows, then columns."""
    rows = _any_within_2(mask, op.Constant(value_ints=[1]), op.Constant(value_ints=[0, 2, 0, 2]))
    return _any_within_2(rows, op.Constant(value_ints=[0]), op.Constant(value_ints=[2, 0, 2, 0]))


# --- block sums and box means -----------------------------------------------------------------

@script()
def _pad_to_blocks(image: FLOAT["H", "W"], factor: INT64) -> tuple[FLOAT, INT64, INT64]:
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
def _sum_blocks(padded: FLOAT["H", "W"], blocks_h: INT64, blocks_w: INT64, factor: INT64) -> FLOAT:
    """Each block's rows summed first, then its columns: two reductions over one axis are faster
    than one over two."""
    one = op.Constant(value_ints=[1])
    f = op.Reshape(factor, one)
    rows = op.ReduceSum(op.Reshape(padded, op.Concat(op.Reshape(blocks_h, one), f, op.Constant(value_ints=[-1]), axis=0)),
                        one, keepdims=0)  # [blocks_h, w]
    return op.ReduceSum(op.Reshape(rows, op.Concat(op.Reshape(blocks_h, one), op.Reshape(blocks_w, one), f, axis=0)),
                        op.Constant(value_ints=[2]), keepdims=0)


@script()
def block_sums(image: FLOAT["H", "W"], factor: INT64) -> FLOAT:
    """Sums of a float [h, w] over factor x factor blocks (int64 scalar factor; the last blocks
    zero-padded): float32 [ceil(h / factor), ceil(w / factor)]."""
    padded, blocks_h, blocks_w = _pad_to_blocks(image, factor)
    return _sum_blocks(padded, blocks_h, blocks_w, factor)


@script()
def block_counts(mask: BOOL["H", "W"], factor: INT64) -> FLOAT:
    """The True values of a bool [h, w] in each factor x factor block, as block_sums (float32).
    The mask is padded before its cast to float: a quarter of the bytes."""
    padded, blocks_h, blocks_w = _pad_to_blocks(mask, factor)
    return _sum_blocks(op.Cast(padded, to=FLOAT.dtype), blocks_h, blocks_w, factor)


@script()
def _box_mean_along(image: FLOAT["H", "W"], side: INT64, pads: INT64[4], axis: int) -> FLOAT["H", "W"]:
    """The mean over `side` entries centred on each along axis, edges replicated (pads: side // 2
    before and after along axis), from running sums in double."""
    axes = op.Reshape(op.Constant(value_int=axis), op.Constant(value_ints=[1]))
    padded = op.Pad(op.Cast(image, to=DOUBLE.dtype), pads, mode="edge")
    sums = op.CumSum(padded, op.Constant(value_int=axis))
    zeros = op.Mul(op.Slice(sums, op.Constant(value_ints=[0]), op.Constant(value_ints=[1]), axes),
                   op.Constant(value=np.float64(0.0)))
    sums = op.Concat(zeros, sums, axis=axis)
    s = op.Reshape(side, op.Constant(value_ints=[1]))
    ahead = op.Slice(sums, s, op.Constant(value_ints=[END]), axes)
    behind = op.Slice(sums, op.Constant(value_ints=[0]), op.Neg(s), axes)
    return op.Cast(op.Div(op.Sub(ahead, behind), op.Cast(side, to=DOUBLE.dtype)), to=FLOAT.dtype)


@script()
def box_mean(image: FLOAT["H", "W"], radius: INT64) -> FLOAT["H", "W"]:
    """morphology.box_mean: the mean over a (2 radius + 1)^2 square, edges replicated, running sums
    in double (radius: int64 scalar). Down the columns first, then along the rows."""
    side = op.Add(op.Mul(radius, op.Constant(value_int=2)), op.Constant(value_int=1))
    r = op.Reshape(radius, op.Constant(value_ints=[1]))
    zero = op.Constant(value_ints=[0])
    down = _box_mean_along(image, side, op.Concat(r, zero, r, zero, axis=0), axis=0)
    return _box_mean_along(down, side, op.Concat(zero, r, zero, r, axis=0), axis=1)
