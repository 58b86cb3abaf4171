"""python -m benchmarks.sizes: batch-1 latency against model size, onnxruntime and PyTorch eager.

Random weights (latency does not depend on their values), exported the way digit-export does it,
run in onnxruntime on one thread (as the runtime runs up to 3 images) and in PyTorch eager with
torch's default threads. Prints a markdown table; docs/BENCHMARKS.md quotes it.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from lstm_digits.export.formats import export_onnx
from lstm_digits.runtime.classifier import session_options
from lstm_digits.training.model import DigitRNN, ModelConfig

from . import measure

SIZES = [(2, 100), (1, 100), (2, 64), (1, 64)]  # (layers, hidden); the shipped model first


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--quick", action="store_true", help="the smallest model, a few calls: for the test")
    args = parser.parse_args(argv)
    sizes, calls, warmup = (SIZES[-1:], 5, 2) if args.quick else (SIZES, args.calls, 300)
    image = np.random.default_rng(0).random((1, 28, 28), dtype=np.float32)
    print("| LSTM layers x hidden | parameters | onnxruntime, 1 thread | PyTorch eager | ratio |")
    print("|---|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for layers, hidden in sizes:
            torch.manual_seed(0)
            model = DigitRNN(ModelConfig(cell="lstm", layers=layers, hidden=hidden)).eval()
            path = Path(folder) / f"lstm-{layers}x{hidden}.onnx"
            export_onnx(model, path, {}, "")
            session = onnxruntime.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
            ort_us = measure.latency_us(lambda: session.run(["probabilities"], {"image": image}), calls, warmup)
            tensor = torch.from_numpy(image)
            with torch.inference_mode():
                eager_us = measure.latency_us(lambda: model(tensor), calls, warmup)
            parameters = sum(p.numel() for p in model.parameters())
            print(f"| {layers} x {hidden} | {parameters:,} | {ort_us['median']:.0f} µs | {eager_us['median']:.0f} µs "
                  f"| {eager_us['median'] / ort_us['median']:.1f}x |")


if __name__ == "__main__":
    main()
