"""Opening users' image files safely: one clear error per problem, never a traceback.

Whatever Pillow raises while identifying or decoding a file (OSError, ValueError, TypeError,
NotImplementedError, DecompressionBombError, MemoryError, ...) becomes an ImageError with one line.
Sizes are checked from the header, before any pixel is decoded, so a decompression bomb is refused
without being expanded; the limit is memory, not megapixels (see MAX_DECODED_BYTES).
"""

import functools
import importlib
import io
import math
import os
import stat
import struct
from pathlib import Path

from PIL import Image

from ..errors import first_line
from ..preprocessing import MAX_WORK_PIXELS

# An image is refused if its decoded pixels, at 4 bytes each (what Pillow stores per colour pixel
# and what the preprocessing converts to), would take more than this: 80 MB is 21 megapixels.
# With the preprocessing graph's working memory a process then stays under 340 MB (docs/PROMISES.md,
# "Memory, measured"). JPEG and JPEG 2000 files are decoded at a reduced scale first (towards the
# preprocessing's MAX_WORK_PIXELS), so a JPEG photo of any size a camera makes fits.
MAX_DECODED_BYTES = 80 * 2**20
BYTES_PER_PIXEL = 4
# WebP and AVIF decode into a buffer of their own, which Pillow then copies: three times the bytes
# (measured with tests/hostile_memory.py).
DECODER_COPIES = {"WEBP": 3, "AVIF": 3}
# Images decoded inside other files are held to the same limit when this is set: digit-classify
# sets it (one thread per process); the library leaves Pillow's process-wide setting alone.
guard_nested_images = False
MAX_STDIN_BYTES = 64 * 2**20  # image bytes on stdin are read into memory; more is refused
COMMON_FORMATS = ("PNG", "JPEG", "BMP", "GIF", "PPM")  # Pillow's preinit() set, tried first
# A .png or .jpg file tries its own format first, importing only that plugin: the common formats
# have distinct magic numbers, so which one takes a file does not depend on their order.
SUFFIX_FIRST = {".png": ("PNG", "PngImagePlugin"), ".jpg": ("JPEG", "JpegImagePlugin"), ".jpeg": ("JPEG", "JpegImagePlugin")}



@functools.cache
def other_formats() -> tuple[str, ...]:
    """Every other format Pillow reads, by name, after registering all its plugins (Image.init())."""
    Image.init()
    return tuple(sorted(set(Image.OPEN) - set(COMMON_FORMATS)))


@functools.cache
def image_suffixes() -> frozenset[str]:
    """What a folder run takes: every suffix Pillow registers for a format it can read (.png, .jpg,
    .tif, .webp, .ico, .tga, .dds, .fits, ...). Other files in a folder (notes, .DS_Store) are passed over."""
    other_formats()
    return frozenset(suffix for suffix, name in Image.registered_extensions().items()
                     if name in Image.OPEN or name == "MPO")  # (MPO files open as JPEG)


class ImageError(Exception):
    """An input that cannot be turned into a digit image. str() is the one-line reason."""


class NoDigitFound(ImageError):
    def __init__(self):
        super().__init__("no digit found (the image has no ink)")


def open_image(source: str | Path | bytes) -> Image.Image:
    """A decoded PIL image (first frame of an animation), or ImageError saying what is wrong."""
    suffix = "" if isinstance(source, (bytes, bytearray, memoryview)) else Path(os.fsdecode(source)).suffix.lower()
    with _stream(source) as stream:  # a file is opened once, here, and closed once its pixels are decoded
        return _decoded(stream, suffix)


def _decoded(stream, suffix: str) -> Image.Image:
    try:
        image = _identified(stream, suffix)
    except Image.UnidentifiedImageError:
        raise ImageError("not an image in a format we can read") from None
    except Image.DecompressionBombError:
        raise ImageError(f"refused: larger than {_limit_text()} decoded (a decompression bomb?)") from None
    except Exception as error:  # a plugin's parser meeting a corrupt header raises anything
        raise ImageError(f"cannot read: {first_line(error)}") from None
    try:
        return _decode(image)
    except ImageError:
        raise
    except Image.DecompressionBombError:  # an image inside the file (BLP, ICNS) over Pillow's limit
        raise ImageError("refused: an image inside it is too large to decode (a decompression bomb?)") from None
    except MemoryError:
        raise ImageError(f"refused: too large to decode in memory ({image.width}x{image.height})") from None
    except Exception as error:  # corrupt pixel data: OSError, ValueError, EOFError, TypeError, ...
        raise ImageError(f"truncated or corrupt image data ({first_line(error)})") from None


