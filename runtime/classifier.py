"""DigitClassifier: an exported model.onnx in onnxruntime, fed images brought into MNIST form.

The input contract (input name, size, labels, preprocessing) is read from the ONNX file's
metadata; this module knows nothing of how the model was trained.
"""

import json
import os
from dataclasses import dataclass, field
from itertools import islice, repeat
from pathlib import Path
from typing import Iterator

import numpy as np
import onnxruntime

from .images import ImageError, open_image
from .preprocess import Form, to_mnist_form


class ModelError(Exception):
    """A model file that is missing, not ONNX, or not made for this runtime."""


@dataclass
class Prediction:
    digit: str | None  # the label, None when the image could not be classified
    probability: float | None
    top_k: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None
    image: np.ndarray | None = None  # what the model saw: [canvas, canvas] float32 in [0, 1]

    @property
    def ok(self) -> bool:
        return self.error is None


PARALLEL_FROM = 32  # inputs in one call before decoding and preprocessing are spread over processes
SMALL_BATCH = 3  # up to this many images run on one thread (see DigitClassifier._session_for)


def _model_input(source, form: Form) -> np.ndarray:
    """A path, image bytes, PIL image or array -> the model's input for it (ImageError if not)."""
    if isinstance(source, np.ndarray) or hasattr(source, "mode"):
        return to_mnist_form(source, form)
    return to_mnist_form(open_image(source), form)


def _prepare(source, form: Form):
    """_model_input without raising, for batches (and worker processes): (image, None) or (None, error)."""
    try:
        return _model_input(source, form), None
    except ImageError as error:
        return None, str(error)


def default_model_path() -> Path:
    from ..models import DEFAULT_MODEL

    return DEFAULT_MODEL


def session_options(threads: int | None = None, spinning: bool = False) -> onnxruntime.SessionOptions:
    """Suited to a small recurrent model on a small CPU: at most two threads (the recurrence is
    sequential, more threads only help large batches), no busy-waiting between calls, every graph
    optimisation. `threads` overrides the thread count."""
    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads if threads else min(2, os.cpu_count() or 1)
    options.inter_op_num_threads = 1
    options.execution_mode = onnxruntime.ExecutionMode.ORT_SEQUENTIAL
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.add_session_config_entry("session.intra_op.allow_spinning", "1" if spinning else "0")
    options.log_severity_level = 3  # errors only: onnxruntime's warnings are not our users' business
    return options


