"""python -m benchmarks.pipeline: pipeline.onnx (the preprocessing graph, then the classifier)
against the Python runtime (digit-classify's path, which runs the same preprocessing graph), and its
time in onnxruntime.

Agreement (issue 21): the same outcome (digit, rejection "-" or "no digit") on every image and the
same 28x28 image within float rounding (IMAGE_ROUNDING), on the MNIST test digits as PNGs, the
robustness set and the tight-crop set (tests/robustness.py), the styles (tests/styles.py) and samples/
(the sets of scripts/same_images.py, which compares Node.js and the browser). Time: a 640x480 photo
through the pipeline in onnxruntime on one core, goal <= 10 ms.
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np

from . import measure

ROOT = Path(__file__).resolve().parents[1]
PHOTO_SIZE, PHOTO_GOAL_MS = (640, 480), 10.0


def encoded_sets(data_dir, mnist: int, robust: int, tight: int, per_style: int) -> dict:
    """{set name: a function giving its encoded images}: the sets scripts/same_images.py gives Node.js
    and the browser (MNIST test PNGs, robustness, tight crops, styles, samples/), defined there once."""
    sys.path.insert(0, str(ROOT / "scripts"))
    import same_images

    return same_images.encoded_sets(data_dir or os.environ.get(same_images.ENV_VAR), mnist, robust, tight, per_style, True)


def photo_pixels() -> np.ndarray:
    """samples/photo-9.png (a photo of a 9 on grey paper with a shadow) at 640x480, RGBA."""
    from PIL import Image

    image = Image.open(ROOT / "samples" / "photo-9.png").convert("RGBA").resize(PHOTO_SIZE, Image.Resampling.LANCZOS)
    return np.asarray(image)


def time_ms(session, pixels: np.ndarray, repeats: int) -> dict:
    from lstm_digits.models import PIPELINE_INPUT_NAME

    run = lambda: session.run(None, {PIPELINE_INPUT_NAME: pixels})  # noqa: E731
    return measure.spread([t * 1e3 for t in measure.call_seconds(run, repeats, warmup=3)])


def photo_time(model_dir: Path, repeats: int) -> dict:
    """The 640x480 photo through model_dir's pipeline.onnx: {median, p10, p90, n} in ms."""
    from lstm_digits.export.pipeline_agreement import pipeline_session
    from lstm_digits.models import PIPELINE

    return time_ms(pipeline_session(model_dir / PIPELINE), photo_pixels(), repeats)


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.pipeline", description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST archives (default $LSTM_DIGITS_DATA)")
    parser.add_argument("--model-dir", type=Path, default=None, help="folder with model.onnx and pipeline.onnx (default: the shipped model)")
    parser.add_argument("--mnist", type=int, default=10_000, help="MNIST test digits (as PNGs)")
    parser.add_argument("--robustness", type=int, default=1000, help="digits rendered as photos, scans and drawings")
    parser.add_argument("--tight", type=int, default=1000, help="digits per tight-crop variant (20 variants)")
    parser.add_argument("--styles", type=int, default=300, help="drawings per style (7 styles)")
    parser.add_argument("--repeats", type=int, default=50, help="timed runs of the 640x480 photo")
    args = parser.parse_args(argv)

    from lstm_digits.export.pipeline_agreement import IMAGE_ROUNDING, compare, pipeline_session
    from lstm_digits.models import DEFAULT_DIR, ONNX, PIPELINE
    from lstm_digits.runtime.classifier import DigitClassifier

    folder = args.model_dir or DEFAULT_DIR
    session = pipeline_session(folder / PIPELINE)
    results = {}
    print(f"| set | images | same outcome (goal: all) | largest pixel difference (goal <= {IMAGE_ROUNDING:.0e}) "
          "| ms per image (both paths) | passes |")
    print("|---|---:|---:|---:|---:|---|")
    with DigitClassifier(folder / ONNX) as classifier:
        for name, build in encoded_sets(args.data_dir, args.mnist, args.robustness, args.tight, args.styles).items():
            encoded = build()
            start = time.perf_counter()
            agreement = compare(classifier, session, encoded)
            seconds = time.perf_counter() - start
            results[name] = agreement
            print(f"| {name} | {agreement.images:,} | {agreement.same:,} ({agreement.images - agreement.same} differ) "
                  f"| {agreement.max_difference:.1e} | {1e3 * seconds / agreement.images:.1f} "
                  f"| {'yes' if agreement.holds else 'NO'} |", flush=True)
    photo = photo_time(folder, args.repeats)
    print(f"\n640x480 photo (samples/photo-9.png resized) through pipeline.onnx, onnxruntime, 1 thread: "
          f"median {photo['median']:.1f} ms (p10 {photo['p10']:.1f}, p90 {photo['p90']:.1f}; {photo['n']} runs); "
          f"goal <= {PHOTO_GOAL_MS:.0f} ms: {'met' if photo['median'] <= PHOTO_GOAL_MS else 'NOT met'}")
    results["photo_ms"] = photo
    return results


if __name__ == "__main__":
    main()
