"""Write samples/numbers/: handwritten numbers made of MNIST test digits, on paper as a scan shows them.

    python scripts/number_samples.py samples/numbers     # archives from $LSTM_DIGITS_DATA or --data-dir
    python scripts/number_samples.py --random 40 DIR     # 40 random numbers of 1-10 digits (seeded)

Each number's digits are the first test images of those digits not used before in it (with
--random, random ones), their ink columns set side by side 3 px apart, written on paper by
export/number_paper.strip_on_paper. The file name ends with the number. numpy and Pillow only,
like the other scripts here.
"""

import argparse
import os
from pathlib import Path

import numpy as np
from PIL import Image

from lstm_digits.export.number_paper import strip_on_paper
from lstm_digits.training.mnist_files import ENV_VAR

from mnist_pngs import test_digits

NUMBERS = ("0042", "2024", "90210")
GAP = 3  # blank columns between two digits' ink


def ink_strip(number: str, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The number as a strip [28, W] of ink in [0, 1]: each digit's ink columns, GAP apart."""
    pieces, used = [], {}
    for character in number:
        digit = int(character)
        instances = np.flatnonzero(labels == digit)
        image = images[instances[used.get(digit, 0)] if rng is None else rng.choice(instances)] / 255.0
        used[digit] = used.get(digit, 0) + 1
        columns = np.flatnonzero(image.max(axis=0) > 0)
        pieces += [image[:, columns[0] : columns[-1] + 1], np.zeros((image.shape[0], GAP))]
    return np.concatenate(pieces[:-1], axis=1).astype(np.float32)


def written(number: str, images: np.ndarray, labels: np.ndarray, rng: np.random.Generator | None = None) -> np.ndarray:
    """The number's ink strip on paper, as RGBA pixels: a scan of it."""
    return strip_on_paper(ink_strip(number, images, labels, rng))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(ENV_VAR))
    parser.add_argument("--random", type=int, metavar="N", help="N random numbers of 1-10 digits instead of the samples")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    images, labels = test_digits(args.data_dir, "number_samples")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.random:
        rng = np.random.default_rng(args.seed)
        for index in range(args.random):
            number = "".join(str(d) for d in rng.integers(0, 10, rng.integers(1, 11)))
            path = args.out_dir / f"random-{index:03d}-{number}.png"
            Image.fromarray(written(number, images, labels, rng)).save(path)
            print(path)
        return
    for number in NUMBERS:
        path = args.out_dir / f"scan-{number}.png"
        Image.fromarray(written(number, images, labels)).save(path, optimize=True)
        print(path)


if __name__ == "__main__":
    main()
