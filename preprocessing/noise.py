"""Step 4 of the preprocessing (mnist_form.py), the measures of the ink above the paper that
suppress_background (cleaning.py) judges by: the paper's pixel noise and the ink's level."""

import math

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .common import END, count, dims, maximum
from .filters import otsu_threshold
from .percentiles import high_percentile_sampled, median_in_band_among

CONTRAST_PERCENTILE = 99.9  # the ink's level: this percentile of the image, paper subtracted ...
SMALL_IMAGE = 1000  # ... or the maximum, on images of this many pixels or fewer
MEDIAN_TO_SIGMA = 1.4826 / math.sqrt(2)  # a Gaussian's sigma from the median |difference| of neighbours
NOISE_STEP, NOISE_STEP_FROM = 4, 40_000  # the noise is measured on every 4th row and column of larger images

LEFT_OUT = 4.0  # added to the |differences| left out of a median: above any of the ink's, which is in [-1, 1]


@script()
def _every_nth_row(x: FLOAT[None, None], step: INT64) -> FLOAT[None, None]:
    return op.Slice(x, [0], op.Constant(value_ints=[END]), [0], op.Reshape(step, [1]))


@script()
def _every_nth_column(x: FLOAT[None, None], step: INT64) -> FLOAT[None, None]:
    return op.Slice(x, [0], op.Constant(value_ints=[END]), [1], op.Reshape(step, [1]))


@script()
def _neighbour_spread(values: FLOAT[None, None], paper: BOOL[None, None]) -> DOUBLE:
    """The median |difference| of horizontal neighbours that are both paper; +inf if there are
    none. The others stay in, raised by LEFT_OUT above all of these (cheaper than Compress)."""
    right = op.Slice(values, [1], op.Constant(value_ints=[END]), [1])
    left = op.Slice(values, [0], [-1], [1])
    both = op.And(op.Slice(paper, [1], op.Constant(value_ints=[END]), [1]), op.Slice(paper, [0], [-1], [1]))
    pairs = count(both)
    no_pairs = op.Constant(value=np.float64(np.inf))  # (made here, the branch's output folds to a constant)
    if op.Equal(pairs, 0):
        spread = no_pairs
    else:
        left_out = op.Mul(op.Cast(op.Not(both), to=FLOAT.dtype), op.Constant(value_float=LEFT_OUT))
        differences = op.Add(op.Abs(op.Sub(right, left)), left_out)
        spread = op.Cast(median_in_band_among(differences, pairs), to=DOUBLE.dtype)
    return spread


@script()
def noise(ink: FLOAT[None, None]) -> DOUBLE:
    """The standard deviation of the paper's pixel noise: the median difference between neighbours
    that are both paper (at or below Otsu's threshold), across rows and down columns, the smaller
    of the two (noise has no direction; the edges of strokes do), times MEDIAN_TO_SIGMA. Measured on
    every NOISE_STEP-th row and column of images over NOISE_STEP_FROM pixels. 0 when there is no
    ink, the image is too small for the step, or most neighbours along the rows are equal (digital
    paper: the median difference is 0)."""
    height, width = dims(ink)
    step = op.Where(op.Greater(op.Size(ink), NOISE_STEP_FROM), NOISE_STEP, 1)
    top = maximum(ink)
    rows = _every_nth_row(ink, step)
    unequal = op.Not(op.Equal(op.Slice(rows, [1], op.Constant(value_ints=[END]), [1]), op.Slice(rows, [0], [-1], [1])))
    mostly_equal = op.Less(op.Mul(count(unequal), 2), op.Size(rows))
    too_small = op.Less(op.Min(height, width), op.Mul(step, 2))
    no_noise = op.Constant(value=np.float64(0.0))  # (made here, the branch's output folds to a constant)
    if op.Or(op.Or(op.LessOrEqual(top, 0.0), too_small), mostly_equal):
        sigma = no_noise
    else:
        # Paper: at or below Otsu's level (found on the rows and columns measured only; top > 0).
        level = op.Mul(otsu_threshold(op.Div(_every_nth_column(rows, step), top)), top)
        cols = op.Transpose(_every_nth_column(ink, step), perm=[1, 0])
        spread = op.Min(_neighbour_spread(rows, op.LessOrEqual(rows, level)),
                        _neighbour_spread(cols, op.LessOrEqual(cols, level)))
        spread = op.Where(op.IsInf(spread), op.Constant(value=np.float64(0.0)), spread)
        sigma = op.Mul(spread, op.Constant(value=np.float64(MEDIAN_TO_SIGMA)))
    return sigma


@script()
def contrast(ink: FLOAT[None, None]) -> DOUBLE:
    """The ink's level over the paper (which is 0 here), a double: its CONTRAST_PERCENTILE-th
    percentile ("nearest", percentiles.py), or its maximum on images of SMALL_IMAGE pixels or fewer
    (an If: only the one that is used is computed)."""
    if op.Greater(op.Size(ink), op.Constant(value_int=SMALL_IMAGE)):
        level = high_percentile_sampled(ink, op.Constant(value=np.float64(CONTRAST_PERCENTILE)))
    else:
        level = maximum(ink)
    return op.Cast(level, to=DOUBLE.dtype)

