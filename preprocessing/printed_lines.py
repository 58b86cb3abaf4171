"""Step 5 of the preprocessing (mnist_form.py), printed lines: long straight runs of faint ink,
which of them are the ruling or grid of the paper by evidence, and where strokes cross them. Runs
are found with running counts (CumSum) along rows; the groups of adjacent runs are judged one by
one in a loop. The rules: docs/PREPROCESSING.md, rule 5."""

import numpy as np
import onnx
from onnxscript import BOOL, DOUBLE, FLOAT, INT32, INT64, script
from onnxscript import opset18 as op

from .common import END, count, dims
from .percentiles import median

LINE_THRESHOLD = 0.12  # printed lines are looked for among pixels at least this bright
LINE_LENGTH = 0.9  # a straight run across this fraction of the image may be a printed line ...
LINE_GAP = 2  # (gaps of up to 2 x this many pixels, noise or JPEG, do not break a run;
LINE_GAP_PER = 25  # on small images, 1 px of gap per this many px of the side)
LINE_FAINTER = 0.75  # ... and is one if thinner than the strokes and fainter than this times them,
LINE_REPEATS = 3  # or thinner and one of this many parallel runs, or if it continues past the digit
LINE_PAST = 0.05  # on both sides, by two stroke widths and this fraction of the image
LINE_SIDE = 1  # the rest of the digit: clear ink off the runs' rows and columns and this many beside them
LINE_ROWS_GAP = 2  # runs in rows more than this many apart are separate candidates
CROSSING_REACH = 0.5  # a stroke crosses a line where it has ink this many stroke widths (and ...
CROSSING_MIN_PX = 2  # ... at least this many px) away on both sides: those pixels stay ink

# (Constants as common.py's notes say: doubles as op.Constant(value=np.float64(...)), exact.)
CLOSED_REACH = 2 * LINE_GAP  # a closed run reaches up to LINE_GAP px past the faint pixels at each of its ends
FAR = 2**62  # an index past any: "none" in a minimum (and -FAR in a maximum)
NOTHING = onnx.helper.make_tensor("false", onnx.TensorProto.BOOL, [1], [False])

# The closings along rows for gap = 1 .. LINE_GAP, written out (an onnxscript function cannot build
# one per gap in a Python loop): the edge padding of the 4-D image and the pool's window.
assert LINE_GAP == 2, "_closed_along_rows writes out one closing per gap"
EDGES_1 = np.array([0, 0, 0, 1, 0, 0, 0, 1], np.int64)
EDGES_2 = np.array([0, 0, 0, 2, 0, 0, 0, 2], np.int64)


@script()
def false_like(mask: BOOL[None, None]) -> BOOL[None, None]:
    """An all-False mask of mask's shape."""
    return op.ConstantOfShape(op.Shape(mask), value=NOTHING)


@script()
def window_sum(x: INT32[None, None], before: INT64, after: INT64) -> INT32[None, None]:
    """Sums of x over columns [i - before, i + after] of each row, clipped at the ends."""
    front = op.Reshape(op.Add(before, 1), [1])
    padded = op.Pad(x, op.Concat([0], front, [0], op.Reshape(after, [1]), axis=0))
    sums = op.CumSum(padded, 1)
    height, width = dims(x)
    shift = op.Reshape(op.Add(op.Add(before, after), 1), [1])
    ahead = op.Slice(sums, shift, op.Add(shift, op.Reshape(width, [1])), [1])
    behind = op.Slice(sums, [0], op.Reshape(width, [1]), [1])
    return op.Sub(ahead, behind)