class DigitClassifier:
    """Classify images of handwritten digits.

    >>> classifier = DigitClassifier()                 # the shipped model
    >>> classifier.predict("seven.png").digit          # one image -> Prediction (raises ImageError)
    >>> classifier.predict(["a.png", pil_image, array]) # a batch -> list of Prediction (errors inside)
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None,
                 options: onnxruntime.SessionOptions | None = None, batch_size: int = 256, workers: int = 1):
        """`workers` > 1 decodes and preprocesses large batches in that many processes."""
        self.model_path = Path(model) if model is not None else default_model_path()
        self.batch_size = batch_size
        self.workers = workers
        self._pool = None
        self._large_options = options or session_options(threads)
        chosen_by_us = options is None and threads is None and self._large_options.intra_op_num_threads > 1
        self.session = self._open_session(self.model_path, session_options(1) if chosen_by_us else self._large_options)
        self._large_session = None if chosen_by_us else self.session
        self.metadata = self.session.get_modelmeta().custom_metadata_map
        self._read_contract()

    @staticmethod
    def _open_session(path: Path, options) -> onnxruntime.InferenceSession:
        if not path.is_file():
            raise ModelError(f"{path}: no such model file")
        try:
            return onnxruntime.InferenceSession(str(path), sess_options=options, providers=["CPUExecutionProvider"])
        except Exception as error:  # onnxruntime raises its own exception types for unreadable files
            first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            raise ModelError(f"{path}: not a usable ONNX model ({first_line[:200]})") from None

    def _read_contract(self) -> None:
        path = self.model_path
        try:
            contract = json.loads(self.metadata["input"])
            self.labels = json.loads(self.metadata["labels"])
            self.form = Form.from_metadata(json.loads(self.metadata["preprocessing"]))
        except (KeyError, ValueError, TypeError):
            raise ModelError(f"{path}: no lstm-digits input contract in its metadata (input, labels, preprocessing)") from None
        inputs = {i.name: i for i in self.session.get_inputs()}
        self.input_name = contract.get("name")
        if self.input_name not in inputs or len(inputs) != 1:
            raise ModelError(f"{path}: the graph's inputs {list(inputs)} do not match the contract's {self.input_name!r}")
        shape = inputs[self.input_name].shape
        if len(shape) != 3 or shape[1:] != [self.form.canvas, self.form.canvas] or inputs[self.input_name].type != "tensor(float)":
            raise ModelError(f"{path}: input {self.input_name} is {inputs[self.input_name].type} {shape}, "
                             f"not float [batch, {self.form.canvas}, {self.form.canvas}]")
        outputs = [o.name for o in self.session.get_outputs()]
        if not {"logits", "probabilities"} <= set(outputs):
            raise ModelError(f"{path}: no 'logits' and 'probabilities' outputs (outputs: {outputs})")

    # --- inference on images already in MNIST form ---

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """[N, canvas, canvas] float32 in [0, 1] -> [N, len(labels)] probabilities."""
        return self._run("probabilities", batch)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """[N, canvas, canvas] float32 in [0, 1] -> [N, len(labels)] logits (the model's raw scores)."""
        return self._run("logits", batch)

    def _session_for(self, count: int) -> onnxruntime.InferenceSession:
        """A few images run fastest on one thread: each of the 28 steps per layer is too small to
        share, and waking a second thread for it costs more than it saves. Larger batches use the
        multi-threaded session, opened the first time one comes, when the thread count is ours."""
        if count <= SMALL_BATCH or self._large_session is self.session:
            return self.session
        if self._large_session is None:
            self._large_session = self._open_session(self.model_path, self._large_options)
        return self._large_session

    def _run(self, output: str, batch: np.ndarray) -> np.ndarray:
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if 0 < len(batch) <= self.batch_size:  # the common case, and batch 1's hot path: no copies
            return self._session_for(len(batch)).run([output], {self.input_name: batch})[0]
        session = self._session_for(self.batch_size)
        parts = [session.run([output], {self.input_name: batch[i : i + self.batch_size]})[0]
                 for i in range(0, len(batch), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), np.float32)

    def preprocess(self, source) -> np.ndarray:
        """A path, image bytes, PIL image or array -> the model's input for it (ImageError if not)."""
        return _model_input(source, self.form)

    def close(self) -> None:
        """Stop the worker processes, if any were started."""
        if self._pool is not None:
            self._pool.shutdown()
            self._pool = None

    def __enter__(self) -> "DigitClassifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _prepared(self, sources: list):
        """(image, error) per input, in order; with workers, produced ahead in worker processes."""
        if self.workers > 1 and len(sources) >= PARALLEL_FROM:
            if self._pool is None:
                import multiprocessing  # here, not at the top: one image should not pay for them
                from concurrent.futures import ProcessPoolExecutor

                # fork where there is one: workers start in milliseconds and need no re-import.
                method = "fork" if "fork" in multiprocessing.get_all_start_methods() else None
                self._pool = ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context(method))
            chunk = max(1, min(64, len(sources) // (4 * self.workers)))
            return self._pool.map(_prepare, sources, repeat(self.form), chunksize=chunk)
        return (_prepare(source, self.form) for source in sources)

    def predict(self, images, top_k: int = 1):
        """One image (path, bytes, PIL image or array) -> Prediction, raising ImageError if it cannot
        be classified. A list -> list of Prediction in the same order, failures carried in `error`."""
        if isinstance(images, (list, tuple)):
            return list(self.predict_iter(images, top_k))
        prediction = Prediction(None, None, image=self.preprocess(images))
        self._fill([prediction], self.probabilities(prediction.image[None]), top_k)
        return prediction

    def predict_iter(self, sources, top_k: int = 1) -> Iterator[Prediction]:
        """Predictions for any number of inputs, in order, as they are ready: while the model runs on
        one batch, the workers are already decoding the next."""
        prepared = iter(self._prepared(list(sources)))
        while batch := [Prediction(None, None, image=image, error=error)
                        for image, error in islice(prepared, self.batch_size)]:
            good = [r for r in batch if r.ok]
            if good:
                self._fill(good, self.probabilities(np.stack([r.image for r in good])), top_k)
            yield from batch

    def _fill(self, predictions: list[Prediction], probabilities: np.ndarray, top_k: int) -> None:
        order = np.argsort(-probabilities, axis=1)[:, : max(1, top_k)]
        for prediction, row, ranked in zip(predictions, probabilities, order):
            prediction.top_k = [(self.labels[i], float(row[i])) for i in ranked]
            prediction.digit, prediction.probability = prediction.top_k[0]
