"""Percentiles as onnxscript functions, all "nearest" (no interpolation): the q-th percentile of n
values is the value of rank min(n - 1, round(q / 100 (n - 1))) among the flattened values sorted
(rank 0 the smallest; the product in double, halves rounded to even), found from whichever end is
nearer: the k-th smallest (k = rank + 1) for q <= 50, the k-th largest (k = n - rank) above. TopK
unsorted is several times faster than sorted. Each way of finding one (plain, by a band around the
median, by a sample for the tails, among the first values) has its own function here.

q: a DOUBLE scalar percentage. Pass a module-level np.float64 (Q = np.float64(99.9)) as
op.Constant(value=Q): a Python float becomes a float32 constant (99.9 -> 99.90000152...). The
functions divide q by 100 in double; onnxscript.optimizer folds that into the float64 constant
Python's q / 100 gives.

    low_percentile(values, q) -> FLOAT            q <= 50 (the k-th smallest)
    high_percentile(values, q) -> FLOAT           q > 50 (the k-th largest)
    median(values) -> FLOAT                       low_percentile at 50
    low_high_percentiles(values, low_q, high_q) -> (FLOAT, FLOAT)      two at once (0.5, 99.5)
    median_in_band(values) -> FLOAT               the median, faster on large arrays (the border)
    median_in_band_among(values, among: INT64) -> FLOAT                 (the noise, noise.py)
    high_percentile_sampled(values, q) -> FLOAT   faster on large arrays for q near 100 (99.9)
    tail_percentiles_sampled(values, low_q, high_q) -> (FLOAT, FLOAT)  large arrays, near 0 and 100 (1, 99)
(values: FLOAT of any shape, flattened; results float32 scalars.)

The sampled and band functions take the plain TopK of all the values when there are at most
PLAIN_TOPK_VALUES of them (an If on the size): on a small array (a 28 x 28 digit's 784 pixels, its
border) the sample's few dozen nodes cost far more than one TopK over everything, and the answer is
the same, since each of them is exact (the sample only narrows where the k-th value is looked for).
"""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .common import END, count, flat

SAMPLE_STEP = 32  # percentiles of large arrays: a first guess from every 32nd value ...
SAMPLE_MARGIN = 2.0  # ... at twice the rank, so that the guess bounds the answer nearly always
SAMPLE_SPREAD = 4.0  # medians: a band of this many standard deviations of the sampled rank either side
PLAIN_TOPK_VALUES = 4096  # ... and at most this many values are not sampled: one TopK of them all

FIFTY = np.float64(50.0)  # the median's q


@script()
def _rank(last: INT64, q: DOUBLE) -> INT64:
    """min(last, round(last q / 100)): the rank of the q-th percentile among last + 1 values (at
    least one). That is round(last q / 100) itself: q is at most 100, and a product by a fraction
    of at most 1 is at most `last` in double too, so the minimum is not taken."""
    fraction = op.Div(q, op.Constant(value=np.float64(100.0)))  # folded: the constant q / 100
    return op.Cast(op.Round(op.Mul(op.Cast(last, to=DOUBLE.dtype), fraction)), to=INT64.dtype)


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
def _smallest(values: FLOAT[None], k: INT64) -> FLOAT[None]:
    """The k smallest of the 1-D values, in no order (k: int64 scalar, 1 <= k <= n)."""
    top, _ = op.TopK(values, op.Reshape(k, op.Constant(value_ints=[1])), largest=0, sorted=0)
    return top


@script()
def _largest(values: FLOAT[None], k: INT64) -> FLOAT[None]:
    """The k largest of the 1-D values, in no order (k: int64 scalar, 1 <= k <= n)."""
    top, _ = op.TopK(values, op.Reshape(k, op.Constant(value_ints=[1])), largest=1, sorted=0)
    return top


@script()
def _kth_smallest(values: FLOAT[None], k: INT64) -> FLOAT:
    return op.ReduceMax(_smallest(values, k), keepdims=0)


@script()
def _kth_largest(values: FLOAT[None], k: INT64) -> FLOAT:
    return op.ReduceMin(_largest(values, k), keepdims=0)


@script()
def low_percentile(values: FLOAT[...], q: DOUBLE) -> FLOAT:
    """The q-th percentile (q <= 50: from the smallest) of the flattened values (float32 scalar)."""
    values = flat(values)
    return _kth_smallest(values, _low_k(op.Size(values), q))


@script()
def high_percentile(values: FLOAT[...], q: DOUBLE) -> FLOAT:
    """The q-th percentile (q > 50: from the largest) of the flattened values (float32 scalar)."""
    values = flat(values)
    return _kth_largest(values, _high_k(op.Size(values), q))


@script()
def median(values: FLOAT[...]) -> FLOAT:
    """The 50th percentile ("nearest": the lower middle value of an even count)."""
    return low_percentile(values, op.Constant(value=FIFTY))


