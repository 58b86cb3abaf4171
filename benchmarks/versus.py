"""python -m benchmarks.versus REF: this checkout's runtime side by side with the runtime of git
revision REF (e.g. the commit before a change), interleaved in one run, on the same Python.

Each round measures both trees in turn, alternating which goes first: one image through
`digit-classify` (whole process: wall time and peak memory), a folder of MNIST test PNGs, and
`to_mnist_form` in-process on 28x28 MNIST digits and on a 640x480 photo (decoding left out).
REF's tree is a temporary `git worktree`; each tree is imported as `lstm_digits` through
PYTHONPATH, so both run with this environment's packages. Figures are medians over the rounds.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from . import measure

ROOT = Path(__file__).resolve().parents[1]
ONE_IMAGE = ROOT / "samples" / "scan-4.jpg"

# Run inside each tree's Python: to_mnist_form on decoded images, the best of `repeats` per image.
IN_PROCESS = """
import json, sys, time, gzip
import numpy as np
from PIL import Image
import lstm_digits
from lstm_digits.runtime.preprocess import to_mnist_form
assert lstm_digits.__file__.startswith(sys.argv[1]), lstm_digits.__file__
raw = gzip.open(sys.argv[2], "rb").read()[16:]
digits = [Image.fromarray(a) for a in np.frombuffer(raw, np.uint8).reshape(-1, 28, 28)[: int(sys.argv[3])]]
photo = Image.open(sys.argv[4]).convert("RGB").resize((640, 480), Image.Resampling.LANCZOS)
def best(image, repeats):
    times = []
    for _ in range(repeats):
        start = time.perf_counter(); to_mnist_form(image); times.append(time.perf_counter() - start)
    return min(times)
for image in digits[:20]:
    to_mnist_form(image)
print(json.dumps({"digit_us": 1e6 * float(np.median([best(d, 3) for d in digits])), "photo_ms": 1e3 * best(photo, 5)}))
"""


def import_root(tree: Path, scratch: Path) -> Path:
    """A folder holding `lstm_digits` -> tree: what PYTHONPATH needs to import that tree."""
    root = scratch / f"import-{tree.name}"
    root.mkdir()
    (root / "lstm_digits").symlink_to(tree.resolve(), target_is_directory=True)
    return root


def environment(root: Path) -> dict:
    return {**os.environ, "PYTHONPATH": str(root), "PYTHONDONTWRITEBYTECODE": "1"}


def one_round(name: str, root: Path, folder: Path, mnist_archive: Path, digits: int) -> dict:
    env = environment(root)
    classify = [sys.executable, "-m", "lstm_digits.cli.classify"]
    one = measure.process([*classify, str(ONE_IMAGE)], 1, env=env)
    start_folder = measure.process([*classify, str(folder)], 1, env=env)
    count = sum(1 for _ in folder.iterdir())
    report = subprocess.run([sys.executable, "-c", IN_PROCESS, str(root / "lstm_digits"), str(mnist_archive), str(digits),
                             str(ROOT / "samples" / "photo-9.png")], env=env, capture_output=True, text=True, check=True)
    return {"tree": name, "one_image_s": one["wall_s"]["median"], "one_image_mb": one["peak_rss_mb"]["median"],
            "folder_per_s": count / start_folder["wall_s"]["median"], **json.loads(report.stdout)}


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.versus", description=__doc__.splitlines()[0])
    parser.add_argument("ref", help="the git revision to compare with (e.g. HEAD~1)")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get("LSTM_DIGITS_DATA"), help="MNIST archives")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--folder-images", type=int, default=10_000)
    parser.add_argument("--digits", type=int, default=500, help="28x28 digits timed in-process")
    args = parser.parse_args(argv)
    archive = next(Path(args.data_dir).rglob("t10k-images-idx3-ubyte.gz"))

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        old_tree = scratch / "ref"
        subprocess.run(["git", "-C", str(ROOT), "worktree", "add", "--detach", "--quiet", str(old_tree), args.ref], check=True)
        try:
            roots = {args.ref: import_root(old_tree, scratch), "this checkout": import_root(ROOT, scratch)}
            folder = scratch / "pngs"
            _write_pngs(archive, folder, args.folder_images)
            rows = []
            for round_index in range(args.rounds):
                order = list(roots.items()) if round_index % 2 == 0 else list(roots.items())[::-1]
                for name, root in order:
                    rows.append(one_round(name, root, folder, archive, args.digits))
                    print(json.dumps(rows[-1]), file=sys.stderr, flush=True)
        finally:
            subprocess.run(["git", "-C", str(ROOT), "worktree", "remove", "--force", str(old_tree)], check=False)
    return _report(rows, list(roots))


def _write_pngs(archive: Path, folder: Path, count: int) -> None:
    import gzip

    import numpy as np

    folder.mkdir()
    measure.write_pngs(np.frombuffer(gzip.open(archive, "rb").read()[16:], np.uint8).reshape(-1, 28, 28)[:count], folder)


COLUMNS = {"one_image_s": ("one image, digit-classify", "{:.3f} s"), "one_image_mb": ("its peak memory", "{:.0f} MB"),
           "folder_per_s": ("folder of MNIST PNGs", "{:,.0f}/s"), "digit_us": ("to_mnist_form, 28x28 digit", "{:.0f} µs"),
           "photo_ms": ("to_mnist_form, 640x480 photo", "{:.1f} ms")}


def _report(rows: list[dict], names: list[str]) -> dict:
    medians = {name: {key: statistics.median(r[key] for r in rows if r["tree"] == name) for key in COLUMNS} for name in names}
    print("| measure | " + " | ".join(names) + " |")
    print("|---|" + "---:|" * len(names))
    for key, (label, form) in COLUMNS.items():
        print(f"| {label} | " + " | ".join(form.format(medians[name][key]) for name in names) + " |")
    return medians


if __name__ == "__main__":
    main()
