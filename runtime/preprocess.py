"""Bring a user's image into MNIST form: bright ink on black, the digit scaled into its box and
placed in the canvas by its centre of mass.

The rules are not here. They are the preprocessing graph (lstm_digits.preprocessing: onnxscript
functions, built into preprocessing/mnist_form.onnx and shipped in the package), which this module
runs in onnxruntime, as pipeline.onnx runs the same graph in Node.js and the browser. What stays
with the host is decoding: the image as RGBA uint8, EXIF orientation applied (`rgba_pixels`).
The sizes come from the model's metadata (`preprocessing`), not from constants here.
"""

import threading
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import onnxruntime
from PIL import Image, ImageOps

from ..errors import first_line
from ..preprocessing import MNIST_FORM_GRAPH, MNIST_FORM_INPUTS, MNIST_FORM_OUTPUTS, MNIST_FORM_RUNTIME_GRAPH
from .arrays import image_from_array
from .images import ImageError, NoDigitFound

# Pillow modes read as they are (1, L, RGB, RGBA); those with transparency or a palette become
# RGBA; other colour modes (CMYK, YCbCr, LAB, HSV) RGB; 16-bit, 32-bit and float grayscale are
# scaled to 8 bits (_gray_levels).
AS_THEY_ARE = ("1", "L", "RGB", "RGBA")
TO_RGBA = ("P", "PA", "LA", "La", "RGBa")
EXIF_ORIENTATION = 0x0112  # 1 (or 0, or none): upright already


@dataclass(frozen=True)
class Form:
    canvas: int = 28
    digit_box: int = 20

    @classmethod
    def from_metadata(cls, preprocessing: dict) -> "Form":
        return cls(canvas=int(preprocessing["canvas"]), digit_box=int(preprocessing["digit_box"]))


def rgba_pixels(image: Image.Image, release: bool = False) -> np.ndarray:
    """What a host hands the preprocessing graph: the image upright (EXIF orientation applied) as
    RGBA uint8 [height, width, 4], what a browser canvas gives for the same file. `release` closes
    the image as soon as its pixels are copied out (for an image decoded here and held by nobody
    else): a large photo's decoded pixels are then never held beside their RGBA copy."""
    upright = _upright(image)
    if release and upright is not image:
        image.close()
    if upright.mode.startswith("I") or upright.mode == "F":
        values = _gray_levels(upright, release)
    else:
        mode = upright.mode if upright.mode in AS_THEY_ARE else "RGBA" if upright.mode in TO_RGBA else "RGB"
        converted = upright if mode == upright.mode else upright.convert(mode)
        if release and converted is not upright:
            upright.close()
        values = np.asarray(converted)
        if release:
            converted.close()
        if values.dtype == np.bool_:
            values = values.astype(np.uint8) * np.uint8(255)
    if values.ndim == 3 and values.shape[2] == 4:
        return values
    rgba = np.empty((*values.shape[:2], 4), np.uint8)
    rgba[..., :3] = values[..., None] if values.ndim == 2 else values
    rgba[..., 3] = 255
    return rgba


def _upright(image: Image.Image) -> Image.Image:
    """The image turned as its EXIF orientation says, or the image itself when it says nothing
    (ImageOps.exif_transpose would copy it: a second full-size copy of a large photo)."""
    if image.getexif().get(EXIF_ORIENTATION, 1) in (0, 1):
        return image
    return ImageOps.exif_transpose(image)


def _gray_levels(image: Image.Image, release: bool) -> np.ndarray:
    """A 16-bit, 32-bit or float grayscale image as levels 0-255: integers over 255 read as 16-bit
    (full scale 65535), else as 8-bit; floats over 1 read over their maximum, else as 0-1. In
    float32, in place, the image closed first when `release`: a 21-megapixel float scan is held
    twice at most, never as doubles."""
    pixels, is_float = np.asarray(image), image.mode == "F"  # (a copy: Pillow hands out its bytes)
    if release:
        image.close()
    values = pixels.astype(np.float32)  # (a new array, worked on in place from here)
    del pixels
    np.nan_to_num(values, copy=False)
    top = float(values.max())
    full_scale = max(top, 1.0) if is_float else 65535.0 if top > 255 else 255.0
    values *= np.float32(255.0 / full_scale)
    np.rint(values, out=values)
    np.clip(values, 0, 255, out=values)
    return values.astype(np.uint8)


