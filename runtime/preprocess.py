"""Bring a user's image into MNIST form: bright ink on black, digit scaled into a 20 px box,
placed in 28x28 by its centre of mass. numpy and Pillow only.

The steps, in order (see `to_mnist_form`):
 1. EXIF orientation        5. background suppression (paper, grid lines, shadows)
 2. alpha compositing       6. crop to the digit at full resolution
 3. grayscale               7. longest side to `digit_box` px, anti-aliased, aspect kept
 4. polarity                8. place in `canvas` x `canvas` by centre of mass
The sizes come from the model's metadata (`preprocessing`), not from constants here.
"""

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from .images import ImageError, NoDigitFound
from .morphology import box_mean, otsu_threshold, reconstruct, run_lengths, square_filter, window_rows

WORK_SIZE = 128  # the paper's brightness is estimated on a copy at most this many pixels across
OPENING_FRACTION = 0.3  # ... with a filter at least this fraction of the image wide
OPENING_STROKES = 4  # ... and at least this many times the strokes' measured width;
FLAT_FRACTION = 0.35  # a window wider than this fraction of the image: the paper is one level
POLARITY_MARGIN = 1.5  # polarity: the detail's evidence is clear at this ratio either way
POLARITY_RADIUS = 0.2  # ... the detail is the image minus its mean over this fraction of it
BORDER_MARGIN = 2  # else the border this many times nearer one end of the range: the paper's side
MIN_CONTRAST = 0.05  # ink must stand out from the background by this much (of full scale) ...
NOISE_CONTRAST = 8  # ... and by this many times the pixel noise
NOISE_TARGET = 0.04  # noise above this fraction of the contrast is averaged out (box filter)
INK_THRESHOLD = 0.45  # after scaling the ink to 1: a clear stroke; paper texture and grid lines are fainter
FAINT_INK = 0.08  # fainter ink is kept where it is connected to clear strokes ...
NOISE_FAINT = 5  # ... if it is also this many times the noise
EDGE_PX = 2  # pixels next to a kept stroke are its anti-aliased edge and are kept
LINE_THRESHOLD = 0.12  # printed lines are looked for among pixels at least this bright
LINE_LENGTH = 0.9  # a straight run across this fraction of the image may be a printed line ...
LINE_GAP = 2  # (gaps of up to 2 x this many pixels, noise or JPEG, do not break a run)
LINE_FAINTER = 0.75  # ... and is one if thinner than the strokes and fainter than this times them,
LINE_REPEATS = 3  # or thinner and one of this many parallel runs, or if it continues past the digit
LINE_PAST = 0.05  # on both sides, by two stroke widths and this fraction of the image
MIN_INK_PIXELS = 4
MAX_WORK_PIXELS = 4_000_000  # larger images are area-averaged down to this first


@dataclass(frozen=True)
class Form:
    canvas: int = 28
    digit_box: int = 20

    @classmethod
    def from_metadata(cls, preprocessing: dict) -> "Form":
        return cls(canvas=int(preprocessing["canvas"]), digit_box=int(preprocessing["digit_box"]))


# --- 1-3: orientation, alpha, grayscale -> float32 in [0, 1] ---

def _usable_mode(image: Image.Image) -> Image.Image:
    """One of the modes the steps below handle: L, RGB, RGBA-like, I (16-bit and 32-bit) or F.
    Palette images keep their transparency as RGBA; CMYK, YCbCr and the like become RGB."""
    if image.mode == "P":
        return image.convert("RGBA" if "transparency" in image.info else "RGB")
    if image.mode == "1":
        return image.convert("L")
    if image.mode.startswith("I;16"):
        return image.convert("I")
    if image.mode not in ("L", "RGB", "RGBA", "LA", "PA", "La", "RGBa", "I", "F"):
        return image.convert("RGB")
    return image


def _limit_size(image: Image.Image) -> Image.Image:
    """Images over MAX_WORK_PIXELS are area-averaged down to it (by an integer factor) before any
    pixel becomes a float: the output is 20 px, and full-size float copies of a 48 MP photo would
    not fit a small device's memory. 4 MP still gives a digit 1% of the photo's width ~17 px."""
    factor = math.ceil(math.sqrt(image.width * image.height / MAX_WORK_PIXELS))
    return image.reduce(factor) if factor > 1 else image


