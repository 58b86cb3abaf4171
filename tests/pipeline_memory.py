"""Peak memory of one pipeline.onnx run in onnxruntime, on a large input (README, "Embed it").

    python tests/pipeline_memory.py [--model PIPELINE.onnx] [--limit-gb N] HEIGHTxWIDTH[:drawing] ...

Each size runs in a fresh process: the session is made (one thread, as parity.pipeline_session),
the input is built in place (samples/photo-9.png, or samples/drawing-3.png with its transparency
for `:drawing`, scaled up by repeating pixels, in row chunks: no full-size temporaries), the
kernel's peak-RSS mark is reset (/proc/self/clear_refs), and then one session.run. Reported:
`before` (VmRSS just before the run: Python, the session and the input), `peak` (VmHWM after it),
and `extra` = peak - before, the run's own memory, in MB (2^20 bytes). --limit-gb caps the child's
address space (RLIMIT_AS), so that a graph that would take more fails instead of taking the machine."""

import argparse
import json
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SOURCES = {"photo": "photo-9.png", "drawing": "drawing-3.png"}
CHUNK_ROWS = 256


def _status_mb(key: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def scaled_up(kind: str, height: int, width: int):
    """RGBA uint8 [height, width, 4]: the sample repeated pixel by pixel to that size."""
    import numpy as np
    from PIL import Image

    small = np.asarray(Image.open(ROOT / "samples" / SOURCES[kind]).convert("RGBA"))
    rows = np.arange(height) * small.shape[0] // max(height, 1)
    cols = np.arange(width) * small.shape[1] // max(width, 1)
    pixels = np.empty((height, width, 4), np.uint8)
    for start in range(0, height, CHUNK_ROWS):
        pixels[start:start + CHUNK_ROWS] = small[rows[start:start + CHUNK_ROWS]][:, cols]
    return pixels


def _child(model: str, height: int, width: int, kind: str) -> None:
    import gc

    from lstm_digits.export.pipeline_agreement import pipeline_session
    from lstm_digits.models import PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES

    session = pipeline_session(model)
    pixels = scaled_up(kind, height, width)
    gc.collect()
    Path("/proc/self/clear_refs").write_text("5")  # VmHWM := VmRSS
    before = _status_mb("VmRSS")
    try:
        out = dict(zip(PIPELINE_OUTPUT_NAMES, session.run(None, {PIPELINE_INPUT_NAME: pixels})))
        result = {"digit": int(out["probabilities"][0].argmax()), "no_digit": bool(out["no_digit"][0]),
                  "rejected": bool(out["rejected"][0])}
    except Exception as error:  # an allocation refused under --limit-gb
        result = {"error": str(error).splitlines()[0][:200]}
    peak = _status_mb("VmHWM")
    print(json.dumps({"input_mb": pixels.nbytes / 2**20, "before_mb": before, "peak_mb": peak, "extra_mb": peak - before, **result}))


def measure(model: Path, height: int, width: int, kind: str = "photo", limit_gb: float | None = None) -> dict:
    """One run in a fresh process: {input_mb, before_mb, peak_mb, extra_mb, and the outputs or error}."""
    def cap():
        if limit_gb:
            size = int(limit_gb * 2**30)
            resource.setrlimit(resource.RLIMIT_AS, (size, size))
    done = subprocess.run([sys.executable, __file__, "--child", str(model), str(height), str(width), kind],
                          capture_output=True, text=True, preexec_fn=cap)
    if done.returncode:
        return {"error": f"exit {done.returncode}: {done.stderr.strip().splitlines()[-1:]}"}
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    if sys.argv[1:2] == ["--child"]:
        model, height, width, kind = sys.argv[2:6]
        _child(model, int(height), int(width), kind)
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=ROOT / "models" / "default" / "pipeline.onnx")
    parser.add_argument("--limit-gb", type=float, default=None)
    parser.add_argument("sizes", nargs="+", help="HEIGHTxWIDTH, or HEIGHTxWIDTH:drawing for the translucent drawing")
    args = parser.parse_args()
    print(f"{args.model}")
    print("| input | uint8 MB | before run MB | peak MB | run's extra MB | extra / uint8 | answer |")
    print("|---|---:|---:|---:|---:|---:|---|")
    for size in args.sizes:
        shape, _, kind = size.partition(":")
        height, width = map(int, shape.split("x"))
        r = measure(args.model, height, width, kind or "photo", args.limit_gb)
        answer = r.get("error") or ("no digit" if r["no_digit"] else "-" if r["rejected"] else r["digit"])
        if "input_mb" in r:
            print(f"| {height}x{width} {kind or 'photo'} | {r['input_mb']:.0f} | {r['before_mb']:.0f} | {r['peak_mb']:.0f} "
                  f"| {r['extra_mb']:.0f} | {r['extra_mb'] / r['input_mb']:.2f} | {answer} |", flush=True)
        else:
            print(f"| {height}x{width} {kind or 'photo'} | {height * width * 4 / 2**20:.0f} | | | | | {answer} |", flush=True)


if __name__ == "__main__":
    main()
