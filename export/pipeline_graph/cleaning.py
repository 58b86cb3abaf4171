"""Step 5 of the preprocessing (runtime/cleaning.py, _suppress_background and _noise): subtract the
paper, smooth strong noise, scale the ink to 1, keep the strokes and the faint ink connected to
them. Gives the cleaned ink and whether any ink stood out at all."""


import numpy as np

from ...runtime.cleaning import (CONTRAST_PERCENTILE, EDGE_PX, FAINT_INK, INK_THRESHOLD, MEDIAN_TO_SIGMA, MIN_CONTRAST,
                                 NOISE_CONTRAST, NOISE_FAINT, NOISE_STEP, NOISE_STEP_FROM, NOISE_TARGET, SMALL_IMAGE,
                                 WIDE_FAINT, WORK_SIZE)
from ...runtime.printed_lines import CROSSING_MIN_PX, CROSSING_REACH
from .background import background, odd
from .builder import BOOL, DOUBLE, FLOAT, INT64, Builder
from .lines import crossings, printed_lines
from .morphology import opening, otsu_threshold, reconstruct
from .ops import block_sums, box_mean, count, dilate_mask, dims, maximum, percentiles, size



def _strided(g: Builder, x: str, step: str, axis: int) -> str:
    return g.op("Slice", x, g.ints(0), g.ints(2**62), g.ints(axis), g.op("Reshape", step, g.ints(1)))


LEFT_OUT = 4.0  # added to the |differences| left out of a median: above any of the ink's, which is in [-1, 1]


def _neighbour_spread(g: Builder, values: str, paper: str) -> str:
    """The median |difference| of horizontal neighbours that are both paper; +inf if there are none.
    The others stay in, raised by LEFT_OUT above all of these (cheaper than Compress)."""
    big = g.ints(2**62)
    right, left = (g.op("Slice", values, g.ints(s), g.ints(e), g.ints(1)) for s, e in ((1, 2**62), (0, -1)))
    both = g.op("And", g.op("Slice", paper, g.ints(1), big, g.ints(1)), g.op("Slice", paper, g.ints(0), g.ints(-1), g.ints(1)))
    pairs = count(g, both)
    none = g.op("Equal", pairs, g.scalar(0, np.int64))
    nothing, spread = g.sub("no_pairs"), g.sub("pairs")
    left_out = spread.op("Mul", spread.cast(spread.op("Not", both), FLOAT), spread.scalar(LEFT_OUT))
    diffs = spread.op("Add", spread.op("Abs", spread.op("Sub", right, left)), left_out)
    (median,) = percentiles(spread, diffs, 50, band=True, among=pairs)
    return g.if_(none, nothing, [nothing.scalar(np.inf, np.float64)], spread, [spread.cast(median, DOUBLE)], [DOUBLE])[0]


def noise(g: Builder, ink: str) -> str:
    """cleaning._noise (double scalar): the paper's pixel noise."""
    height, width = dims(g, ink)
    step = g.op("Where", g.op("Greater", size(g, ink), g.scalar(NOISE_STEP_FROM, np.int64)), g.scalar(NOISE_STEP, np.int64), g.scalar(1, np.int64))
    top = maximum(g, ink)
    rows = _strided(g, ink, step, 0)
    equal_neighbours = g.op("Less", g.op("Mul", count(g, g.op("Not", g.op("Equal",
        g.op("Slice", rows, g.ints(1), g.ints(2**62), g.ints(1)), g.op("Slice", rows, g.ints(0), g.ints(-1), g.ints(1))))),
        g.scalar(2, np.int64)), size(g, rows))
    quiet = g.op("Or", g.op("Or", g.op("LessOrEqual", top, g.scalar(0.0)),
                            g.op("Less", g.op("Min", height, width), g.op("Mul", step, g.scalar(2, np.int64)))), equal_neighbours)
    none_b, measure = g.sub("no_noise"), g.sub("measure_noise")  # as cleaning.py: measured only when not quiet
    m = measure
    level = m.op("Mul", otsu_threshold(m, m.op("Div", _strided(m, rows, step, 1), top)), top)  # top > 0: not quiet
    cols = m.op("Transpose", _strided(m, ink, step, 1), perm=[1, 0])
    # Paper: at or below Otsu's level (compared on the rows and columns measured only).
    spread = m.op("Min", *(_neighbour_spread(m, v, m.op("LessOrEqual", v, level)) for v in (rows, cols)))
    spread = m.op("Where", m.op("IsInf", spread), m.scalar(0.0, np.float64), spread)
    sigma = m.op("Mul", spread, m.scalar(MEDIAN_TO_SIGMA, np.float64))
    return g.if_(quiet, none_b, [none_b.scalar(0.0, np.float64)], measure, [sigma], [DOUBLE])[0]