@script()
def low_high_percentiles(values: FLOAT[...], low_q: DOUBLE, high_q: DOUBLE) -> tuple[FLOAT, FLOAT]:
    """(low_percentile(values, low_q), high_percentile(values, high_q)), low_q <= 50 < high_q."""
    values = flat(values)
    n = op.Size(values)
    return _kth_smallest(values, _low_k(n, low_q)), _kth_largest(values, _high_k(n, high_q))


# Large arrays: a first guess from every SAMPLE_STEP-th value. For the median, a band of values
# around the rank; for percentiles near either end, a bound that the k extreme values pass.

@script()
def _sample(values: FLOAT[None]) -> FLOAT[None]:
    """Every SAMPLE_STEP-th value."""
    return op.Slice(values, op.Constant(value_ints=[0]), op.Constant(value_ints=[END]), op.Constant(value_ints=[0]),
                    op.Constant(value_ints=[SAMPLE_STEP]))


@script()
def _is_small(values: FLOAT[None]) -> BOOL:
    """At most PLAIN_TOPK_VALUES values: a plain TopK of them all is the faster way."""
    return op.LessOrEqual(op.Size(values), op.Constant(value_int=PLAIN_TOPK_VALUES))


@script()
def _kth_smallest_by_band(values: FLOAT[None], k: INT64) -> FLOAT:
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


@script(default_opset=op)
def _kth_smallest_in_band(values: FLOAT[None], k: INT64) -> FLOAT:
    """The k-th smallest: _kth_smallest_by_band on large arrays, a plain TopK on small ones (the same value)."""
    if _is_small(values):
        kth = _kth_smallest(values, k)
    else:
        kth = _kth_smallest_by_band(values, k)
    return kth


@script()
def median_in_band(values: FLOAT[...]) -> FLOAT:
    """median(values), faster on large arrays (see _kth_smallest_in_band)."""
    values = flat(values)
    return _kth_smallest_in_band(values, _low_k(op.Size(values), op.Constant(value=FIFTY)))


@script()
def median_in_band_among(values: FLOAT[...], among: INT64) -> FLOAT:
    """The median of the first `among` values in order, when all the others are larger than them
    (they stand for values left out): median_in_band with the rank among `among` values."""
    values = flat(values)
    return _kth_smallest_in_band(values, _low_k(among, op.Constant(value=FIFTY)))


@script()
def _sample_k(sample: FLOAT[None], k: INT64) -> INT64:
    """The rank in the sample that bounds the k-th value nearly always: SAMPLE_MARGIN k / SAMPLE_STEP
    (rounded up) + 1, at most the sample's size."""
    scaled = op.Div(op.Mul(op.Cast(k, to=DOUBLE.dtype), op.Constant(value=np.float64(SAMPLE_MARGIN))),
                    op.Constant(value=np.float64(float(SAMPLE_STEP))))
    return op.Min(op.Size(sample), op.Add(op.Cast(op.Ceil(scaled), to=INT64.dtype), op.Constant(value_int=1)))


@script()
def _kth_largest_by_sample_of_large(values: FLOAT[None], k: INT64) -> FLOAT:
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


@script(default_opset=op)
def _kth_largest_by_sample(values: FLOAT[None], k: INT64) -> FLOAT:
    """The k-th largest: _kth_largest_by_sample_of_large on large arrays, a plain TopK on small ones (the same value)."""
    if _is_small(values):
        kth = _kth_largest(values, k)
    else:
        kth = _kth_largest_by_sample_of_large(values, k)
    return kth


@script()
def _kth_both_by_sample_of_large(values: FLOAT[None], k_low: INT64, k_high: INT64) -> tuple[FLOAT, FLOAT]:
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


@script(default_opset=op)
def _kth_both_by_sample(values: FLOAT[None], k_low: INT64, k_high: INT64) -> tuple[FLOAT, FLOAT]:
    """(the k_low-th smallest, the k_high-th largest): _kth_both_by_sample_of_large on large arrays,
    two plain TopKs on small ones (the same values)."""
    if _is_small(values):
        low = _kth_smallest(values, k_low)
        high = _kth_largest(values, k_high)
    else:
        low, high = _kth_both_by_sample_of_large(values, k_low, k_high)
    return low, high


@script()
def high_percentile_sampled(values: FLOAT[...], q: DOUBLE) -> FLOAT:
    """high_percentile(values, q), faster on large arrays for q near 100 (see _kth_largest_by_sample)."""
    values = flat(values)
    return _kth_largest_by_sample(values, _high_k(op.Size(values), q))


@script()
def tail_percentiles_sampled(values: FLOAT[...], low_q: DOUBLE, high_q: DOUBLE) -> tuple[FLOAT, FLOAT]:
    """low_high_percentiles(values, low_q, high_q), faster on large arrays for q near 0 and 100."""
    values = flat(values)
    n = op.Size(values)
    low, high = _kth_both_by_sample(values, _low_k(n, low_q), _high_k(n, high_q))
    return low, high