@script()
def _row_closing(mask: BOOL[None, None], edges: INT64[8], kernel_shape: list[int]) -> BOOL[None, None]:
    """A closing (maximum, then minimum) along each row over kernel_shape = [1, 2 gap + 1] pixels,
    windows clipped at the ends (edges: gap px of each row's end values repeated, which for a
    minimum or a maximum is the same). The edges are padded first (Pad, mode edge): onnx's
    reference evaluator fails on padded 1 x n pools."""
    image = op.Unsqueeze(op.Cast(mask, to=FLOAT.dtype), [0, 1])
    # (MaxPool's indices: named for eager mode, which returns both outputs; the optimizer drops them.)
    grown, _ = op.MaxPool(op.Pad(image, edges, mode="edge"), kernel_shape=kernel_shape)
    minus_closed, _ = op.MaxPool(op.Pad(op.Neg(grown), edges, mode="edge"), kernel_shape=kernel_shape)  # -(the minimum)
    return op.Cast(op.Squeeze(op.Neg(minus_closed), [0, 1]), to=BOOL.dtype)


@script()
def _closed_along_rows(mask: BOOL[None, None], gap: INT64) -> BOOL[None, None]:
    """Gaps of up to 2 gap px along the rows bridged: a closing over 2 gap + 1 pixels (gap is 0 to
    LINE_GAP: one MaxPool pair for each, written out for gap 1 and 2 as the note above EDGES_1 says)."""
    result = mask
    if op.Equal(gap, 1):
        result = _row_closing(mask, EDGES_1, kernel_shape=[1, 3])
    if op.Equal(gap, 2):
        result = _row_closing(mask, EDGES_2, kernel_shape=[1, 5])
    return result


@script()
def _runs_along_rows(mask: BOOL[None, None], filled: FLOAT[None]) -> BOOL[None, None]:
    """The pixels of mask on horizontal runs at least LINE_LENGTH of the width long, after a closing
    along the rows that bridges gaps of up to 2 x min(LINE_GAP, width // LINE_GAP_PER) px (filled: the
    number of mask pixels in each row). The run length is ceil(LINE_LENGTH width), at least 1, and
    only the rows that can hold such a run are searched: the closing adds at most 2 gap pixels
    after each run, so a row needs length / (2 gap + 1) pixels of the mask."""
    height, width = dims(mask)
    gap = op.Min(LINE_GAP, op.Div(width, LINE_GAP_PER))
    length = op.Cast(op.Ceil(op.Mul(op.Cast(width, to=DOUBLE.dtype), op.Constant(value=np.float64(LINE_LENGTH)))), to=INT64.dtype)
    length = op.Max(length, 1)
    reach = op.Add(op.Mul(gap, 2), 1)
    candidate = op.GreaterOrEqual(op.Mul(filled, op.Cast(reach, to=FLOAT.dtype)), op.Cast(length, to=FLOAT.dtype))
    if op.Greater(count(candidate), 0):
        rows = op.Compress(mask, candidate, axis=0)
        closed = _closed_along_rows(rows, gap)
        # The runs are measured only if a closed row has `length` pixels at all.
        long_enough = op.GreaterOrEqual(op.ReduceSum(op.Cast(closed, to=FLOAT.dtype), [1], keepdims=0),
                                        op.Cast(length, to=FLOAT.dtype))
        if op.Greater(count(long_enough), 0):
            span = op.Sub(length, 1)
            starts = op.Equal(window_sum(op.Cast(closed, to=INT32.dtype), 0, span), op.Cast(length, to=INT32.dtype))
            on_run = op.Greater(window_sum(op.Cast(starts, to=INT32.dtype), span, 0), 0)
            # Back to every row: candidate row i is row CumSum(candidate)[i] - 1 of on_run; the
            # others read an added empty row.
            empty_row = op.Expand(False, op.Concat([1], op.Shape(mask, start=1, end=2), axis=0))
            with_empty = op.Concat(on_run, empty_row, axis=0)
            position = op.Sub(op.CumSum(op.Cast(candidate, to=INT64.dtype), 0), 1)
            source = op.Where(candidate, position, op.Shape(on_run, start=0, end=1))
            found = op.And(op.Gather(with_empty, source, axis=0), mask)
        else:
            found = false_like(mask)
    else:
        found = false_like(mask)
    return found


