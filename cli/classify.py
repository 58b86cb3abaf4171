"""digit-classify: which digit is in each image? Runtime only: onnxruntime, numpy, pillow.

Results go to stdout (one line per image, or JSON Lines), each written as soon as it is known;
diagnostics go to stderr, one line each. How the run ends (signals, the standard streams) is in
cli/output.py. Exit codes (defined once, in cli/output.py's EXIT_CODES, and appended below from
there; `digit-classify --help` lists them too):
"""

import json
import os
import sys
from pathlib import Path

import click

from .. import __version__
from ..errors import first_line
from . import output

if __doc__ is not None:  # (python -OO drops docstrings)
    __doc__ += "".join(f"  {code:<4} {meaning}\n" for code, meaning in output.EXIT_CODES.items())

CONTROL_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def shown(name: str) -> str:
    """A path as printed: bytes that are not UTF-8 as \\xNN, control characters (newline, tab, ...)
    as \\n, \\t or \\xNN, so that every result stays one line with three tab-separated fields."""
    text = os.fsencode(name).decode("utf-8", "backslashreplace")
    return "".join(CONTROL_ESCAPES.get(c, f"\\x{ord(c):02x}") if c < " " or c == "\x7f" else c for c in text)


def _expand(paths: tuple[str, ...], recursive: bool):
    """(name, source) per input in order: source is a path, stdin's bytes, or the ImageError that
    the input already is (an empty argument, a folder that cannot be read or holds no images)."""
    from ..runtime.images import ImageError

    for name in paths:
        if name == "":
            yield name, ImageError("an empty argument is not a path")
        elif name == "-":
            yield name, _stdin_bytes()
        elif os.path.isdir(name):
            yield from _folder(name, recursive)
        else:
            yield name, name  # a missing or unreadable file is that file's error, found when it is opened


def _stdin_bytes():
    """Image bytes from stdin, read into memory up to MAX_STDIN_BYTES, or the ImageError saying why not."""
    from ..runtime.images import MAX_STDIN_BYTES, ImageError

    try:
        data = sys.stdin.buffer.read(MAX_STDIN_BYTES + 1)
    except (OSError, AttributeError, ValueError) as error:  # closed, or no stdin at all
        return ImageError(f"cannot read stdin ({first_line(error)})")
    return ImageError(f"more than {MAX_STDIN_BYTES // 2**20} MB on stdin") if len(data) > MAX_STDIN_BYTES else data


def _folder(folder: str, recursive: bool):
    """The image files in a folder (by suffix: runtime.images.image_suffixes()), sorted, and a
    one-line error for the folder, or any subfolder, that cannot be read."""
    from ..runtime.images import ImageError, image_suffixes

    entries, unreadable = [], []
    if recursive:
        walk = os.walk(folder, onerror=unreadable.append)
        files = [os.path.join(root, name) for root, _, names in walk for name in names]
    else:
        try:
            with os.scandir(folder) as listing:
                files = [entry.path for entry in listing if not _is_folder(entry)]
        except OSError as error:
            unreadable.append(error)
            files = []
    entries += [(path, path) for path in files if os.path.splitext(path)[1].lower() in image_suffixes()]
    entries += [(error.filename or folder, ImageError(f"cannot read the folder: {error.strerror or first_line(error)}"))
                for error in unreadable]
    if not entries:
        hint = "" if recursive else " (use --recursive to look in subfolders)"
        entries = [(folder, ImageError(f"no images in folder{hint}"))]
    yield from sorted(entries, key=lambda entry: entry[0])


def _is_folder(entry: os.DirEntry) -> bool:
    try:
        return entry.is_dir()
    except OSError:
        return False


def _usage_error(message: str):
    """One line on stderr and exit 2: the call itself is wrong (unlike an image that failed)."""
    output.diagnostic(message)
    sys.exit(output.USAGE)


@click.command(context_settings={"help_option_names": ["-h", "--help"]},
               epilog="\b\nExit codes:\n" + output.exit_codes_text())
@click.argument("paths", nargs=-1, required=True)
@click.option("--model", "-m", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="An exported model.onnx (default: the shipped model).")
@click.option("--int8", is_flag=True, help="Use the shipped int8-quantized model (smaller, same inputs).")
@click.option("--top-k", "-k", type=click.IntRange(1, 10), default=1, show_default=True,
              help="Also list the next most likely digits.")
@click.option("--json", "as_json", is_flag=True, help="JSON Lines: path, digit, probability, top_k (or path, error).")
@click.option("--threads", type=click.IntRange(min=1), default=None, help="onnxruntime threads (default: 1 for up to 3 images at a time, else up to 2).")
@click.option("--workers", type=click.IntRange(min=1), default=None,
              help="Processes that decode and preprocess many images at once (default: one per CPU core).")
