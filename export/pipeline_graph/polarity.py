"""Step 4 of the preprocessing (runtime/cleaning.py, _make_ink_bright): bright ink on black."""

import numpy as np

from ...runtime.cleaning import BORDER_MARGIN, POLARITY_MARGIN, POLARITY_RADIUS, WORK_SIZE
from . import resample
from .builder import DOUBLE, FLOAT, INT64, Builder
from .ops import border, box_mean, dims, is_flat, percentiles


def work_copy(g: Builder, image: str) -> tuple[str, str]:
    """cleaning._work_copy: (the image area-averaged to at most WORK_SIZE px across, its scale (double))."""
    height, width = dims(g, image)
    longest = g.cast(g.op("Max", height, width), DOUBLE)
    scale = g.op("Min", g.scalar(1.0, np.float64), g.op("Div", g.scalar(float(WORK_SIZE), np.float64), longest))

    def scaled(side):
        return g.op("Max", g.scalar(1, np.int64), g.cast(g.op("Round", g.op("Mul", g.cast(side, DOUBLE), scale)), INT64))
    return resample.resize_banded(g, image, height, width, scaled(height), scaled(width), "box"), scale


def dark_ink_evidence(g: Builder, gray: str) -> str:
    """cleaning._dark_ink_evidence (double scalar): over 1 means dark ink."""
    small, _ = work_copy(g, gray)
    height, width = dims(g, small)
    longest = g.cast(g.op("Max", height, width), DOUBLE)
    radius = g.op("Max", g.scalar(1, np.int64), g.cast(g.op("Round", g.op("Mul", longest, g.scalar(POLARITY_RADIUS, np.float64))), INT64))
    detail = g.op("Sub", small, box_mean(g, small, radius))
    darkest, brightest = (g.cast(v, DOUBLE) for v in percentiles(g, detail, 0.5, 99.5))
    return g.op("Div", g.op("Neg", darkest), g.op("Max", brightest, g.scalar(1e-6, np.float64)))


def make_ink_bright(g: Builder, gray: str) -> str:
    edge = border(g, gray)
    low, high = (g.cast(v, DOUBLE) for v in percentiles(g, gray, 1, 99, sampled=True))
    (background,) = percentiles(g, edge, 50, band=True)
    flat_border = is_flat(g, edge, background)
    background = g.cast(background, DOUBLE)
    to_dark, to_light = g.op("Sub", background, low), g.op("Sub", high, background)
    nearer_light = g.op("Greater", to_dark, g.op("Mul", g.scalar(BORDER_MARGIN, np.float64), to_light))
    nearer_dark = g.op("Greater", to_light, g.op("Mul", g.scalar(BORDER_MARGIN, np.float64), to_dark))
    # The detail's evidence is looked at (as in cleaning.py) only on shaded paper or when the border is on neither side.
    needed = g.op("Or", g.op("Not", flat_border), g.op("Not", g.op("Or", nearer_light, nearer_dark)))
    look, skip = g.sub("evidence"), g.sub("no_evidence")
    (evidence,) = g.if_(needed, look, [dark_ink_evidence(look, gray)], skip, [skip.scalar(1.0, np.float64)], [DOUBLE])
    dark_by_evidence = g.op("Greater", evidence, g.scalar(1.0, np.float64))
    margin = g.scalar(POLARITY_MARGIN, np.float64)
    clear = g.op("Or", g.op("Greater", evidence, margin), g.op("Less", g.op("Mul", evidence, margin), g.scalar(1.0, np.float64)))
    # Shaded paper with clear evidence: the evidence; else the border if it is clearly on one side; else the evidence.
    # (Where has no bool kernel in onnxruntime: the choices are written with And/Or.)
    by_border = g.op("Or", nearer_light, g.op("And", g.op("Not", nearer_dark), dark_by_evidence))
    decided = g.op("And", g.op("Not", flat_border), clear)
    invert = g.op("Or", g.op("And", decided, dark_by_evidence), g.op("And", g.op("Not", decided), by_border))
    inverted, kept = g.sub("invert"), g.sub("keep_polarity")  # an If: Where with a scalar condition is slow on images
    return g.if_(invert, inverted, [inverted.op("Sub", inverted.scalar(1.0), gray)], kept, [gray], [FLOAT])[0]
