"""The robustness set: MNIST test digits rendered the way users' images look.

Each digit is enlarged 8-15x with smooth strokes and put, off-centre, on a larger canvas in one of
these styles (all seeded, so the set is the same every time):
- photo: dark ink on grey paper with a brightness gradient and a soft shadow, sensor noise;
- grid: the same on squared paper (faint grid lines);
- ruled: the same on lined paper;
- drawing: an RGBA export from a paint program: dark strokes on a transparent background;
- scan: dark ink on white, JPEG-compressed.
Photos, grids and ruled pages are JPEG-compressed half of the time. See docs/ROBUSTNESS.md.
"""

import io

import numpy as np
from PIL import Image, ImageFilter

STYLES = ("photo", "grid", "ruled", "drawing", "scan")


def _enlarge(digit: np.ndarray, rng) -> np.ndarray:
    scale = rng.uniform(8, 15)
    size = round(28 * scale)
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(scale / 4))
    return np.clip(np.asarray(big, dtype=np.float32) / 255.0 * 1.15, 0, 1)


def _place(alpha: np.ndarray, rng) -> np.ndarray:
    """The digit somewhere off-centre on a canvas 1.3-2x its size."""
    size = alpha.shape[0]
    height, width = (round(size * rng.uniform(1.3, 2.0)) for _ in range(2))
    top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    canvas = np.zeros((height, width), np.float32)
    canvas[top : top + size, left : left + size] = alpha
    return canvas


def _paper(shape, rng, style) -> np.ndarray:
    height, width = shape
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height)
    paper = rng.uniform(0.7, 0.92) - rng.uniform(0.05, 0.2) * (ramp - ramp.min()) / max(1e-6, np.ptp(ramp))
    # A soft shadow across part of the page, as from a hand or a phone.
    edge = rng.uniform(0.2, 0.8) * width + np.tan(rng.uniform(-0.5, 0.5)) * (y - height / 2)
    paper -= rng.uniform(0.05, 0.2) / (1 + np.exp(-(x - edge) / (0.05 * width)))
    spacing = rng.uniform(0.08, 0.15) * min(height, width)
    line = lambda coord: (np.mod(coord + rng.uniform(0, spacing), spacing) < rng.uniform(1.5, 3.5))
    darkness = rng.uniform(0.12, 0.25)
    if style == "grid":
        paper -= darkness * (line(x) | line(y))
    elif style == "ruled":
        paper -= darkness * line(y)
    paper += rng.normal(0, rng.uniform(0.005, 0.02), size=shape)
    return np.clip(paper, 0, 1)


def render(digit: np.ndarray, seed: int, style: str | None = None) -> tuple[bytes, str, str]:
    """(encoded image, file suffix, style) for one MNIST digit (uint8 28x28, white on black)."""
    rng = np.random.default_rng(seed)
    style = style or STYLES[rng.integers(len(STYLES))]
    alpha = _place(_enlarge(digit, rng), rng)
    ink = rng.uniform(0.02, 0.25)
    buffer = io.BytesIO()
    if style == "drawing":
        rgba = np.zeros(alpha.shape + (4,), np.uint8)
        rgba[..., :3] = np.array([ink * 255, ink * 200, ink * 255], np.uint8)  # a dark purple pen
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG")
        return buffer.getvalue(), ".png", style
    paper = np.ones(alpha.shape, np.float32) if style == "scan" else _paper(alpha.shape, rng, style)
    gray = paper * (1 - alpha) + ink * alpha
    rgb = np.stack([gray, gray, gray * rng.uniform(0.9, 1.0)], axis=-1)  # a slightly warm light
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    if style == "scan" or rng.random() < 0.5:
        image.save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
        return buffer.getvalue(), ".jpg", style
    image.save(buffer, "PNG")
    return buffer.getvalue(), ".png", style


def build(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 2024):
    """[(encoded bytes, suffix, style, label)] for the first `count` test digits."""
    return [(*render(images[i], seed * 100_003 + i), int(labels[i])) for i in range(count)]
