"""Step 3 of the preprocessing (mnist_form.py), the paper's estimate: the paper's own brightness,
the strokes' width, and the ink above the paper, which suppress_background (cleaning.py) goes on
with. Flat paper at the border (a digital image) is one level; other paper comes from a
morphological opening of a small copy, which follows gradients and shadows."""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .common import END, count, dims, maximum
from .filters import opening, otsu_threshold
from .percentiles import low_percentile, median
from .polarity import work_copy
from .resample import enlarge_bilinear

OPENING_FRACTION = 0.3  # ... with a filter at least this fraction of the image wide
OPENING_STROKES = 4  # ... and at least this many times the strokes' measured width;
FLAT_FRACTION = 0.35  # a window wider than this fraction of the image: the paper is one level

# The numbers above as double constants (a Python float in an op call is a float32 constant).
WINDOW_FRACTION = np.float64(OPENING_FRACTION)
WINDOW_STROKES = np.float64(OPENING_STROKES)
ONE_LEVEL_FRACTION = np.float64(FLAT_FRACTION)
CAP_Q = np.float64(10.0)  # flat paper is capped by this percentile of the image


@script()
def stroke_width(strokes: BOOL[None, None]) -> DOUBLE:
    """The strokes' mean width in a binary mask (double): twice the area over the length of the
    boundary, at least 1 (a stroke of length L and width w has area w L and two long edges): the
    changes along rows and down columns, and the mask's pixels on the four edges of the image.
    Diagonal edges count up to 1.4x too long, so a diagonal stroke measures up to 1.4x thinner.
    The mask is padded with False all round, as 0/1 floats: its changes along rows and down columns
    (|differences|, summed by ReduceL1) are then the image's changes and its pixels on the edges,
    counted at once, and its sum is the area. The counts are float32 sums of whole numbers below
    2^24 (2 MAX_WORK_PIXELS and the edges' pixels): exact."""
    end = op.Constant(value_ints=[END])
    padded = op.Cast(op.Pad(strokes, op.Constant(value_ints=[1, 1, 1, 1])), to=FLOAT.dtype)
    across = op.ReduceL1(op.Sub(op.Slice(padded, [1], end, [1]), op.Slice(padded, [0], [-1], [1])), keepdims=0)
    down = op.ReduceL1(op.Sub(op.Slice(padded, [1], end, [0]), op.Slice(padded, [0], [-1], [0])), keepdims=0)
    edges = op.Cast(op.Max(across + down, op.Constant(value_float=1.0)), to=DOUBLE.dtype)
    area = op.Cast(op.ReduceSum(padded, keepdims=0), to=DOUBLE.dtype)
    return area * op.Constant(value=np.float64(2.0)) / edges


@script()
def above(ink: FLOAT[None, None], paper: FLOAT[...]) -> FLOAT[None, None]:
    """ink - min(paper, ink), as Relu(ink - paper): the same floats (ink - paper is negative exactly
    where paper > ink), one pass over the image fewer. paper: a level or an image."""
    return op.Relu(ink - paper)


@script()
def odd(value: DOUBLE) -> INT64:
    """An odd window side from a non-negative double: its whole part, plus 1 if that is even
    (int(value) | 1)."""
    whole = op.Cast(op.Floor(value), to=INT64.dtype)
    return whole + (op.Constant(value_int=1) - whole % op.Constant(value_int=2))


@script()
def _flat_paper(ink: FLOAT[None, None], level: FLOAT) -> tuple[FLOAT[None, None], DOUBLE]:
    """Digital paper: one level, the border's median (level), capped by the image's CAP_Q-th
    percentile (ink on the border of a tight crop must not pass for paper). (The ink above it, the
    strokes' width: stroke_width of the pixels over halfway from the paper to the image's maximum,
    the halfway point taken in double, then cast to float32.)"""
    paper = op.Min(level, low_percentile(ink, op.Constant(value=CAP_Q)))
    halfway = (op.Cast(paper, to=DOUBLE.dtype) + op.Cast(maximum(ink), to=DOUBLE.dtype)) / op.Constant(value=np.float64(2.0))
    return above(ink, paper), stroke_width(ink > op.Cast(halfway, to=FLOAT.dtype))


