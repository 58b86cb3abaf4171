"""Opening a model file: the onnxruntime session and the input contract read from its metadata,
checked whole against the graph. This module knows nothing of how the model was trained."""

import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnxruntime

from ..errors import first_line
from .preprocess import Form


class ModelError(Exception):
    """A model file that is missing, not ONNX, or not made for this runtime. str() is one line."""


def default_model_path() -> Path:
    from ..models import DEFAULT_MODEL

    return DEFAULT_MODEL


def default_threads() -> int:
    return min(2, os.cpu_count() or 1)


def session_options(threads: int | None = None) -> onnxruntime.SessionOptions:
    """Suited to a small recurrent model on a small CPU: at most two threads (the recurrence is
    sequential, more threads only help large batches), no busy-waiting between calls, every graph
    optimisation. `threads` overrides the thread count."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads or default_threads()
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not our users' business
    return options


def open_session(model_path: Path, options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
    if not model_path.is_file():
        raise ModelError(f"{model_path}: no such model file")
    try:
        return onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable files
        raise ModelError(f"{model_path}: not a usable ONNX model ({first_line(error)})") from None


@dataclass(frozen=True)
class Contract:
    """What the metadata promises and the graph was checked to keep."""

    input_name: str
    labels: list[str]
    form: Form


def read_contract(session: onnxruntime.InferenceSession, model_path: Path) -> Contract:
    """The metadata's contract against the graph, whole: one ModelError naming what disagrees."""
    def refuse(problem: str):
        raise ModelError(f"{model_path}: {problem}")

    metadata = session.get_modelmeta().custom_metadata_map
    try:
        contract, labels, preprocessing = (json.loads(metadata[key]) for key in ("input", "labels", "preprocessing"))
    except (KeyError, ValueError):
        refuse("no lstm-digits input contract in its metadata (input, labels, preprocessing)")
    if not isinstance(contract, dict) or not isinstance(preprocessing, dict):
        refuse("metadata 'input' and 'preprocessing' must be JSON objects")
    if not isinstance(labels, list) or not labels or not all(isinstance(label, str) for label in labels):
        refuse(f"metadata 'labels' must be a list of strings, not {json.dumps(labels)[:80]}")
    try:
        form = Form.from_metadata(preprocessing)
    except (KeyError, ValueError, TypeError):
        refuse("metadata 'preprocessing' needs whole numbers 'canvas' and 'digit_box'")
    if not 0 < form.digit_box <= form.canvas:
        refuse(f"digit_box {form.digit_box} does not fit in canvas {form.canvas}")
    input_name = contract.get("name")
    inputs = session.get_inputs()
    if len(inputs) != 1 or inputs[0].name != input_name:
        refuse(f"the graph's inputs {[i.name for i in inputs]} do not match the contract's {input_name!r}")
    canvas = form.canvas
    if len(inputs[0].shape) != 3 or inputs[0].shape[1:] != [canvas, canvas] or inputs[0].type != "tensor(float)":
        refuse(f"input {input_name} is {inputs[0].type} {inputs[0].shape}, not float [batch, {canvas}, {canvas}]")
    outputs = [o.name for o in session.get_outputs()]
    if not {"logits", "probabilities"} <= set(outputs):
        refuse(f"no 'logits' and 'probabilities' outputs (outputs: {outputs})")
    declared = {o.name: o.shape for o in session.get_outputs()}
    for name in ("logits", "probabilities"):
        if len(declared[name]) == 2 and isinstance(declared[name][1], int) and declared[name][1] != len(labels):
            refuse(f"output {name} is {declared[name]}, but the {len(labels)} labels need [batch, {len(labels)}]")
    if all(len(declared[name]) == 2 and declared[name][1] == len(labels) for name in ("logits", "probabilities")):
        return Contract(input_name, labels, form)
    try:  # shapes the graph does not declare: one blank image through it shows them
        results = session.run(["logits", "probabilities"], {input_name: np.zeros((1, canvas, canvas), np.float32)})
    except Exception as error:
        refuse(f"the graph fails on a blank [1, {canvas}, {canvas}] input ({first_line(error)})")
    for name, result in zip(("logits", "probabilities"), results):
        if not isinstance(result, np.ndarray) or result.shape != (1, len(labels)) or result.dtype.kind != "f":
            shape = getattr(result, "shape", type(result).__name__)
            refuse(f"output {name} is {shape} for one image, but the {len(labels)} labels need (1, {len(labels)})")
    return Contract(input_name, labels, form)