@script()
def _too_short(counts: FLOAT[None], side: INT64) -> BOOL:
    """Whether the entries with counts, with CLOSED_REACH, span less than LINE_LENGTH of the side.
    The span runs from the first entry with counts to the last (ArgMax of their signs, 0 or 1,
    from either end). With no counts at all ArgMax gives 0 twice, a span of 1 where it is 0: such
    a mask has no pixels, so whether the search skips it or not, it finds no runs."""
    ones = op.Sign(counts)
    first = op.ArgMax(ones, axis=0, keepdims=0, select_last_index=0)
    last = op.ArgMax(ones, axis=0, keepdims=0, select_last_index=1)
    reach = op.Cast(op.Add(op.Sub(last, first), op.Constant(value_int=1 + CLOSED_REACH)), to=DOUBLE.dtype)
    return op.Less(reach, op.Mul(op.Cast(side, to=DOUBLE.dtype), op.Constant(value=np.float64(LINE_LENGTH))))


@script()
def long_runs(faint: BOOL[None, None], per_row: FLOAT[None], per_col: FLOAT[None]) -> tuple[BOOL[None, None], BOOL[None, None]]:
    """(horizontal, vertical): the pixels of faint on straight runs across LINE_LENGTH of the image,
    gaps of up to 2 x LINE_GAP px (noise, JPEG) bridged; the gap shrinks on small images (1 px per
    LINE_GAP_PER). per_row, per_col: the faint pixels in each row and column."""
    horizontal = _runs_along_rows(faint, per_row)
    vertical = op.Transpose(_runs_along_rows(op.Transpose(faint, perm=[1, 0]), per_col), perm=[1, 0])
    return horizontal, vertical


@script()
def _band(lines: BOOL[None], reach: INT64) -> BOOL[None]:
    """The entries of a 1-D mask within `reach` of a True one."""
    row = op.Unsqueeze(op.Cast(lines, to=INT32.dtype), [0])
    return op.Squeeze(op.Greater(window_sum(row, reach, reach), 0), [0])


@script()
def _first_last(mask: BOOL[None], default_first: INT64, default_last: INT64) -> tuple[INT64, INT64]:
    """The indices of the first and the last True entry of a 1-D mask; the defaults if there is none."""
    n = op.Size(mask)
    index = op.Range(0, n, 1)
    first = op.ReduceMin(op.Where(mask, index, op.Constant(value_int=FAR)), keepdims=0)
    last = op.ReduceMax(op.Where(mask, index, op.Constant(value_int=-FAR)), keepdims=0)
    found = op.Greater(count(mask), 0)
    return op.Where(found, first, default_first), op.Where(found, last, default_last)


