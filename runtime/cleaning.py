"""Steps 4-5 of the preprocessing: polarity, then what is ink and what is paper, shading, noise
and printed lines (printed_lines.py). The rules and a picture of each kind of input: docs/PREPROCESSING.md.
"""

import math

import numpy as np
from PIL import Image

from .images import NoDigitFound
from .morphology import box_mean, otsu_threshold, percentiles, rank, reconstruct, square_filter
from .printed_lines import CROSSING_MIN_PX, CROSSING_REACH, crossings, printed_lines

WORK_SIZE = 128  # the paper's brightness is estimated on a copy at most this many pixels across
OPENING_FRACTION = 0.3  # ... with a filter at least this fraction of the image wide
OPENING_STROKES = 4  # ... and at least this many times the strokes' measured width;
FLAT_FRACTION = 0.35  # a window wider than this fraction of the image: the paper is one level
POLARITY_MARGIN = 1.5  # polarity: the detail's evidence is clear at this ratio either way
POLARITY_RADIUS = 0.2  # ... the detail is the image minus its mean over this fraction of it
BORDER_FRACTION = 20  # the border: the pixels within 1/20 of the shorter side (at least 1) of each edge
BORDER_MARGIN = 2  # else the border this many times nearer one end of the range: the paper's side
CONTRAST_PERCENTILE = 99.9  # the ink's level: this percentile of the image, paper subtracted ...
SMALL_IMAGE = 1000  # ... or the maximum, on images of this many pixels or fewer
NOISE_STEP, NOISE_STEP_FROM = 4, 40_000  # the noise is measured on every 4th row and column of larger images
MEDIAN_TO_SIGMA = 1.4826 / math.sqrt(2)  # a Gaussian's sigma from the median |difference| of neighbours
MIN_CONTRAST = 0.05  # ink must stand out from the background by this much (of full scale) ...
NOISE_CONTRAST = 8  # ... and by this many times the pixel noise
NOISE_TARGET = 0.04  # noise above this fraction of the contrast is averaged out (box filter)
INK_THRESHOLD = 0.45  # after scaling the ink to 1: a clear stroke; paper texture and grid lines are fainter
FAINT_INK = 0.08  # fainter ink is kept where it is connected to clear strokes ...
NOISE_FAINT = 5  # ... if it is also this many times the noise
WIDE_FAINT = 2  # ... unless it lies in a faint area wider than this many stroke widths (shading)
EDGE_PX = 2  # pixels next to a kept stroke are its anti-aliased edge and are kept
# --- 4: polarity ---

def _work_copy(image: np.ndarray) -> tuple[np.ndarray, float]:
    """(a copy at most WORK_SIZE px across, area-averaged, and its scale) for estimates that need
    no detail: the paper's brightness, the polarity."""
    height, width = image.shape
    scale = min(1.0, WORK_SIZE / max(height, width))
    if scale == 1.0:
        return image, scale
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return np.asarray(Image.fromarray(image, mode="F").resize(size, Image.Resampling.BOX)), scale


def _opening(image: np.ndarray, size: int) -> np.ndarray:
    return square_filter(square_filter(image, size, np.minimum), size, np.maximum)


def _dark_ink_evidence(gray: np.ndarray) -> float:
    """How much farther the image's detail (the image minus its mean over POLARITY_RADIUS of it)
    reaches down than up: shading steps reach as far both ways, strokes far to the ink's side only.
    Over 1: dark ink."""
    small, _ = _work_copy(gray)
    detail = small - box_mean(small, max(1, round(POLARITY_RADIUS * max(small.shape))))
    darkest, brightest = percentiles(detail, 0.5, 99.5)
    return -darkest / max(brightest, 1e-6)


