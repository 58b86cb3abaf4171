"""Examples in Markdown that show their output, and the comparison of what they print with what the
page shows: shared by the tests of README.md and of the model card.

A ```python block whose lines include `# ` comments right after a print() shows that print's output
in those comments. Numbers are compared within NUMBER_ROUNDING (the pages show four or six
decimals, and another onnxruntime or CPU may move the last one); everything else must match to the
character.
"""

import re

NUMBER_ROUNDING = 5e-4
NUMBER = re.compile(r"-?\d+\.\d+(?:e-?\d+)?")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.S | re.M)


def blocks(text: str, language: str) -> list[str]:
    """The bodies of text's fenced blocks in this language."""
    return [body for lang, body in FENCE.findall(text) if lang == language]


def python_examples(text: str) -> list[tuple[str, list[str]]]:
    """(code, the output it shows) for every ```python block of text that shows output in `# `
    comments right after a print() line."""
    examples = []
    for body in blocks(text, "python"):
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
    assert len(printed) == len(shown), f"{where}: printed {printed}, the page shows {shown}"
    for got, expected in zip(printed, shown):
        got_numbers, expected_numbers = NUMBER.findall(got), NUMBER.findall(expected)
        assert NUMBER.sub("#", got) == NUMBER.sub("#", expected), f"{where}: printed {got!r}, the page shows {expected!r}"
        for a, b in zip(got_numbers, expected_numbers):
            assert abs(float(a) - float(b)) <= NUMBER_ROUNDING, f"{where}: printed {got!r}, the page shows {expected!r}"
