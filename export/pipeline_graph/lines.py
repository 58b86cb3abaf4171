"""Printed lines (runtime/printed_lines.py: long_runs and printed_lines): long straight runs of faint
ink, and which of them are printed lines by evidence. Runs are found with running counts (CumSum)
along rows; the groups of adjacent runs are judged one by one in a Loop."""

import numpy as np
import onnx

from ...runtime.printed_lines import (LINE_FAINTER, LINE_GAP, LINE_GAP_PER, LINE_LENGTH, LINE_PAST, LINE_REPEATS, LINE_ROWS_GAP, LINE_SIDE,
                                 LINE_THRESHOLD)
from .builder import BOOL, DOUBLE, FLOAT, INT32, INT64, Builder
from .ops import count, dims, percentiles

BIG = 2**62


def _false_like(g: Builder, mask: str) -> str:
    """An all-False mask of mask's shape."""
    return g.op("ConstantOfShape", g.op("Shape", mask), value=onnx.helper.make_tensor("false", onnx.TensorProto.BOOL, [1], [False]))


def _column(g: Builder, value: str) -> str:
    return g.op("Reshape", value, g.ints(1))


def window_sum(g: Builder, x: str, before: str, after: str) -> str:
    """Sums of int32 x [h, w] over columns [i - before, i + after] of each row, clipped at the ends."""
    zero = g.ints(0)
    front = _column(g, g.op("Add", before, g.scalar(1, np.int64)))
    padded = g.op("Pad", x, g.op("Concat", zero, front, zero, _column(g, after), axis=0))
    sums = g.op("CumSum", padded, g.scalar(1, np.int64))
    _, width = dims(g, x)
    shift = _column(g, g.op("Add", g.op("Add", before, after), g.scalar(1, np.int64)))
    ahead = g.op("Slice", sums, shift, g.op("Add", shift, _column(g, width)), g.ints(1))
    behind = g.op("Slice", sums, zero, _column(g, width), g.ints(1))
    return g.op("Sub", ahead, behind)


def _runs_along_rows(g: Builder, mask: str, filled: str) -> str:
    """The pixels of mask on horizontal runs at least LINE_LENGTH of the width long, after a closing
    along the rows that bridges gaps of up to 2 x min(LINE_GAP, width // LINE_GAP_PER) px (filled: the number of
    mask pixels in each row, float32). As in printed_lines._long_rows, only the rows that can hold such a
    run are searched: the closing adds at most 2 gap pixels after each run, so a row needs
    length / (2 gap + 1) pixels of the mask."""
    _, width = dims(g, mask)
    gap = g.op("Min", g.scalar(LINE_GAP, np.int64), g.op("Div", width, g.scalar(LINE_GAP_PER, np.int64)))
    length = g.cast(g.op("Ceil", g.op("Mul", g.cast(width, DOUBLE), g.scalar(LINE_LENGTH, np.float64))), INT64)
    length = g.op("Max", length, g.scalar(1, np.int64))
    reach = g.op("Add", g.op("Mul", gap, g.scalar(2, np.int64)), g.scalar(1, np.int64))
    candidate = g.op("GreaterOrEqual", g.op("Mul", filled, g.cast(reach, FLOAT)), g.cast(length, FLOAT))
    search, none_b = g.sub("candidate_rows"), g.sub("no_candidate_rows")
    rows = search.op("Compress", mask, candidate, axis=0)
    closed = _closed_along_rows(search, rows, gap)
    # The runs are measured only if a closed row has `length` pixels at all.
    long_enough = search.op("GreaterOrEqual", search.op("ReduceSum", search.cast(closed, FLOAT), search.ints(1), keepdims=0),
                            search.cast(length, FLOAT))
    measure, too_short = search.sub("measure_runs"), search.sub("no_long_rows")
    s = measure
    span = s.op("Sub", length, s.scalar(1, np.int64))
    full = s.op("Equal", window_sum(s, s.cast(closed, INT32), s.scalar(0, np.int64), span), s.cast(length, INT32))  # runs starting here
    on_run = s.op("Greater", window_sum(s, s.cast(full, INT32), span, s.scalar(0, np.int64)), s.scalar(0, np.int32))
    # Back to every row: candidate row i is row CumSum(candidate)[i] - 1 of on_run; the others read an added empty row.
    with_empty = s.op("Concat", on_run, s.op("Expand", s.const(False, np.bool_), s.op("Concat", s.ints(1), s.op("Shape", mask, start=1, end=2), axis=0)), axis=0)
    position = s.op("Sub", s.op("CumSum", s.cast(candidate, INT64), s.scalar(0, np.int64)), s.scalar(1, np.int64))
    source = s.op("Where", candidate, position, s.op("Shape", on_run, start=0, end=1))
    found = s.op("And", s.op("Gather", with_empty, source, axis=0), mask)
    (found,) = search.if_(search.op("Greater", count(search, long_enough), search.scalar(0, np.int64)), measure, [found],
                          too_short, [_false_like(too_short, mask)], [BOOL])
    nothing = _false_like(none_b, mask)
    any_candidate = g.op("Greater", count(g, candidate), g.scalar(0, np.int64))
    return g.if_(any_candidate, search, [found], none_b, [nothing], [BOOL])[0]


