"""A number reader's checkpoint -> number.onnx, validated, with its parity report, test data and card.

1. The reader is exported (torch.onnx) and checked against PyTorch on test numbers' strips.
2. The rejection threshold is chosen on validation numbers written on paper, read through the
   whole file (strip preprocessing, reader, reading rule) with no threshold.
3. The file is joined with that threshold, checked (full_check), and measured on numbers written
   with MNIST test digits, 1-10 digits long, per length.
Everything is written into a staged folder that takes the destination's place only at the end.
"""

import json
from pathlib import Path

import numpy as np
import onnx
import onnxruntime
import torch
from onnx import numpy_helper

from ..models import CARD, NUMBER, NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES, PARITY, TEST_DATA
from ..runtime.model_file import session_options
from ..training.checkpoint import load_model, require_complete
from ..training.data import load_mnist, to_float
from ..training.number_strings import Numbers, write_numbers
from ..training.tasks import EVAL_SEED
from . import ExportError, metadata
from .export_checkpoint import check_destination, staged_folder
from .number_onnx import READER_INPUT, number_model, reader_model, reading_metadata
from .number_paper import strip_on_paper
from .onnx_files import save_onnx

TOLERANCE = 1e-4  # max |log-probability difference| between onnxruntime's reader and PyTorch's
PARITY_NUMBERS = 200
CALIBRATION_NUMBERS = 1000
MAX_WRONG_ACCEPTED = 0.01  # the threshold: the lowest that leaves at most this share of accepted numbers wrong
THRESHOLD_CAP = 0.99  # ... and never above this
TEST_LENGTHS = range(1, 11)
TEST_PER_LENGTH = 200


def seeded_numbers(split, count: int, seed: int, lengths=(1, 12), styles: bool = True) -> Numbers:
    """`count` numbers written with the digits of an MNIST split, the same for the same seed: the
    export's measurements, and the scripts' and tests' that report beside them."""
    return write_numbers(to_float(split.images), split.labels, count, torch.Generator().manual_seed(seed),
                         styles=styles, lengths=lengths)


def calibration_numbers_of(split, count: int) -> Numbers:
    """The numbers the rejection threshold is chosen on: the validation numbers training scores
    (tasks.NumberTask.numbers_from), MNIST's digits as written. Not the styled ones: they hold digits
    that even the digit model misreads (it reads styled test digits at 98.8-99.0%, against 99.42%),
    which no confidence tells apart: on them the 5,000-step reader could accept only 10% of numbers
    at <= 1% wrong, against 75% on numbers as written (scripts/number_confidence.py, 2026-12-07)."""
    return seeded_numbers(split, count, EVAL_SEED, styles=False)


def _session(model: onnx.ModelProto) -> onnxruntime.InferenceSession:
    """The model in onnxruntime as the runtime opens it, on one thread."""
    return onnxruntime.InferenceSession(model.SerializeToString(), session_options(1), providers=["CPUExecutionProvider"])


def reader_parity(model, reader: onnx.ModelProto, numbers: Numbers) -> float:
    """The largest |log-probability difference| between onnxruntime and PyTorch over the numbers' strips."""
    session, worst = _session(reader), 0.0
    for index in range(len(numbers)):
        strip = numbers.strips[index : index + 1, :, : int(numbers.widths[index])]
        with torch.no_grad():
            expected = model(strip)[0].numpy()
        got = session.run(None, {READER_INPUT: strip.numpy()})[0]
        worst = max(worst, float(np.abs(got - expected).max()))
    return worst


def read_all(session: onnxruntime.InferenceSession, numbers: Numbers) -> list[dict]:
    """Each number written on paper (strip_on_paper), read by the file: what it read, its digits'
    probabilities, rejected, and the truth."""
    readings = []
    for index in range(len(numbers)):
        pixels = strip_on_paper(numbers.strips[index, :, : int(numbers.widths[index])].numpy())
        values = dict(zip(NUMBER_OUTPUT_NAMES, session.run(None, {NUMBER_INPUT_NAME: pixels})))
        readings.append({"read": "".join(str(int(d)) for d in values["digits"]), "truth": numbers.text(index),
                         "lowest": float(values["probabilities"].min()) if len(values["probabilities"]) else 0.0,
                         "rejected": bool(values["rejected"])})
    return readings


def choose_threshold(readings: list[dict]) -> tuple[float, str]:
    """The lowest 4-decimal threshold on the lowest digit probability at which at most
    MAX_WRONG_ACCEPTED of the accepted validation numbers are wrong (THRESHOLD_CAP if none is)."""
    lowest = np.array([r["lowest"] for r in readings])
    wrong = np.array([r["read"] != r["truth"] for r in readings])
    for threshold in np.unique(np.floor(lowest * 1e4) / 1e4):
        accepted = lowest >= threshold
        if threshold > THRESHOLD_CAP:
            break
        if accepted.any() and wrong[accepted].mean() <= MAX_WRONG_ACCEPTED:
            return float(threshold), (f"the lowest 4-decimal threshold leaving at most {MAX_WRONG_ACCEPTED:.0%} of the "
                                      f"accepted numbers wrong, on {len(readings)} numbers written with validation digits")
    return THRESHOLD_CAP, f"the cap: no lower threshold left {MAX_WRONG_ACCEPTED:.0%} or fewer wrong on validation numbers"


def score(readings: list[dict]) -> dict:
    right = sum(r["read"] == r["truth"] for r in readings)
    accepted = [r for r in readings if not r["rejected"]]
    return {"numbers": len(readings), "right_without_rejection": right / len(readings),
            "accepted": len(accepted) / len(readings),
            "wrong_accepted": sum(r["read"] != r["truth"] for r in accepted) / len(readings)}