class _Graph:
    """The preprocessing graph's onnxruntime session, one per process, opened on first use (66 ms from
    the .ort copy, 0.10-0.13 s from the .onnx: a third of a one-image run; docs/BENCHMARKS.md, issue
    21). Opening it in a thread while the model loads gained nothing: onnxruntime opens one session
    at a time."""

    def __init__(self):
        self._lock = threading.Lock()
        self._session = None

    def session(self) -> onnxruntime.InferenceSession:
        with self._lock:
            if self._session is None:
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = options.inter_op_num_threads = 1  # one small image at a time
                # The graph was optimised when it was built; onnxruntime's own optimisations made opening
                # it take 188 ms (basic) or 244 ms (all) against 117 ms, for runs at most 3% faster
                # (a 28x28 digit: 187 or 190 µs against 191 µs; docs/BENCHMARKS.md, issue 21).
                options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
                options.log_severity_level = 3
                self._session = self._open(options)
            return self._session

    @staticmethod
    def _open(options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
        """The graph in onnxruntime's own format (MNIST_FORM_RUNTIME_GRAPH: opened in 66 ms, not 100);
        the .onnx when this onnxruntime cannot read that file (an older one than wrote it)."""
        try:
            return onnxruntime.InferenceSession(str(MNIST_FORM_RUNTIME_GRAPH), options, providers=["CPUExecutionProvider"])
        except Exception:
            return onnxruntime.InferenceSession(str(MNIST_FORM_GRAPH), options, providers=["CPUExecutionProvider"])

    def open_before_forking(self) -> None:
        """Open the session now, so that forked worker processes inherit it instead of each opening
        their own (at the same time: slower still). If it cannot be opened, each image says why."""
        try:
            self.session()
        except Exception:
            pass


GRAPH = _Graph()
# After an image of more than this many pixels, onnxruntime hands its memory arena's free space back:
# a folder of large photos then stays near one photo's peak (40 RGBA pages of 21 megapixels: 365 MB
# against 492 MB). Smaller images keep the arena (giving it back costs a 28x28 digit 13% more time).
GIVE_BACK_FROM = 1_000_000
PLAIN_RUN, GIVE_BACK_RUN = onnxruntime.RunOptions(), onnxruntime.RunOptions()
GIVE_BACK_RUN.add_run_config_entry("memory.enable_memory_arena_shrinkage", "cpu:0")
for _options in (PLAIN_RUN, GIVE_BACK_RUN):
    _options.log_severity_level = 4  # a run that fails logs nothing: its ImageError says it, in one line


def to_mnist_form(image: Image.Image | np.ndarray, form: Form = Form(), release: bool = False) -> np.ndarray:
    """[canvas, canvas] float32 in [0, 1], bright digit on black; NoDigitFound for an image with no
    ink. `release`: see rgba_pixels."""
    outputs = run_graph(image, form, release)
    if outputs.no_digit:
        raise NoDigitFound()
    return outputs.image


def clean_ink(image: Image.Image | np.ndarray, form: Form = Form()) -> np.ndarray:
    """What the preprocessing kept as ink, bright on black, in the image's own frame (after any
    reduction of a very large photo), before the crop: for figures and for tests of what is kept.
    All zeros when no digit stands out."""
    outputs = run_graph(image, form)
    return np.zeros_like(outputs.ink) if outputs.no_digit else outputs.ink


class GraphOutputs(NamedTuple):
    """The preprocessing graph's outputs for one image (preprocessing.mnist_form.to_mnist_form)."""
    image: np.ndarray  # [canvas, canvas] float32 in [0, 1], bright digit on black (zeros with no digit)
    no_digit: bool
    ink: np.ndarray  # what was kept as ink, in the image's frame (reduced, for an image over MAX_WORK_PIXELS)
    box: tuple[int, int, int, int] | None  # the digit's (top, left, bottom, right) in the image's pixels; None with no digit


def run_graph(image: Image.Image | np.ndarray, form: Form = Form(), release: bool = False) -> GraphOutputs:
    """The preprocessing graph's outputs for one image."""
    if isinstance(image, np.ndarray):
        image, release = image_from_array(image), True
    return graph_outputs(rgba_pixels(image, release), form)


def graph_outputs(pixels: np.ndarray, form: Form = Form()) -> GraphOutputs:
    """The preprocessing graph's outputs for RGBA uint8 pixels [height, width, 4] (rgba_pixels)."""
    feeds = dict(zip(MNIST_FORM_INPUTS, (pixels, np.array(form.canvas, np.int64), np.array(form.digit_box, np.int64))))
    try:
        run = GIVE_BACK_RUN if pixels.shape[0] * pixels.shape[1] > GIVE_BACK_FROM else PLAIN_RUN
        image, no_digit, ink, box = GRAPH.session().run(list(MNIST_FORM_OUTPUTS), feeds, run)
    except MemoryError:
        raise
    except Exception as error:  # onnxruntime's own exception types, e.g. a size a Reshape cannot take
        raise ImageError(f"cannot be processed: {first_line(error)}") from None
    return GraphOutputs(image, bool(no_digit), ink, None if no_digit else tuple(int(side) for side in box))
