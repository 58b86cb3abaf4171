"""digit-compare: train the tutorial's six models with both recipes, write docs/COMPARISON.md."""

import shlex
import sys
from pathlib import Path

import click

from .common import eprint, require_torch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the four MNIST .gz archives (also $LSTM_DIGITS_DATA; default ./data).")
@click.option("--runs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("runs/compare"),
              show_default=True, help="Where each run's checkpoint goes; finished runs are reused.")
@click.option("--docs-dir", type=click.Path(file_okay=False, path_type=Path), default=Path("docs"),
              show_default=True, help="Where COMPARISON.md, comparison.json and comparison.png go.")
@click.option("--recipes", default="tutorial,default", show_default=True,
              help="Comma-separated recipes to run; the report keeps the other recipes' rows from comparison.json.")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Override every recipe's length.")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def main(data_dir, runs_dir, docs_dir, recipes, iterations, seed, quiet):
    """Train LSTM A/B/C and RNN A/B/C as in the tutorial, compare them, and name the chosen model."""
    require_torch("digit-compare")
    from ..training.checkpoint import CheckpointError
    from ..training.compare import markdown_table, previous_runs, run_comparison, write_report
    from ..training.data import MnistNotFound
    from ..training.recipes import ALIASES, RECIPE_NAMES, RECIPES

    names = [ALIASES.get(name.strip(), name.strip()) for name in recipes.split(",") if name.strip()]
    unknown = set(names) - set(RECIPE_NAMES)
    if unknown:
        raise click.BadParameter(f"unknown recipe(s): {', '.join(sorted(unknown))}", param_hint="--recipes")
    command = shlex.join(["digit-compare", *sys.argv[1:]])
    try:
        runs = run_comparison(data_dir, runs_dir, names, iterations, seed, progress=not quiet, log=eprint, command=command)
    except (MnistNotFound, CheckpointError) as error:
        raise click.ClickException(str(error)) from None
    runs = sorted(runs + previous_runs(docs_dir, names), key=lambda run: list(RECIPES).index(run.recipe))
    report, chosen = write_report(runs, docs_dir)
    click.echo(markdown_table(runs))
    click.echo(f"\nchosen model: {chosen.name}, {chosen.recipe} recipe ({chosen.checkpoint})")
    click.echo(f"report: {report}")


if __name__ == "__main__":
    main()