def _identified(stream, suffix: str) -> Image.Image:
    """Image.open, trying formats in one fixed order: the common ones, then all others by name.
    Pillow on its own tries the plugins imported so far first, so a loose one (TGA), once loaded,
    claimed .ico files: a file's answer depended on the files opened before it. The others are
    registered only when no common format takes the file, which keeps one photo's run fast."""
    if suffix in SUFFIX_FIRST:
        name, plugin = SUFFIX_FIRST[suffix]
        importlib.import_module(f"PIL.{plugin}")
        if (image := _opened_as(stream, name)) is not None:
            return image
    Image.preinit()
    for formats in (COMMON_FORMATS, other_formats()):
        try:
            return Image.open(stream, formats=formats)
        except Image.UnidentifiedImageError:
            stream.seek(0)
    raise Image.UnidentifiedImageError("no format takes it")


def _opened_as(stream, name: str) -> Image.Image | None:
    """Image.open(stream, formats=(name,)) for a format whose plugin is imported, or None if the
    file is not in it. Image.open itself runs Image.preinit() for a stream (it has no file name to
    choose a plugin by), which imports four more plugins, a few ms of a one-image run; this does
    what it does for one format: the format's test of the first 16 bytes, then its factory. An image
    over Pillow's decompression-bomb limit goes through Image.open, for its check and its error."""
    factory, accept = Image.OPEN[name]
    prefix = stream.read(16)
    stream.seek(0)
    if accept is not None and (isinstance(found := accept(prefix), str) or not found):
        return None
    try:
        image = factory(stream, "")
    except (SyntaxError, IndexError, TypeError, struct.error):  # what Image.open takes as "not this format"
        stream.seek(0)
        return None
    if Image.MAX_IMAGE_PIXELS is not None and image.width * image.height > Image.MAX_IMAGE_PIXELS:
        stream.seek(0)
        return Image.open(stream, formats=(name,))
    return image


# How a path is opened: never waiting, never taking a terminal, not inherited by child processes.
NONBLOCK = getattr(os, "O_NONBLOCK", 0)  # (not on Windows, where opening a path never waits on a pipe)
OPEN_FLAGS = os.O_RDONLY | NONBLOCK | getattr(os, "O_NOCTTY", 0) | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)
NOT_FILES = {stat.S_IFDIR: "is a folder", stat.S_IFIFO: "is a FIFO (named pipe), not a file",
             stat.S_IFSOCK: "is a socket, not a file", stat.S_IFCHR: "is a character device, not a file",
             stat.S_IFBLK: "is a block device, not a file"}


