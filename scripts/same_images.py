"""The same 28x28 images and answers on every host (issue 21): the Python runtime against
examples/node (onnxruntime-node) and the web page (onnxruntime-web in Chromium), all fed the very
same RGBA pixels, so that what is compared is the preprocessing graph in each host, not decoders.

    python scripts/same_images.py write DIR [--mnist N] [--robustness N] [--tight N] [--styles N] [--no-samples]
        builds the sets (default: all of each), decodes each image once with Pillow (rgba_pixels, EXIF
        orientation applied) into DIR/records.bin, and writes what the Python runtime (digit-classify's
        path, given the encoded image) saw and answered: DIR/python.f32 and DIR/python.json
    node examples/node/same_images.js DIR                   # -> DIR/node.f32, DIR/node.json
    node web/test/browser.js ... --same-images DIR          # -> DIR/browser.f32, DIR/browser.json
    python scripts/same_images.py compare DIR HOST [HOST ...]
        per set and host: images, same answers, largest pixel difference; exit code 1, with one line
        saying why, unless every image is within IMAGE_ROUNDING and every answer is the same

DIR/records.bin: per image, its height and width (uint32, little-endian), then height x width x 4
bytes (RGBA, row by row). HOST.f32: per image the 28x28 float32 image (little-endian) in record
order. HOST.json: {"answers": per image the digit, the rejection label "-", or null for no digit;
"ms": per image the milliseconds it took}. DIR/sets.json: the sets' names and sizes, in record order.
"""

import argparse
import io
import json
import os
import struct
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

from lstm_digits.export.pipeline_agreement import IMAGE_ROUNDING, NO_DIGIT, host_pixels, runtime_outcome
from lstm_digits.runtime.classifier import DigitClassifier
from lstm_digits.training.mnist_files import ENV_VAR

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
import robustness  # noqa: E402  (numpy and Pillow only, as styles)
import styles  # noqa: E402
from mnist_pngs import test_digits  # noqa: E402  (this folder's; no torch)

SETS = ("MNIST test PNGs", "robustness set", "tight-crop set", "styles", "samples/")


