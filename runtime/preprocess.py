"""Bring a user's image into MNIST form: bright ink on black, digit scaled into a 20 px box,
placed in 28x28 by its centre of mass. numpy and Pillow only.

The steps, in order (see `to_mnist_form`):
 1. EXIF orientation        5. background suppression (paper, grid lines, shadows)
 2. alpha compositing       6. crop to the digit at full resolution
 3. grayscale               7. longest side to `digit_box` px, anti-aliased, aspect kept
 4. polarity                8. place in `canvas` x `canvas` by centre of mass
Steps 4-5 are in cleaning.py (rules: docs/PREPROCESSING.md).
The sizes come from the model's metadata (`preprocessing`), not from constants here.
"""

import math
from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageOps

from .arrays import image_from_array
from .cleaning import _make_ink_bright, _suppress_background
from .images import NoDigitFound
from .morphology import percentiles

MIN_INK_PIXELS = 4
MAX_WORK_PIXELS = 4_000_000  # larger images are area-averaged down to this first
CROP_MASS = 0.002  # the crop's core keeps all but this fraction of the ink's mass on each side
REDUCING_GAP = 3.0  # the scale to the digit box: Pillow's LANCZOS with this reducing_gap
GRAY_WEIGHTS = (0.299, 0.587, 0.114)  # ITU-R 601 luma: colour -> gray


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
        image = image.convert("RGBA")
        if image.getchannel("A").getextrema()[0] == 255:  # opaque: gray as for RGB files, one rule
            return np.asarray(image.convert("L"), dtype=np.float32) / 255.0
        rgba = np.asarray(image, dtype=np.float32) / 255.0
        alpha = rgba[..., 3]
        gray = rgba[..., :3] @ np.array(GRAY_WEIGHTS, dtype=np.float32)
        # Transparent pixels take the background that makes the opaque strokes stand out:
        # white behind dark strokes, black behind light ones.
        opaque = alpha >= 0.5 * alpha.max()  # the strokes, even when drawn semi-transparent
        strokes_are_dark = opaque.any() and percentiles(gray[opaque], 50)[0] < 0.5
        background = 1.0 if strokes_are_dark else 0.0
        return gray * alpha + background * (1.0 - alpha)
    return np.asarray(image.convert("L"), dtype=np.float32) / 255.0


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
        first = int(np.searchsorted(cumulative, CROP_MASS, side="right"))
        last = int(np.searchsorted(cumulative, 1 - CROP_MASS, side="left"))
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
    resized = Image.fromarray(digit, mode="F").resize(size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
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
        image = image_from_array(image)
    return _suppress_background(_make_ink_bright(_grayscale(image)))


def ink_to_form(ink: np.ndarray, form: Form = Form()) -> np.ndarray:
    """Steps 6-8: cleaned ink -> [canvas, canvas], the digit in its box, placed by centre of mass."""
    digit = _crop_to_ink(ink)
    return _place_by_centre_of_mass(_scale_into_box(digit, form.digit_box), form.canvas)


def to_mnist_form(image: Image.Image | np.ndarray, form: Form = Form()) -> np.ndarray:
    """[canvas, canvas] float32 in [0, 1], bright digit on black; NoDigitFound for an empty image."""
    return ink_to_form(clean_ink(image), form)