def _stream(source: str | Path | bytes) -> io.BytesIO | io.BufferedReader:
    """The bytes to decode: image bytes as a stream, or a path opened once, as what it is.

    The path is opened without waiting (O_NONBLOCK: opening a FIFO or a device never blocks) and
    without taking a terminal (O_NOCTTY); what was opened is checked on its descriptor (fstat), so
    a file that is swapped for a FIFO between a check and the opening cannot freeze the run; and
    the pixels are decoded from that descriptor, never from the path again."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        if not len(source):
            raise ImageError("empty input (0 bytes)")
        return io.BytesIO(source)
    try:
        descriptor = os.open(source, OPEN_FLAGS)
    except FileNotFoundError:
        raise ImageError("no such file") from None
    except IsADirectoryError:  # (Windows cannot open a folder)
        raise ImageError("is a folder") from None
    except OSError as error:  # a socket (ENXIO), permission, a symlink loop, ...
        raise ImageError(_kind_of(source) or f"cannot read: {error.strerror or first_line(error)}") from None
    try:
        info = os.fstat(descriptor)
        if not stat.S_ISREG(info.st_mode):
            raise ImageError(_not_a_file(info.st_mode))
        if info.st_size == 0:
            raise ImageError("empty file (0 bytes)")
        if OPEN_FLAGS & NONBLOCK:
            os.set_blocking(descriptor, True)  # a regular file: reads wait for the disk as usual
        return os.fdopen(descriptor, "rb")
    except BaseException:
        os.close(descriptor)
        raise


def _not_a_file(mode: int) -> str:
    return NOT_FILES.get(stat.S_IFMT(mode), f"is not a regular file (type {stat.S_IFMT(mode):o})")


def _kind_of(source) -> str | None:
    """Why a path that could not be opened is not a file (a socket cannot be opened at all), or None."""
    try:
        mode = os.stat(source).st_mode
    except (OSError, ValueError):
        return None
    return None if stat.S_ISREG(mode) else _not_a_file(mode)


def _decode(image: Image.Image) -> Image.Image:
    """Decode the first frame, reduced at decode time where the format allows, within the limit."""
    width, height = image.size
    if width <= 0 or height <= 0:
        raise ImageError(f"empty image ({width}x{height})")
    if getattr(image, "n_frames", 1) > 1:
        image.seek(0)  # an animation: the first frame is the picture
    # The preprocessing averages images over MAX_WORK_PIXELS down by this factor: a JPEG is decoded
    # reduced by the largest of 1/2, 1/4 or 1/8 that is not more (libjpeg scales as it decodes), the
    # graph averages what is left; a JPEG 2000 file drops whole resolution levels.
    factor = math.ceil(math.sqrt(width * height / MAX_WORK_PIXELS))
    if factor >= 2:
        if image.format in ("JPEG", "MPO"):
            image.draft(None, (width // factor, height // factor))
        elif image.format == "JPEG2000":
            image.reduce = int(math.log2(factor))  # openjpeg skips the finest resolution levels
    width, height = image.size  # after draft(); JPEG 2000's reduce applies at load()
    if image.format == "JPEG2000" and factor >= 2:
        width, height = -(-width // 2**image.reduce), -(-height // 2**image.reduce)
    if width * height * BYTES_PER_PIXEL * DECODER_COPIES.get(image.format, 1) > MAX_DECODED_BYTES:
        copies = f" in {image.format}, which decodes through a copy" if image.format in DECODER_COPIES else ""
        raise ImageError(f"refused: {image.width}x{image.height} is larger than {_limit_text()} decoded{copies} "
                         "(a decompression bomb?)")
    if guard_nested_images:
        _load_with_nested_limit(image)
    else:
        image.load()
    if image.width == 0 or image.height == 0:
        raise ImageError(f"empty image ({image.width}x{image.height})")
    return image


def _load_with_nested_limit(image: Image.Image) -> None:
    """load() with Pillow's own decompression-bomb limit lowered to ours: it is what guards images
    decoded inside other files (a JPEG in a BLP, a PNG in an ICNS), which the header check above
    cannot see. Pillow checks it when opening any file too (before a JPEG can be decoded reduced),
    so it is lowered only while pixels are decoded, and only where one thread decodes at a time."""
    default = Image.MAX_IMAGE_PIXELS
    # Pillow raises above twice this: half our limit, as a nested decode holds about twice the copies
    # (a CMYK JPEG in a BLP is decoded, converted to RGB, turned into bytes and decoded again). No
    # image nests in a TIFF, but Pillow checks its own tile against the limit as it decodes: a tile
    # may be as large as our limit (which the header check has applied to the image already).
    limit = MAX_DECODED_BYTES // BYTES_PER_PIXEL
    Image.MAX_IMAGE_PIXELS = limit // 2 if image.format == "TIFF" else limit // 4
    try:
        image.load()
    finally:
        Image.MAX_IMAGE_PIXELS = default


def _limit_text() -> str:
    return f"{MAX_DECODED_BYTES // 2**20} MB ({MAX_DECODED_BYTES // BYTES_PER_PIXEL / 1e6:.0f} megapixels)"
