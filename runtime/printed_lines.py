"""Step 5's printed lines: which long straight runs of faint pixels are the ruling or grid of the
paper, by evidence, and where strokes cross them. The rules: docs/PREPROCESSING.md, rule 5.
"""

import numpy as np

from .morphology import percentiles, run_lengths, window_rows

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


def long_runs(faint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(horizontal, vertical): pixels on straight runs across LINE_LENGTH of the image, gaps of up
    to 2 x LINE_GAP px (noise, JPEG) bridged; the gap shrinks on small images (1 px per 25)."""
    def closed(mask, gap):  # morphological closing along each row
        size = 2 * gap + 1
        return window_rows(window_rows(mask.T, size, np.maximum), size, np.minimum).T if gap else mask

    none = np.zeros_like(faint)
    # A closed run stays within LINE_GAP px of the faint pixels at its ends. If the faint pixels'
    # bounding box cannot hold a line in either direction (an MNIST-like digit, 20 px in 28), no
    # run can be long enough: skip the search, which is most of the time spent on small images.
    rows, cols = np.flatnonzero(faint.any(axis=1)), np.flatnonzero(faint.any(axis=0))
    if not len(rows) or (cols[-1] - cols[0] + 1 + 2 * LINE_GAP < LINE_LENGTH * faint.shape[1]
                         and rows[-1] - rows[0] + 1 + 2 * LINE_GAP < LINE_LENGTH * faint.shape[0]):
        return none, none
    height, width = faint.shape
    horizontal = _long_rows(closed(faint, min(LINE_GAP, width // LINE_GAP_PER)), LINE_LENGTH * width)
    vertical = _long_rows(closed(faint.T, min(LINE_GAP, height // LINE_GAP_PER)), LINE_LENGTH * height).T
    return horizontal & faint, vertical & faint


def _long_rows(mask: np.ndarray, length: float) -> np.ndarray:
    """The pixels of `mask` on horizontal runs of at least `length`. Only rows with that many
    pixels can hold one, and on a photo few do: the run lengths are measured on those rows alone."""
    out = np.zeros_like(mask)
    rows = np.flatnonzero(np.count_nonzero(mask, axis=1) >= length)
    if len(rows):
        out[rows] = run_lengths(mask[rows]) >= length
    return out


def ruled_lines(faint: np.ndarray) -> np.ndarray:
    """Pixels on straight horizontal or vertical runs across nearly the whole image: candidates for
    printed lines (`printed_lines` decides which are)."""
    horizontal, vertical = long_runs(faint)
    return horizontal | vertical


def _band(lines: np.ndarray, reach: int) -> np.ndarray:
    """Rows (a 1-D mask) within `reach` rows of a True one."""
    return window_rows(lines[:, None], 2 * reach + 1, np.maximum)[:, 0] if reach else lines


def printed_lines(ink: np.ndarray, strong: np.ndarray, stroke_width: float, faint_level: float) -> np.ndarray:
    """The long straight runs that are printed lines, by evidence, not by length alone. Runs are
    looked for among pixels at LINE_THRESHOLD, or at faint_level if that is lower. The rest of the
    digit is the clear ink off the runs' rows and columns (and LINE_SIDE beside them). A run is a line if it
    continues past the rest of the digit on both sides (by LINE_PAST); or if it is thinner than the strokes and
    either fainter than them or one of LINE_REPEATS or more parallel runs with paper between them.
    Runs with no other ink beside them are the digit (the bar of a 1 cropped tight)."""
    horizontal, vertical = long_runs(ink >= min(LINE_THRESHOLD, faint_level))
    lines = np.zeros_like(strong)
    if not (horizontal.any() or vertical.any()):
        return lines
    rest = strong & ~_band(horizontal.any(axis=1), LINE_SIDE)[:, None] & ~_band(vertical.any(axis=0), LINE_SIDE)[None, :]
    if not rest.any():
        return lines
    stroke_level = percentiles(ink[rest], 50)[0]
    for runs, other, values, out in ((horizontal, rest, ink, lines), (vertical.T, rest.T, ink.T, lines.T)):
        rows = np.flatnonzero(runs.any(axis=1))
        if not len(rows):
            continue
        groups = np.split(rows, np.flatnonzero(np.diff(rows) > LINE_ROWS_GAP) + 1)
        inked = np.flatnonzero(other.any(axis=0))
        first, last = (inked[0], inked[-1]) if len(inked) else (runs.shape[1], -1)
        margin = max(2 * stroke_width, LINE_PAST * runs.shape[1])
        for group in groups:
            pixels = runs[group[0] : group[-1] + 1]
            cols = np.flatnonzero(pixels.any(axis=0))
            past = cols[0] < first - margin and cols[-1] > last + margin
            thinner = len(group) < stroke_width
            fainter = percentiles(values[group[0] : group[-1] + 1][pixels], 50)[0] < LINE_FAINTER * stroke_level
            if past or (thinner and (fainter or len(groups) >= LINE_REPEATS)):
                out[group[0] : group[-1] + 1] |= pixels
    return lines


def crossings(strokes: np.ndarray, reach: int) -> np.ndarray:
    """Where a stroke crosses a printed line: pixels with stroke ink within `reach` px on both
    sides, above and below or left and right. Those stay ink when the line is removed."""
    def between(mask):  # rows with mask within reach above and within reach below
        above, below = np.zeros_like(mask), np.zeros_like(mask)
        for step in range(1, reach + 1):
            above[step:] |= mask[:-step]
            below[:-step] |= mask[step:]
        return above & below
    return between(strokes) | between(strokes.T).T
