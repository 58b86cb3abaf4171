"""preprocessing/resample.py and limit_size.py's reduction against Pillow itself, in onnxscript's eager
mode (each function run on numpy arrays): the resizes the preprocessing makes (preprocessing/placement.py,
preprocessing/polarity.py) on crops of the sample images, and Image.reduce on float and RGBA images. The reduction
in tiles: tests/test_pipeline_memory.py."""

from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from lstm_digits.preprocessing.limit_size import reduce_rgba
from lstm_digits.preprocessing.resample import (apply_separable, enlarge_bilinear, reduce_weights, resize_box,
                                                resize_lanczos_with_reducing_gap)
from lstm_digits.preprocessing.placement import REDUCING_GAP

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.*g"))
FLOAT_ROUNDING = 1e-5  # Pillow sums in double with double weights; the graph in float32


def gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0


def crops(path: Path) -> list[np.ndarray]:
    """A tall and a wide crop of the sample, a 1-pixel strip, and the whole image."""
    image = gray(path)
    height, width = image.shape
    return [np.ascontiguousarray(c) for c in (image[height // 4: height // 4 + 150, width // 3: width // 3 + 40],
                                              image[height // 2: height // 2 + 30, : width // 2 + 1],
                                              image[height // 3: height // 3 + 1, :], image)]


def pillow(image: np.ndarray, size: tuple[int, int], method, **options) -> np.ndarray:
    """Image.resize of a float image to size (height, width)."""
    return np.asarray(Image.fromarray(image, mode="F").resize(size[::-1], method, **options))


def scalars(*values: int) -> list[np.ndarray]:
    return [np.array(v, np.int64) for v in values]


def into_box(shape: tuple[int, int], box: int) -> tuple[int, int]:
    """The longest side to box, as preprocessing/placement.py scales a digit."""
    scale = box / max(shape)
    return tuple(max(1, round(side * scale)) for side in shape)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_lanczos_with_reducing_gap_is_pillows(path):
    """Each crop into the digit box, as placement scales a digit, and a small one enlarged."""
    images = crops(path)
    small = images[0][:30, :20]
    for image, size in [(image, into_box(image.shape, 20)) for image in images] + [(small, (47, 23))]:
        resized = resize_lanczos_with_reducing_gap(image, *scalars(*image.shape, *size), np.array(REDUCING_GAP))
        expected = pillow(image, size, Image.Resampling.LANCZOS, reducing_gap=REDUCING_GAP)
        assert resized.shape == expected.shape
        np.testing.assert_allclose(resized, expected, rtol=0, atol=FLOAT_ROUNDING)


@pytest.mark.parametrize("path", SAMPLES, ids=lambda p: p.name)
def test_box_resize_is_pillows(path):
    """Shrunk by uneven factors, as polarity.work_copy shrinks a large image, and a small crop enlarged."""
    images = crops(path)
    cases = [(image, (max(1, image.shape[0] // 7), max(1, image.shape[1] // 3))) for image in images]
    for image, size in cases + [(images[0][:30, :20], (35, 41))]:
        resized = resize_box(image, *scalars(*image.shape, *size))
        np.testing.assert_allclose(resized, pillow(image, size, Image.Resampling.BOX), rtol=0, atol=FLOAT_ROUNDING)


def test_enlarging_bilinear_is_pillows():
    for image in crops(SAMPLES[0])[:3]:
        size = (image.shape[0] * 3 + 1, image.shape[1] * 2 + 5)
        enlarged = enlarge_bilinear(image, *scalars(*size))
        np.testing.assert_allclose(enlarged, pillow(image, size, Image.Resampling.BILINEAR), rtol=0, atol=FLOAT_ROUNDING)


@pytest.mark.parametrize("factor", [2, 3, 7])
def test_reduce_weights_average_as_image_reduce(factor):
    """The last, shorter blocks are averaged over the pixels they have."""
    for image in crops(SAMPLES[1])[:3]:
        reduced = apply_separable(image, reduce_weights(*scalars(image.shape[0], factor)),
                                  reduce_weights(*scalars(image.shape[1], factor)))
        expected = np.asarray(Image.fromarray(image, mode="F").reduce(factor))
        np.testing.assert_allclose(reduced, expected, rtol=0, atol=FLOAT_ROUNDING)


def random_rgba(rng: np.random.Generator, height: int, width: int) -> np.ndarray:
    """Random colours and alphas, some 0 and some 255 (where Pillow keeps the colour undivided)."""
    pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
    pixels[..., 3][rng.random((height, width)) < 0.2] = 0
    pixels[..., 3][rng.random((height, width)) < 0.2] = 255
    return pixels


def pillow_reduce(pixels: np.ndarray, factor: int) -> np.ndarray:
    return np.asarray(Image.fromarray(pixels, "RGBA").reduce(factor)).transpose(2, 0, 1)


def test_rgba_reduce_is_image_reduce_exactly():
    rng = np.random.default_rng(0)
    for factor in (2, 5):
        for height, width in [(1, 37), (23, 1), (40, 41)]:
            pixels = random_rgba(rng, height, width)
            reduced = reduce_rgba(pixels, np.array(factor, np.int64))
            assert np.array_equal(reduced, pillow_reduce(pixels, factor)), (factor, height, width)