@click.option("--recursive", "-r", is_flag=True, help="Descend into subfolders of folder arguments.")
@click.option("--save-preprocessed", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Write the 28x28 image the model saw for each input into this folder.")
@click.option("--number", "numbers", is_flag=True,
              help="Read the whole handwritten number in each image (the number reader, number.onnx): "
                   "path, the number (- if rejected as not a number), its probability; with --json, "
                   "each digit's probability and box too. --model takes a number.onnx then.")
@click.option("--min-confidence", type=click.FloatRange(0, 1), default=None, metavar="P",
              help="Answer '-' (not a digit) when the largest probability is below P; 0 turns this off. "
                   "Default: the model's own threshold, from its metadata.")
@click.version_option(__version__, prog_name="digit-classify")
def main(paths, model, int8, top_k, as_json, threads, workers, recursive, save_preprocessed, numbers, min_confidence):
    """Classify the handwritten digit in each image (or, with --number, read the number). PATH is
    an image file, a folder of images, or - for image bytes on stdin."""
    if numbers:
        sys.exit(_run_numbers(paths, model, int8, top_k, as_json, threads, recursive, save_preprocessed, min_confidence))
    sys.exit(_run(paths, model, int8, top_k, as_json, threads, workers, recursive, save_preprocessed, min_confidence))


def _run(paths, model, int8, top_k, as_json, threads, workers, recursive, save_preprocessed, min_confidence) -> int:
    from ..runtime import images
    from ..runtime.classifier import DigitClassifier
    from ..runtime.model_file import ModelError

    images.guard_nested_images = True  # one decoding thread per process here
    if int8:
        if model is not None:
            raise click.UsageError("--int8 selects the shipped int8 model; it does not go with --model")
        from ..models import DEFAULT_INT8_MODEL as model
    try:
        classifier = DigitClassifier(model, threads=threads, workers=workers or os.cpu_count() or 1,
                                     min_confidence=min_confidence)
    except ModelError as error:
        _usage_error(shown(str(error)))
    _check_save_folder(save_preprocessed)
    with classifier:  # leaving it, also by RunEnds, stops the worker processes
        failures = _classify_all(classifier, paths, recursive, top_k, as_json, save_preprocessed)
        output.ending()  # every answer is out: a signal from here on has its default effect
    return output.FAILED if failures else output.CLASSIFIED


def _run_numbers(paths, model, int8, top_k, as_json, threads, recursive, save_preprocessed, min_confidence) -> int:
    from ..runtime import images
    from ..runtime.model_file import ModelError
    from ..runtime.number_reader import NumberReader
    from .number_answers import read_numbers

    images.guard_nested_images = True
    for given, option in ((int8, "--int8"), (top_k != 1, "--top-k"), (min_confidence is not None, "--min-confidence")):
        if given:
            raise click.UsageError(f"{option} is for digits; it does not go with --number")
    try:
        reader = NumberReader(model, threads=threads)
    except ModelError as error:
        _usage_error(shown(str(error)))
    _check_save_folder(save_preprocessed)
    failures = read_numbers(reader, list(_expand(paths, recursive)), shown, as_json, save_preprocessed)
    output.ending()
    return output.FAILED if failures else output.CLASSIFIED


def _check_save_folder(save_preprocessed) -> None:
    if save_preprocessed is not None:
        from .preprocessed import check_writable

        if (problem := check_writable(save_preprocessed)) is not None:
            _usage_error(f"{shown(str(save_preprocessed))}: --save-preprocessed cannot write there ({problem})")


def _classify_all(classifier, paths, recursive, top_k, as_json, save_preprocessed) -> int:
    """Print one result per input, in order, each as soon as it is known; return how many failed.
    A run that ends early (output.RunEnds) says how many inputs were left, from which one on."""
    saved_names: set[str] = set()
    entries = list(_expand(paths, recursive))
    predictions = classifier.predict_iter([source for _, source in entries], top_k=top_k)
    return output.answer_each(entries, predictions, shown, lambda name, prediction: _answer(
        classifier, shown(name), name, prediction, as_json, save_preprocessed, saved_names))


def _answer(classifier, path, name, prediction, as_json, save_preprocessed, saved_names) -> int:
    """Write one input's result line (or its error); 1 if it failed, else 0."""
    if output.failed(path, name, prediction.error, prediction.image, as_json, save_preprocessed, saved_names):
        return 1
    if as_json:
        top = [{"digit": d, "probability": round(p, 6)} for d, p in prediction.top_k]
        record = {"path": path, "digit": prediction.digit, "probability": round(prediction.probability, 6), "top_k": top}
        output.result(json.dumps(record | {"rejected": True} if prediction.rejected else record))  # digit null
    else:
        extra = "".join(f"\t{d}:{p:.4f}" for d, p in prediction.top_k[1:])
        answer = classifier.rule.label if prediction.rejected else prediction.digit  # "-": not a digit
        output.result(f"{path}\t{answer}\t{prediction.probability:.4f}{extra}")
    return 0


def run() -> None:
    """The `digit-classify` command: the standard streams and the stop signals taken over (before
    click writes anything, and before onnxruntime, which may write to descriptor 2, is imported),
    main(), then exit at once (output.exit_now)."""
    output.take_over_streams()
    output.stop_on_signals()
    code = output.CLASSIFIED
    try:
        main()
    except SystemExit as done:
        code = done.code if isinstance(done.code, int) else (0 if done.code is None else 1)
    except output.RunEnds as end:
        code = output.report(end)
    except OSError as error:  # click's own output (--help, --version) to a stdout that cannot take it
        code = output.report(output.stdout_failed(error))
    output.exit_now(code)


if __name__ == "__main__":
    run()