@script()
def _median_of_paper(small: FLOAT[None, None], strokes: BOOL[None, None], smallest: FLOAT) -> FLOAT:
    """The median of the pixels that are not strokes; the smallest pixel if all are strokes."""
    not_strokes = op.Compress(op.Reshape(small, [-1]), op.Reshape(op.Not(strokes), [-1]), axis=0)
    all_strokes = op.Size(not_strokes) == op.Constant(value_int=0)
    values = op.Where(all_strokes, op.Reshape(smallest, [1]), not_strokes)  # (never empty)
    return op.Where(all_strokes, smallest, median(values))


@script()
def _opened_paper(ink: FLOAT[None, None]) -> tuple[FLOAT[None, None], DOUBLE, BOOL]:
    """Paper whose border is not flat (shaded, noisy), estimated on the work copy (at most
    WORK_SIZE px across): a morphological opening (a minimum then a maximum filter, filters.py)
    erases what is narrower than its window. The first window is max(3, odd(OPENING_FRACTION x the
    copy's longest side)); the strokes' width is measured on the ink that this first opening
    separates (the residual over Otsu's threshold of it, scaled to its maximum), and a second
    opening, odd(OPENING_STROKES x that width) wide, is made only if that is wider than the first.
    A window over FLAT_FRACTION of the copy's longest side has no paper around the ink to follow (a
    tight crop): the paper is one level, the median of the copy's pixels that are not strokes (its
    smallest pixel if all are). No residual at all: the paper is the copy itself (at scale 1; the
    ink above it is then 0) or, scaled down, the copy's minimum, and the strokes are 0 wide. Else the
    opened copy scaled back up (enlarge_bilinear) is the paper. (The ink above the paper, the
    strokes' width in px of the image (the copy's over its scale), whether the paper follows
    shading: True only in that last case.)"""
    height, width = dims(ink)
    small, scale = work_copy(ink)
    small_h, small_w = dims(small)
    longest = op.Cast(op.Max(small_h, small_w), to=DOUBLE.dtype)
    kernel = op.Max(op.Constant(value_int=3), odd(op.Constant(value=WINDOW_FRACTION) * longest))
    first = opening(small, kernel)
    residual = small - first
    top = maximum(residual)
    no_residual = top <= op.Constant(value_float=0.0)
    safe_top = op.Where(no_residual, op.Constant(value_float=1.0), top)
    strokes = residual > otsu_threshold(residual / safe_top) * safe_top
    small_stroke_width = stroke_width(strokes)
    needed = odd(op.Constant(value=WINDOW_STROKES) * small_stroke_width)
    if needed > kernel:
        paper = opening(small, needed)
    else:
        paper = first
    unscaled = scale == op.Constant(value=np.float64(1.0))
    stroke_px = op.Where(no_residual, op.Constant(value=np.float64(0.0)), small_stroke_width / scale)
    smallest = op.ReduceMin(small, keepdims=0)
    too_wide = op.Cast(needed, to=DOUBLE.dtype) > op.Constant(value=ONE_LEVEL_FRACTION) * longest
    shaded = op.Not(no_residual | too_wide)  # the paper follows shading
    if no_residual & op.Not(unscaled):
        ink_above = ink - smallest
    else:
        if too_wide:
            ink_above = above(ink, _median_of_paper(small, strokes, smallest))
        else:
            ink_above = above(ink, enlarge_bilinear(paper, height, width))
    return ink_above, stroke_px, shaded


@script()
def background(ink: FLOAT[None, None], level: FLOAT, flat_border: BOOL) -> tuple[FLOAT[None, None], DOUBLE, BOOL]:
    """The paper's brightness, estimated and subtracted: (the ink above the paper, ink - min(paper,
    ink) [h, w], the strokes' width in px (double), shaded: True where the paper follows shading,
    False where it is one level). Flat paper at the border (half its pixels within
    1/255 of its median, as in digital images and clean scans) is one level from the start.
    level, flat_border: the median of the ink's border and whether the border is flat (is_flat),
    as make_ink_bright found them."""
    one_level = op.Constant(value=False)  # (made here, the branch's output folds to a constant)
    if flat_border:
        ink_above, stroke_px = _flat_paper(ink, level)
        shaded = one_level
    else:
        ink_above, stroke_px, shaded = _opened_paper(ink)
    return ink_above, stroke_px, shaded
