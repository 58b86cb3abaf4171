"""The two number readers side by side (docs/NUMBERS.md, issue 23 point 2): number.onnx (CTC, the
whole strip at once) and SegmentationReader (connected components, each read by model.onnx), on
numbers of 1-10 MNIST test digits written on paper, and the rules that combine them.

    python scripts/number_agreement.py [--per-length 100] [--json FILE]   # archives from $LSTM_DIGITS_DATA
    python scripts/number_agreement.py --scenes      # the numbers in tests/number_scenes.py's scenes

For each rule: how many numbers it answers (the rest it rejects), how many of those it reads right,
and how many of all it answers wrong; over all lengths, for 5 digits and, with --scenes, for each
scene. Needs the development install (the numbers are written by training/number_strings.py).
"""

import argparse
import json
import os
import sys
from pathlib import Path

from lstm_digits.export.export_number import seeded_numbers
from lstm_digits.export.number_paper import strip_on_paper
from lstm_digits.runtime import NumberReader
from lstm_digits.runtime.segmentation_reader import SegmentationReader
from lstm_digits.training.data import load_mnist
from lstm_digits.training.mnist_files import ENV_VAR

LENGTHS = range(1, 11)
SEED = 2031  # not a seed the export's calibration (2014, 2015) or figures use

# rule name -> (what it answers: the number, or None) from the two readings
RULES = {
    "number.onnx, its rule": lambda ctc, seg: ctc.number,
    "segmentation, its rule": lambda ctc, seg: seg.number,
    "the two readings agree": lambda ctc, seg: agreed(ctc, seg),
    "both accept and agree": lambda ctc, seg: ctc.number if ctc.number is not None and ctc.number == seg.number else None,
    "number.onnx accepts, or the two agree": lambda ctc, seg: ctc.number or agreed(ctc, seg),
}


def read(reading) -> str:
    """What a reader read, accepted or not."""
    return "".join(digit.digit for digit in reading.digits)


def agreed(ctc, seg) -> str | None:
    """What both readers read, accepted or not, when they read the same digits; else None."""
    return read(ctc) if read(ctc) == read(seg) and read(ctc) else None


def on_paper(numbers) -> list[tuple]:
    """[(RGBA pixels, 'paper', the number)]: each number as a scan shows it."""
    return [(strip_on_paper(numbers.strips[i, :, : int(numbers.widths[i])].numpy()), "paper", numbers.text(i))
            for i in range(len(numbers))]


def measure(per_length: int, data_dir: Path, scenes: bool = False) -> dict:
    mnist = load_mnist(data_dir)
    if scenes:  # the suite's scenes (tests/number_scenes.py), in turn: photo, grid, ruled, boxed, drawing, scan
        sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
        import number_scenes
    ctc_reader, seg_reader = NumberReader(), SegmentationReader()
    rows = []
    for length in LENGTHS:
        numbers = seeded_numbers(mnist.test, per_length, SEED + length, (length, length))
        for image, scene, truth in number_scenes.build(numbers, SEED + length) if scenes else on_paper(numbers):
            ctc, seg = ctc_reader.read(image), seg_reader.read(image)
            rows.append({"length": length, "scene": scene, "truth": truth, "ctc": read(ctc), "seg": read(seg),
                         **{rule: answer(ctc, seg) for rule, answer in RULES.items()}})
    scopes = ["all", "5 digits", *(number_scenes.SCENES if scenes else ())]
    in_scope = {"all": lambda r: True, "5 digits": lambda r: r["length"] == 5}
    return {"per_length": per_length, "seed": SEED, "scenes": scenes, "results": {
        scope: {rule: figures([r for r in rows if in_scope.get(scope, lambda r: r["scene"] == scope)(r)], rule) for rule in RULES}
        for scope in scopes},
        "read_right_without_a_rule": {name: sum(r[name] == r["truth"] for r in rows) / len(rows) for name in ("ctc", "seg")}}


def figures(rows: list[dict], rule: str) -> dict:
    answered = [r for r in rows if r[rule] is not None]
    right = sum(r[rule] == r["truth"] for r in answered)
    if not rows:
        return {"numbers": 0, "answered": 0.0, "right_of_answered": None, "wrong_of_all": 0.0}
    return {"numbers": len(rows), "answered": len(answered) / len(rows),
            "right_of_answered": right / len(answered) if answered else None,
            "wrong_of_all": (len(answered) - right) / len(rows)}


def table(result: dict) -> str:
    lines = ["| rule | numbers | answered | right, of those answered | answered wrong, of all |", "|---|---:|---:|---:|---:|"]
    for scope, rules in result["results"].items():
        for rule, f in rules.items():
            right = "-" if f["right_of_answered"] is None else f"{f['right_of_answered']:.1%}"
            lines.append(f"| {rule} ({scope}) | {f['numbers']} | {f['answered']:.1%} | {right} | {f['wrong_of_all']:.1%} |")
    raw = result["read_right_without_a_rule"]
    lines.append(f"\nRead right with no rule at all: number.onnx {raw['ctc']:.1%}, segmentation {raw['seg']:.1%}.")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-length", type=int, default=100)
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(ENV_VAR))
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--scenes", action="store_true", help="in photo-like scenes (tests/number_scenes.py), not on plain paper")
    args = parser.parse_args()
    if args.data_dir is None:
        parser.error(f"say where MNIST is with --data-dir or {ENV_VAR}")
    result = measure(args.per_length, args.data_dir, args.scenes)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))
    print(table(result))


if __name__ == "__main__":
    main()
