"""Steps 1-6 of the preprocessing, which a digit (mnist_form.py) and a number's strip (strip_form.py)
share: any RGBA image -> its cleaned ink, bright on black, in the image's own frame. The rules in
words: docs/PREPROCESSING.md, rules 1-6."""

from onnxscript import BOOL, FLOAT, UINT8, script
from onnxscript import opset18 as op

from .cleaning import suppress_background
from .common import count
from .grayscale import grayscale
from .limit_size import limit_size
from .polarity import make_ink_bright

MIN_INK_PIXELS = 4  # fewer pixels of ink than this (after the cleaning): nothing written


@script()
def find_ink(pixels: UINT8[None, None, 4]) -> tuple[FLOAT[None, None], BOOL]:
    """(ink, no_ink) of an image with pixels: the ink [h, w] float32 in [0, 1] (smaller than the image
    for one over MAX_WORK_PIXELS), and whether nothing is written: no ink stands out of the paper, or
    fewer than MIN_INK_PIXELS pixels are ink.

      1    limit_size          images over 4 MP (MAX_WORK_PIXELS) are area-averaged first (limit_size.py)
      1    grayscale           translucent pixels composited on the background that shows the strokes (grayscale.py)
      2    make_ink_bright     polarity: bright ink on black (polarity.py)
      3-6  suppress_background the paper's brightness subtracted (3, background.py), noise measured and
                               averaged out (4, noise.py), printed lines dropped (5, printed_lines.py), the
                               strokes and the faint ink connected to them kept (6, cleaning.py)"""
    bright, border_level, flat_border = make_ink_bright(grayscale(limit_size(pixels)))
    ink, faint_only = suppress_background(bright, border_level, flat_border)
    too_little = op.Less(count(op.Greater(ink, 0.0)), op.Constant(value_int=MIN_INK_PIXELS))
    return ink, op.Or(faint_only, too_little)