@script()
def _lines_among(runs: BOOL[None, None], other: BOOL[None, None], values: FLOAT[None, None], stroke_width: DOUBLE,
                 stroke_level: DOUBLE) -> tuple[BOOL[None, None], BOOL]:
    """The horizontal runs that are printed lines. Runs in rows at most LINE_ROWS_GAP apart form a
    group, judged on its own: a line if it continues past the rest of the digit (other) on both sides
    by max(2 stroke widths, LINE_PAST of the width); or if it is thinner than the strokes (fewer rows
    than stroke_width) and either fainter (its median below LINE_FAINTER x stroke_level) or one of
    LINE_REPEATS or more groups. Also whether there are that many (the paper's ruling or grid)."""
    height, width = dims(runs)
    row_index = op.Range(0, height, 1)
    run_rows = op.Compress(row_index, op.Cast(op.ReduceMax(op.Cast(runs, to=INT64.dtype), [1], keepdims=0), to=BOOL.dtype),
                           axis=0)
    steps = op.Greater(op.Sub(op.Slice(run_rows, [1], op.Constant(value_ints=[END])), op.Slice(run_rows, [0], [-1])), LINE_ROWS_GAP)
    starts = op.Slice(op.Concat([0], op.Cast(steps, to=INT64.dtype), axis=0), [0], op.Shape(run_rows))  # none if no runs
    group_of = op.CumSum(starts, 0)
    groups = op.Add(op.ReduceMax(op.Concat([-1], group_of, axis=0), keepdims=0), 1)
    inked = op.Cast(op.ReduceMax(op.Cast(other, to=INT64.dtype), [0], keepdims=0), to=BOOL.dtype)
    first, last = _first_last(inked, width, -1)
    margin = op.Max(op.Mul(stroke_width, 2.0), op.Mul(op.Cast(width, to=DOUBLE.dtype), op.Constant(value=np.float64(LINE_PAST))))
    before = op.Sub(op.Cast(first, to=DOUBLE.dtype), margin)
    after = op.Add(op.Cast(last, to=DOUBLE.dtype), margin)
    repeated = op.GreaterOrEqual(groups, LINE_REPEATS)
    lines = false_like(runs)
    for group in range(groups):
        members = op.Compress(run_rows, op.Equal(group_of, group), axis=0)
        top = op.ReduceMin(members, keepdims=0)
        bottom = op.ReduceMax(members, keepdims=0)
        in_band = op.And(op.GreaterOrEqual(row_index, top), op.LessOrEqual(row_index, bottom))
        pixels = op.And(runs, op.Unsqueeze(in_band, [1]))
        cols = op.Cast(op.ReduceMax(op.Cast(pixels, to=INT64.dtype), [0], keepdims=0), to=BOOL.dtype)
        col_first, col_last = _first_last(cols, width, -1)
        past = op.And(op.Less(op.Cast(col_first, to=DOUBLE.dtype), before), op.Greater(op.Cast(col_last, to=DOUBLE.dtype), after))
        thinner = op.Less(op.Cast(op.Size(members), to=DOUBLE.dtype), stroke_width)
        level = median(op.Compress(op.Reshape(values, [-1]), op.Reshape(pixels, [-1]), axis=0))
        fainter = op.Less(op.Cast(level, to=DOUBLE.dtype), op.Mul(stroke_level, op.Constant(value=np.float64(LINE_FAINTER))))
        take = op.Or(past, op.And(thinner, op.Or(fainter, repeated)))
        lines = op.Or(lines, op.And(pixels, take))
    return lines, repeated


@script()
def _judged(ink: FLOAT[None, None], strong: BOOL[None, None], stroke_width: DOUBLE, horizontal: BOOL[None, None],
            vertical: BOOL[None, None]) -> tuple[BOOL[None, None], BOOL]:
    """The runs that are printed lines, judged against the rest of the digit: the strong ink off the
    runs' rows and columns and LINE_SIDE beside them, at its median level. Runs with no other ink
    beside them are the digit (the bar of a 1 cropped tight)."""
    near_h = _band(op.Cast(op.ReduceMax(op.Cast(horizontal, to=INT64.dtype), [1], keepdims=0), to=BOOL.dtype), LINE_SIDE)
    near_v = _band(op.Cast(op.ReduceMax(op.Cast(vertical, to=INT64.dtype), [0], keepdims=0), to=BOOL.dtype), LINE_SIDE)
    rest = op.And(op.And(strong, op.Not(op.Unsqueeze(near_h, [1]))), op.Not(op.Unsqueeze(near_v, [0])))
    if op.Equal(count(rest), 0):
        lines = false_like(strong)
        ruled = op.Constant(value=np.array(False))
    else:
        level = op.Cast(median(op.Compress(op.Reshape(ink, [-1]), op.Reshape(rest, [-1]), axis=0)), to=DOUBLE.dtype)
        across, ruled_across = _lines_among(horizontal, rest, ink, stroke_width, level)
        down, ruled_down = _lines_among(op.Transpose(vertical, perm=[1, 0]), op.Transpose(rest, perm=[1, 0]),
                                        op.Transpose(ink, perm=[1, 0]), stroke_width, level)
        lines = op.Or(across, op.Transpose(down, perm=[1, 0]))
        ruled = op.Or(ruled_across, ruled_down)
    return lines, ruled


