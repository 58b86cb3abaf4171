"""The tutorial's table, re-run with the tutorial's recipe and with ours, and the chosen model.

Each run is an ordinary checkpoint under the runs folder; a finished one is reused and an
interrupted one resumed, so the comparison can be stopped and started again. A checkpoint there
that was trained with other settings (model, recipe, length, seed) is an error, never reused.
One recipe's rows can be re-run alone: the report keeps the other recipes' rows from the previous
comparison.json, each row with the date and command that measured it.
"""

import datetime
import json
import os
import platform
from dataclasses import dataclass
from pathlib import Path

import torch

from .checkpoint import CheckpointError, load_checkpoint
from .data import VALIDATION_SIZE, load_mnist
from .model import ModelConfig
from .recipes import ALIASES, get_recipe
from .train import TrainConfig, train

TUTORIAL_MODELS = {
    "LSTM A": ModelConfig(cell="lstm", layers=1, hidden=100),
    "LSTM B": ModelConfig(cell="lstm", layers=2, hidden=100),
    "LSTM C": ModelConfig(cell="lstm", layers=3, hidden=100),
    "RNN A": ModelConfig(cell="rnn-relu", layers=1, hidden=100),
    "RNN B": ModelConfig(cell="rnn-relu", layers=2, hidden=100),
    "RNN C": ModelConfig(cell="rnn-tanh", layers=2, hidden=100),
}
# Test accuracy the tutorial reports for its recipe, for comparison with our `tutorial` runs.
TUTORIAL_REPORTED = {"LSTM A": 0.960, "LSTM B": 0.952, "LSTM C": 0.912, "RNN A": 0.922, "RNN B": 0.950, "RNN C": 0.959}
# Two runs whose validation scores differ by at most this many images (0.1% of 5,000) are a tie;
# the smaller model wins. Counted in whole images, so no rounding decides a tie.
TIE_IMAGES = 5


@dataclass
class Run:
    name: str
    recipe: str
    checkpoint: Path
    summary: dict
    curve: list[tuple[int, float]]  # (iteration, validation accuracy)
    lr: float | None = None  # the recipe's learning rate for this model
    measured: dict | None = None  # {"date", "command", "machine"}: when, how and where this row was measured


def machine() -> str:
    return f"{platform.machine()}, {os.cpu_count()} CPU cores, torch {torch.__version__}, Python {platform.python_version()}"


def _slug(name: str, recipe: str) -> str:
    return f"{name.lower().replace(' ', '-')}-{recipe}"


def _check_settings(path: Path, checkpoint: dict, model: ModelConfig, recipe, seed: int) -> None:
    wanted = {"model_config": model.to_dict(), "recipe": recipe.to_dict(), "seed": seed}
    differ = [key for key, value in wanted.items() if checkpoint.get(key) != value]
    if differ:
        raise CheckpointError(f"{path}: trained with another {' and '.join(differ)} than this comparison asks for; "
                              "remove it or choose another --runs-dir")


def run_comparison(data_dir, runs_dir: Path, recipes=("tutorial", "default"), iterations=None, seed=0,
                   progress=True, log=print, models=TUTORIAL_MODELS, command="") -> list[Run]:
    mnist = load_mnist(data_dir)
    measured = {"date": datetime.date.today().isoformat(), "command": command, "machine": machine()}
    runs = []
    for recipe_name in (ALIASES.get(name, name) for name in recipes):
        for name, model_config in models.items():
            checkpoint_path = Path(runs_dir) / f"{_slug(name, recipe_name)}.pt"
            recipe = get_recipe(recipe_name, iterations, model_config.cell)
            checkpoint = load_checkpoint(checkpoint_path) if checkpoint_path.exists() else None
            if checkpoint is not None:
                _check_settings(checkpoint_path, checkpoint, model_config, recipe, seed)
            if checkpoint is not None and checkpoint.get("complete"):
                log(f"{name}, {recipe_name} recipe: reusing {checkpoint_path}")
            else:
                log(f"{name}, {recipe_name} recipe: training {model_config}")
                train(TrainConfig(output=checkpoint_path, model=model_config, recipe=recipe, seed=seed,
                                  resume=True, progress=progress), mnist=mnist)
                checkpoint = load_checkpoint(checkpoint_path)
            history = checkpoint["metrics"]
            curve = [(m["iteration"], m["val_accuracy"]) for m in history if "val_accuracy" in m and not m.get("final")]
            runs.append(Run(name, recipe_name, checkpoint_path, history[-1], curve, recipe.lr, measured))
    return runs


def previous_runs(docs_dir: Path, except_recipes) -> list[Run]:
    """The rows of the last report (docs_dir/comparison.json) whose recipe is not being re-run."""
    path = Path(docs_dir) / "comparison.json"
    if not path.exists():
        return []
    kept = []
    for row in json.loads(path.read_text())["runs"]:
        name, curve, lr, measured = row.pop("name"), row.pop("curve"), row.pop("lr", None), row.pop("measured", None)
        recipe = ALIASES.get(row["recipe"], row["recipe"])  # the summary's own "recipe"
        if recipe not in except_recipes:
            kept.append(Run(name, recipe, Path(row["output"]), row, [tuple(point) for point in curve], lr, measured))
    return kept


