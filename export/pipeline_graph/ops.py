"""The numpy building blocks of runtime/cleaning.py and runtime/morphology.py as ONNX: percentiles
("nearest", as morphology.percentiles), the border, square filters, box means, counts."""

import numpy as np

from ...runtime.cleaning import BORDER_FRACTION
from .builder import DOUBLE, FLOAT, INT64, Builder


def dims(g: Builder, image: str) -> tuple[str, str]:
    """(height, width) of a 2-D tensor as int64 scalars."""
    shape = g.op("Shape", image)
    return (g.op("Squeeze", g.op("Slice", shape, g.ints(0), g.ints(1)), g.ints(0)),
            g.op("Squeeze", g.op("Slice", shape, g.ints(1), g.ints(2)), g.ints(0)))


def flat(g: Builder, x: str) -> str:
    return g.op("Reshape", x, g.ints(-1))


def count(g: Builder, mask: str) -> str:
    """The number of True values (int64 scalar; summed in float32, exact below 2^24 pixels, faster)."""
    return g.cast(g.op("ReduceSum", g.cast(mask, FLOAT), keepdims=0), INT64)


def size(g: Builder, x: str) -> str:
    return g.op("Size", x)


SAMPLE_STEP = 32  # percentiles of large arrays: a first guess from every 32nd value ...
SAMPLE_MARGIN = 2.0  # ... at twice the rank, so that the guess bounds the answer nearly always
SAMPLE_SPREAD = 4.0  # medians: a band of this many standard deviations of the sampled rank either side


def _top(g: Builder, values: str, k: str, largest: int) -> str:
    """The k smallest (largest = 0) or k largest (1) of the 1-D values, in no order (k: int64 scalar, 1 <= k <= n)."""
    top, _ = g.op("TopK", values, g.op("Reshape", k, g.ints(1)), outputs=2, largest=largest, sorted=0)
    return top


def _kth(g: Builder, values: str, k: str, largest: int) -> str:
    """The k-th smallest (largest = 0) or k-th largest (1) of the 1-D values (k: int64 scalar, 1 <= k <= n)."""
    return g.op("ReduceMin" if largest else "ReduceMax", _top(g, values, k, largest), keepdims=0)


def _tails_by_sample(g: Builder, values: str, wanted: list[tuple[str, int]]) -> list[str]:
    """_kth for each (k, largest) in wanted, faster on large arrays when each k is small: every
    SAMPLE_STEP-th value gives a bound that SAMPLE_MARGIN k values pass; one Compress keeps the
    values that pass any bound, and each k-th is taken among those of its own bound. If fewer than k
    pass a bound (an unlucky sample), from all the values: the answer is exact either way."""
    sample = g.op("Slice", values, g.ints(0), g.ints(2**62), g.ints(0), g.ints(SAMPLE_STEP))
    compare = {0: "LessOrEqual", 1: "GreaterOrEqual"}
    bounds, passing, enough = [], None, None
    for k, largest in wanted:
        sample_k = g.op("Min", g.op("Size", sample), g.op("Add", g.cast(g.op("Ceil", g.op("Div", g.op("Mul", g.cast(k, DOUBLE),
                        g.scalar(SAMPLE_MARGIN, np.float64)), g.scalar(float(SAMPLE_STEP), np.float64))), INT64), g.scalar(1, np.int64)))
        bound = _kth(g, sample, sample_k, largest)
        passes = g.op(compare[largest], values, bound)
        holds = g.op("GreaterOrEqual", count(g, passes), k)
        bounds.append(bound)
        passing = passes if passing is None else g.op("Or", passing, passes)
        enough = holds if enough is None else g.op("And", enough, holds)
    few, every = g.sub("sampled"), g.sub("every_value")
    kept = few.op("Compress", values, passing, axis=0)
    if len(wanted) > 1:  # each bound's own values, from the few kept (a superset would do, but a smaller TopK is faster)
        picks = [few.op("Compress", kept, few.op(compare[largest], kept, bound), axis=0) for (_, largest), bound in zip(wanted, bounds)]
    else:
        picks = [kept]
    return list(g.if_(enough, few, [_kth(few, pick, k, largest) for pick, (k, largest) in zip(picks, wanted)],
                      every, [_kth(every, values, k, largest) for k, largest in wanted], [FLOAT] * len(wanted)))