@script()
def _beside(mask: BOOL[None, None], reach: INT64) -> BOOL[None, None]:
    """True where the row has mask within `reach` px on the left and within `reach` px on the right."""
    x = op.Cast(mask, to=INT32.dtype)
    left = op.Greater(op.Sub(window_sum(x, reach, 0), x), 0)
    right = op.Greater(op.Sub(window_sum(x, 0, reach), x), 0)
    return op.And(left, right)


@script()
def crossings(strokes: BOOL[None, None], reach: INT64) -> BOOL[None, None]:
    """Where a stroke crosses a printed line: pixels with stroke ink within `reach` px on both sides,
    above and below or left and right. Those stay ink when the line is removed."""
    across = _beside(strokes, reach)
    down = op.Transpose(_beside(op.Transpose(strokes, perm=[1, 0]), reach), perm=[1, 0])
    return op.Or(across, down)


@script()
def _uncrossed(lines: BOOL[None, None], strong: BOOL[None, None], stroke_width: DOUBLE) -> BOOL[None, None]:
    """The lines without the pixels where strokes cross them (crossings), which stay ink: the
    strokes' ink off the lines within max(CROSSING_MIN_PX, CROSSING_REACH stroke widths) on both sides."""
    reach = op.Max(op.Constant(value_int=CROSSING_MIN_PX),
                   op.Cast(op.Round(op.Mul(stroke_width, op.Constant(value=np.float64(CROSSING_REACH)))), to=INT64.dtype))
    return op.And(lines, op.Not(crossings(op.And(strong, op.Not(lines)), reach)))


@script()
def _lines_of_runs(ink: FLOAT[None, None], strong: BOOL[None, None], stroke_width: DOUBLE, faint: BOOL[None, None],
                   per_row: FLOAT[None], per_col: FLOAT[None]) -> tuple[BOOL[None, None], BOOL]:
    """The runs of faint (long_runs) that are printed lines by evidence (_judged), without the
    pixels where strokes cross them (_uncrossed); all False without runs."""
    horizontal, vertical = long_runs(faint, per_row, per_col)
    if op.Greater(op.Add(count(horizontal), count(vertical)), 0):
        lines, ruled = _judged(ink, strong, stroke_width, horizontal, vertical)
        if op.Greater(count(lines), 0):
            lines = _uncrossed(lines, strong, stroke_width)
    else:
        lines = false_like(strong)  # (all False, as horizontal: made, not copied)
        ruled = op.Constant(value=np.array(False))
    return lines, ruled


@script()
def printed_lines(ink: FLOAT[None, None], strong: BOOL[None, None], stroke_width: DOUBLE,
                  faint_level: DOUBLE) -> tuple[BOOL[None, None], BOOL]:
    """(The pixels on printed lines, except where strokes cross them; whether the paper is ruled or
    squared: LINE_REPEATS parallel runs or more one way.) The lines are the long straight runs
    (long_runs) of the pixels at LINE_THRESHOLD, or at faint_level if that is lower, that are lines
    by evidence (_judged and _lines_among), not by length alone. A closed run stays within LINE_GAP
    px of the faint pixels at its ends: if their bounding box cannot hold a line in either
    direction (most digits), there are none, and the search is skipped."""
    threshold = op.Cast(op.Min(op.Constant(value=np.float64(LINE_THRESHOLD)), faint_level), to=FLOAT.dtype)
    faint = op.GreaterOrEqual(ink, threshold)
    height, width = dims(faint)
    pixels = op.Cast(faint, to=FLOAT.dtype)
    per_row = op.ReduceSum(pixels, [1], keepdims=0)
    per_col = op.ReduceSum(pixels, [0], keepdims=0)
    if op.And(_too_short(per_col, width), _too_short(per_row, height)):
        lines = false_like(strong)
        ruled = op.Constant(value=np.array(False))
    else:
        lines, ruled = _lines_of_runs(ink, strong, stroke_width, faint, per_row, per_col)
    return lines, ruled
