"""digit-classify --number: the whole number in each image, read by number.onnx (docs/NUMBERS.md).

One line per input, as soon as it is read: `path<TAB>NUMBER<TAB>probability` (the whole number's),
`-` for NUMBER when it is rejected as not a number; with --json, one JSON object per input with
each digit's probability and box. Errors, exit codes and the run's ending are digit-classify's.
"""

import json

from . import output

REJECTED = "-"


def read_numbers(reader, entries: list, shown, as_json: bool, save_preprocessed) -> int:
    """Print one result per (name, source), in order; return how many failed. A run that ends early
    (output.RunEnds) says how many inputs were left, from which one on."""
    saved_names: set[str] = set()
    readings = reader.read_all(source for _, source in entries)
    return output.answer_each(entries, readings, shown, lambda name, reading: _answer(
        shown(name), name, reading, as_json, save_preprocessed, saved_names))


def _answer(path: str, name: str, reading, as_json: bool, save_preprocessed, saved_names: set) -> int:
    if output.failed(path, name, reading.error, reading.strip, as_json, save_preprocessed, saved_names):
        return 1
    if as_json:
        digits = [{"digit": d.digit, "probability": round(d.probability, 6), "box": list(d.box)} for d in reading.digits]
        record = {"path": path, "number": reading.number, "probability": round(reading.probability, 6), "digits": digits}
        output.result(json.dumps(record | {"rejected": True} if reading.rejected else record))
    else:
        output.result(f"{path}\t{REJECTED if reading.rejected else reading.number}\t{reading.probability:.4f}")
    return 0