def _grayscale(image: Image.Image) -> np.ndarray:
    image = _limit_size(_usable_mode(ImageOps.exif_transpose(image)))
    if image.mode == "I":  # 16-bit (or 32-bit) grayscale
        pixels = np.asarray(image, dtype=np.float32)
        return np.clip(pixels / (65535.0 if pixels.max() > 255 else 255.0), 0, 1)
    if image.mode == "F":
        pixels = np.asarray(image, dtype=np.float32)
        top = pixels.max()
        return np.clip(pixels / top if top > 1 else pixels, 0, 1)
    if image.mode in ("RGBA", "LA", "PA", "La", "RGBa"):
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        gray = rgba[..., :3] @ np.array([0.299, 0.587, 0.114], dtype=np.float32)
        if alpha.min() < 1.0:
            # Transparent pixels take the background that makes the opaque strokes stand out:
            # white behind dark strokes, black behind light ones.
            opaque = alpha >= 0.5 * alpha.max()  # the strokes, even when drawn semi-transparent
            strokes_are_dark = opaque.any() and _percentiles(gray[opaque], 50)[0] < 0.5
            background = 1.0 if strokes_are_dark else 0.0
            gray = gray * alpha + background * (1.0 - alpha)
        return gray
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


def _percentiles(values: np.ndarray, *qs: float) -> list[float]:
    """np.percentile's "nearest" values by partial sort: a fraction of its cost on small images."""
    flat = values.ravel()
    ranks = [min(len(flat) - 1, round(q / 100 * (len(flat) - 1))) for q in qs]
    part = np.partition(flat, ranks)
    return [float(part[r]) for r in ranks]


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
    darkest, brightest = _percentiles(detail, 0.5, 99.5)
    return -darkest / max(brightest, 1e-6)


