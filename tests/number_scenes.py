"""Numbers in photo-like scenes (issue 23 point 5): numbers of MNIST test digits, written by the
number generator with its sizes and spacing (the digits as written, or with --styled in its
styles), enlarged with smooth strokes and put off-centre on the robustness set's papers
(tests/robustness.py), all seeded:
- photo, grid, ruled: grey paper with a gradient and a soft shadow, plain, squared or lined;
- boxed: the photo's paper with a printed box around the number, as on a form;
- drawing: dark strokes on a transparent background; scan: dark ink on white, JPEG.

    python tests/number_scenes.py [--per-length 60] [--styled] [--model number.onnx]   # docs/NUMBERS.md's figures
"""

import numpy as np
from PIL import Image, ImageFilter

import robustness

SCENES = ("photo", "grid", "ruled", "boxed", "drawing", "scan")
LENGTHS = range(1, 11)
SEED = 4051  # not a seed the number export or scripts/number_agreement.py uses


def _enlarged(strip: np.ndarray, rng) -> np.ndarray:
    """The strip [28, W] in [0, 1], 3-6x larger with smooth strokes, off-centre on a wider canvas."""
    scale = rng.uniform(3, 6)
    height, width = round(strip.shape[0] * scale), round(strip.shape[1] * scale)
    big = Image.fromarray((np.clip(strip, 0, 1) * 255).astype(np.uint8)).resize((width, height), Image.Resampling.BICUBIC)
    alpha = np.clip(np.asarray(big.filter(ImageFilter.GaussianBlur(scale / 4)), np.float32) / 255 * 1.15, 0, 1)
    top, bottom, left, right = (round(height * rng.uniform(0.2, 1.0)) for _ in range(4))
    canvas = np.zeros((height + top + bottom, width + left + right), np.float32)
    canvas[top : top + height, left : left + width] = alpha
    return canvas


def _boxed(alpha: np.ndarray, rng) -> np.ndarray:
    """The photo's paper with a printed box around the number's ink, a little away from it."""
    paper = robustness._paper(alpha.shape, rng, "photo")
    rows, columns = np.nonzero(alpha > 0.1)
    gap = round(rng.uniform(0.1, 0.3) * (rows.max() - rows.min() + 1))
    top, left = max(rows.min() - gap, 0), max(columns.min() - gap, 0)
    bottom, right = min(rows.max() + gap, alpha.shape[0] - 1), min(columns.max() + gap, alpha.shape[1] - 1)
    line, darkness = int(rng.integers(2, 5)), rng.uniform(0.3, 0.6)
    frame = np.zeros(alpha.shape, bool)
    frame[top : bottom + 1, left : right + 1] = True
    frame[top + line : bottom + 1 - line, left + line : right + 1 - line] = False
    paper[frame] -= darkness
    return np.clip(paper, 0, 1)


def render_number(strip: np.ndarray, seed: int, scene: str) -> tuple[bytes, str]:
    """(encoded image, file suffix): a number's strip [28, W] (white on black) in the scene."""
    rng = np.random.default_rng(seed)
    alpha = _enlarged(strip, rng)
    if scene == "boxed":
        return robustness.on_paper(alpha, rng, "photo", paper=_boxed(alpha, rng))
    return robustness.on_paper(alpha, rng, scene)


def build(numbers, seed: int = SEED) -> list[tuple[bytes, str, str]]:
    """[(encoded image, scene, the number)] for each number of a Numbers batch, the scenes in turn."""
    return [(render_number(numbers.strips[i, :, : int(numbers.widths[i])].numpy(), seed * 1009 + i, SCENES[i % len(SCENES)])[0],
             SCENES[i % len(SCENES)], numbers.text(i)) for i in range(len(numbers))]


def scores(reader, items) -> dict:
    """scene -> (read right with no rule, answered, answered wrong), as shares of its numbers."""
    readings = list(reader.read_all(data for data, _, _ in items))
    figures = {}
    for scene in SCENES:
        mine = [(reading, truth) for reading, (_, s, truth) in zip(readings, items) if s == scene]
        right = sum(reading.ok and "".join(d.digit for d in reading.digits) == truth for reading, truth in mine)
        answered = [(reading, truth) for reading, truth in mine if reading.number is not None]
        figures[scene] = (right / len(mine), len(answered) / len(mine), sum(r.number != t for r, t in answered) / len(mine))
    return figures


def main() -> None:
    import argparse

    from lstm_digits.export.export_number import seeded_numbers
    from lstm_digits.runtime import NumberReader
    from lstm_digits.training.data import load_mnist

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-length", type=int, default=60, help="numbers of each length, 1-10 digits")
    parser.add_argument("--styled", action="store_true", help="digits in the training styles")
    parser.add_argument("--model", help="a number.onnx (default: the shipped one)")
    parser.add_argument("--data-dir", help="MNIST archives (default $LSTM_DIGITS_DATA)")
    args = parser.parse_args()
    test = load_mnist(args.data_dir).test
    reader = NumberReader(args.model)
    print("| digits | " + " | ".join(SCENES) + " |\n|---|" + "---:|" * len(SCENES))
    for length in LENGTHS:
        items = build(seeded_numbers(test, args.per_length, SEED + length, (length, length), styles=args.styled))
        figures = scores(reader, items)
        print(f"| {length} | " + " | ".join(f"{right:.0%} ({answered:.0%} answered, {wrong:.0%} wrong)"
                                           for right, answered, wrong in figures.values()) + " |")


if __name__ == "__main__":
    main()
