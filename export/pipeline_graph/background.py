"""Step 5's paper estimate (runtime/cleaning.py, _flat_paper, _background, _stroke_width): the
paper's own brightness and the strokes' width."""

import numpy as np

from ...runtime.cleaning import FLAT_FRACTION, OPENING_FRACTION, OPENING_STROKES
from . import resample
from .builder import BOOL, DOUBLE, FLOAT, INT64, Builder
from .morphology import opening, otsu_threshold
from .ops import border, count, dims, is_flat, maximum, percentiles
from .polarity import work_copy


def stroke_width(g: Builder, strokes: str) -> str:
    """cleaning._stroke_width (double scalar): twice the area over the length of the boundary."""
    big = g.ints(2**62)

    def changes(axis):
        a = g.op("Slice", strokes, g.ints(1), big, g.ints(axis))
        b = g.op("Slice", strokes, g.ints(0), g.ints(-1), g.ints(axis))
        return count(g, g.op("Xor", a, b))

    def edge(start, end, axis):
        return count(g, g.op("Slice", strokes, g.ints(start), g.ints(end), g.ints(axis)))

    edges = changes(1)
    for part in (changes(0), edge(0, 1, 0), edge(-1, 2**62, 0), edge(0, 1, 1), edge(-1, 2**62, 1)):
        edges = g.op("Add", edges, part)
    area = g.cast(count(g, strokes), DOUBLE)
    return g.op("Div", g.op("Mul", area, g.scalar(2.0, np.float64)), g.cast(g.op("Max", edges, g.scalar(1, np.int64)), DOUBLE))


def _flat(g: Builder, ink: str, level: str) -> tuple[str, str]:
    """Digital paper: one level, capped by the image's 10th percentile."""
    (tenth,) = percentiles(g, ink, 10)
    level = g.op("Min", level, tenth)
    middle = g.cast(g.op("Div", g.op("Add", g.cast(level, DOUBLE), g.cast(maximum(g, ink), DOUBLE)), g.scalar(2.0, np.float64)), FLOAT)
    return g.op("Min", ink, level), stroke_width(g, g.op("Greater", ink, middle))


def odd(g: Builder, value: str) -> str:
    """int(value) | 1 for a non-negative double."""
    whole = g.cast(g.op("Floor", value), INT64)
    return g.op("Add", whole, g.op("Sub", g.scalar(1, np.int64), g.op("Mod", whole, g.scalar(2, np.int64))))


def _opened(g: Builder, ink: str) -> tuple[str, str, str]:
    """Shaded paper: a morphological opening of a small copy, scaled back up (or one level for a
    tight crop, where the window would cover most of the image)."""
    height, width = dims(g, ink)
    small, scale = work_copy(g, ink)
    small_h, small_w = dims(g, small)
    longest = g.cast(g.op("Max", small_h, small_w), DOUBLE)
    kernel = g.op("Max", g.scalar(3, np.int64), odd(g, g.op("Mul", g.scalar(OPENING_FRACTION, np.float64), longest)))
    first = opening(g, small, kernel)
    residual = g.op("Sub", small, first)
    top = maximum(g, residual)
    no_residual = g.op("LessOrEqual", top, g.scalar(0.0))
    safe_top = g.op("Where", no_residual, g.scalar(1.0), top)
    strokes = g.op("Greater", residual, g.op("Mul", otsu_threshold(g, g.op("Div", residual, safe_top)), safe_top))
    width_px = stroke_width(g, strokes)
    needed = odd(g, g.op("Mul", g.scalar(float(OPENING_STROKES), np.float64), width_px))
    wider, same = g.sub("wider_opening"), g.sub("same_opening")  # a second opening only if the strokes need a wider one
    (paper,) = g.if_(g.op("Greater", needed, kernel), wider, [opening(wider, small, needed)], same, [first], [FLOAT])
    # A window over FLAT_FRACTION of the image: the paper is the median of the pixels that are not strokes.
    too_wide = g.op("Greater", g.cast(needed, DOUBLE), g.op("Mul", g.scalar(FLAT_FRACTION, np.float64), longest))
    smallest = g.op("ReduceMin", small, keepdims=0)
    one_level, follows = g.sub("one_level"), g.sub("follows_shading")
    o = one_level
    not_strokes = o.op("Compress", o.op("Reshape", small, o.ints(-1)), o.op("Reshape", o.op("Not", strokes), o.ints(-1)), axis=0)
    all_strokes = o.op("Equal", o.op("Size", not_strokes), o.scalar(0, np.int64))
    safe_values = o.op("Where", all_strokes, o.op("Reshape", smallest, o.ints(1)), not_strokes)
    (median,) = percentiles(o, safe_values, 50)
    level = o.op("Where", all_strokes, smallest, median)
    (paper,) = g.if_(too_wide, one_level, [o.op("Min", ink, level)],
                     follows, [follows.op("Min", resample.enlarge_bilinear(follows, paper, height, width), ink)], [FLOAT])
    # No residual at all: the opened copy is the paper (scaled: its minimum), strokes 0 wide.
    unscaled = g.op("Equal", scale, g.scalar(1.0, np.float64))
    width_px = g.op("Where", no_residual, g.scalar(0.0, np.float64), g.op("Div", width_px, scale))
    shaded = g.op("Not", g.op("Or", no_residual, too_wide))  # the paper follows the shading
    flat, opened = g.sub("minimum_level"), g.sub("opened_paper")
    (paper,) = g.if_(g.op("And", no_residual, g.op("Not", unscaled)), flat, [flat.op("Expand", smallest, flat.op("Shape", ink))],
                     opened, [paper], [FLOAT])
    return paper, width_px, shaded


def background(g: Builder, ink: str) -> tuple[str, str, str]:
    """cleaning._background: (the paper's brightness [h, w], the strokes' width in px (double),
    shaded: bool scalar, True where the paper follows shading, False where it is one level)."""
    edge = border(g, ink)
    (level,) = percentiles(g, edge, 50, band=True)
    flat = is_flat(g, edge, level)
    then_b, else_b = g.sub("flat_paper"), g.sub("shaded_paper")
    then_out = [*_flat(then_b, ink, level), then_b.const(False, np.bool_)]
    else_out = _opened(else_b, ink)
    return g.if_(flat, then_b, then_out, else_b, list(else_out), [FLOAT, DOUBLE, BOOL])
