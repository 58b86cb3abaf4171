"""The model card's Python usage examples that show output run here, in the folder the card
describes, and what they print is compared with what the card shows (tests/shown_output.py: numbers
within NUMBER_ROUNDING). The export writes each example's output as it printed then
(export/card.py), so this catches a card that no longer matches its files, or an onnxruntime that
answers differently. The ```js examples show no output and are not run here: the Node.js program
they sum up, examples/node/, is run by scripts/check_node.sh."""

import subprocess
import sys

import pytest

from lstm_digits.models import CARD, DEFAULT_DIR, ONNX, PIPELINE
from shown_output import assert_same_output, python_examples

EXAMPLES = python_examples((DEFAULT_DIR / CARD).read_text(encoding="utf-8"))

pytestmark = pytest.mark.runtime


def test_the_card_shows_what_its_model_and_pipeline_examples_print():
    sessions = [line for code, _ in EXAMPLES for line in code.splitlines() if "InferenceSession(" in line]
    assert len(sessions) == 2 and f'"{ONNX}"' in sessions[0] and f'"{PIPELINE}"' in sessions[1], sessions


@pytest.mark.parametrize("code, shown", EXAMPLES, ids=lambda value: "" if isinstance(value, list) else
                         next(line for line in value.splitlines() if "InferenceSession(" in line))
def test_card_example_prints_what_the_card_shows(code, shown):
    result = subprocess.run([sys.executable, "-c", code], cwd=DEFAULT_DIR, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert_same_output(result.stdout.splitlines(), shown, f"{CARD}: {code.splitlines()[2]}")