def _correct(run: Run) -> int:
    return round(run.summary["val_accuracy"] * VALIDATION_SIZE)


def choose(runs: list[Run]) -> Run:
    """Best validation accuracy; within TIE_IMAGES of the best, the model with fewest parameters."""
    best = max(_correct(run) for run in runs)
    contenders = [run for run in runs if _correct(run) >= best - TIE_IMAGES]
    return min(contenders, key=lambda run: (run.summary["parameters"], -run.summary["val_accuracy"]))


def markdown_table(runs: list[Run]) -> str:
    lines = [
        "| model | cell | layers | hidden | recipe | lr | parameters | val accuracy | test accuracy "
        "| tutorial's test accuracy | train time | stalled | measured |",
        "|---|---|---|---|---|---:|---:|---:|---:|---:|---:|---|---|",
    ]
    for run in runs:
        s = run.summary
        reported = TUTORIAL_REPORTED.get(run.name) if run.recipe == "tutorial" else None
        lines.append(
            f"| {run.name} | {s['cell']} | {s['layers']} | {s['hidden']} | {run.recipe} "
            f"| {f'{run.lr:g}' if run.lr is not None else '?'} | {s['parameters']:,} "
            f"| {s['val_accuracy']:.2%} | {s['test_accuracy']:.2%} | {f'~{reported:.1%}' if reported else ''} "
            f"| {s['train_seconds']:.0f} s | {'yes' if s['stalled'] else 'no'} "
            f"| {run.measured['date'] if run.measured else '?'} |"
        )
    return "\n".join(lines)


def plot_curves(runs: list[Run], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    recipes = list(dict.fromkeys(run.recipe for run in runs))
    figure, axes = plt.subplots(1, len(recipes), figsize=(6 * len(recipes), 4.2), squeeze=False)
    for axis, recipe in zip(axes[0], recipes):
        lowest = min(100 * a for r in runs if r.recipe == recipe for _, a in r.curve)
        for run in (r for r in runs if r.recipe == recipe):
            iterations, accuracy = zip(*run.curve)
            axis.plot(iterations, [100 * a for a in accuracy], marker=".", label=run.name)
        axis.set_title(f"{recipe} recipe")
        axis.set_xlabel("iteration")
        axis.set_ylabel("validation accuracy (%)")
        axis.set_ylim(max(0, 5 * int(lowest / 5) - 5), 100)
        axis.grid(alpha=0.3)
        axis.legend(loc="lower right")
    figure.tight_layout()
    figure.savefig(path, dpi=110)
    plt.close(figure)


def write_report(runs: list[Run], docs_dir: Path) -> tuple[Path, Run]:
    docs_dir = Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    chosen = choose(runs)
    plot_curves(runs, docs_dir / "comparison.png")
    s = chosen.summary
    sessions = dict.fromkeys((run.recipe, json.dumps(run.measured, sort_keys=True)) for run in runs)
    measured = [f"- `{recipe}` rows: " + (f"{m['date']} ({m['machine']}), with `{m['command']}`" if m else "date unknown")
                for recipe, m in ((recipe, json.loads(text)) for recipe, text in sessions)]
    report = "\n".join([
        "# Comparison: the tutorial's models, with the tutorial's recipe and with ours",
        "",
        "Measured (`digit-compare --recipes R` re-runs one recipe's rows and keeps the others):",
        "",
        *measured,
        "",
        "Validation is the fixed 5,000 images held out of the training set and decides everything;",
        "test (the official 10,000) is reported once at the end of each run. Train time is the time",
        "spent in training steps, without evaluation. The `tutorial` recipe is the tutorial's own, model",
        "by model: SGD at the learning rate its pages used (0.01 for RNN A and B, 0.1 for RNN C and the",
        "LSTMs), batch 100, 3,000 iterations; `default` is ours. Both are in `training/recipes.py`.",
        "",
        markdown_table(runs),
        "",
        *[f"- {run.name} with the {run.recipe} recipe stalled {run.summary['stalled']}." for run in runs if run.summary["stalled"]],
        "- The tutorial, too, saw one of its runs stall at chance level (LSTM B, 8.92%).",
        "",
        f"**Chosen model: {chosen.name} with the {chosen.recipe} recipe** ({s['cell']}, {s['layers']} layer(s), "
        f"{s['hidden']} hidden, {s['parameters']:,} parameters): validation {s['val_accuracy']:.2%}, "
        f"test {s['test_accuracy']:.2%}. Rule: best validation accuracy; a run within {TIE_IMAGES} validation "
        f"images ({TIE_IMAGES / VALIDATION_SIZE:.1%}) of the best ties with it, and the model with fewer parameters wins.",
        "",
        "![validation accuracy against iteration](comparison.png)",
        "",
    ])
    (docs_dir / "COMPARISON.md").write_text(report)
    (docs_dir / "comparison.json").write_text(json.dumps(
        {"chosen": {"name": chosen.name, "recipe": chosen.recipe},
         "runs": [{"name": r.name, "recipe": r.recipe, **r.summary, "curve": r.curve, "lr": r.lr, "measured": r.measured}
                  for r in runs]},
        indent=1))
    return docs_dir / "COMPARISON.md", chosen