def _kth_in_band(g: Builder, values: str, k: str, largest: int = 0) -> str:
    """The k-th smallest, faster on large arrays for ranks in the middle (a median): every
    SAMPLE_STEP-th value gives a band of values around the rank (SAMPLE_SPREAD standard deviations of
    a sampled rank either side); when the k-th value is in the band (nearly always), it is taken
    among the band's values, else among all of them: exact either way."""
    assert largest == 0
    n = g.cast(g.op("Size", values), DOUBLE)
    sample = g.op("Slice", values, g.ints(0), g.ints(2**62), g.ints(0), g.ints(SAMPLE_STEP))
    m = g.op("Size", sample)
    m_d = g.cast(m, DOUBLE)
    centre = g.op("Div", g.op("Mul", g.cast(k, DOUBLE), m_d), n)
    spread = g.op("Add", g.op("Mul", g.op("Sqrt", m_d), g.scalar(SAMPLE_SPREAD / 2, np.float64)), g.scalar(1.0, np.float64))

    def sample_rank(value):
        return g.op("Min", m, g.op("Max", g.scalar(1, np.int64), g.cast(value, INT64)))
    lowest = _top(g, sample, sample_rank(g.op("Ceil", g.op("Add", centre, spread))), 0)
    high = g.op("ReduceMax", lowest, keepdims=0)
    low = _kth(g, lowest, sample_rank(g.op("Floor", g.op("Sub", centre, spread))), 0)  # (the lower rank is among these)
    below = count(g, g.op("Less", values, low))
    band = g.op("And", g.op("GreaterOrEqual", values, low), g.op("LessOrEqual", values, high))
    inside = g.op("And", g.op("Less", below, k), g.op("LessOrEqual", k, g.op("Add", below, count(g, band))))
    banded, every = g.sub("in_band"), g.sub("every_value")
    return g.if_(inside, banded, [_kth(banded, banded.op("Compress", values, band, axis=0), banded.op("Sub", k, below), 0)],
                 every, [_kth(every, values, k, 0)], [FLOAT])[0]


def percentiles(g: Builder, values: str, *qs: float, sampled: bool = False, band: bool = False,
                among: str | None = None) -> list[str]:
    """morphology.percentiles: the value of rank min(n-1, round(q/100 (n-1))) of the flattened values,
    one float32 scalar per q, found from whichever end is nearer (TopK unsorted: several times faster
    than sorted). For large arrays: sampled, for percentiles near either end (see _tails_by_sample);
    band, for the median (see _kth_in_band). among (int64 scalar, q <= 50 only): the values are the
    first `among` in order and others larger than all of them, which stand for values left out."""
    values = flat(g, values)
    n = size(g, values) if among is None else among
    last = g.op("Sub", n, g.scalar(1, np.int64))
    wanted = []
    for q in qs:
        rank = g.op("Min", last, g.cast(g.op("Round", g.op("Mul", g.cast(last, DOUBLE), g.scalar(q / 100, np.float64))), INT64))
        assert among is None or q <= 50
        wanted.append((g.op("Add", rank, g.scalar(1, np.int64)), 0) if q <= 50 else (g.op("Sub", n, rank), 1))
    if sampled:
        return _tails_by_sample(g, values, wanted)
    kth = _kth_in_band if band else _kth
    return [kth(g, values, k, largest) for k, largest in wanted]


def maximum(g: Builder, x: str) -> str:
    return g.op("ReduceMax", x, keepdims=0)


def border(g: Builder, image: str) -> str:
    """The pixels within max(1, min(h, w) // BORDER_FRACTION) of each edge, flattened (corners twice, as cleaning.py)."""
    height, width = dims(g, image)
    margin = g.op("Max", g.op("Div", g.op("Min", height, width), g.scalar(BORDER_FRACTION, np.int64)), g.scalar(1, np.int64))
    m = g.op("Reshape", margin, g.ints(1))
    minus = g.op("Neg", m)
    big = g.ints(2**62)
    parts = [g.op("Slice", image, g.ints(0), m, g.ints(0)), g.op("Slice", image, minus, big, g.ints(0)),
             g.op("Slice", image, g.ints(0), m, g.ints(1)), g.op("Slice", image, minus, big, g.ints(1))]
    return g.op("Concat", *[flat(g, p) for p in parts], axis=0)