def _make_ink_bright(gray: np.ndarray) -> np.ndarray:
    """MNIST has bright ink on black. On paper with light and shade (a border that is not one flat
    level), the detail decides when it is clear (POLARITY_MARGIN either way). Otherwise the border,
    which is mostly background: if it is BORDER_MARGIN times nearer the light end of the image's
    range than the dark end, the ink is dark, so invert; nearer the dark end, keep; between, the
    detail's side."""
    height, width = gray.shape
    margin = max(1, min(height, width) // 20)
    border = np.concatenate([gray[:margin].ravel(), gray[-margin:].ravel(), gray[:, :margin].ravel(), gray[:, -margin:].ravel()])
    low, high = _percentiles(gray, 1, 99)
    background = _percentiles(border, 50)[0]  # not np.median: it imports numpy.ma (12 ms)
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


def _background(ink: np.ndarray) -> tuple[np.ndarray, float]:
    """(the paper's own brightness, the strokes' width in px). The paper comes from a morphological
    opening (a minimum then a maximum filter), which erases what is narrower than its window and
    follows gradients and shadows. The window is OPENING_FRACTION of the image, and at least
    OPENING_STROKES times the strokes' width, measured on the ink that this first opening separates
    (Otsu's threshold). A window over FLAT_FRACTION of the image has no paper around the ink to
    follow (a tight crop): the paper is then one level, the median of the pixels that are not ink.
    Done on a copy at most WORK_SIZE px across, then scaled back up."""
    height, width = ink.shape
    small, scale = _work_copy(ink)
    size = small.shape[::-1]
    kernel = max(3, int(OPENING_FRACTION * max(size)) | 1)
    paper = _opening(small, kernel)
    residual = small - paper
    top = float(residual.max())
    if top <= 0:
        return np.minimum(paper, ink) if scale == 1.0 else np.full_like(ink, float(small.min())), 0.0
    strokes = residual > otsu_threshold(residual / top) * top
    stroke_width = _stroke_width(strokes)
    needed = int(OPENING_STROKES * stroke_width) | 1
    if needed > FLAT_FRACTION * max(size):
        level = _percentiles(small[~strokes], 50)[0] if not strokes.all() else float(small.min())
        return np.minimum(ink, np.float32(level)), stroke_width / scale
    if needed > kernel:
        paper = _opening(small, needed)
    if scale < 1.0:
        paper = np.asarray(Image.fromarray(paper, mode="F").resize((width, height), Image.Resampling.BILINEAR))
    return np.minimum(paper, ink), stroke_width / scale


def _noise(ink: np.ndarray) -> float:
    """The standard deviation of the paper's pixel noise: the median difference between neighbours
    that are both paper (below Otsu's threshold), across rows and down columns, the smaller of the
    two (noise has no direction; the edges of strokes do). Every 4th row and column of large images."""
    step = 4 if ink.size > 40_000 else 1
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
            spreads.append(_percentiles(np.abs(values[:, 1:] - values[:, :-1])[both], 50)[0])
    return 1.4826 / math.sqrt(2) * min(spreads) if spreads else 0.0


def _long_runs(faint: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
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
    horizontal = run_lengths(closed(faint, min(LINE_GAP, width // 25))) >= LINE_LENGTH * width
    vertical = run_lengths(closed(faint.T, min(LINE_GAP, height // 25))).T >= LINE_LENGTH * height
    return horizontal & faint, vertical & faint


def _ruled_lines(faint: np.ndarray) -> np.ndarray:
    """Pixels on straight horizontal or vertical runs across nearly the whole image: candidates for
    printed lines (`_printed_lines` decides which are)."""
    horizontal, vertical = _long_runs(faint)
    return horizontal | vertical


def _band(lines: np.ndarray, reach: int) -> np.ndarray:
    """Rows (a 1-D mask) within `reach` rows of a True one."""
    return window_rows(lines[:, None], 2 * reach + 1, np.maximum)[:, 0] if reach else lines


def _printed_lines(ink: np.ndarray, strong: np.ndarray, stroke_width: float) -> np.ndarray:
    """The long straight runs that are printed lines, by evidence, not by length alone. The rest of
    the digit is the clear ink farther than half a stroke from every run. A run is a line if it
    continues past the rest of the digit on both sides (by LINE_PAST); or if it is thinner than the strokes and
    either fainter than them or one of LINE_REPEATS or more parallel runs with paper between them.
    Runs with no other ink beside them are the digit (the bar of a 1 cropped tight)."""
    horizontal, vertical = _long_runs(ink >= LINE_THRESHOLD)
    lines = np.zeros_like(strong)
    if not (horizontal.any() or vertical.any()):
        return lines
    reach = max(1, round(stroke_width / 2))
    rest = strong & ~_band(horizontal.any(axis=1), reach)[:, None] & ~_band(vertical.any(axis=0), reach)[None, :]
    if not rest.any():
        return lines
    stroke_level = _percentiles(ink[rest], 50)[0]
    for runs, other, values, out in ((horizontal, rest, ink, lines), (vertical.T, rest.T, ink.T, lines.T)):
        rows = np.flatnonzero(runs.any(axis=1))
        if not len(rows):
            continue
        groups = np.split(rows, np.flatnonzero(np.diff(rows) > max(1, stroke_width)) + 1)
        inked = np.flatnonzero(other.any(axis=0))
        first, last = (inked[0], inked[-1]) if len(inked) else (runs.shape[1], -1)
        margin = max(2 * stroke_width, LINE_PAST * runs.shape[1])
        for group in groups:
            pixels = runs[group[0] : group[-1] + 1]
            cols = np.flatnonzero(pixels.any(axis=0))
            past = cols[0] < first - margin and cols[-1] > last + margin
            thinner = len(group) < stroke_width
            fainter = _percentiles(values[group[0] : group[-1] + 1][pixels], 50)[0] < LINE_FAINTER * stroke_level
            if past or (thinner and (fainter or len(groups) >= LINE_REPEATS)):
                out[group[0] : group[-1] + 1] |= pixels
    return lines


def _connected(strong: np.ndarray, faint: np.ndarray) -> np.ndarray:
    """The faint pixels connected to strong ones, with the strong ones. On images over 2 WORK_SIZE
    px, connectivity is followed on blocks of pixels (any pixel in a block counts)."""
    height, width = faint.shape
    factor = math.ceil(max(height, width) / (2 * WORK_SIZE))
    if factor == 1:
        return reconstruct(strong, faint)
    padded = (-height % factor, -width % factor)
    def pooled(mask):
        mask = np.pad(mask, ((0, padded[0]), (0, padded[1])))
        return mask.reshape(mask.shape[0] // factor, factor, mask.shape[1] // factor, factor).any(axis=(1, 3))
    kept = reconstruct(pooled(strong), pooled(faint))
    return np.repeat(np.repeat(kept, factor, axis=0), factor, axis=1)[:height, :width] & faint


def _suppress_background(ink: np.ndarray) -> np.ndarray:
    """Subtract the paper, smooth if the noise calls for it, scale the ink to 1, and keep only
    strokes: pixels at INK_THRESHOLD or above that are not on printed lines, with the fainter ink
    connected to them (a faint half of a loop), grown by EDGE_PX to keep the anti-aliased edges.
    Texture, grid lines and shadows away from the strokes become 0."""
    paper, stroke_width = _background(ink)
    ink = ink - paper
    sigma = _noise(ink)
    contrast = float(_percentiles(ink, 99.9)[0]) if ink.size > 1000 else float(ink.max())
    if sigma > NOISE_TARGET * contrast > 0:  # noise too strong for per-pixel decisions: average it out
        radius = min(math.ceil((sigma / (NOISE_TARGET * contrast) - 1) / 2), max(1, int(stroke_width / 3)))
        ink, sigma = box_mean(ink, radius), sigma / (2 * radius + 1)
        contrast = float(_percentiles(ink, 99.9)[0]) if ink.size > 1000 else float(ink.max())
    if contrast < max(MIN_CONTRAST, NOISE_CONTRAST * sigma):
        raise NoDigitFound()
    ink = np.clip(ink / contrast, 0.0, 1.0)
    strong = ink >= INK_THRESHOLD
    faint = ink >= max(FAINT_INK, NOISE_FAINT * sigma / contrast)
    lines = _printed_lines(ink, strong, stroke_width)
    strong &= ~lines
    near_strokes = square_filter(strong, 2 * EDGE_PX + 1, np.maximum)
    if (faint & ~near_strokes).any():
        near_strokes = square_filter(_connected(strong, faint & ~lines), 2 * EDGE_PX + 1, np.maximum)
    ink[~near_strokes] = 0.0
    return ink


# --- 6: crop ---

def _crop_to_ink(ink: np.ndarray) -> np.ndarray:
    """The ink's bounding box. Its core holds all but 0.2% of the ink's mass on each side; it then
    grows back over every adjacent inked row and column, so strokes keep their ends while specks
    separated from the digit by clean paper stay outside."""
    if np.count_nonzero(ink) < MIN_INK_PIXELS:
        raise NoDigitFound()
    bounds = []
    for axis in (1, 0):
        mass = ink.sum(axis=axis, dtype=np.float64)
        cumulative = np.cumsum(mass) / mass.sum()
        first = int(np.searchsorted(cumulative, 0.002, side="right"))
        last = int(np.searchsorted(cumulative, 0.998, side="left"))
        while first > 0 and mass[first - 1] > 0:
            first -= 1
        while last + 1 < len(mass) and mass[last + 1] > 0:
            last += 1
        bounds.append((first, last + 1))
    (top, bottom), (left, right) = bounds
    return ink[top:bottom, left:right]


# --- 7-8: scale and place ---

def _scale_into_box(digit: np.ndarray, box: int) -> np.ndarray:
    height, width = digit.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    if size == (width, height):
        return digit
    resized = Image.fromarray(digit, mode="F").resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    return np.clip(np.asarray(resized), 0.0, 1.0)


def _place_by_centre_of_mass(digit: np.ndarray, canvas: int) -> np.ndarray:
    height, width = digit.shape
    row_mass, col_mass = digit.sum(axis=1), digit.sum(axis=0)
    total = row_mass.sum()
    centre_row = float(row_mass @ np.arange(height)) / total
    centre_col = float(col_mass @ np.arange(width)) / total
    # Integer placement, as MNIST did, kept inside the canvas.
    top = min(max(round(canvas / 2 - centre_row), 0), canvas - height)
    left = min(max(round(canvas / 2 - centre_col), 0), canvas - width)
    out = np.zeros((canvas, canvas), dtype=np.float32)
    out[top : top + height, left : left + width] = digit
    return out


def clean_ink(image: Image.Image | np.ndarray) -> np.ndarray:
    """Steps 1-5: the image as bright ink on black, background removed, in the image's own frame
    (after any reduction of a very large photo). NoDigitFound if no ink stands out."""
    if isinstance(image, np.ndarray):
        image = array_to_image(image)
    return _suppress_background(_make_ink_bright(_grayscale(image)))


def ink_to_form(ink: np.ndarray, form: Form = Form()) -> np.ndarray:
    """Steps 6-8: cleaned ink -> [canvas, canvas], the digit in its box, placed by centre of mass."""
    digit = _crop_to_ink(ink)
    return _place_by_centre_of_mass(_scale_into_box(digit, form.digit_box), form.canvas)


def to_mnist_form(image: Image.Image | np.ndarray, form: Form = Form()) -> np.ndarray:
    """[canvas, canvas] float32 in [0, 1], bright digit on black; NoDigitFound for an empty image."""
    return ink_to_form(clean_ink(image), form)


def array_to_image(array: np.ndarray) -> Image.Image:
    """A 2-D grayscale or H x W x 3/4 colour array (uint8 0-255, or float 0-1) as a PIL image."""
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)):
        raise ImageError(f"an array image must be H x W or H x W x 3/4, not shape {array.shape}")
    if array.dtype != np.uint8:
        array = np.clip(np.asarray(array, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(array)
