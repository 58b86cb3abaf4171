"""digit-train: train one model on MNIST and write a checkpoint with its metrics.

Also the entry point for several processes: torchrun --nproc-per-node 2 -m lstm_digits.cli.train ...
"""

import json
import os
from pathlib import Path

import click

from ..training.cells import CELLS  # standard library only, like recipes: no torch before the check
from ..training.recipes import RECIPE_NAMES
from .common import eprint, require_torch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the four MNIST .gz archives (also $LSTM_DIGITS_DATA; default ./data).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file to write; metrics go next to it as .metrics.jsonl.")
@click.option("--recipe", type=click.Choice(RECIPE_NAMES), default="default", show_default=True,
              help="tutorial (or seed): the tutorial's SGD recipe, at its learning rate for the cell. "
                   "default: AdamW, cosine schedule, clipping, augmentation.")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Override the recipe's length.")
@click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True)
@click.option("--layers", type=click.IntRange(min=1), default=1, show_default=True)
@click.option("--hidden", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--bidirectional/--unidirectional", default=False, show_default=True)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the interrupted run saved at --output, with its settings.")
@click.option("--train-limit", type=click.IntRange(min=1), default=None,
              help="Train on only the first N training images (quick experiments).")
@click.option("--describe", is_flag=True, help="Print the model and its parameter shapes, then exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def main(data_dir, output, recipe, iterations, cell, layers, hidden, bidirectional, seed, resume,
         train_limit, describe, quiet):
    """Train a recurrent digit classifier on MNIST (rows of the image are time steps)."""
    require_torch("digit-train")
    from ..training.checkpoint import CheckpointError
    from ..training.data import MnistNotFound
    from ..training.model import DigitRNN, ModelConfig, describe as describe_model
    from ..training.recipes import get_recipe
    from ..training.train import TrainConfig, TrainingInterrupted, metrics_path, train

    model_config = ModelConfig(cell=cell, layers=layers, hidden=hidden, bidirectional=bidirectional)
    if describe:
        click.echo(describe_model(DigitRNN(model_config)))
        return
    if output is None:
        raise click.UsageError("--output is required (the checkpoint file to write)")
    config = TrainConfig(
        output=output,
        data_dir=data_dir,
        model=model_config,
        recipe=get_recipe(recipe, iterations, cell),
        seed=seed,
        resume=resume,
        progress=not quiet,
        train_limit=train_limit,
    )
    try:
        summary = train(config)
    except (MnistNotFound, CheckpointError, TrainingInterrupted, ValueError) as error:
        raise click.ClickException(str(error)) from None
    if os.environ.get("RANK", "0") != "0":
        return
    if summary["stalled"]:
        eprint(f"WARNING: this run stalled {summary['stalled']}.")
    click.echo(
        f"{summary['cell']} x{summary['layers']} h{summary['hidden']} ({summary['parameters']:,} parameters), "
        f"recipe {summary['recipe']}, {summary['iterations']} iterations in {summary['train_seconds']:.0f} s: "
        f"val {summary['val_accuracy']:.2%}, test {summary['test_accuracy']:.2%}"
    )
    click.echo(f"checkpoint: {output}\nmetrics:    {metrics_path(output)}")
    click.echo(json.dumps(summary))


if __name__ == "__main__":
    main()
