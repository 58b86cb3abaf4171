"""Every example in README.md that shows output is run here, and its output compared with what the
README shows, so that the front door cannot go stale when the model changes.

- A ```console block holds `$ digit-classify ...` lines, each followed by the lines it prints
  (stdout). The command runs from the repository root with this Python's digit-classify.
- A ```python block whose lines include `# ` comments right after a print() shows that print's
  output in those comments. The block runs from the repository root.
Numbers are compared within NUMBER_ROUNDING (the README shows four or six decimals, and another
onnxruntime or CPU may move the last one); everything else must match to the character.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
NUMBER_ROUNDING = 5e-4
NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)

pytestmark = pytest.mark.runtime


def blocks(language: str) -> list[str]:
    return [body for lang, body in FENCE.findall(README.read_text(encoding="utf-8")) if lang == language]


def console_examples() -> list[tuple[str, list[str]]]:
    """(command, the lines it shows) for every `$ ` line of every ```console block."""
    examples = []
    for body in blocks("console"):
        for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            examples.append((command, shown))
    return examples


def python_examples() -> list[tuple[str, list[str]]]:
    """(code, the output it shows) for every ```python block that shows output in `# ` comments
    right after a print() line."""
    examples = []
    for body in blocks("python"):
        lines, shown, after_print = body.splitlines(), [], False
        for line in lines:
            if after_print and line.startswith("# "):
                shown.append(line[2:])
                continue
            after_print = line.startswith("print(")
        if shown:
            examples.append((body, shown))
    return examples


def assert_same_output(printed: list[str], shown: list[str], where: str) -> None:
    assert len(printed) == len(shown), f"{where}: printed {printed}, README shows {shown}"
    for got, expected in zip(printed, shown):
        got_numbers, expected_numbers = NUMBER.findall(got), NUMBER.findall(expected)
        assert NUMBER.sub("#", got) == NUMBER.sub("#", expected), f"{where}: printed {got!r}, README shows {expected!r}"
        for a, b in zip(got_numbers, expected_numbers):
            assert abs(float(a) - float(b)) <= NUMBER_ROUNDING, f"{where}: printed {got!r}, README shows {expected!r}"


def test_the_readme_has_examples_with_output():
    commands = [command for command, _ in console_examples()]
    assert any(command.startswith("digit-classify samples/") for command in commands), commands
    assert any("--json" in command for command in commands) and python_examples()


@pytest.mark.parametrize("command, shown", console_examples(), ids=lambda value: value if isinstance(value, str) else "")
def test_console_example_prints_what_the_readme_shows(command, shown):
    program, *arguments = command.split()
    assert program == "digit-classify", f"README console examples run digit-classify only, not {program}"
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", *arguments], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    printed = result.stdout.splitlines()
    if "--json" in arguments:  # each line is JSON, with the keys in the order shown
        for line in printed:
            json.loads(line)
    assert_same_output(printed, shown, f"$ {command}")


@pytest.mark.parametrize("code, shown", python_examples(), ids=lambda value: "" if isinstance(value, list) else value.splitlines()[0])
def test_python_example_prints_what_the_readme_shows(code, shown):
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert_same_output(result.stdout.splitlines(), shown, code.splitlines()[0])
