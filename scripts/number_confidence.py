"""Which confidence score tells number.onnx's right readings from its wrong ones (docs/NUMBERS.md):
for each score, the share of numbers that can be accepted with at most 1% of the accepted wrong.

    python scripts/number_confidence.py [--split val|test] [--styled] [--model number.onnx]

The numbers: 1,000 of 1-12 digits, written on paper; the validation ones are those the threshold
is chosen on (MNIST's digits as written); --styled writes the digits in the training styles. The
scores, each from the file's outputs: the lowest digit's probability (the file's rule), the
product of the digits' probabilities, the lowest column's top probability, and the lowest margin
between a column's two most likely classes. Needs the development install.
"""

import argparse
import os
from pathlib import Path

import numpy as np

from lstm_digits.export.export_number import MAX_WRONG_ACCEPTED, seeded_numbers
from lstm_digits.export.number_paper import strip_on_paper
from lstm_digits.models import NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES
from lstm_digits.runtime import NumberReader
from lstm_digits.training.data import load_mnist
from lstm_digits.training.mnist_files import ENV_VAR
from lstm_digits.training.tasks import EVAL_SEED

COUNT = 1000
TEST_SEED = EVAL_SEED + 7  # test numbers no figure of the export uses


def scores_of(outputs: dict) -> dict:
    probabilities = np.exp(outputs["log_probs"][:, 0, :])
    ranked = np.sort(probabilities, axis=1)
    return {"lowest digit": float(outputs["probabilities"].min()) if len(outputs["digits"]) else 0.0,
            "product": float(outputs["number_probability"]),
            "lowest column": float(ranked[:, -1].min()),
            "lowest margin": float((ranked[:, -1] - ranked[:, -2]).min())}


def coverage(scores: np.ndarray, right: np.ndarray) -> tuple[float, float]:
    """(the largest share accepted, most confident first, with <= MAX_WRONG_ACCEPTED of them wrong; its threshold)."""
    order = np.argsort(-scores, kind="stable")
    wrong_share = np.cumsum(~right[order]) / np.arange(1, len(order) + 1)
    within = np.flatnonzero(wrong_share <= MAX_WRONG_ACCEPTED)
    return ((within[-1] + 1) / len(order), float(scores[order][within[-1]])) if len(within) else (0.0, float("nan"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=("val", "test"), default="val")
    parser.add_argument("--styled", action="store_true", help="digits in the training styles")
    parser.add_argument("--model", help="a number.onnx (default: the shipped one)")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(ENV_VAR))
    args = parser.parse_args()
    split = getattr(load_mnist(args.data_dir), args.split)
    numbers = seeded_numbers(split, COUNT, EVAL_SEED if args.split == "val" else TEST_SEED, styles=args.styled)
    reader = NumberReader(args.model)
    rows, right = [], []
    for index in range(len(numbers)):
        pixels = strip_on_paper(numbers.strips[index, :, : int(numbers.widths[index])].numpy())
        outputs = dict(zip(NUMBER_OUTPUT_NAMES, reader.session.run(None, {NUMBER_INPUT_NAME: pixels})))
        rows.append(scores_of(outputs))
        right.append("".join(str(int(d)) for d in outputs["digits"]) == numbers.text(index))
    right = np.array(right)
    print(f"{args.split}{' styled' if args.styled else ''}: {len(rows)} numbers, {right.mean():.1%} read right")
    print(f"| score | accepted at <= {MAX_WRONG_ACCEPTED:.0%} wrong | threshold |\n|---|---:|---:|")
    for score in rows[0]:
        share, threshold = coverage(np.array([row[score] for row in rows]), right)
        print(f"| {score} | {share:.1%} | {threshold:.4f} |")


if __name__ == "__main__":
    main()
