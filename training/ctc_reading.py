"""CTC's greedy reading (Graves et al. 2006), written once as an ONNX function: the best class in
each column, a run of one digit is one digit, a blank separates two, blanks are dropped.
number.onnx runs digit_runs in its graph (export/number_reading.py); training's validation runs the
same function as a graph of its own in onnxruntime (greedy_decode)."""

from functools import cache

import numpy as np
import onnxruntime
import torch
from onnxscript import BOOL, INT64, script
from onnxscript import opset18 as op

from .number_strings import BLANK

BLANK_LABEL = np.array([BLANK], np.int64)


@script()
def digit_runs(best: INT64[None]) -> tuple[BOOL[None], INT64[None], BOOL[None]]:
    """(written, run, starts) per column of the best classes: a digit is read there; which digit
    (0, 1, ...) it belongs to; a digit starts there (a digit that is not the previous column's)."""
    previous = op.Concat(BLANK_LABEL, op.Slice(best, [0], [-1]), axis=0)
    written = op.Not(op.Equal(best, BLANK_LABEL))
    starts = op.And(written, op.Not(op.Equal(best, previous)))
    run = op.Sub(op.CumSum(op.Cast(starts, to=INT64.dtype), op.Constant(value_int=0)), 1)
    return written, run, starts


@cache
def _digit_runs_session() -> onnxruntime.InferenceSession:
    """digit_runs as a model of its own, opened once (onnxscript's eager mode runs the same function,
    but onnxruntime prints warnings for the one-op models it makes)."""
    options = onnxruntime.SessionOptions()
    options.log_severity_level = 3  # errors only
    options.intra_op_num_threads = 1  # a few thousand numbers: one thread, beside training's own
    return onnxruntime.InferenceSession(digit_runs.to_model_proto().SerializeToString(), options,
                                        providers=["CPUExecutionProvider"])


def greedy_decode(log_probs: torch.Tensor, lengths: torch.Tensor) -> list[list[tuple[int, int, int]]]:
    """digit_runs on [T, N, 11] scores: per strip, the digits as (digit, first column, last column)
    in output columns, each strip read to its length. The strips' best classes are laid end to end,
    a blank after each, so that one run of the graph reads them all and no run crosses two strips."""
    best = log_probs.argmax(2).T.numpy()  # [N, T]
    lengths = [min(int(length), best.shape[1]) for length in lengths]  # (never more columns than there are)
    if not lengths:
        return []
    sequence = np.concatenate([part for n, length in enumerate(lengths) for part in (best[n, :length], BLANK_LABEL)])
    session = _digit_runs_session()
    written, _, starts = session.run(None, {session.get_inputs()[0].name: sequence.astype(np.int64)})
    strips = np.repeat(np.arange(len(lengths)), np.array(lengths, np.int64) + 1)
    columns = np.concatenate([np.arange(length + 1) for length in lengths])
    numbers = [[] for _ in lengths]
    for at in np.flatnonzero(written):
        digits, column = numbers[strips[at]], int(columns[at])
        if starts[at]:
            digits.append((int(sequence[at]), column, column))
        else:
            digits[-1] = (digits[-1][0], digits[-1][1], column)
    return numbers
