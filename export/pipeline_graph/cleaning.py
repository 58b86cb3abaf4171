"""Step 5 of the preprocessing (runtime/cleaning.py, _suppress_background and _noise): subtract the
paper, smooth strong noise, scale the ink to 1, keep the strokes and the faint ink connected to
them. Gives the cleaned ink and whether any ink stood out at all."""

import math

import numpy as np

from ...runtime.cleaning import (EDGE_PX, FAINT_INK, INK_THRESHOLD, MIN_CONTRAST, NOISE_CONTRAST, NOISE_FAINT,
                                 NOISE_TARGET, WORK_SIZE)
from .background import background
from .builder import BOOL, DOUBLE, FLOAT, INT64, Builder
from .lines import printed_lines
from .morphology import otsu_threshold, reconstruct
from .ops import box_mean, count, dims, dilate_mask, maximum, percentiles, size

NOISE_STEP_FROM = 40_000  # cleaning._noise looks at every 4th row and column of larger images
MEDIAN_TO_SIGMA = 1.4826 / math.sqrt(2)


def _strided(g: Builder, x: str, step: str, axis: int) -> str:
    return g.op("Slice", x, g.ints(0), g.ints(2**62), g.ints(axis), g.op("Reshape", step, g.ints(1)))


def _neighbour_spread(g: Builder, values: str, paper: str) -> str:
    """The median |difference| of horizontal neighbours that are both paper; +inf if there are none."""
    big = g.ints(2**62)
    right, left = (g.op("Slice", values, g.ints(s), g.ints(e), g.ints(1)) for s, e in ((1, 2**62), (0, -1)))
    both = g.op("And", g.op("Slice", paper, g.ints(1), big, g.ints(1)), g.op("Slice", paper, g.ints(0), g.ints(-1), g.ints(1)))
    none = g.op("Equal", count(g, both), g.scalar(0, np.int64))
    nothing, spread = g.sub("no_pairs"), g.sub("pairs")
    diffs = spread.op("Compress", spread.op("Reshape", spread.op("Abs", spread.op("Sub", right, left)), spread.ints(-1)),
                      spread.op("Reshape", both, spread.ints(-1)), axis=0)
    (median,) = percentiles(spread, diffs, 50)
    return g.if_(none, nothing, [nothing.scalar(np.inf, np.float64)], spread, [spread.cast(median, DOUBLE)], [DOUBLE])[0]


def noise(g: Builder, ink: str) -> str:
    """cleaning._noise (double scalar): the paper's pixel noise."""
    height, width = dims(g, ink)
    step = g.op("Where", g.op("Greater", size(g, ink), g.scalar(NOISE_STEP_FROM, np.int64)), g.scalar(4, np.int64), g.scalar(1, np.int64))
    top = maximum(g, ink)
    rows = _strided(g, ink, step, 0)
    equal_neighbours = g.op("Less", g.op("Mul", count(g, g.op("Not", g.op("Equal",
        g.op("Slice", rows, g.ints(1), g.ints(2**62), g.ints(1)), g.op("Slice", rows, g.ints(0), g.ints(-1), g.ints(1))))),
        g.scalar(2, np.int64)), size(g, rows))
    quiet = g.op("Or", g.op("Or", g.op("LessOrEqual", top, g.scalar(0.0)),
                            g.op("Less", g.op("Min", height, width), g.op("Mul", step, g.scalar(2, np.int64)))), equal_neighbours)
    safe_top = g.op("Where", g.op("LessOrEqual", top, g.scalar(0.0)), g.scalar(1.0), top)
    level = g.op("Mul", otsu_threshold(g, g.op("Div", _strided(g, rows, step, 1), safe_top)), safe_top)
    paper = g.op("LessOrEqual", ink, level)
    cols = g.op("Transpose", _strided(g, ink, step, 1), perm=[1, 0])
    cols_paper = g.op("Transpose", _strided(g, paper, step, 1), perm=[1, 0])
    spread = g.op("Min", _neighbour_spread(g, rows, _strided(g, paper, step, 0)), _neighbour_spread(g, cols, cols_paper))
    spread = g.op("Where", g.op("IsInf", spread), g.scalar(0.0, np.float64), spread)
    return g.op("Where", quiet, g.scalar(0.0, np.float64), g.op("Mul", spread, g.scalar(MEDIAN_TO_SIGMA, np.float64)))


def contrast(g: Builder, ink: str) -> str:
    """The 99.9th percentile (the maximum for images of 1,000 pixels or fewer), double."""
    (high,) = percentiles(g, ink, 99.9)
    return g.cast(g.op("Where", g.op("Greater", size(g, ink), g.scalar(1000, np.int64)), high, maximum(g, ink)), DOUBLE)


