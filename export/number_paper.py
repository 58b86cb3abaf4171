"""Numbers on paper: a strip written as a scan shows it, for the number reader's calibration and
measurements (export_number.py), its tests and the samples (scripts/number_samples.py). numpy and
Pillow only."""

import numpy as np
from PIL import Image


def strip_on_paper(strip: np.ndarray, scale: int = 3, paper: int = 235, ink: int = 30) -> np.ndarray:
    """A strip [28, W] in [0, 1], white on black, as RGBA pixels of dark ink on light paper, each
    pixel `scale` x `scale`, with a margin of paper: a number as a scan shows it."""
    grey = Image.fromarray((np.clip(strip, 0, 1) * 255).astype(np.uint8))
    grey = np.asarray(grey.resize((grey.width * scale, grey.height * scale), Image.BICUBIC), np.float32) / 255
    page = np.full((grey.shape[0] + 40, grey.shape[1] + 40), float(paper), np.float32)
    page[20:-20, 20:-20] -= grey * (paper - ink)
    rgb = np.clip(page, 0, 255).astype(np.uint8)
    return np.dstack([rgb, rgb, rgb, np.full_like(rgb, 255)])
