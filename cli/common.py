"""What every command shares: one-line errors, and a clear message when torch is missing."""

import functools
import importlib.util
import sys

import click

TRAIN_EXTRA_HINT = "install the training extra: pip install 'lstm-digits[train]'"


def require_torch(command: str) -> None:
    if importlib.util.find_spec("torch") is None:
        raise click.ClickException(f"{command} needs torch; {TRAIN_EXTRA_HINT}")


def one_line_errors(*error_types: type[BaseException]):
    """Turn the given exceptions into `Error: <message>` and exit code 1, never a traceback."""

    def decorate(function):
        @functools.wraps(function)
        def wrapper(*args, **kwargs):
            try:
                return function(*args, **kwargs)
            except error_types as error:
                raise click.ClickException(str(error)) from None

        return wrapper

    return decorate


def eprint(text: str) -> None:
    print(text, file=sys.stderr, flush=True)
