"""numpy arrays as images: the one rule for what an array image may be and what its numbers mean.

An array image is H x W (grayscale) or H x W x 3/4 (RGB, RGBA), not empty. Integers of any width
are levels 0-255, floats are 0-1 (clipped), bools are Pillow's 1-bit mode (True white).
"""

import numpy as np
from PIL import Image

from .images import ImageError

KINDS = "biuf"  # numpy dtype kinds an array image may have: bool, integers, floats


def image_from_array(array: np.ndarray) -> Image.Image:
    """The array as a PIL image (L, RGB or RGBA), or ImageError saying which rule it breaks."""
    if array.dtype.kind not in KINDS:
        raise ImageError(f"an array image must hold numbers, not {array.dtype}")
    if array.ndim not in (2, 3) or (array.ndim == 3 and array.shape[2] not in (3, 4)) or 0 in array.shape:
        raise ImageError(f"an array image must be H x W or H x W x 3/4 (not empty), not shape {array.shape}")
    if array.dtype.kind == "b":
        array = array.astype(np.uint8) * np.uint8(255)
    elif array.dtype.kind in "iu" and array.dtype != np.uint8:
        low, high = int(array.min()), int(array.max())
        if low < 0 or high > 255:
            raise ImageError(f"an integer array image holds {low}..{high}; integers must be 0-255 (floats 0-1)")
        array = array.astype(np.uint8)
    elif array.dtype.kind == "f":
        if not np.isfinite(array).all():
            raise ImageError("an array image holds NaN or infinity")
        array = np.clip(np.asarray(array, dtype=np.float32) * 255.0 + 0.5, 0, 255).astype(np.uint8)
    return Image.fromarray(array)