def contrast(g: Builder, ink: str) -> str:
    """cleaning._contrast: CONTRAST_PERCENTILE (the maximum on images of SMALL_IMAGE pixels or fewer), double."""
    (high,) = percentiles(g, ink, CONTRAST_PERCENTILE, sampled=True)
    return g.cast(g.op("Where", g.op("Greater", size(g, ink), g.scalar(SMALL_IMAGE, np.int64)), high, maximum(g, ink)), DOUBLE)


def _safe(g: Builder, level: str) -> str:
    return g.op("Where", g.op("Greater", level, g.scalar(0.0, np.float64)), level, g.scalar(1.0, np.float64))


def _scaled(g: Builder, ink: str, level: str) -> str:
    """The ink over its level (1 where it is not positive), clipped to [0, 1]."""
    return g.op("Clip", g.op("Div", ink, g.cast(_safe(g, level), FLOAT)), g.scalar(0.0), g.scalar(1.0))


def _smoothed(g: Builder, ink: str, sigma: str, level: str, stroke_width: str):
    """Noise too strong for per-pixel decisions is averaged out by a box mean: (ink scaled to its
    level (in each branch: no copy of the image on the way out), sigma, level)."""
    then_b, else_b = g.sub("smooth"), g.sub("keep")
    t = then_b
    wanted = t.op("Ceil", t.op("Div", t.op("Sub", t.op("Div", sigma, t.op("Mul", level, t.scalar(NOISE_TARGET, np.float64))),
                                            t.scalar(1.0, np.float64)), t.scalar(2.0, np.float64)))
    cap = t.op("Max", t.scalar(1.0, np.float64), t.op("Floor", t.op("Div", stroke_width, t.scalar(3.0, np.float64))))
    radius = t.cast(t.op("Min", wanted, cap), INT64)
    smooth = box_mean(t, ink, radius)
    smooth_level = contrast(t, smooth)
    then_out = [_scaled(t, smooth, smooth_level),
                t.op("Div", sigma, t.cast(t.op("Add", t.op("Mul", radius, t.scalar(2, np.int64)), t.scalar(1, np.int64)), DOUBLE)),
                smooth_level]
    target = g.op("Mul", level, g.scalar(NOISE_TARGET, np.float64))
    noisy = g.op("And", g.op("Greater", sigma, target), g.op("Greater", target, g.scalar(0.0, np.float64)))
    return g.if_(noisy, then_b, then_out, else_b, [_scaled(else_b, ink, level), sigma, level], [FLOAT, DOUBLE, DOUBLE])


def _unblocked(g: Builder, blocks: str, factor: str, like: str) -> str:
    """Each block's value on its pixels, in the frame of `like` [h, w]: each block column repeated
    factor times (on the transposed blocks), then each row factor times. Expand copies whole rows
    at a time so (far faster than Gather, or Expand with factor-long runs); the padding is sliced off."""
    one = lambda v: g.op("Reshape", v, g.ints(1))  # noqa: E731
    blocks_h, blocks_w = dims(g, blocks)
    f, wide = one(factor), one(g.op("Mul", blocks_w, factor))
    columns = g.op("Expand", g.op("Unsqueeze", g.op("Transpose", blocks, perm=[1, 0]), g.ints(1)),
                   g.op("Concat", one(blocks_w), f, one(blocks_h), axis=0))
    rows = g.op("Transpose", g.op("Reshape", columns, g.op("Concat", wide, one(blocks_h), axis=0)), perm=[1, 0])
    pixels = g.op("Reshape", g.op("Expand", g.op("Unsqueeze", rows, g.ints(1)), g.op("Concat", one(blocks_h), f, wide, axis=0)),
                  g.op("Concat", one(g.op("Mul", blocks_h, factor)), wide, axis=0))
    return g.op("Slice", pixels, g.ints(0, 0), g.op("Shape", like), g.ints(0, 1))


