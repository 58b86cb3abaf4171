"""Step 2 of the preprocessing (mnist_form.py), polarity: bright ink on black, as MNIST has it. The
border says which side the paper is on; on shaded paper, or when the border is on neither side,
the image's detail says which way the ink reaches."""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .common import border, box_mean, dims, is_flat, scaled_side
from .percentiles import low_high_percentiles, median_in_band, tail_percentiles_sampled
from .resample import resize_box

WORK_SIZE = 128  # the paper's brightness is estimated on a copy at most this many pixels across
POLARITY_MARGIN = 1.5  # polarity: the detail's evidence is clear at this ratio either way
POLARITY_RADIUS = 0.2  # ... the detail is the image minus its mean over this fraction of it
BORDER_MARGIN = 2  # else the border this many times nearer one end of the range: the paper's side

# The numbers above as double constants (a Python float in an op call is a float32 constant).
MARGIN_TO_BORDER = np.float64(BORDER_MARGIN)
CLEAR_EVIDENCE = np.float64(POLARITY_MARGIN)
DETAIL_RADIUS = np.float64(POLARITY_RADIUS)
# The percentiles the rules read ("nearest" ranks, percentiles.py).
DETAIL_DOWN_Q, DETAIL_UP_Q = np.float64(0.5), np.float64(99.5)  # how far the detail reaches down, up
RANGE_LOW_Q, RANGE_HIGH_Q = np.float64(1.0), np.float64(99.0)  # the ends of the image's range


@script()
def work_copy(image: FLOAT[None, None]) -> tuple[FLOAT[None, None], DOUBLE]:
    """(a copy at most WORK_SIZE px across, area-averaged (Pillow's BOX, resample.py), and its
    scale min(1, WORK_SIZE / longest side), a double) for estimates that need no detail: the
    paper's brightness, the polarity. Each side of the copy is max(1, round(side scale)). At scale
    1 (no side over WORK_SIZE) the copy is the image itself: Pillow's box filter at scale 1 gives
    each pixel the weight 1 and its neighbours 0, which copies the image exactly, so the resampling
    is skipped (an If)."""
    height, width = dims(image)
    longest = op.Cast(op.Max(height, width), to=DOUBLE.dtype)
    scale = op.Min(op.Constant(value=np.float64(1.0)), op.Div(op.Constant(value=np.float64(WORK_SIZE)), longest))
    if op.Less(scale, op.Constant(value=np.float64(1.0))):
        small = resize_box(image, height, width, scaled_side(height, scale), scaled_side(width, scale))
    else:
        small = op.Identity(image)
    return small, scale


@script()
def dark_ink_evidence(gray: FLOAT[None, None]) -> DOUBLE:
    """How much farther the image's detail reaches down than up (a double): the detail is the work
    copy minus its box_mean of radius max(1, round(POLARITY_RADIUS x its longest side)), and the
    evidence is -(its 0.5th percentile) / (its 99.5th, at least 1e-6), in double. Shading steps
    reach as far both ways, strokes far to the ink's side only. Over 1: dark ink."""
    small, _ = work_copy(gray)
    height, width = dims(small)
    longest = op.Cast(op.Max(height, width), to=DOUBLE.dtype)
    radius = op.Max(op.Constant(value_int=1), op.Cast(op.Round(longest * op.Constant(value=DETAIL_RADIUS)), to=INT64.dtype))
    detail = small - box_mean(small, radius)
    down, up = low_high_percentiles(detail, op.Constant(value=DETAIL_DOWN_Q), op.Constant(value=DETAIL_UP_Q))
    darkest = op.Cast(down, to=DOUBLE.dtype)
    brightest = op.Cast(up, to=DOUBLE.dtype)
    return -darkest / op.Max(brightest, op.Constant(value=np.float64(1e-6)))


@script()
def make_ink_bright(gray: FLOAT[None, None]) -> tuple[FLOAT[None, None], FLOAT, BOOL]:
    """The image with bright ink on black (1 - gray where the ink is dark). The border (common.py's
    border: the pixels within max(1, min(h, w) // BORDER_FRACTION) of each edge) is flat when half
    its pixels are within 1/255 of its median (is_flat). On paper with light and shade (a border
    that is not flat), the detail decides when it is clear: dark_ink_evidence over POLARITY_MARGIN,
    or under 1 / POLARITY_MARGIN. Otherwise the border's median, which is mostly background: if it
    is BORDER_MARGIN times nearer the light end of the image's range (its 1st to 99th percentile)
    than the dark end (differences in double), the ink is dark, so invert; nearer the dark end,
    keep; between, the detail's side (evidence over 1: invert). The detail is looked at only when
    one of these needs it (an If: it is the costly part).

    Also (the median of the bright image's border, whether that border is flat), which the paper's
    estimate reads next (background.py): the same border's pixels, so it is not taken again. Kept,
    they are the gray image's; inverted, each border pixel is 1 - its gray value, exactly as in the
    inverted image, and only the median and the flatness are taken again."""
    edge = border(gray)
    low, high = tail_percentiles_sampled(gray, op.Constant(value=RANGE_LOW_Q), op.Constant(value=RANGE_HIGH_Q))
    paper = median_in_band(edge)
    flat_border = is_flat(edge, paper)
    background = op.Cast(paper, to=DOUBLE.dtype)
    to_dark = background - op.Cast(low, to=DOUBLE.dtype)
    to_light = op.Cast(high, to=DOUBLE.dtype) - background
    margin = op.Constant(value=MARGIN_TO_BORDER)
    nearer_light = to_dark > margin * to_light
    nearer_dark = to_light > margin * to_dark
    if op.Not(flat_border & (nearer_light | nearer_dark)):
        evidence = dark_ink_evidence(gray)
        dark_by_evidence = evidence > op.Constant(value=np.float64(1.0))
        clear_margin = op.Constant(value=CLEAR_EVIDENCE)
        clear = (evidence > clear_margin) | (evidence * clear_margin < op.Constant(value=np.float64(1.0)))
        # Shaded paper with clear evidence: the evidence; else the border if it is clearly on one
        # side; else the evidence. (Where has no bool kernel in onnxruntime: the choice is written
        # with And/Or.)
        decided = op.Not(flat_border) & clear
        by_border = nearer_light | (op.Not(nearer_dark) & dark_by_evidence)
        invert = (decided & dark_by_evidence) | (op.Not(decided) & by_border)
    else:
        # Flat border, clearly on one side: nothing is decided by evidence, and the border says
        # invert where it is nearer the light end (the branch above, with no dark evidence).
        invert = op.Identity(nearer_light)
    if invert:  # an If, not Where: Where with a scalar condition is slow on images
        bright = op.Constant(value_float=1.0) - gray
        bright_edge = op.Constant(value_float=1.0) - edge
        bright_paper = median_in_band(bright_edge)
        bright_flat = is_flat(bright_edge, bright_paper)
    else:
        bright = op.Identity(gray)
        bright_paper = op.Identity(paper)
        bright_flat = op.Identity(flat_border)
    return bright, bright_paper, bright_flat