def _closed_along_rows(g: Builder, mask: str, gap: str) -> str:
    """A closing (maximum, then minimum) along each row over 2 gap + 1 pixels, windows clipped at the
    ends (as morphology.window_rows with replicated edges); gap is 0 to LINE_GAP, a MaxPool for each.
    The edges are padded first (Pad, mode edge): onnx's reference evaluator fails on padded 1 x n pools."""
    result = mask
    for size in range(1, LINE_GAP + 1):
        branch, other = g.sub(f"close_{size}"), g.sub(f"not_{size}")
        b = branch

        def pool(x):  # the maximum over 2 size + 1 columns, the edge values repeated
            padded = b.op("Pad", x, b.ints(0, 0, 0, size, 0, 0, 0, size), mode="edge")
            return b.op("MaxPool", padded, kernel_shape=[1, 2 * size + 1])
        image = b.op("Unsqueeze", b.cast(mask, FLOAT), b.ints(0, 1))
        closed = b.op("Neg", pool(b.op("Neg", pool(image))))
        closed = b.cast(b.op("Squeeze", closed, b.ints(0, 1)), BOOL)
        (result,) = g.if_(g.op("Equal", gap, g.scalar(size, np.int64)), branch, [closed], other, [result], [BOOL])
    return result


def _extent(g: Builder, mask: str) -> str:
    """last - first + 1 of the True entries of a 1-D mask (int64; 0 if none)."""
    n = g.op("Size", mask)
    index = g.op("Range", g.scalar(0, np.int64), n, g.scalar(1, np.int64))
    first = g.op("ReduceMin", g.op("Where", mask, index, n), keepdims=0)
    last = g.op("ReduceMax", g.op("Where", mask, index, g.scalar(-1, np.int64)), keepdims=0)
    return g.op("Max", g.op("Add", g.op("Sub", last, first), g.scalar(1, np.int64)), g.scalar(0, np.int64))


def long_runs(g: Builder, faint: str) -> tuple[str, str]:
    """printed_lines.long_runs: (horizontal, vertical) bool masks. Skipped when the faint pixels'
    bounding box cannot hold a line in either direction (most digits)."""
    height, width = dims(g, faint)
    pixels = g.cast(faint, FLOAT)
    per_row, per_col = g.op("ReduceSum", pixels, g.ints(1), keepdims=0), g.op("ReduceSum", pixels, g.ints(0), keepdims=0)

    def too_short(counts, side):
        reach = g.cast(g.op("Add", _extent(g, g.op("Greater", counts, g.scalar(0.0))), g.scalar(2 * LINE_GAP, np.int64)), DOUBLE)
        return g.op("Less", reach, g.op("Mul", g.cast(side, DOUBLE), g.scalar(LINE_LENGTH, np.float64)))
    skip = g.op("And", too_short(per_col, width), too_short(per_row, height))
    none_b, search = g.sub("no_runs"), g.sub("runs")
    nothing = _false_like(none_b, faint)
    horizontal = _runs_along_rows(search, faint, per_row)
    vertical = search.op("Transpose", _runs_along_rows(search, search.op("Transpose", faint, perm=[1, 0]), per_col), perm=[1, 0])
    return g.if_(skip, none_b, [nothing, nothing], search, [horizontal, vertical], [BOOL, BOOL])


