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


def above(g: Builder, ink: str, paper: str) -> str:
    """ink - min(paper, ink), as Relu(ink - paper): the same floats (ink - paper is negative exactly
    where paper > ink), one pass over the image fewer."""
    return g.op("Relu", g.op("Sub", ink, paper))


def _flat(g: Builder, ink: str, level: str) -> tuple[str, str]:
    """Digital paper: one level, capped by the image's 10th percentile."""
    (tenth,) = percentiles(g, ink, 10)
    level = g.op("Min", level, tenth)
    middle = g.cast(g.op("Div", g.op("Add", g.cast(level, DOUBLE), g.cast(maximum(g, ink), DOUBLE)), g.scalar(2.0, np.float64)), FLOAT)
    return above(g, ink, level), stroke_width(g, g.op("Greater", ink, middle))


def odd(g: Builder, value: str) -> str:
    """int(value) | 1 for a non-negative double."""
    whole = g.cast(g.op("Floor", value), INT64)
    return g.op("Add", whole, g.op("Sub", g.scalar(1, np.int64), g.op("Mod", whole, g.scalar(2, np.int64))))


def _opened(g: Builder, ink: str) -> tuple[str, str, str]:
    """Shaded paper: a morphological opening of a small copy, scaled back up (or one level for a
    tight crop, where the window would cover most of the image); the ink above it."""
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
    # No residual at all: the opened copy is the paper (scaled: its minimum), strokes 0 wide.
    unscaled = g.op("Equal", scale, g.scalar(1.0, np.float64))
    width_px = g.op("Where", no_residual, g.scalar(0.0, np.float64), g.op("Div", width_px, scale))
    smallest = g.op("ReduceMin", small, keepdims=0)
    minimum, opened = g.sub("minimum_level"), g.sub("opened_paper")
    # A window over FLAT_FRACTION of the image: the paper is the median of the pixels that are not strokes.
    too_wide = g.op("Greater", g.cast(needed, DOUBLE), g.op("Mul", g.scalar(FLAT_FRACTION, np.float64), longest))
    one_level, follows = opened.sub("one_level"), opened.sub("follows_shading")
    o = one_level
    not_strokes = o.op("Compress", o.op("Reshape", small, o.ints(-1)), o.op("Reshape", o.op("Not", strokes), o.ints(-1)), axis=0)
    all_strokes = o.op("Equal", o.op("Size", not_strokes), o.scalar(0, np.int64))
    safe_values = o.op("Where", all_strokes, o.op("Reshape", smallest, o.ints(1)), not_strokes)
    (median,) = percentiles(o, safe_values, 50)
    level = o.op("Where", all_strokes, smallest, median)
    (ink_above,) = opened.if_(too_wide, one_level, [above(o, ink, level)],
                              follows, [above(follows, ink, resample.enlarge_bilinear(follows, paper, height, width))], [FLOAT])
    shaded = g.op("Not", g.op("Or", no_residual, too_wide))  # the paper follows shading
    (ink_above,) = g.if_(g.op("And", no_residual, g.op("Not", unscaled)), minimum, [minimum.op("Sub", ink, smallest)],
                         opened, [ink_above], [FLOAT])
    return ink_above, width_px, shaded


def background(g: Builder, ink: str) -> tuple[str, str, str]:
    """cleaning._background, and the paper subtracted as _suppress_background does: (the ink above
    the paper's brightness [h, w], the strokes' width in px (double),
    shaded: bool scalar, True where the paper follows shading, False where it is one level)."""
    edge = border(g, ink)
    (level,) = percentiles(g, edge, 50, band=True)
    flat = is_flat(g, edge, level)
    then_b, else_b = g.sub("flat_paper"), g.sub("shaded_paper")
    then_out = [*_flat(then_b, ink, level), then_b.const(False, np.bool_)]
    else_out = _opened(else_b, ink)
    return g.if_(flat, then_b, then_out, else_b, list(else_out), [FLOAT, DOUBLE, BOOL])
