"""Do the exported files compute what PyTorch computes? Logits from every backend are compared with
PyTorch eager at the same batch size, on real MNIST digits and on random images."""

import numpy as np
import onnx
import onnxruntime
import torch
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_rnn import RNN_14

from ..models import INPUT_NAME, OUTPUT_NAMES
from ..training.contract import IMAGE_SIZE
from . import ExportError

TOLERANCE = 1e-4  # the default maximum absolute logit difference; each report records the one it used
BATCH_SIZES = (1, 7, 256)
LOGITS = OUTPUT_NAMES[0]


class ParityError(ExportError):
    """An exported file does not compute what PyTorch computes, within the tolerance."""


class RNN(RNN_14):  # the name is the op_type ReferenceEvaluator replaces
    """onnx's reference RNN implements only the Tanh and Affine activations, though the ONNX spec
    lists Relu too; this adds Relu (max(x, 0)) and leaves the rest of the reference untouched."""

    op_domain = ""

    def choose_act(self, name, alpha, beta):
        if name in ("Relu", "relu"):
            return lambda x: np.maximum(x, 0)
        return super().choose_act(name, alpha, beta)


def _batched(run, inputs: np.ndarray, batch_size: int) -> np.ndarray:
    return np.concatenate([run(inputs[i : i + batch_size]) for i in range(0, len(inputs), batch_size)])


def torch_logits(module):
    """A function from a float32 [N, 28, 28] array to a torch module's [N, 10] logits (its first output)."""

    def run(x: np.ndarray) -> np.ndarray:
        with torch.inference_mode():
            output = module(torch.from_numpy(x))
        return (output[0] if isinstance(output, tuple) else output).numpy()

    return run


def onnxruntime_logits(onnx_path):
    """A function from a float32 [N, 28, 28] array to the ONNX file's [N, 10] logits, in onnxruntime."""
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return lambda x: session.run([LOGITS], {INPUT_NAME: x})[0]


def backends(model, onnx_path, torchscript, program) -> dict:
    """name -> function from a float32 [N, 28, 28] array to [N, 10] logits."""
    reference = ReferenceEvaluator(onnx.load(str(onnx_path)), new_ops=[RNN])
    return {
        "pytorch eager": torch_logits(model),
        "torchscript": torch_logits(torchscript),
        "exportedprogram": torch_logits(program),
        "onnxruntime": onnxruntime_logits(onnx_path),
        "onnx reference": lambda x: reference.run([LOGITS], {INPUT_NAME: x})[0],
    }


def check(runners: dict, digits: np.ndarray, random_count: int = 256, seed: int = 0,
          tolerance: float = TOLERANCE) -> dict:
    noise = np.random.default_rng(seed).random((random_count, IMAGE_SIZE, IMAGE_SIZE), dtype=np.float32)
    inputs = np.concatenate([digits.astype(np.float32), noise])
    rows = []
    for batch_size in BATCH_SIZES:
        expected = _batched(runners["pytorch eager"], inputs, batch_size)
        for name, run in runners.items():
            if name == "pytorch eager":
                continue
            logits = _batched(run, inputs, batch_size)
            difference = float(np.abs(logits - expected).max())
            same_digit = float((logits.argmax(1) == expected.argmax(1)).mean())
            rows.append({"backend": name, "batch_size": batch_size, "max_abs_logit_diff": difference,
                         "prediction_agreement": same_digit,
                         "passed": difference <= tolerance and same_digit == 1.0})
    return {
        "reference": "pytorch eager, same batch size",
        "tolerance": {"max_abs_logit_diff": tolerance, "prediction_agreement": 1.0},
        "inputs": {"mnist_test_digits": len(digits), "random_images": random_count},
        "batch_sizes": list(BATCH_SIZES),
        "rows": rows,
        "passed": all(row["passed"] for row in rows),
    }


def require_parity(report: dict, source) -> None:
    """Raise ParityError, naming the worst failing backend and showing the table, unless the report passed."""
    if report["passed"]:
        return
    worst = max((row for row in report["rows"] if not row["passed"]), key=lambda row: row["max_abs_logit_diff"])
    raise ParityError(
        f"parity check failed for {source}: {worst['backend']} at batch {worst['batch_size']} differs by "
        f"{worst['max_abs_logit_diff']:.2e} (tolerance {report['tolerance']['max_abs_logit_diff']:.0e}), same digit in "
        f"{worst['prediction_agreement']:.2%}; nothing was written\n{table(report)}"
    )


def table(report: dict) -> str:
    lines = ["| backend | batch | max abs logit diff | same digit | result |", "|---|---:|---:|---:|---|"]
    for row in report["rows"]:
        lines.append(f"| {row['backend']} | {row['batch_size']} | {row['max_abs_logit_diff']:.2e} "
                     f"| {row['prediction_agreement']:.2%} | {'pass' if row['passed'] else 'FAIL'} |")
    return "\n".join(lines)


def accuracy(logits_of, images: np.ndarray, labels: np.ndarray) -> float:
    """Share of images whose highest logit is their label; logits_of as in backends()."""
    logits = _batched(logits_of, images.astype(np.float32), 1000)
    return float((logits.argmax(1) == labels).mean())
