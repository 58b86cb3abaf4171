"""docs/confidence/*.png and the figures of docs/CONFIDENCE.md: calibration (ECE, reliability
diagrams) and rejection (digits kept against non-digits rejected) of an exported model.

    LSTM_DIGITS_DATA=../shared/data .venv/bin/python scripts/confidence_figures.py \
        [--model exported/model.onnx] [--compare other/model.onnx] [--output docs/confidence]

Needs the dev install (matplotlib) and the test fonts (scripts/install_test_fonts.sh). Prints the
figures as Markdown tables. --compare adds another model's curves (e.g. one trained without
outlier exposure) to the trade-off plot.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

import nondigits  # noqa: E402  (tests/nondigits.py: the non-digit set and the measurement sets)
from lstm_digits.export.calibration import expected_calibration_error, reliability, softmax  # noqa: E402
from lstm_digits.runtime import DigitClassifier  # noqa: E402
from lstm_digits.runtime.confidence import RejectionRule, temperature  # noqa: E402
from lstm_digits.training.data import load_mnist  # noqa: E402

DIGIT_SETS = ("mnist test", "robustness")
MIN_BIN = 20  # images: reliability bins with fewer are not drawn (they still count in the ECE)


def scores(classifier, inputs: np.ndarray) -> dict:
    """Both candidate scores per image: the largest calibrated probability, and the negative energy
    logsumexp(logits / T) (Liu et al., 2020); higher means more digit-like for both."""
    logits = classifier.logits(inputs) / temperature(classifier.metadata)
    top = logits.max(axis=1)
    return {"max probability": classifier.probabilities(inputs).max(axis=1),
            "energy": top + np.log(np.exp(logits - top[:, None]).sum(axis=1))}


def measure(model: Path, mnist, sets: dict) -> dict:
    classifier = DigitClassifier(model)
    val = mnist.val.images.numpy().astype(np.float32) / 255
    result = {"classifier": classifier, "rule": RejectionRule.from_metadata(classifier.metadata),
              "val": scores(classifier, val)}
    for name, (inputs, refused, labels) in sets.items():
        result[name] = {"scores": scores(classifier, inputs), "refused": refused, "labels": labels,
                        "logits": classifier.logits(inputs), "probabilities": classifier.probabilities(inputs)}
    return result


def rejected(entry: dict, score: str, threshold: float) -> np.ndarray:
    return (entry["scores"][score] < threshold) | entry["refused"]


def tradeoff(result: dict, score: str, digits: str, nondigits_part: str = "heldout"):
    """(digits kept, non-digits rejected) over thresholds at validation quantiles 0 .. 20%."""
    thresholds = np.quantile(result["val"][score], np.linspace(0, 0.2, 201))
    kept = [1 - rejected(result[digits], score, t).mean() for t in thresholds]
    caught = [rejected(result[nondigits_part], score, t).mean() for t in thresholds]
    return np.array(kept), np.array(caught)


def reliability_figure(result: dict, path: Path) -> list[str]:
    import matplotlib.pyplot as plt

    rows = ["| set | ECE before (T = 1) | ECE after (T = {:.4f}) |".format(temperature(result["classifier"].metadata)),
            "|---|---:|---:|"]
    figure, axes = plt.subplots(1, 2, figsize=(10, 4.6))
    t = temperature(result["classifier"].metadata)
    for axis, name in zip(axes, DIGIT_SETS):
        entry = result[name]
        keep = ~entry["refused"]
        logits, labels = entry["logits"][keep], entry["labels"][keep]
        eces = []
        for label, probabilities, style in (("before (T = 1)", softmax(logits), "s--"),
                                            (f"after (T = {t:.3f})", softmax(logits, t), "o-")):
            table = reliability(probabilities, labels)
            filled = table["count"] >= MIN_BIN  # a bin of a few images says nothing about calibration
            ece = expected_calibration_error(probabilities, labels)
            eces.append(ece)
            top = table["count"][-1] / len(labels)
            axis.plot(table["confidence"][filled], table["accuracy"][filled], style,
                      label=f"{label}: ECE {ece:.2%}, {top:.0%} of images in the top bin")
        axis.plot([0, 1], [0, 1], color="grey", linewidth=0.8, label="perfect calibration")
        axis.set(title=f"{name} ({keep.sum():,} images)", xlabel=f"mean confidence in bin (15 bins; bins of {MIN_BIN}+ images)",
                 ylabel="accuracy in bin", xlim=(0, 1.0), ylim=(0, 1.0))
        axis.legend(loc="upper left", fontsize=8)
        rows.append(f"| {name} | {eces[0]:.2%} | {eces[1]:.2%} |")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)
    return rows


def tradeoff_figure(results: dict, path: Path) -> None:
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(1, 2, figsize=(11, 4.6))
    for axis, digits in zip(axes, DIGIT_SETS):
        for label, result in results.items():
            for score, style in (("max probability", "-"), ("energy", ":")):
                kept, caught = tradeoff(result, score, digits)
                axis.plot(100 * kept, 100 * caught, style, label=f"{label}, {score}")
            rule = result["rule"]
            if rule.enabled:
                kept = 1 - rejected(result[digits], "max probability", rule.min_confidence).mean()
                caught = rejected(result["heldout"], "max probability", rule.min_confidence).mean()
                axis.plot([100 * kept], [100 * caught], "k*", markersize=11,
                          label=f"{label}: default min_confidence {rule.min_confidence}")
        limit = 99.0 if digits == "mnist test" else 98.0
        axis.axvline(limit, color="grey", linewidth=0.8)
        axis.axhline(90, color="grey", linewidth=0.8)
        axis.set(title=f"held-out non-digits rejected vs {digits} digits kept", xlabel=f"{digits}: digits kept (%)",
                 ylabel="held-out non-digits rejected (%)", xlim=(90, 100.2), ylim=(0, 100))
        axis.legend(loc="lower left", fontsize=7)
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def rejection_rows(label: str, result: dict) -> list[str]:
    rule = result["rule"]
    cells = [f"{rejected(result[name], 'max probability', rule.min_confidence).mean():.2%}"
             for name in ("heldout", "tune", "mnist test", "robustness", "samples")]
    return [f"| {label} | {rule.min_confidence} | " + " | ".join(cells) + " |"]


def by_source(result: dict, items: list) -> list[str]:
    """Held-out non-digits rejected per generator and font package, at the default threshold."""
    rule = result["rule"]
    caught = rejected(result["heldout"], "max probability", rule.min_confidence)
    groups: dict[str, list[bool]] = {}
    for item, hit in zip(items, caught):
        groups.setdefault(f"{item.generator}: {item.source}", []).append(bool(hit))
    return [f"| {name} | {len(hits)} | {np.mean(hits):.0%} |" for name, hits in sorted(groups.items())]


def main() -> None:
    from lstm_digits.models import DEFAULT_DIR

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_DIR / "model.onnx")
    parser.add_argument("--compare", type=Path, help="another model.onnx, drawn in the trade-off plot")
    parser.add_argument("--compare-label", default="compared", help="its name in the plot and tables")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "confidence")
    args = parser.parse_args()
    args.output.mkdir(parents=True, exist_ok=True)

    mnist = load_mnist()
    sets = nondigits.measurement_sets(DigitClassifier(args.model), mnist, parts=("heldout", "tune"))
    models = {"fp32": args.model, "int8": args.model.with_name("model.int8.onnx")}
    if args.compare:
        models[args.compare_label] = args.compare
    results = {label: measure(path, mnist, sets) for label, path in models.items()}

    print("## Calibration\n")
    print("\n".join(reliability_figure(results["fp32"], args.output / "reliability.png")))
    tradeoff_figure(results, args.output / "tradeoff.png")
    print("\n## Rejected at the default threshold\n")
    print("| model | min_confidence | held-out non-digits | tune non-digits | MNIST test | robustness | samples |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for label, result in results.items():
        print("\n".join(rejection_rows(label, result)))
    print("\n## Held-out non-digits rejected, fp32, by generator and font package\n")
    print("| source | images | rejected |\n|---|---:|---:|")
    print("\n".join(by_source(results["fp32"], nondigits.build("heldout", nondigits.HELDOUT_COUNT))))
    print("\n## Candidate scores at equal cost (thresholds rejecting 0.5% and 1% of validation digits)\n")
    print("| model | score | validation digits rejected | held-out non-digits | MNIST test | robustness |")
    print("|---|---|---:|---:|---:|---:|")
    for label, result in results.items():
        for score in ("max probability", "energy"):
            for share in (0.005, 0.01):
                t = np.quantile(result["val"][score], share)
                cells = [f"{rejected(result[n], score, t).mean():.2%}" for n in ("heldout", "mnist test", "robustness")]
                print(f"| {label} | {score} | {share:.1%} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
