"""python -m benchmarks.number_speed: number.onnx (raw pixels to number) in onnxruntime on one thread.

Goals (issue 23): a strip 28 px high holding 5 digits <= 2 ms; a 640x480 photo of a 5-digit number
<= 25 ms. The inputs are samples/numbers/scan-90210.png: its ink as a 28 px high image, and the
whole scan placed on 640x480 paper.
"""

import argparse
from pathlib import Path

import numpy as np

from . import measure

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "samples" / "numbers" / "scan-90210.png"
GOALS_MS = {"strip, 28 px high, 5 digits": 2.0, "photo, 640x480, 5 digits": 25.0}


def inputs() -> dict:
    """name -> RGBA pixels."""
    from PIL import Image

    scan = Image.open(SAMPLE).convert("L")
    ink = np.flatnonzero(np.asarray(scan).min(axis=1) < 200)
    strip = scan.crop((0, int(ink[0]), scan.width, int(ink[-1]) + 1))
    strip = strip.resize((round(strip.width * 28 / strip.height), 28), Image.Resampling.LANCZOS)
    page = Image.new("L", (640, 480), int(np.median(np.asarray(scan))))
    page.paste(scan, ((640 - scan.width) // 2, (480 - scan.height) // 2))
    return {name: np.asarray(image.convert("RGBA")) for name, image in
            (("strip, 28 px high, 5 digits", strip), ("photo, 640x480, 5 digits", page))}


def speed(model: Path | None, repeats: int) -> dict:
    """input -> {median, p10, p90, n} in ms, and the number read."""
    from lstm_digits.runtime.number_reader import NumberReader

    reader = NumberReader(model, threads=1)
    results = {}
    for name, pixels in inputs().items():
        run = lambda: reader.session.run(None, {reader.input_name: pixels})  # noqa: E731
        times = measure.spread([t * 1e3 for t in measure.call_seconds(run, repeats, warmup=3)])
        results[name] = {**times, "read": reader.read(pixels).number, "size": f"{pixels.shape[1]}x{pixels.shape[0]}"}
    return results


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.number_speed", description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=None, help="a number.onnx (default: the shipped one)")
    parser.add_argument("--repeats", type=int, default=50)
    args = parser.parse_args(argv)
    results = speed(args.model, args.repeats)
    for name, s in results.items():
        print(f"{name} ({s['size']}): {s['median']:.2f} ms ({s['p10']:.2f}-{s['p90']:.2f}), goal <= {GOALS_MS[name]} ms, read {s['read']}")
    return results


if __name__ == "__main__":
    main()
