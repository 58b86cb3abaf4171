"""python -m benchmarks.preprocessing: time `to_mnist_form` (decoded image in, 28x28 out) on MNIST
test digits and on 500-800 px photo-like renderings (tests/robustness.py), one process, one core.

Goals (issue 12): <= 150 us for a 28x28 digit, <= 15 ms for a 500-800 px photo. Decoding is not
included: it is the same before and after any change to the preprocessing.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

from . import measure

ROOT = Path(__file__).resolve().parents[1]
GOALS_US = {"MNIST digit, 28x28": 150.0, "photo, 500-800 px": 15_000.0}


def inputs(data_dir, digits: int, photos: int) -> dict:
    """name -> list of decoded PIL images."""
    from PIL import Image

    from lstm_digits.runtime.images import open_image
    from lstm_digits.training.data import load_mnist

    sys.path.insert(0, str(ROOT / "tests"))
    import robustness

    test = load_mnist(data_dir).test
    images, labels = test.images.numpy(), test.labels.numpy()
    mnist = [Image.fromarray(image) for image in images[:digits]]
    renderings = [open_image(data) for data, *_ in robustness.build(images, labels, 4 * photos)]
    sized = [image for image in renderings if 500 <= max(image.size) <= 800][:photos]
    return {"MNIST digit, 28x28": mnist, "photo, 500-800 px": sized}


def time_each(images: list, repeats: int) -> dict:
    """Median over images of each image's best-of-`repeats` time, in microseconds."""
    from lstm_digits.runtime.preprocess import to_mnist_form

    for image in images[:20]:
        to_mnist_form(image)  # warm-up: imports, caches
    best = [min(measure.call_seconds(lambda: to_mnist_form(image), repeats)) * 1e6 for image in images]
    return measure.spread(best)


def speed(data_dir, digits: int, photos: int, repeats: int) -> dict:
    """input kind -> {images, median, p10, p90} in microseconds."""
    return {name: {"images": len(images), **time_each(images, repeats)}
            for name, images in inputs(data_dir, digits, photos).items()}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.preprocessing", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST archives (default $LSTM_DIGITS_DATA)")
    parser.add_argument("--digits", type=int, default=2000)
    parser.add_argument("--photos", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args(argv)
    results = speed(args.data_dir, args.digits, args.photos, args.repeats)
    print("| input | images | preprocessing time (median, p10-p90) | goal |")
    print("|---|---:|---:|---:|")
    for name, row in results.items():
        goal = GOALS_US[name]
        verdict = "met" if row["median"] <= goal else "**not met**"
        print(f"| {name} | {row['images']} | {row['median']:,.0f} µs ({row['p10']:,.0f}-{row['p90']:,.0f}) "
              f"| <= {goal:,.0f} µs, {verdict} |")
    return results


if __name__ == "__main__":
    main()
