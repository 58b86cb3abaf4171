"""What the commands share: diagnostics on stderr, and a clear message when torch is missing."""

import importlib.util
import sys

import click

TRAIN_EXTRA_HINT = "install the training extra: pip install 'lstm-digits[train]'"


def require_torch(command: str) -> None:
    if importlib.util.find_spec("torch") is None:
        raise click.ClickException(f"{command} needs torch; {TRAIN_EXTRA_HINT}")


def eprint(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