def _make_ink_bright(gray: np.ndarray) -> np.ndarray:
    """MNIST has bright ink on black. On paper with light and shade (a border that is not one flat
    level), the detail decides when it is clear (POLARITY_MARGIN either way). Otherwise the border,
    which is mostly background: if it is BORDER_MARGIN times nearer the light end of the image's
    range than the dark end, the ink is dark, so invert; nearer the dark end, keep; between, the
    detail's side."""
    height, width = gray.shape
    margin = max(1, min(height, width) // BORDER_FRACTION)
    border = np.concatenate([gray[:margin].ravel(), gray[-margin:].ravel(), gray[:, :margin].ravel(), gray[:, -margin:].ravel()])
    low, high = percentiles(gray, 1, 99)
    background = percentiles(border, 50)[0]  # not np.median: it imports numpy.ma (12 ms)
    evidence = None
    if 2 * np.count_nonzero(np.abs(border - background) <= 1 / 255) < border.size:  # shaded or noisy paper
        evidence = _dark_ink_evidence(gray)
        if evidence > POLARITY_MARGIN or evidence * POLARITY_MARGIN < 1:
            return 1.0 - gray if evidence > 1 else gray
    to_dark, to_light = background - low, high - background
    if to_dark > BORDER_MARGIN * to_light:
        return 1.0 - gray
    if to_light > BORDER_MARGIN * to_dark:
        return gray
    evidence = _dark_ink_evidence(gray) if evidence is None else evidence
    return 1.0 - gray if evidence > 1 else gray


# --- 5: background suppression (rules and pictures: docs/PREPROCESSING.md) ---

def _stroke_width(strokes: np.ndarray) -> float:
    """The strokes' mean width in a binary mask: twice the area over the length of the boundary
    (a stroke of length L and width w has area w L and two long edges). Diagonal edges count up to
    1.4x too long, so a diagonal stroke measures up to 1.4x thinner."""
    area = np.count_nonzero(strokes)
    edges = (np.count_nonzero(strokes[:, 1:] != strokes[:, :-1]) + np.count_nonzero(strokes[1:] != strokes[:-1])
             + np.count_nonzero(strokes[0]) + np.count_nonzero(strokes[-1])
             + np.count_nonzero(strokes[:, 0]) + np.count_nonzero(strokes[:, -1]))
    return 2.0 * area / max(edges, 1)


def _flat_paper(ink: np.ndarray) -> float | None:
    """The paper's level if the border is flat paper (half its pixels within 1/255 of its median,
    as in digital images and clean scans), capped by the image's 10th percentile (ink on the border
    of a tight crop must not pass for paper); None otherwise."""
    margin = max(1, min(ink.shape) // BORDER_FRACTION)
    border = np.concatenate([ink[:margin].ravel(), ink[-margin:].ravel(), ink[:, :margin].ravel(), ink[:, -margin:].ravel()])
    level = percentiles(border, 50)[0]
    if 2 * np.count_nonzero(np.abs(border - level) <= 1 / 255) < border.size:
        return None
    if np.count_nonzero(ink < level) <= rank(ink.size, 10):  # the 10th percentile is >= level
        return level  # (counting is cheaper than a partial sort)
    return min(level, percentiles(ink, 10)[0])


def _background(ink: np.ndarray) -> tuple[np.ndarray, float, bool]:
    """(the paper's own brightness, the strokes' width in px, whether the paper follows shading:
    False where it is one level). The paper comes from a morphological
    opening (a minimum then a maximum filter), which erases what is narrower than its window and
    follows gradients and shadows. The window is OPENING_FRACTION of the image, and at least
    OPENING_STROKES times the strokes' width, measured on the ink that this first opening separates
    (Otsu's threshold). A window over FLAT_FRACTION of the image has no paper around the ink to
    follow (a tight crop): the paper is then one level, the median of the pixels that are not ink.
    Flat paper at the border (a digital image) is one level from the start. Done on a copy at most
    WORK_SIZE px across, then scaled back up."""
    height, width = ink.shape
    level = _flat_paper(ink)
    if level is not None:  # digital paper: one level, no opening needed
        return np.minimum(ink, np.float32(level)), _stroke_width(ink > (level + float(ink.max())) / 2), False
    small, scale = _work_copy(ink)
    size = small.shape[::-1]
    kernel = max(3, int(OPENING_FRACTION * max(size)) | 1)
    paper = _opening(small, kernel)
    residual = small - paper
    top = float(residual.max())
    if top <= 0:
        return np.minimum(paper, ink) if scale == 1.0 else np.full_like(ink, float(small.min())), 0.0, False
    strokes = residual > otsu_threshold(residual / top) * top
    stroke_width = _stroke_width(strokes)
    needed = int(OPENING_STROKES * stroke_width) | 1
    if needed > FLAT_FRACTION * max(size):
        level = percentiles(small[~strokes], 50)[0] if not strokes.all() else float(small.min())
        return np.minimum(ink, np.float32(level)), stroke_width / scale, False
    if needed > kernel:
        paper = _opening(small, needed)
    if scale < 1.0:
        paper = np.asarray(Image.fromarray(paper, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    return np.minimum(paper, ink), stroke_width / scale, True


def _noise(ink: np.ndarray) -> float:
    """The standard deviation of the paper's pixel noise: the median difference between neighbours
    that are both paper (below Otsu's threshold), across rows and down columns, the smaller of the
    two (noise has no direction; the edges of strokes do). Every 4th row and column of large images."""
    step = NOISE_STEP if ink.size > NOISE_STEP_FROM else 1
    top = float(ink.max())
    if top <= 0 or min(ink.shape) < 2 * step:
        return 0.0
    if 2 * np.count_nonzero(ink[::step, 1:] != ink[::step, :-1]) < ink[::step].size:
        return 0.0  # most neighbours are equal: digital paper, no noise (the median difference is 0)
    paper = ink <= otsu_threshold(ink[::step, ::step] / top) * top
    spreads = []
    for values, mask in ((ink[::step], paper[::step]), (ink[:, ::step].T, paper[:, ::step].T)):
        both = mask[:, 1:] & mask[:, :-1]
        if both.any():
            spreads.append(percentiles(np.abs(values[:, 1:] - values[:, :-1])[both], 50)[0])
    return MEDIAN_TO_SIGMA * min(spreads) if spreads else 0.0


def _block_counts(mask: np.ndarray, factor: int) -> np.ndarray:
    """How many pixels of `mask` each factor x factor block holds (blocks padded at the far edges)."""
    height, width = mask.shape
    padded = np.pad(mask, ((0, -height % factor), (0, -width % factor)))
    return padded.reshape(padded.shape[0] // factor, factor, padded.shape[1] // factor, factor).sum(axis=(1, 3), dtype=np.int32)


def _unblocked(blocks: np.ndarray, factor: int, shape: tuple[int, int]) -> np.ndarray:
    """Each block's value on its pixels, cropped to `shape`."""
    return np.repeat(np.repeat(blocks, factor, axis=0), factor, axis=1)[: shape[0], : shape[1]]


def _connected(strong: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """The faint pixels connected to strong ones, with the strong ones. On images over 2 WORK_SIZE
    px, connectivity is followed on blocks of pixels: a block is faint if a line's worth of its
    pixels is (`factor` of them: scattered noise does not bridge paper). Only the faint
    pixels' bounding box (widened to whole blocks) is searched: nothing outside it can connect."""
    height, width = faint.shape
    factor = math.ceil(max(height, width) / (2 * WORK_SIZE))
    rows, cols = np.flatnonzero(faint.any(axis=1)), np.flatnonzero(faint.any(axis=0))
    out = np.zeros_like(faint)
    if not len(rows):
        return out
    box = (slice(rows[0] // factor * factor, rows[-1] + 1), slice(cols[0] // factor * factor, cols[-1] + 1))
    strong, faint = strong[box], faint[box]
    if factor == 1:
        out[box] = reconstruct(strong, faint)
        return out
    kept = reconstruct(_block_counts(strong, factor) >= 1, _block_counts(faint, factor) >= factor)
    out[box] = _unblocked(kept, factor, faint.shape) & faint
    return out


def _wide_faint(faint: np.ndarray, stroke_width: float) -> np.ndarray:
    """Faint areas wider than WIDE_FAINT stroke widths: shading the paper's estimate missed (the
    edge of a shadow), not ink, however they touch the strokes. Found on blocks a quarter of a
    stroke wide, a block being faint where half its pixels are: speckled areas (noise around the
    threshold) count whole."""
    factor = max(1, int(stroke_width / 4))
    blocks = 2 * _block_counts(faint, factor) >= factor * factor
    size = int(WIDE_FAINT * stroke_width / factor) | 1
    wide = square_filter(square_filter(blocks, size, np.minimum), size, np.maximum)
    return _unblocked(wide, factor, faint.shape)


def _contrast(ink: np.ndarray) -> float:
    """The ink's level over the paper (which is 0 here): CONTRAST_PERCENTILE (the maximum on
    small images). Paper pixels are the lowest, so the rank is counted among the others only."""
    if ink.size <= SMALL_IMAGE:
        return float(ink.max())
    positive = ink[ink > 0]
    among_ink = rank(ink.size, CONTRAST_PERCENTILE) - (ink.size - positive.size)
    return float(np.partition(positive, among_ink)[among_ink]) if among_ink >= 0 else 0.0


def _suppress_background(ink: np.ndarray) -> np.ndarray:
    """Subtract the paper, smooth if the noise calls for it, scale the ink to 1, and keep only
    strokes: pixels at INK_THRESHOLD or above that are not on printed lines, with the fainter ink
    connected to them (a faint half of a loop), grown by EDGE_PX to keep the anti-aliased edges.
    Texture, grid lines and shadows away from the strokes become 0."""
    paper, stroke_width, shaded = _background(ink)
    ink = ink - paper
    sigma = _noise(ink)
    contrast = _contrast(ink)
    if sigma > NOISE_TARGET * contrast > 0:  # noise too strong for per-pixel decisions: average it out
        radius = min(math.ceil((sigma / (NOISE_TARGET * contrast) - 1) / 2), max(1, int(stroke_width / 3)))
        ink, sigma = box_mean(ink, radius), sigma / (2 * radius + 1)
        contrast = _contrast(ink)
    if contrast < max(MIN_CONTRAST, NOISE_CONTRAST * sigma):
        raise NoDigitFound()
    ink = np.clip(ink / contrast, 0.0, 1.0)
    strong = ink >= INK_THRESHOLD
    faint_level = max(FAINT_INK, NOISE_FAINT * sigma / contrast)
    faint = ink >= faint_level
    lines = printed_lines(ink, strong, stroke_width, faint_level)
    if lines.any():
        lines &= ~crossings(strong & ~lines, max(CROSSING_MIN_PX, round(stroke_width * CROSSING_REACH)))
    strong &= ~lines
    near_strokes = square_filter(strong, 2 * EDGE_PX + 1, np.maximum)
    if (faint & ~near_strokes).any():
        faint &= ~lines
        if shaded:  # where the paper follows shading, what it missed is wide and faint
            faint &= ~_wide_faint(faint & ~strong, stroke_width)
        near_strokes = square_filter(_connected(strong, faint), 2 * EDGE_PX + 1, np.maximum)
    ink[~near_strokes] = 0.0
    return ink
