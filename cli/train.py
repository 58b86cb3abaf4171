"""digit-train: train one model on MNIST and write a checkpoint with its metrics: a digit classifier,
or with --task number a number reader trained on numbers written with MNIST digits.

Also the entry point for several processes: torchrun --nproc-per-node 2 -m lstm_digits.cli.train ...
"""

import json
import os
from pathlib import Path

import click

from ..training.cells import CELLS  # standard library only, like recipes: no torch before the check
from ..training.recipes import RECIPE_NAMES, TASK_RECIPES
from .common import eprint, require_torch


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Folder with the four MNIST .gz archives (also $LSTM_DIGITS_DATA; default ./data).")
@click.option("--output", "-o", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Checkpoint file to write; metrics go next to it as .metrics.jsonl.")
@click.option("--task", type=click.Choice(list(TASK_RECIPES)), default="digit", show_default=True,
              help="digit: one digit per 28x28 image. number: a number of any length per strip, read "
                   "column by column with a CTC output (docs/NUMBERS.md).")
@click.option("--recipe", type=click.Choice(RECIPE_NAMES), default=None,
              help="tutorial (or seed): the tutorial's SGD recipe, at its learning rate for the cell. "
                   "default: AdamW, cosine schedule, clipping, augmentation; the digit task's default. "
                   "number: the number task's, and its default.")
@click.option("--iterations", type=click.IntRange(min=1), default=None, help="Override the recipe's length.")
@click.option("--cell", type=click.Choice(CELLS), default="lstm", show_default=True,
              help="Digit task only; the number reader is an LSTM.")
@click.option("--layers", type=click.IntRange(min=1), default=None,
              help="Recurrent layers (default: 1 for digits, 2 for the number reader).")
@click.option("--hidden", type=click.IntRange(min=1), default=128, show_default=True)
@click.option("--bidirectional/--unidirectional", default=None,
              help="Digit task: default unidirectional. The number reader is always bidirectional.")
@click.option("--conv/--no-conv", default=None,
              help="Number task only: two 3x3 convolutions before the LSTM (default: with).")
@click.option("--seed", type=int, default=0, show_default=True)
@click.option("--resume", is_flag=True, help="Continue the interrupted run saved at --output, with its settings.")
@click.option("--train-limit", type=click.IntRange(min=1), default=None,
              help="Train on only the first N training images (quick experiments).")
@click.option("--describe", is_flag=True, help="Print the model and its parameter shapes, then exit.")
@click.option("--quiet", "-q", is_flag=True, help="No progress line.")
def main(data_dir, output, task, recipe, iterations, cell, layers, hidden, bidirectional, conv, seed, resume,
         train_limit, describe, quiet):
    """Train a recurrent digit classifier on MNIST (rows of the image are time steps), or a number
    reader (columns of a strip are time steps)."""
    require_torch("digit-train")
    from ..training.checkpoint import CheckpointError
    from ..training.data import MnistNotFound
    from ..training.model import describe as describe_model
    from ..training.recipes import get_recipe
    from ..training.tasks import TASKS
    from ..training.train import TrainConfig, TrainingInterrupted, metrics_path, train

    trainer = TASKS[task]()
    model_config = _model_config(task, cell, layers, hidden, bidirectional, conv)
    if describe:
        click.echo(describe_model(trainer.model(model_config)))
        return
    if output is None:
        raise click.UsageError("--output is required (the checkpoint file to write)")
    try:
        recipe = get_recipe(recipe or trainer.default_recipe, iterations, cell, task)
    except ValueError as error:
        raise click.UsageError(str(error)) from None
    config = TrainConfig(
        output=output,
        task=task,
        data_dir=data_dir,
        model=model_config,
        recipe=recipe,
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
        f"{summary['title']} ({summary['parameters']:,} parameters), "
        f"recipe {summary['recipe']}, {summary['iterations']} iterations in {summary['train_seconds']:.0f} s: "
        f"val {summary['val_accuracy']:.2%}, test {summary['test_accuracy']:.2%}"
    )
    click.echo(f"checkpoint: {output}\nmetrics:    {metrics_path(output)}")
    click.echo(json.dumps(summary))


def _model_config(task: str, cell: str, layers: int, hidden: int, bidirectional: bool | None, conv: bool | None):
    from ..training.model import ModelConfig
    from ..training.number_model import NumberConfig

    if task == "digit":
        if conv is not None:
            raise click.UsageError("--conv is for the number reader (--task number)")
        return ModelConfig(cell=cell, layers=layers or 1, hidden=hidden, bidirectional=bool(bidirectional))
    if cell != "lstm" or bidirectional is False:
        raise click.UsageError("the number reader is a bidirectional LSTM: drop --cell and --unidirectional")
    given = {"layers": layers, "conv": conv}
    return NumberConfig(hidden=hidden, **{name: value for name, value in given.items() if value is not None})


if __name__ == "__main__":
    main()