def _write_test_data(folder: Path, session, numbers: Numbers) -> None:
    """folder/test_data_set_0 in the ONNX model zoo's layout: a test number on paper and every output."""
    (folder / TEST_DATA).mkdir()
    pixels = strip_on_paper(numbers.strips[0, :, : int(numbers.widths[0])].numpy())
    outputs = session.run(None, {NUMBER_INPUT_NAME: pixels})
    for index, (name, array) in enumerate([(NUMBER_INPUT_NAME, pixels), *zip(NUMBER_OUTPUT_NAMES, outputs)]):
        file = "input_0.pb" if index == 0 else f"output_{index - 1}.pb"
        (folder / TEST_DATA / file).write_bytes(numpy_helper.from_array(np.asarray(array), name=name).SerializeToString())


def export_number(checkpoint_path: Path, output_dir: Path, data_dir=None, log=print, parity_numbers: int = PARITY_NUMBERS,
                  calibration_numbers: int = CALIBRATION_NUMBERS, test_per_length: int = TEST_PER_LENGTH) -> dict:
    """Fewer numbers than the defaults only for tests: the threshold and the figures are the file's."""
    checkpoint_path, output_dir = Path(checkpoint_path), Path(output_dir)
    model, checkpoint = load_model(checkpoint_path, task="number")
    require_complete(checkpoint_path, checkpoint)
    check_destination(output_dir)
    mnist = load_mnist(data_dir)
    stride = model.config.column_stride

    log(f"exporting the reader of {checkpoint_path} and checking it on {parity_numbers} test numbers ...")
    reader = reader_model(model)
    worst = reader_parity(model, reader, seeded_numbers(mnist.test, parity_numbers, EVAL_SEED + 1))
    if not worst <= TOLERANCE:
        raise ExportError(f"{checkpoint_path}: onnxruntime's reader differs from PyTorch's by {worst:.2e} > {TOLERANCE:.0e}")

    log(f"choosing the rejection threshold on {calibration_numbers} validation numbers ...")
    unthresholded = _session(number_model(reader, stride, 0.0, {}))
    threshold, chosen_by = choose_threshold(read_all(unthresholded, calibration_numbers_of(mnist.val, calibration_numbers)))

    props = metadata.provenance(checkpoint, checkpoint_path) | reading_metadata(stride, threshold, chosen_by)
    number = number_model(reader, stride, threshold, props)
    onnx.checker.check_model(number, full_check=True)
    session = _session(number)
    log(f"measuring on numbers of {TEST_LENGTHS[0]}-{TEST_LENGTHS[-1]} MNIST test digits, {test_per_length} of each length ...")
    # Twice: the digits in the training generator's styles (thick, thin, slanted, redrawn), and as
    # written, MNIST's own digits with the generator's sizes and spacing.
    per_length = {styled: {length: score(read_all(session, seeded_numbers(mnist.test, test_per_length, EVAL_SEED + 100 + length,
                                                                    (length, length), styles=styled)))
                           for length in TEST_LENGTHS}
                  for styled in (True, False)}
    report = {"reader_max_abs_log_prob_diff": worst, "tolerance": TOLERANCE, "min_probability": threshold,
              "test_per_length": per_length[True], "test_per_length_as_written": per_length[False]}
    with staged_folder(output_dir) as staging:
        save_onnx(number, staging / NUMBER)
        _write_test_data(staging, session, seeded_numbers(mnist.test, 1, EVAL_SEED + 2, (5, 5)))
        (staging / PARITY).write_text(json.dumps(report, indent=1))
        (staging / CARD).write_text(number_card(props, report, test_per_length))
    return report


def number_card(props: dict, report: dict, per_length: int) -> str:
    rows = "\n".join(f"| {length} | {s['right_without_rejection']:.1%} | {s['accepted']:.1%} | {s['wrong_accepted']:.1%} | "
                     f"{w['right_without_rejection']:.1%} | {w['accepted']:.1%} | {w['wrong_accepted']:.1%} |"
                     for (length, s), w in zip(report["test_per_length"].items(), report["test_per_length_as_written"].values()))
    return f"""# Model card: number.onnx, the number reader

RGBA pixels of any size in, the handwritten number written there out (docs/NUMBERS.md): the strip
preprocessing, an LSTM reading the strip column by column with a CTC output, and the reading rule,
in one ONNX file (opset {props['exporter']['opset']}, standard operators only).

- **Model:** {json.dumps(props['model_config'])}, trained by `digit-train --task number` ({props['training'].get('iterations')} iterations, recipe {props['training']['recipe']}).
- **Parity:** the reader in onnxruntime against PyTorch, largest log-probability difference {report['reader_max_abs_log_prob_diff']:.1e} (tolerance {report['tolerance']:.0e}).
- **Rejection:** a number is rejected when any digit's probability is below {report['min_probability']}: {props['rejection']['chosen_by']}.

## Numbers written with MNIST test digits, on paper

Each length: {per_length} numbers with the training generator's sizes and spacing, their digits in
its styles (thick, thin, slanted, redrawn), and {per_length} others with MNIST's digits as written.

| digits | styled: read right (no rejection) | accepted | accepted and wrong | as written: read right | accepted | accepted and wrong |
|---|---|---|---|---|---|---|
{rows}

Outputs, in order: {', '.join(NUMBER_OUTPUT_NAMES)}; their meaning is in the file's metadata (`outputs`).
"""
