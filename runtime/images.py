"""Opening users' image files safely: one clear error per problem, never a traceback.

Sizes are checked from the header, before any pixel is decoded, so a decompression bomb is refused
without being expanded.
"""

import io
import stat
import warnings
from pathlib import Path

from PIL import Image, UnidentifiedImageError

MAX_PIXELS = 64_000_000  # 8000 x 8000: any phone photo, far from a bomb
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".pgm", ".ppm", ".pbm"}


class ImageError(Exception):
    """An input that cannot be turned into a digit image. str() is the one-line reason."""


class NoDigitFound(ImageError):
    def __init__(self):
        super().__init__("no digit found (the image has no ink)")


def open_image(source: str | Path | bytes) -> Image.Image:
    """A decoded PIL image (first frame of an animation), or ImageError saying what is wrong."""
    if isinstance(source, bytes):
        if not source:
            raise ImageError("empty input (0 bytes)")
        stream = io.BytesIO(source)
    else:
        path = Path(source)
        try:
            info = path.stat()
        except FileNotFoundError:
            raise ImageError("no such file") from None
        except OSError as error:
            raise ImageError(f"cannot read: {error.strerror}") from None
        if stat.S_ISDIR(info.st_mode):
            raise ImageError("is a folder")
        if info.st_size == 0:
            raise ImageError("empty file (0 bytes)")
        stream = path
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(stream)
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageError(f"refused: more than {MAX_PIXELS / 1e6:.0f} megapixels (a decompression bomb?)") from None
    except UnidentifiedImageError:
        raise ImageError("not an image in a format we can read") from None
    except OSError as error:
        raise ImageError(f"cannot read: {error}") from None
    width, height = image.size
    if width * height > MAX_PIXELS:
        raise ImageError(f"refused: {width}x{height} is more than {MAX_PIXELS / 1e6:.0f} megapixels (a decompression bomb?)")
    if width == 0 or height == 0:
        raise ImageError(f"empty image ({width}x{height})")
    try:
        if getattr(image, "n_frames", 1) > 1:
            image.seek(0)  # an animation: the first frame is the picture
        image.load()
    except (OSError, SyntaxError, ValueError, EOFError) as error:
        raise ImageError(f"truncated or corrupt image data ({error})") from None
    return image