def _band(g: Builder, lines: str, reach: str) -> str:
    """Entries of a 1-D mask within `reach` of a True one."""
    row = g.op("Unsqueeze", g.cast(lines, INT32), g.ints(0))
    return g.op("Squeeze", g.op("Greater", window_sum(g, row, reach, reach), g.scalar(0, np.int32)), g.ints(0))


def _first_last(g: Builder, mask: str, default_first: str, default_last: str) -> tuple[str, str]:
    n = g.op("Size", mask)
    index = g.op("Range", g.scalar(0, np.int64), n, g.scalar(1, np.int64))
    first = g.op("ReduceMin", g.op("Where", mask, index, g.scalar(BIG, np.int64)), keepdims=0)
    last = g.op("ReduceMax", g.op("Where", mask, index, g.scalar(-BIG, np.int64)), keepdims=0)
    found = g.op("Greater", count(g, mask), g.scalar(0, np.int64))
    return g.op("Where", found, first, default_first), g.op("Where", found, last, default_last)


def _lines_among(g: Builder, runs: str, other: str, values: str, stroke_width: str, stroke_level: str) -> str:
    """The runs (horizontal, [h, w]) that are printed lines: each group of adjacent rows with runs is
    judged on its own (past the rest of the digit on both sides; or thinner than the strokes and
    fainter than them or one of LINE_REPEATS groups)."""
    height, width = dims(g, runs)
    row_index = g.op("Range", g.scalar(0, np.int64), height, g.scalar(1, np.int64))
    col_index = g.op("Range", g.scalar(0, np.int64), width, g.scalar(1, np.int64))
    run_rows = g.op("Compress", row_index, g.cast(g.op("ReduceMax", g.cast(runs, INT64), g.ints(1), keepdims=0), BOOL), axis=0)
    steps = g.op("Greater", g.op("Sub", g.op("Slice", run_rows, g.ints(1), g.ints(BIG)), g.op("Slice", run_rows, g.ints(0), g.ints(-1))),
                 g.scalar(LINE_ROWS_GAP, np.int64))
    starts = g.op("Slice", g.op("Concat", g.ints(0), g.cast(steps, INT64), axis=0), g.ints(0), g.op("Shape", run_rows))  # none if no runs
    group_of = g.op("CumSum", starts, g.scalar(0, np.int64))
    groups = g.op("Add", g.op("ReduceMax", g.op("Concat", g.ints(-1), group_of, axis=0), keepdims=0), g.scalar(1, np.int64))
    inked = g.cast(g.op("ReduceMax", g.cast(other, INT64), g.ints(0), keepdims=0), BOOL)
    first, last = _first_last(g, inked, width, g.scalar(-1, np.int64))
    margin = g.op("Max", g.op("Mul", stroke_width, g.scalar(2.0, np.float64)), g.op("Mul", g.cast(width, DOUBLE), g.scalar(LINE_PAST, np.float64)))
    before, after = g.op("Sub", g.cast(first, DOUBLE), margin), g.op("Add", g.cast(last, DOUBLE), margin)
    repeated = g.op("GreaterOrEqual", groups, g.scalar(LINE_REPEATS, np.int64))

    b = g.sub("line_group")
    k, cond, out = b.name("group"), b.name("cond"), b.name("lines")
    members = b.op("Compress", run_rows, b.op("Equal", group_of, k), axis=0)
    top, bottom = b.op("ReduceMin", members, keepdims=0), b.op("ReduceMax", members, keepdims=0)
    in_band = b.op("And", b.op("GreaterOrEqual", row_index, top), b.op("LessOrEqual", row_index, bottom))
    pixels = b.op("And", runs, b.op("Unsqueeze", in_band, b.ints(1)))
    cols = b.cast(b.op("ReduceMax", b.cast(pixels, INT64), b.ints(0), keepdims=0), BOOL)
    c0, c1 = _first_last(b, cols, width, b.scalar(-1, np.int64))
    past = b.op("And", b.op("Less", b.cast(c0, DOUBLE), before), b.op("Greater", b.cast(c1, DOUBLE), after))
    thinner = b.op("Less", b.cast(b.op("Size", members), DOUBLE), stroke_width)
    (median,) = percentiles(b, b.op("Compress", b.op("Reshape", values, b.ints(-1)), b.op("Reshape", pixels, b.ints(-1)), axis=0), 50)
    fainter = b.op("Less", b.cast(median, DOUBLE), b.op("Mul", stroke_level, b.scalar(LINE_FAINTER, np.float64)))
    take = b.op("Or", past, b.op("And", thinner, b.op("Or", fainter, repeated)))
    new_out = b.op("Or", out, b.op("And", pixels, take))
    cond_out = b.op("Identity", cond)
    body = b.graph("line_group", [(k, INT64, []), (cond, BOOL, []), (out, BOOL)], [(cond_out, BOOL, []), (new_out, BOOL)])
    nothing = _false_like(g, runs)
    return g.op("Loop", groups, g.const(True, np.bool_), nothing, body=body)


