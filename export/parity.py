"""Do the exported files compute what PyTorch computes? Logits from every backend are compared with
PyTorch eager at the same batch size, on real MNIST digits and on random images."""

import numpy as np
import onnx
import onnxruntime
import torch
from onnx.reference import ReferenceEvaluator
from onnx.reference.ops.op_rnn import RNN_14

from ..training.contract import IMAGE_SIZE


TOLERANCE = 1e-4  # maximum absolute logit difference
BATCH_SIZES = (1, 7, 256)


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


def onnxruntime_logits(onnx_path):
    """A function from a float32 [N, 28, 28] array to the ONNX file's [N, 10] logits, in onnxruntime."""
    session = onnxruntime.InferenceSession(str(onnx_path), providers=["CPUExecutionProvider"])
    return lambda x: session.run(["logits"], {"image": x})[0]


def backends(model, onnx_path, torchscript, program) -> dict:
    """name -> function from a float32 [N, 28, 28] array to [N, 10] logits."""
    reference = ReferenceEvaluator(onnx.load(str(onnx_path)), new_ops=[RNN])

    def torch_runner(module):
        @torch.no_grad()
        def run(x):
            output = module(torch.from_numpy(x))
            return (output[0] if isinstance(output, tuple) else output).numpy()

        return run

    return {
        "pytorch eager": torch_runner(model),
        "torchscript": torch_runner(torchscript),
        "exportedprogram": torch_runner(program),
        "onnxruntime": onnxruntime_logits(onnx_path),
        "onnx reference": lambda x: reference.run(["logits"], {"image": x})[0],
    }


def check(runners: dict, digits: np.ndarray, random_count: int = 256, seed: int = 0) -> dict:
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
            agreement = float((logits.argmax(1) == expected.argmax(1)).mean())
            rows.append({"backend": name, "batch_size": batch_size, "max_abs_logit_diff": difference,
                         "prediction_agreement": agreement,
                         "passed": difference <= TOLERANCE and agreement == 1.0})
    return {
        "reference": "pytorch eager, same batch size",
        "tolerance": {"max_abs_logit_diff": TOLERANCE, "prediction_agreement": 1.0},
        "inputs": {"mnist_test_digits": len(digits), "random_images": random_count},
        "batch_sizes": list(BATCH_SIZES),
        "rows": rows,
        "passed": all(row["passed"] for row in rows),
    }


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
