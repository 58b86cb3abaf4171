"""The squared-paper set (issue 25): MNIST test digits written with a thin pen on graph paper and
photographed with a phone, the class that 4 of 10 real photos failed.

Each digit is drawn as its skeleton (Zhang-Suen thinning of the enlarged digit) traced with a pen
PEN_WIDTHS px wide, spanning 2-4 grid cells of 14-28 px (4-6 mm squares at a phone photo's scale).
The grid's lines are as wide as the pen and as dark as the ink or barely lighter; on some pages
every fifth line is darker. The light is a phone's: a gradient across the sheet, vignetting, a grey
or blue cast, sensor noise, JPEG. numpy and Pillow only (as tests/robustness.py), all seeded.

    python tests/squared_paper.py [--count 1000] [--out DIR]   # accuracy, rejection off and on
"""

import io

import numpy as np
from PIL import Image, ImageFilter

PEN_WIDTHS = (1, 2)  # px, at the photo's scale
CELL_PIXELS = (14, 28)  # a grid square's side, px
CELLS_SPANNED = (2.0, 4.0)  # the digit's height, in grid squares
SET_SIZE = 1000


def thinned(binary: np.ndarray) -> np.ndarray:
    """Zhang and Suen's thinning (1984): the 1-pixel skeleton of a binary image (bool [h, w])."""
    image = np.pad(binary.astype(bool), 1)
    while True:
        changed = False
        for step in (0, 1):
            p = image
            # The 8 neighbours, clockwise from north: P2 ... P9.
            n = [np.roll(p, shift, axis=(0, 1)) for shift in ((1, 0), (1, -1), (0, -1), (-1, -1), (-1, 0), (-1, 1), (0, 1), (1, 1))]
            count = sum(x.astype(np.uint8) for x in n)
            ring = n + n[:1]
            transitions = sum((~a & b).astype(np.uint8) for a, b in zip(ring, ring[1:]))
            p2, p4, p6, p8 = n[0], n[2], n[4], n[6]
            if step == 0:
                side = ~(p2 & p4 & p6) & ~(p4 & p6 & p8)
            else:
                side = ~(p2 & p4 & p8) & ~(p2 & p6 & p8)
            remove = p & (count >= 2) & (count <= 6) & (transitions == 1) & side
            if remove.any():
                image = p & ~remove
                changed = True
        if not changed:
            return image[1:-1, 1:-1]


def _pen(digit: np.ndarray, height: int, width_px: int) -> np.ndarray:
    """The MNIST digit as a thin pen line: ink coverage in [0, 1], its ink `height` px tall."""
    rows = np.nonzero(digit.max(axis=1) > 64)[0]
    ink_rows = rows.max() - rows.min() + 1
    scale = height / ink_rows
    size = max(28, round(28 * scale))
    big = np.asarray(Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC), np.float32) / 255
    line = thinned(big > 0.5)
    pen = Image.fromarray((line * 255).astype(np.uint8))
    if width_px > 1:
        pen = pen.filter(ImageFilter.MaxFilter(3))
    return np.asarray(pen.filter(ImageFilter.GaussianBlur(0.6)), np.float32) / 255 * (1.6 if width_px == 1 else 1.3)


def render(digit: np.ndarray, seed: int) -> bytes:
    """A phone's JPEG of one MNIST digit (uint8 28x28, white on black) written on squared paper."""
    rng = np.random.default_rng(seed)
    cell = int(rng.integers(CELL_PIXELS[0], CELL_PIXELS[1] + 1))
    pen_width = int(rng.choice(PEN_WIDTHS))
    alpha = np.clip(_pen(digit, round(rng.uniform(*CELLS_SPANNED) * cell), pen_width), 0, 1)
    size = alpha.shape[0]
    height, width = (round(size * rng.uniform(1.5, 2.5)) for _ in range(2))
    top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    coverage = np.zeros((height, width), np.float32)
    coverage[top : top + size, left : left + size] = alpha

    y, x = (axis.astype(np.float32) for axis in np.ogrid[0:height, 0:width])
    ink = rng.uniform(0.15, 0.35)  # the pen's grey level on white
    line_level = ink + rng.uniform(0.0, 0.12)  # the grid's: as dark as the pen, or barely lighter
    phase_x, phase_y = rng.uniform(0, cell, size=2)
    grid = np.zeros((height, width), np.float32)
    for coordinate, phase in ((x, phase_x), (y, phase_y)):
        offset = np.mod(coordinate + phase, cell)
        grid = np.maximum(grid, (offset < pen_width).astype(np.float32))
        if rng.random() < 0.4:  # a darker line every fifth square
            fifth = np.mod(coordinate + phase, 5 * cell) < pen_width
            grid = np.maximum(grid, fifth * 1.3)
    paper = np.float32(rng.uniform(0.75, 0.95))
    gray = paper - (paper - line_level) * np.clip(grid, 0, 1.3)
    gray = gray * (1 - coverage) + ink * coverage

    angle = rng.uniform(0, 2 * np.pi)  # light: a gradient across the sheet, then vignetting
    ramp = np.cos(angle) * x / width + np.sin(angle) * y / height
    gray = gray * (1 - rng.uniform(0.1, 0.3) * (ramp - ramp.min()) / max(1e-6, np.ptp(ramp)))
    distance = ((x - width / 2) / width) ** 2 + ((y - height / 2) / height) ** 2
    gray = gray * (1 - rng.uniform(0.2, 0.5) * distance)
    cast = np.array([1.0, 1.0, 1.0]) if rng.random() < 0.5 else np.array([0.88, 0.95, 1.05])  # grey, or blue
    rgb = gray[..., None] * cast * rng.uniform(0.85, 1.0) + rng.normal(0, rng.uniform(0.01, 0.025), (height, width, 3))
    buffer = io.BytesIO()
    Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB").save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
    return buffer.getvalue()


def build(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 25):
    """[(JPEG bytes, label)] for the first `count` test digits."""
    return [(render(images[i], seed * 100_003 + i), int(labels[i])) for i in range(count)]


def main() -> None:
    import argparse
    from pathlib import Path

    from lstm_digits.runtime import DigitClassifier
    from lstm_digits.training.data import load_mnist
    from robustness import model_inputs

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", help="MNIST archives (default $LSTM_DIGITS_DATA)")
    parser.add_argument("--count", type=int, default=SET_SIZE)
    parser.add_argument("--out", type=Path, help="also write the photos here, as INDEX-LABEL.jpg")
    args = parser.parse_args()
    test = load_mnist(args.data_dir).test
    items = build(test.images.numpy(), test.labels.numpy(), args.count)
    if args.out:
        args.out.mkdir(parents=True, exist_ok=True)
        for index, (data, label) in enumerate(items):
            (args.out / f"{index:05d}-{label}.jpg").write_bytes(data)
    classifier = DigitClassifier()
    inputs, found = model_inputs([data for data, _ in items], classifier.form)
    probabilities = classifier.probabilities(inputs)
    labels = np.array([label for _, label in items])
    right = (probabilities.argmax(1) == labels) & found
    rejected = (probabilities.max(1) < classifier.rule.min_confidence) | ~found
    print(f"{args.count} squared-paper photos: {right.mean():.1%} right with rejection off; "
          f"{rejected.mean():.1%} rejected with rejection on (min_confidence {classifier.rule.min_confidence}); "
          f"no digit found in {(~found).sum()}")


if __name__ == "__main__":
    main()