def png(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(array).save(buffer, "PNG")
    return buffer.getvalue()


def encoded_sets(data_dir, mnist: int, robust: int, tight: int, per_style: int, samples: bool) -> dict:
    """{set name: a function giving its encoded images}: each set is built when its turn comes."""
    images, labels = test_digits(data_dir, "same_images") if mnist or robust or tight else (None, None)
    builders = {
        "MNIST test PNGs": lambda: [png(image) for image in images[:mnist]],
        "robustness set": lambda: [data for data, *_ in robustness.build(images, labels, min(robust, len(images)))],
        "tight-crop set": lambda: [data for items in robustness.build_tight(images, tight).values() for data, _ in items],
        "styles": lambda: [data for data, *_ in styles.build(per_style)],
        "samples/": lambda: [path.read_bytes() for path in sorted(ROOT.glob("samples/*.*g"))],
    }
    wanted = dict(zip(SETS, (mnist, robust, tight, per_style, samples)))
    return {name: build for name, build in builders.items() if wanted[name]}


def write(args) -> None:
    args.dir.mkdir(parents=True, exist_ok=True)
    sets, answers, times, started = [], [], [], time.perf_counter()
    with DigitClassifier() as classifier, open(args.dir / "records.bin", "wb") as records, \
            open(args.dir / "python.f32", "wb") as seen:
        for name, build in encoded_sets(args.data_dir, args.mnist, args.robustness, args.tight, args.styles,
                                        args.samples).items():
            encoded = build()
            predictions = classifier.predict_iter(encoded)  # from the encoded image: digit-classify's path
            for data in encoded:
                start = time.perf_counter()
                prediction = next(predictions)  # (a batch of them takes its time at its first image)
                times.append(1e3 * (time.perf_counter() - start))
                pixels = host_pixels(data)  # decoded once, here: every host gets these bytes
                records.write(struct.pack("<II", *pixels.shape[:2]) + pixels.tobytes())
                try:
                    answer, image = runtime_outcome(classifier, prediction)
                except RuntimeError as error:
                    sys.exit(f"same_images: {error}")
                seen.write(np.asarray(image, "<f4").tobytes())
                answers.append(answer)
            sets.append({"name": name, "count": len(encoded)})
    (args.dir / "python.json").write_text(json.dumps({"answers": answers, "ms": times}))
    (args.dir / "sets.json").write_text(json.dumps({"canvas": classifier.form.canvas, "sets": sets}))
    sizes = ", ".join(f"{s['count']:,} {s['name']}" for s in sets)
    print(f"same_images: {len(answers):,} images ({sizes}), {(args.dir / 'records.bin').stat().st_size / 1e6:.1f} MB "
          f"of RGBA, built and decoded, and run in the Python runtime ({sum(times) / 1e3:.1f} s) in "
          f"{time.perf_counter() - started:.1f} s")


def host_output(folder: Path, host: str, count: int, canvas: int) -> tuple[np.ndarray, list, np.ndarray]:
    """What `host` wrote: (images [count, canvas, canvas], answers, ms); exits when it is not all there."""
    try:
        written = json.loads((folder / f"{host}.json").read_text())
        answers, ms = written["answers"], np.asarray(written["ms"], float)
        images = np.fromfile(folder / f"{host}.f32", "<f4")
    except (OSError, ValueError, KeyError, TypeError) as error:
        sys.exit(f"same_images: {host} wrote no usable answers and images in {folder}: {error!r}")
    if len(answers) != count or len(ms) != count or images.size != count * canvas * canvas:
        sys.exit(f"same_images: {host} wrote {len(answers):,} answers and {images.size:,} pixels for {count:,} images")
    return images.reshape(count, canvas, canvas), answers, ms


def shown(answer) -> str:
    return NO_DIGIT if answer is None else answer


def compare(args) -> None:
    written = json.loads((args.dir / "sets.json").read_text())
    sets, canvas = written["sets"], written["canvas"]
    count = sum(s["count"] for s in sets)
    expected, expected_answers, python_ms = host_output(args.dir, "python", count, canvas)
    failures = []
    print(f"| host | set | images | same answers | largest pixel difference (limit {IMAGE_ROUNDING:.0e}) "
          "| ms per image: host, from RGBA (Python runtime, from the file) | passes |")
    print("|---|---|---:|---:|---:|---:|---|")
    for host in args.hosts:
        images, answers, ms = host_output(args.dir, host, count, canvas)
        first = 0
        for s in sets:
            records, first = range(first, first + s["count"]), first + s["count"]
            span = slice(records.start, records.stop)
            difference = np.nan_to_num(np.abs(images[span] - expected[span]), nan=np.inf)  # NaN: as far as it gets
            largest = difference.max(axis=(1, 2), initial=0.0)  # per image
            most = float(largest.max(initial=0.0))
            differ = [i for i in records if answers[i] != expected_answers[i]]
            passes = not differ and most <= IMAGE_ROUNDING
            speed = f"{ms[span].mean():.1f} ({python_ms[span].mean():.1f})" if len(records) else "-"
            print(f"| {host} | {s['name']} | {len(records):,} | {len(records) - len(differ):,} | {most:.1e} | {speed} "
                  f"| {'yes' if passes else 'NO'} |")
            if differ:
                i = differ[0]
                failures.append(f"{host}, {s['name']}: {len(differ)} answers differ (record {i}: "
                                f"{shown(answers[i])}, Python {shown(expected_answers[i])})")
            if most > IMAGE_ROUNDING:
                failures.append(f"{host}, {s['name']}: {int((largest > IMAGE_ROUNDING).sum())} images differ by more than "
                                f"{IMAGE_ROUNDING:.0e} (record {records[int(largest.argmax())]}: {most:.1e})")
    if failures:
        sys.exit(f"same_images: not the Python runtime's images and answers: {'; '.join(failures)}")
    print(f"same_images: {' and '.join(args.hosts)}: all {count:,} images within {IMAGE_ROUNDING:.0e} of the "
          "Python runtime's, and the same answers")


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    commands = parser.add_subparsers(dest="command", required=True)
    writer = commands.add_parser("write", help="build the sets; write the RGBA records and the Python runtime's output")
    writer.add_argument("dir", type=Path)
    writer.add_argument("--data-dir", default=os.environ.get(ENV_VAR), help=f"MNIST archives (default ${ENV_VAR})")
    writer.add_argument("--mnist", type=int, default=10_000, help="MNIST test digits, as PNGs (default all 10,000)")
    writer.add_argument("--robustness", type=int, default=1000, help="robustness renderings (default 1,000)")
    writer.add_argument("--tight", type=int, default=1000, help="digits per tight-crop variant, 20 variants (default 1,000)")
    writer.add_argument("--styles", type=int, default=styles.PER_STYLE,
                        help=f"drawings per style, {len(styles.STYLES)} styles (default {styles.PER_STYLE})")
    writer.add_argument("--no-samples", dest="samples", action="store_false", help="leave out samples/")
    writer.set_defaults(run=write)
    comparer = commands.add_parser("compare", help="compare what the hosts wrote with the Python runtime's")
    comparer.add_argument("dir", type=Path)
    comparer.add_argument("hosts", nargs="+", help="node, browser: the HOST.f32 and HOST.json they wrote")
    comparer.set_defaults(run=compare)
    args = parser.parse_args(argv)
    args.run(args)


if __name__ == "__main__":
    main()
