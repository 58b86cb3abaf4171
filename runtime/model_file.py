"""Opening a model file: checked whole on its bytes (runtime/model_check.py), then the onnxruntime
session on those same bytes, and the input contract read from its metadata against the graph's
outputs. This module knows nothing of how the model was trained."""

import os
from pathlib import Path

import numpy as np
import onnxruntime

from ..errors import first_line
from .confidence import RejectionRule, RuleError
from .metadata_values import shown_label
from .model_check import MAX_FILE_BYTES, Contract, check_file, contract_from_metadata
from .onnx_structure import ModelProblem, quoted


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


def model_bytes(model_path: Path) -> bytes:
    """The file's bytes, up to one more than MAX_FILE_BYTES (model_check refuses a larger file);
    ModelError naming the file when it is missing or cannot be read."""
    if not model_path.is_file():
        raise ModelError(f"{model_path}: no such model file")
    try:
        with open(model_path, "rb") as handle:
            return handle.read(MAX_FILE_BYTES + 1)
    except OSError as error:
        raise ModelError(f"{model_path}: cannot be read ({error.strerror or first_line(error)})") from None


def checked_model_bytes(model_path: Path) -> bytes:
    """The file's bytes, once model_check has accepted them; ModelError naming the file and the
    problem otherwise. Nothing but this reader has seen the file yet."""
    data = model_bytes(model_path)
    try:
        check_file(data)
    except ModelProblem as problem:
        raise ModelError(f"{model_path}: {problem}") from None
    return data


def open_session(model_path: Path, options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
    """The model checked (checked_model_bytes), then opened by onnxruntime from the same bytes."""
    return session_from(model_path, checked_model_bytes(model_path), options)


def session_from(model_path: Path, data: bytes, options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
    """An onnxruntime session on the file's bytes, or one ModelError naming the file."""
    try:
        return onnxruntime.InferenceSession(data, sess_options=options, providers=["CPUExecutionProvider"])
    except Exception as error:  # onnxruntime raises its own exception types for unreadable files
        raise ModelError(f"{model_path}: not a usable ONNX model ({first_line(error)})") from None


def read_contract(session: onnxruntime.InferenceSession, model_path: Path) -> Contract:
    """The metadata's contract against the graph's outputs, for a session from open_session (which
    checked the input and everything else): one ModelError naming what disagrees."""
    def refuse(problem: str):
        raise ModelError(f"{model_path}: {problem}")

    metadata = session.get_modelmeta().custom_metadata_map
    try:
        contract = contract_from_metadata(metadata)
        rejection_label = RejectionRule.from_metadata(metadata).label
    except (ModelProblem, RuleError) as problem:
        refuse(str(problem))
    labels, canvas = contract.labels, contract.form.canvas
    if rejection_label in labels:
        refuse(f"metadata 'rejection': label {shown_label(rejection_label)} is also the label of an output")
    outputs = [o.name for o in session.get_outputs()]
    if not {"logits", "probabilities"} <= set(outputs):
        refuse(f"no 'logits' and 'probabilities' outputs (outputs: {', '.join(quoted(name) for name in outputs[:8])})")
    declared = {o.name: o.shape for o in session.get_outputs()}
    for name in ("logits", "probabilities"):
        if len(declared[name]) == 2 and isinstance(declared[name][1], int) and declared[name][1] != len(labels):
            refuse(f"output {name} is {declared[name]}, but the {len(labels)} labels need [batch, {len(labels)}]")
    if all(len(declared[name]) == 2 and declared[name][1] == len(labels) for name in ("logits", "probabilities")):
        return contract
    try:  # shapes the graph does not declare: one blank image through it shows them (model_check bounds the work)
        results = session.run(["logits", "probabilities"], {contract.input_name: np.zeros((1, canvas, canvas), np.float32)})
    except Exception as error:
        refuse(f"the graph fails on a blank [1, {canvas}, {canvas}] input ({first_line(error)})")
    for name, result in zip(("logits", "probabilities"), results):
        if not isinstance(result, np.ndarray) or result.shape != (1, len(labels)) or result.dtype.kind != "f":
            shape = getattr(result, "shape", type(result).__name__)
            refuse(f"output {name} is {shape} for one image, but the {len(labels)} labels need (1, {len(labels)})")
    return contract
