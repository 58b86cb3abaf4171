"""python -m benchmarks.sizes: batch-1 latency against model size, onnxruntime and PyTorch eager.

Random weights (latency does not depend on their values), exported the way digit-export does it,
run in onnxruntime on one thread (as the runtime runs up to 3 images) and in PyTorch eager with
torch's default threads. Prints a markdown table; docs/BENCHMARKS.md quotes it.

It also times one step of onnxruntime's LSTM kernel for each layer (a lone LSTM node of that
layer's shape run over 56 and over 28 steps; the difference over 28, so fixed costs drop out). A
layer's 28 steps depend on each other, and each layer waits for the one below, so 28 steps of every
layer are a floor under the model's latency in that kernel, whatever else the graph does: the last
column sets that floor beside the latency the 3x goal asks for.
"""

import argparse
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch
from onnx import TensorProto, helper, numpy_helper

from lstm_digits.export.formats import export_onnx
from lstm_digits.models import INPUT_NAME, OPSET, OUTPUT_NAMES
from lstm_digits.runtime.model_file import session_options
from lstm_digits.training.contract import IMAGE_SIZE as ROWS  # time steps per image, pixels per step
from lstm_digits.training.model import DigitRNN, ModelConfig

from . import measure

SIZES = [(2, 100), (1, 100), (2, 64), (1, 64)]  # (layers, hidden); the shipped model first


def lstm_node_session(inputs: int, hidden: int, steps: int) -> onnxruntime.InferenceSession:
    """One ONNX LSTM layer at batch 1."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array((rng.standard_normal((1, 4 * hidden, size)) * 0.1).astype(np.float32), name)
               for name, size in (("W", inputs), ("R", hidden))]
    node = helper.make_node("LSTM", ["x", "W", "R"], ["", "h"], hidden_size=hidden)
    graph = helper.make_graph([node], "lstm", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [steps, 1, inputs])],
                              [helper.make_tensor_value_info("h", TensorProto.FLOAT, None)], weights)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)])
    return onnxruntime.InferenceSession(model.SerializeToString(), session_options(1), providers=["CPUExecutionProvider"])


def recurrent_step_us(inputs: int, hidden: int, calls: int, warmup: int) -> float:
    """Median time of one step of onnxruntime's LSTM kernel at batch 1, fixed costs taken out."""
    medians = {}
    for steps in (ROWS, 2 * ROWS):
        session = lstm_node_session(inputs, hidden, steps)
        x = np.random.default_rng(1).random((steps, 1, inputs), dtype=np.float32)
        medians[steps] = measure.latency_us(lambda: session.run(["h"], {"x": x}), calls, warmup)["median"]
    return (medians[2 * ROWS] - medians[ROWS]) / ROWS


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1500)
    parser.add_argument("--quick", action="store_true", help="the smallest model, a few calls: for the test")
    args = parser.parse_args(argv)
    sizes, calls, warmup = (SIZES[-1:], 5, 2) if args.quick else (SIZES, args.calls, 300)
    image = np.random.default_rng(0).random((1, ROWS, ROWS), dtype=np.float32)
    print("| LSTM layers x hidden | parameters | onnxruntime, 1 thread | PyTorch eager | ratio "
          "| one step, first layer / later layers | 28 steps of every layer vs eager / 3 |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory() as folder:
        for layers, hidden in sizes:
            torch.manual_seed(0)
            model = DigitRNN(ModelConfig(cell="lstm", layers=layers, hidden=hidden)).eval()
            path = Path(folder) / f"lstm-{layers}x{hidden}.onnx"
            export_onnx(model, path, {}, "")
            session = onnxruntime.InferenceSession(str(path), session_options(1), providers=["CPUExecutionProvider"])
            ort_us = measure.latency_us(lambda: session.run([OUTPUT_NAMES[1]], {INPUT_NAME: image}), calls, warmup)
            tensor = torch.from_numpy(image)
            with torch.inference_mode():
                eager_us = measure.latency_us(lambda: model(tensor), calls, warmup)
            parameters = sum(p.numel() for p in model.parameters())
            first = recurrent_step_us(ROWS, hidden, calls, warmup)  # a row of 28 pixels in
            later = recurrent_step_us(hidden, hidden, calls, warmup) if layers > 1 else 0.0
            floor = ROWS * (first + (layers - 1) * later)
            steps = f"{first:.2f} / {later:.2f} µs" if layers > 1 else f"{first:.2f} µs / -"
            print(f"| {layers} x {hidden} | {parameters:,} | {ort_us['median']:.0f} µs | {eager_us['median']:.0f} µs "
                  f"| {eager_us['median'] / ort_us['median']:.1f}x | {steps} "
                  f"| {floor:.0f} µs vs {eager_us['median'] / 3:.0f} µs |")


if __name__ == "__main__":
    main()