def _connected(g: Builder, strong: str, faint: str) -> str:
    """cleaning._connected: faint pixels connected to strong ones; on images over 2 WORK_SIZE px,
    followed on blocks of factor x factor pixels (a block is faint if `factor` of its pixels are)."""
    height, width = dims(g, faint)
    longest = g.cast(g.op("Max", height, width), DOUBLE)
    factor = g.cast(g.op("Ceil", g.op("Div", longest, g.scalar(2.0 * WORK_SIZE, np.float64))), INT64)
    seeds = g.op("GreaterOrEqual", block_sums(g, strong, factor, mask=True), g.scalar(1.0))
    allowed = g.op("GreaterOrEqual", block_sums(g, faint, factor, mask=True), g.cast(factor, FLOAT))  # a line's worth
    return g.op("And", _unblocked(g, reconstruct(g, seeds, allowed), factor, faint), faint)


def _wide_faint(g: Builder, faint: str, stroke_width: str) -> str:
    """cleaning._wide_faint: faint areas wider than WIDE_FAINT stroke widths (shading, not ink), found
    on blocks a quarter of a stroke wide, a block being faint where half its pixels are."""
    factor = g.op("Max", g.scalar(1, np.int64), g.cast(g.op("Floor", g.op("Div", stroke_width, g.scalar(4.0, np.float64))), INT64))
    area = g.cast(g.op("Mul", factor, factor), FLOAT)
    blocks = g.cast(g.op("GreaterOrEqual", g.op("Mul", block_sums(g, faint, factor, mask=True), g.scalar(2.0)), area), FLOAT)
    size = odd(g, g.op("Div", g.op("Mul", g.scalar(float(WIDE_FAINT), np.float64), stroke_width), g.cast(factor, DOUBLE)))
    return _unblocked(g, g.cast(opening(g, blocks, size), BOOL), factor, faint)


def suppress_background(g: Builder, ink: str) -> tuple[str, str]:
    """(the cleaned ink [h, w] float32, no_digit: bool scalar, True when no ink stands out)."""
    ink, stroke_width, shaded = background(g, ink)
    sigma = noise(g, ink)
    ink, sigma, level = _smoothed(g, ink, sigma, contrast(g, ink), stroke_width)
    needed = g.op("Max", g.scalar(MIN_CONTRAST, np.float64), g.op("Mul", g.scalar(float(NOISE_CONTRAST), np.float64), sigma))
    no_digit = g.op("Less", level, needed)
    safe_level = _safe(g, level)
    strong = g.op("GreaterOrEqual", ink, g.scalar(INK_THRESHOLD))
    faint_level = g.op("Max", g.scalar(FAINT_INK, np.float64), g.op("Div", g.op("Mul", g.scalar(float(NOISE_FAINT), np.float64), sigma), safe_level))
    faint = g.op("GreaterOrEqual", ink, g.cast(faint_level, FLOAT))
    lines = printed_lines(g, ink, strong, stroke_width, faint_level)
    found, none_b = g.sub("crossed_lines"), g.sub("no_lines")  # strokes crossing lines, only when there are lines
    reach = found.op("Max", found.scalar(CROSSING_MIN_PX, np.int64),
                     found.cast(found.op("Round", found.op("Mul", stroke_width, found.scalar(CROSSING_REACH, np.float64))), INT64))
    crossed = found.op("And", lines, found.op("Not", crossings(found, found.op("And", strong, found.op("Not", lines)), reach)))
    any_lines = g.op("Greater", count(g, lines), g.scalar(0, np.int64))
    (lines,) = g.if_(any_lines, found, [crossed], none_b, [lines], [BOOL])
    not_lines = g.op("Not", lines)
    strong = g.op("And", strong, not_lines)
    side = 2 * EDGE_PX + 1
    near_strokes = dilate_mask(g, strong, side)
    loose = g.op("Greater", count(g, g.op("And", faint, g.op("Not", near_strokes))), g.scalar(0, np.int64))
    then_b, else_b = g.sub("connect"), g.sub("near")
    t = then_b
    faint = t.op("And", faint, not_lines)
    wide, plain = t.sub("wide_faint"), t.sub("flat_paper")  # where the paper follows shading, what it missed is wide and faint
    not_wide = wide.op("And", faint, wide.op("Not", _wide_faint(wide, wide.op("And", faint, wide.op("Not", strong)), stroke_width)))
    (faint,) = t.if_(shaded, wide, [not_wide], plain, [faint], [BOOL])
    connected = dilate_mask(t, _connected(t, strong, faint), side)
    (near_strokes,) = g.if_(loose, then_b, [connected], else_b, [near_strokes], [BOOL])
    return g.op("Mul", ink, g.cast(near_strokes, FLOAT)), no_digit  # (ink is in [0, 1]: as Where, and faster)