def _judged(g: Builder, ink: str, strong: str, stroke_width: str, horizontal: str, vertical: str) -> str:
    reach = g.scalar(LINE_SIDE, np.int64)
    near_h = _band(g, g.cast(g.op("ReduceMax", g.cast(horizontal, INT64), g.ints(1), keepdims=0), BOOL), reach)
    near_v = _band(g, g.cast(g.op("ReduceMax", g.cast(vertical, INT64), g.ints(0), keepdims=0), BOOL), reach)
    rest = g.op("And", g.op("And", strong, g.op("Not", g.op("Unsqueeze", near_h, g.ints(1)))), g.op("Not", g.op("Unsqueeze", near_v, g.ints(0))))
    none_b, judge = g.sub("no_rest"), g.sub("judge")
    nothing = _false_like(none_b, strong)
    (level,) = percentiles(judge, judge.op("Compress", judge.op("Reshape", ink, judge.ints(-1)), judge.op("Reshape", rest, judge.ints(-1)), axis=0), 50)
    level = judge.cast(level, DOUBLE)
    t = lambda x: judge.op("Transpose", x, perm=[1, 0])  # noqa: E731
    lines = judge.op("Or", _lines_among(judge, horizontal, rest, ink, stroke_width, level),
                     t(_lines_among(judge, t(vertical), t(rest), t(ink), stroke_width, level)))
    no_rest = g.op("Equal", count(g, rest), g.scalar(0, np.int64))
    return g.if_(no_rest, none_b, [nothing], judge, [lines], [BOOL])[0]


def printed_lines(g: Builder, ink: str, strong: str, stroke_width: str, faint_level: str) -> str:
    """printed_lines.printed_lines: a bool mask [h, w] of the pixels on printed lines (faint_level: double)."""
    threshold = g.cast(g.op("Min", g.scalar(LINE_THRESHOLD, np.float64), faint_level), FLOAT)
    horizontal, vertical = long_runs(g, g.op("GreaterOrEqual", ink, threshold))
    found = g.op("Greater", g.op("Add", count(g, horizontal), count(g, vertical)), g.scalar(0, np.int64))
    none_b, judge = g.sub("no_lines"), g.sub("lines")
    nothing = _false_like(none_b, strong)
    return g.if_(found, judge, [_judged(judge, ink, strong, stroke_width, horizontal, vertical)], none_b, [nothing], [BOOL])[0]


def crossings(g: Builder, strokes: str, reach: str) -> str:
    """printed_lines.crossings: pixels with stroke ink within `reach` px on both sides, above and below or
    left and right (where a stroke crosses a printed line; they stay ink)."""
    def beside(mask):  # True within reach on the left and within reach on the right (along rows)
        x = g.cast(mask, INT32)
        zero = g.scalar(0, np.int64)
        left = g.op("Greater", g.op("Sub", window_sum(g, x, reach, zero), x), g.scalar(0, np.int32))
        right = g.op("Greater", g.op("Sub", window_sum(g, x, zero, reach), x), g.scalar(0, np.int32))
        return g.op("And", left, right)
    t = lambda x: g.op("Transpose", x, perm=[1, 0])  # noqa: E731
    return g.op("Or", beside(strokes), t(beside(t(strokes))))
