"""Small settings for the tests that train a number reader (tests/number_checkpoint.py, test_number_reader.py)."""

from dataclasses import replace

from lstm_digits.training.number_model import NumberConfig
from lstm_digits.training.recipes import NUMBER

TINY = NumberConfig(layers=1, hidden=16, conv=True)
FEW_EVAL_NUMBERS = 100  # numbers a test run is scored on (tasks.EVAL_NUMBERS: 1,000)


def quick(iterations: int, eval_every: int | None = None):
    return replace(NUMBER, iterations=iterations, eval_every=eval_every or iterations, warmup=5)
