"""Every example in README.md that shows output is run here, and its output compared with what the
README shows, so that the front door cannot go stale when the model changes.

- A ```console block holds `$ digit-classify ...` lines, each followed by the lines it prints
  (stdout). The command runs from the repository root with this Python's digit-classify.
- A ```python block whose lines include `# ` comments right after a print() shows that print's
  output in those comments. The block runs from the repository root.
Numbers are compared within NUMBER_ROUNDING (tests/shown_output.py, shared with the model card's
test); everything else must match to the character.

The README sends readers on to docs/ (the promises, the platforms, the reports), and they link back;
every relative link and #anchor in README.md and docs/*.md must lead somewhere.
"""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

import shown_output
from shown_output import FENCE, assert_same_output

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")

pytestmark = pytest.mark.runtime


def blocks(language: str) -> list[str]:
    return shown_output.blocks(README.read_text(encoding="utf-8"), language)


def console_examples() -> list[tuple[str, list[str]]]:
    """(command, the lines it shows) for every `$ ` line of every ```console block."""
    examples = []
    for body in blocks("console"):
        for chunk in re.split(r"^\$ ", body, flags=re.M)[1:]:
            command, *shown = chunk.rstrip("\n").split("\n")
            examples.append((command, shown))
    return examples


def python_examples() -> list[tuple[str, list[str]]]:
    """(code, the output it shows) for every ```python block that shows output (shown_output.py)."""
    return shown_output.python_examples(README.read_text(encoding="utf-8"))


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


def anchors(markdown: Path) -> set[str]:
    """The #anchors GitHub makes for a file's headings: the text as shown, lowercased, with what is
    neither a word character, a space nor a hyphen dropped, spaces as hyphens, repeats numbered."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#+ (.*)$", FENCE.sub("", markdown.read_text(encoding="utf-8")), re.M):
        text = LINK.sub(lambda link: link.group(0)[1:link.group(0).index("]")], heading)
        slug = re.sub(r"[^\w\- ]", "", text.lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
    return {slug if n == 0 else f"{slug}-{n}" for slug, count in seen.items() for n in range(count + 1)}


@pytest.mark.parametrize("markdown", [README, *sorted((ROOT / "docs").glob("*.md"))], ids=lambda path: path.name)
def test_every_relative_link_and_anchor_leads_somewhere(markdown):
    broken = []
    for target in LINK.findall(FENCE.sub("", markdown.read_text(encoding="utf-8"))):
        if re.match(r"[a-z]+:", target):  # https:, mailto: ...
            continue
        path, _, anchor = target.partition("#")
        linked = (markdown.parent / path).resolve() if path else markdown
        if not linked.exists() or (anchor and linked.suffix == ".md" and anchor not in anchors(linked)):
            broken.append(target)
    assert not broken, f"{markdown.relative_to(ROOT)}: links that lead nowhere: {broken}"