def is_flat(g: Builder, values: str, level: str) -> str:
    """Half or more of the values within 1/255 of level (bool scalar)."""
    near = g.op("LessOrEqual", g.op("Abs", g.op("Sub", values, level)), g.scalar(1 / 255))
    return g.op("GreaterOrEqual", g.op("Mul", count(g, near), g.scalar(2, np.int64)), size(g, values))


def as_4d(g: Builder, image: str) -> str:
    return g.op("Unsqueeze", image, g.ints(0, 1))


def as_2d(g: Builder, image: str) -> str:
    return g.op("Squeeze", image, g.ints(0, 1))


def _window_any(g: Builder, mask: str, side: int, axis: int) -> str:
    """True where any of `side` (odd) entries centred on it along axis is (False beyond the edges):
    windows doubled by Or of shifted slices, then two overlapping ones make `side`."""
    def shifted(x, start, end):
        return g.op("Slice", x, g.ints(start), g.ints(end if end else 2**62), g.ints(axis))
    pads = [0, 0, 0, 0]
    pads[axis] = pads[axis + 2] = side // 2
    window, width = g.op("Pad", mask, g.ints(*pads)), 1
    while width * 2 <= side:
        window, width = g.op("Or", shifted(window, 0, -width), shifted(window, width, 0)), width * 2
    rest = side - width
    return g.op("Or", shifted(window, 0, -rest), shifted(window, rest, 0)) if rest else window


def dilate_mask(g: Builder, mask: str, side: int) -> str:
    """morphology.square_filter(mask, side, np.maximum) of a bool mask for a fixed odd side: Or on
    bools moves a quarter of MaxPool's bytes on float, and is about twice as fast."""
    return _window_any(g, _window_any(g, mask, side, 1), side, 0)


def block_sums(g: Builder, image: str, factor: str, mask: bool = False) -> str:
    """Sums of a float [h, w] (or the counts of a bool one, mask=True) over factor x factor blocks
    (int64 scalar factor; the last blocks zero-padded): float32 [ceil(h / factor), ceil(w / factor)].
    Each block's rows are summed first, then its columns: two reductions over one axis are faster
    than one over two."""
    height, width = dims(g, image)
    one = lambda v: g.op("Reshape", v, g.ints(1))  # noqa: E731
    pad_h, pad_w = (g.op("Mod", g.op("Sub", factor, g.op("Mod", side, factor)), factor) for side in (height, width))
    blocks_h, blocks_w = (g.op("Div", g.op("Add", side, pad), factor) for side, pad in ((height, pad_h), (width, pad_w)))
    padded = g.op("Pad", image, g.op("Concat", g.ints(0, 0), one(pad_h), one(pad_w), axis=0))
    padded = g.cast(padded, FLOAT) if mask else padded  # (a mask is padded first: a quarter of the bytes)
    rows = g.op("ReduceSum", g.op("Reshape", padded, g.op("Concat", one(blocks_h), one(factor), g.ints(-1), axis=0)),
                g.ints(1), keepdims=0)  # [blocks_h, w]
    return g.op("ReduceSum", g.op("Reshape", rows, g.op("Concat", one(blocks_h), one(blocks_w), one(factor), axis=0)),
                g.ints(2), keepdims=0)


def box_mean(g: Builder, image: str, radius: str) -> str:
    """morphology.box_mean: the mean over a (2 radius + 1)^2 square, edges replicated, running sums in
    double (radius: int64 scalar)."""
    side = g.op("Add", g.op("Mul", radius, g.scalar(2, np.int64)), g.scalar(1, np.int64))
    r = g.op("Reshape", radius, g.ints(1))
    zero = g.ints(0)
    out = image
    for axis in (0, 1):
        pads = g.op("Concat", *( [r, zero, r, zero] if axis == 0 else [zero, r, zero, r]), axis=0)
        padded = g.op("Pad", g.cast(out, DOUBLE), pads, mode="edge")
        sums = g.op("CumSum", padded, g.scalar(axis, np.int64))
        sums = g.op("Concat", g.op("Mul", g.op("Slice", sums, g.ints(0), g.ints(1), g.ints(axis)), g.scalar(0.0, np.float64)), sums, axis=axis)
        s = g.op("Reshape", side, g.ints(1))
        ahead = g.op("Slice", sums, s, g.ints(2**62), g.ints(axis))
        behind = g.op("Slice", sums, zero, g.op("Neg", s), g.ints(axis))
        out = g.cast(g.op("Div", g.op("Sub", ahead, behind), g.cast(side, DOUBLE)), FLOAT)
    return out