def _smoothed(g: Builder, ink: str, sigma: str, level: str, stroke_width: str):
    """Noise too strong for per-pixel decisions is averaged out by a box mean: (ink, sigma, contrast)."""
    then_b, else_b = g.sub("smooth"), g.sub("keep")
    t = then_b
    wanted = t.op("Ceil", t.op("Div", t.op("Sub", t.op("Div", sigma, t.op("Mul", level, t.scalar(NOISE_TARGET, np.float64))),
                                            t.scalar(1.0, np.float64)), t.scalar(2.0, np.float64)))
    cap = t.op("Max", t.scalar(1.0, np.float64), t.op("Floor", t.op("Div", stroke_width, t.scalar(3.0, np.float64))))
    radius = t.cast(t.op("Min", wanted, cap), INT64)
    smooth = box_mean(t, ink, radius)
    then_out = [smooth, t.op("Div", sigma, t.cast(t.op("Add", t.op("Mul", radius, t.scalar(2, np.int64)), t.scalar(1, np.int64)), DOUBLE)),
                contrast(t, smooth)]
    target = g.op("Mul", level, g.scalar(NOISE_TARGET, np.float64))
    noisy = g.op("And", g.op("Greater", sigma, target), g.op("Greater", target, g.scalar(0.0, np.float64)))
    return g.if_(noisy, then_b, then_out, else_b, [ink, sigma, level], [FLOAT, DOUBLE, DOUBLE])


def _connected(g: Builder, strong: str, faint: str) -> str:
    """cleaning._connected: faint pixels connected to strong ones; on images over 2 WORK_SIZE px,
    followed on blocks of pixels."""
    height, width = dims(g, faint)
    longest = g.cast(g.op("Max", height, width), DOUBLE)
    factor = g.cast(g.op("Ceil", g.op("Div", longest, g.scalar(2.0 * WORK_SIZE, np.float64))), INT64)
    pad_h = g.op("Mod", g.op("Sub", factor, g.op("Mod", height, factor)), factor)
    pad_w = g.op("Mod", g.op("Sub", factor, g.op("Mod", width, factor)), factor)
    pads = g.op("Concat", g.ints(0, 0), g.op("Reshape", pad_h, g.ints(1)), g.op("Reshape", pad_w, g.ints(1)), axis=0)
    blocks_h = g.op("Div", g.op("Add", height, pad_h), factor)
    blocks_w = g.op("Div", g.op("Add", width, pad_w), factor)
    shape4 = g.op("Concat", *(g.op("Reshape", v, g.ints(1)) for v in (blocks_h, factor, blocks_w, factor)), axis=0)

    def pooled(mask):
        padded = g.op("Pad", g.cast(mask, FLOAT), pads)
        return g.cast(g.op("ReduceMax", g.op("Reshape", padded, shape4), g.ints(1, 3), keepdims=0), BOOL)
    kept = reconstruct(g, pooled(strong), pooled(faint))
    block = lambda side: g.op("Div", g.op("Range", g.scalar(0, np.int64), side, g.scalar(1, np.int64)), factor)  # noqa: E731
    back = g.op("Gather", g.op("Gather", kept, block(height), axis=0), block(width), axis=1)  # each block's pixels
    return g.op("And", back, faint)


def suppress_background(g: Builder, ink: str) -> tuple[str, str]:
    """(the cleaned ink [h, w] float32, no_digit: bool scalar, True when no ink stands out)."""
    paper, stroke_width = background(g, ink)
    ink = g.op("Sub", ink, paper)
    sigma = noise(g, ink)
    ink, sigma, level = _smoothed(g, ink, sigma, contrast(g, ink), stroke_width)
    needed = g.op("Max", g.scalar(MIN_CONTRAST, np.float64), g.op("Mul", g.scalar(float(NOISE_CONTRAST), np.float64), sigma))
    no_digit = g.op("Less", level, needed)
    safe_level = g.op("Where", g.op("Greater", level, g.scalar(0.0, np.float64)), level, g.scalar(1.0, np.float64))
    ink = g.op("Clip", g.op("Div", ink, g.cast(safe_level, FLOAT)), g.scalar(0.0), g.scalar(1.0))
    strong = g.op("GreaterOrEqual", ink, g.scalar(INK_THRESHOLD))
    faint_level = g.op("Max", g.scalar(FAINT_INK, np.float64), g.op("Div", g.op("Mul", g.scalar(float(NOISE_FAINT), np.float64), sigma), safe_level))
    faint = g.op("GreaterOrEqual", ink, g.cast(faint_level, FLOAT))
    not_lines = g.op("Not", printed_lines(g, ink, strong, stroke_width))
    strong = g.op("And", strong, not_lines)
    side = 2 * EDGE_PX + 1
    near_strokes = dilate_mask(g, strong, side)
    loose = g.op("Greater", count(g, g.op("And", faint, g.op("Not", near_strokes))), g.scalar(0, np.int64))
    then_b, else_b = g.sub("connect"), g.sub("near")
    connected = dilate_mask(then_b, _connected(then_b, strong, then_b.op("And", faint, not_lines)), side)
    (near_strokes,) = g.if_(loose, then_b, [connected], else_b, [near_strokes], [BOOL])
    return g.op("Where", near_strokes, ink, g.scalar(0.0)), no_digit
