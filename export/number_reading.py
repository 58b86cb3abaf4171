"""The number reader's reading rule, the last part of number.onnx: per-column scores -> the number.

CTC's greedy reading (Graves et al. 2006; training/ctc_reading.digit_runs, which training's
validation runs too): the best class in each column; a run of one digit is one digit, a blank
separates two; blanks are dropped. Then, per digit:
- its probability: the highest probability of its digit over its run of columns;
- its box in the input's pixels, [x0, y0, x1, y1] (x1 and y1 exclusive): the strip is cut between
  the centres of neighbouring digits' runs at the column with the least ink, each piece shrunk to
  its ink, its columns mapped back through the number's box (strip_form.number_columns); rows are
  the number's.
The number is rejected (not a number) when nothing is written, when no digit is read, or when any
digit's probability is below min_probability (calibrated on validation numbers, in the metadata).
Its probability is the product of its digits' (0 when nothing is read).
"""

import numpy as np
from onnxscript import BOOL, FLOAT, INT64, script
from onnxscript import opset18 as op

from ..preprocessing.strip_form import number_columns
from ..training.ctc_reading import digit_runs
from ..training.number_strings import INK

INK_LEVEL = np.array(INK, np.float32)


@script()
def _pieces(centres: FLOAT[None], ink: FLOAT[None], strip_columns: FLOAT[None], strip_width: INT64
            ) -> tuple[FLOAT[None], FLOAT[None]]:
    """(from, to) strip columns of each digit's piece: cut between two neighbouring digits' centres
    at the column with the least ink (`ink`: per strip column; of equals, the first), the strip's
    ends for the first and the last. (A digit's centre is where CTC read it, often off its middle:
    halfway between two such centres can fall inside a digit.)"""
    left = op.Unsqueeze(op.Slice(centres, [0], [-1]), [1])  # [L - 1, 1]
    right = op.Unsqueeze(op.Slice(centres, [1], [9223372036854775807]), [1])
    column = op.Unsqueeze(strip_columns, [0])  # [1, W]
    between = op.And(op.GreaterOrEqual(column, left), op.LessOrEqual(column, right))
    infinite = op.Constant(value_float=3.0e38)
    cut = op.Cast(op.ArgMin(op.Where(between, op.Unsqueeze(ink, [0]), infinite), axis=1, keepdims=0), to=FLOAT.dtype)
    start = op.Concat(op.Constant(value_floats=[0.0]), op.Add(cut, 1.0), axis=0)
    end = op.Concat(cut, op.Reshape(op.Cast(strip_width, to=FLOAT.dtype), [1]), axis=0)
    return start, end


@script()
def read_number(log_probs: FLOAT[None, 1, 11], strip: FLOAT[None, None], box: INT64[4], no_number: BOOL,
                column_stride: INT64, min_probability: FLOAT
                ) -> tuple[INT64[None], FLOAT[None], INT64[None, 4], FLOAT, BOOL]:
    """(digits, probabilities, boxes, number_probability, rejected) from the reader's scores
    [T, 1, 11] over the strip [rows, W] (T = W / column_stride) cut from the input's box."""
    probabilities_t = op.Exp(op.Squeeze(log_probs, [1]))  # [T, 11]
    best = op.ArgMax(probabilities_t, axis=1, keepdims=0)  # [T]
    best_probability = op.ReduceMax(probabilities_t, [1], keepdims=0)
    written, run, starts = digit_runs(best)
    digits = op.Compress(best, starts)
    count = op.Size(digits)
    # member[i, t]: column t belongs to digit i
    member = op.And(op.Equal(op.Unsqueeze(run, [0]), op.Unsqueeze(op.Range(0, count, 1), [1])), op.Unsqueeze(written, [0]))
    probabilities = op.ReduceMax(op.Where(member, op.Unsqueeze(best_probability, [0]), 0.0), [1], keepdims=0)
    # Each digit's centre, in strip columns (an output column covers column_stride strip columns).
    columns = op.Cast(op.Range(0, op.Size(best), 1), to=FLOAT.dtype)
    member_f = op.Cast(member, to=FLOAT.dtype)
    centre_t = op.Div(op.ReduceSum(op.Mul(member_f, columns), [1], keepdims=0), op.ReduceSum(member_f, [1], keepdims=0))
    stride = op.Cast(column_stride, to=FLOAT.dtype)
    centres = op.Sub(op.Mul(op.Add(centre_t, 0.5), stride), 0.5)
    # Each digit's piece of the strip, shrunk to its ink.
    strip_width = op.Gather(op.Shape(strip), 1)
    strip_columns = op.Cast(op.Range(0, strip_width, 1), to=FLOAT.dtype)
    piece_from, piece_to = _pieces(centres, op.ReduceSum(strip, [0], keepdims=0), strip_columns, strip_width)
    inked = op.GreaterOrEqual(op.ReduceMax(strip, [0], keepdims=0), INK_LEVEL)
    in_piece = op.And(op.And(op.GreaterOrEqual(op.Unsqueeze(strip_columns, [0]), op.Unsqueeze(piece_from, [1])),
                             op.Less(op.Unsqueeze(strip_columns, [0]), op.Unsqueeze(piece_to, [1]))),
                      op.Unsqueeze(inked, [0]))
    width_f = op.Cast(strip_width, to=FLOAT.dtype)
    first = op.ReduceMin(op.Where(in_piece, op.Unsqueeze(strip_columns, [0]), width_f), [1], keepdims=0)
    last = op.ReduceMax(op.Where(in_piece, op.Unsqueeze(strip_columns, [0]), -1.0), [1], keepdims=0)
    has_ink = op.LessOrEqual(first, last)
    first = op.Where(has_ink, first, op.Floor(centres))
    last = op.Where(has_ink, last, op.Floor(centres))
    # To the input's pixels: the left edge of the first column, the right edge of the last.
    x0 = op.Floor(op.Add(number_columns(op.Sub(first, 0.5), strip_width, box), 0.5))
    x1 = op.Ceil(op.Add(number_columns(op.Add(last, 0.5), strip_width, box), 0.5))
    left = op.Cast(op.Slice(box, [1], [2]), to=FLOAT.dtype)
    right = op.Cast(op.Slice(box, [3], [4]), to=FLOAT.dtype)
    x0 = op.Cast(op.Max(x0, left), to=INT64.dtype)
    x1 = op.Cast(op.Min(x1, right), to=INT64.dtype)
    rows = op.Expand(op.Unsqueeze(op.Slice(box, [0], [1]), [0]), op.Concat(op.Reshape(count, [1]), [1], axis=0))
    bottoms = op.Expand(op.Unsqueeze(op.Slice(box, [2], [3]), [0]), op.Concat(op.Reshape(count, [1]), [1], axis=0))
    boxes = op.Concat(op.Unsqueeze(x0, [1]), rows, op.Unsqueeze(x1, [1]), bottoms, axis=1)
    # The rule.
    with_one = op.Concat(probabilities, op.Constant(value_floats=[1.0]), axis=0)
    nothing_read = op.Equal(count, op.Constant(value_int=0))
    number_probability = op.Where(nothing_read, op.Constant(value_float=0.0), op.ReduceProd(with_one, keepdims=0))
    unsure = op.Less(op.ReduceMin(with_one, keepdims=0), min_probability)
    rejected = op.Or(op.Or(no_number, nothing_read), unsure)
    return digits, probabilities, boxes, number_probability, rejected
