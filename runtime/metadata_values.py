"""Values read from a model file's metadata: its JSON, within bounds, and the rule every label keeps
(the graph's labels and the not-a-digit label alike). Standard library only.

A label is printed as it is in each result line and JSON record, so it must be text a terminal shows
as text: a newline would start a forged result line, an escape sequence would reach the terminal.
"""

import json
import math
import unicodedata
from typing import Mapping

from .onnx_structure import ModelProblem

MAX_METADATA_CHARS = 65_536  # one metadata value read as JSON: the shipped ones are at most 314
MAX_LABEL_CHARS = 32  # a class name in a column of the output, not a sentence
NUMBER_DIGITS = 18  # a JSON integer with more digits is out of range (int64 has 19)
LINE_BREAKING = {"Zl", "Zp"}  # Unicode's line and paragraph separators


class _OutOfRange(ValueError):
    pass


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):  # 1e400 is JSON, and Python reads it as infinity
        raise _OutOfRange(text)
    return value


def _int(text: str) -> int:
    if len(text.lstrip("-")) > NUMBER_DIGITS:
        raise _OutOfRange(text)
    return int(text)


def _constant(text: str):
    raise _OutOfRange(text)  # NaN, Infinity, -Infinity: Python's extensions to JSON


def metadata_json(metadata: Mapping[str, str], key: str):
    """metadata[key] read as JSON: KeyError if it is not there, ModelProblem if it is too long, not
    JSON, nested too deep for the parser, or holds a number beyond int64 or float."""
    text = metadata[key]
    if len(text) > MAX_METADATA_CHARS:
        raise ModelProblem(f"metadata '{key}' is {len(text):,} characters long, more than {MAX_METADATA_CHARS:,}")
    try:
        return json.loads(text, parse_float=_float, parse_int=_int, parse_constant=_constant)
    except _OutOfRange:
        raise ModelProblem(f"metadata '{key}' holds a number out of range") from None
    except RecursionError:
        raise ModelProblem(f"metadata '{key}' is nested too deep") from None
    except ValueError:
        raise ModelProblem(f"metadata '{key}' is not JSON") from None


def label_problem(label: str) -> str | None:
    """Why `label` cannot be printed as a result (None: it can): empty or blank, longer than
    MAX_LABEL_CHARS, or holding a character of Unicode category C (control, format, surrogate,
    private use, unassigned) or a line or paragraph separator."""
    if not label.strip():
        return "is empty" if not label else "is blank"
    if len(label) > MAX_LABEL_CHARS:
        return f"is {len(label)} characters long, more than {MAX_LABEL_CHARS}"
    for char in label:
        category = unicodedata.category(char)
        if category[0] == "C" or category in LINE_BREAKING:
            return f"holds U+{ord(char):04X} (category {category}), which is not printable text"
    return None


def shown_label(label: str) -> str:
    """A label as a message shows it: quoted, escaped, and cut to MAX_LABEL_CHARS."""
    return repr(label[:MAX_LABEL_CHARS]) + ("..." if len(label) > MAX_LABEL_CHARS else "")
