"""DigitClassifier: an exported model.onnx in onnxruntime, fed images brought into MNIST form.

The input contract (input name, size, labels, preprocessing) is read from the ONNX file's
metadata and checked whole against the graph when the model is loaded; this module knows nothing
of how the model was trained.
"""

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial
from itertools import chain, islice
from pathlib import Path
from typing import Iterator

import numpy as np
import onnxruntime
from PIL import Image

from ..errors import first_line
from .arrays import image_from_array
from .confidence import RejectionRule, RuleError
from .images import ImageError, open_image
from .model_file import ModelError, default_model_path, default_threads, open_session, read_contract, session_options
from .preprocess import GRAPH, Form, to_mnist_form


@dataclass
class Prediction:
    digit: str | None  # the label, None when the image could not be classified
    probability: float | None
    top_k: list[tuple[str, float]] = field(default_factory=list)
    error: str | None = None
    image: np.ndarray | None = None  # what the model saw: [canvas, canvas] float32 in [0, 1]
    rejected: bool = False  # the model's rule says not a digit: digit is None, probability and top_k are given

    @property
    def ok(self) -> bool:
        return self.error is None


PARALLEL_FROM = 32  # inputs in one call before decoding and preprocessing are spread over processes
SMALL_BATCH = 3  # up to this many images run on one thread (see DigitClassifier._session_for)
ONE_IMAGE = (str, os.PathLike, bytes, bytearray, memoryview, np.ndarray, Image.Image)  # iterable, yet one image
QUIET_RUN = onnxruntime.RunOptions()  # onnxruntime logs nothing when a run fails: the ModelError says it
QUIET_RUN.log_severity_level = 4


def model_input(source, form: Form) -> np.ndarray:
    """A path, image bytes, PIL image or array -> the model's input for it, or ImageError saying
    why not. Whatever goes wrong with one input ends here, as that input's one-line error."""
    return processed(source, lambda image, release: to_mnist_form(image, form, release=release))


def processed(source, process):
    """process(image, release) of a path, image bytes, PIL image or array, decoded as one image
    (`release`: decoded here, so it may be freed once its pixels are copied), or ImageError saying
    why not: whatever goes wrong with one input ends here, as that input's one-line error."""
    try:
        if isinstance(source, np.ndarray):
            return process(image_from_array(source), False)
        if isinstance(source, Image.Image):
            if source.width == 0 or source.height == 0:
                raise ImageError(f"empty image ({source.width}x{source.height})")
            return process(source, False)
        if not isinstance(source, (str, os.PathLike, bytes, bytearray, memoryview)):
            raise ImageError(f"not an image: a path, bytes, PIL image or array, not {type(source).__name__}")
        return process(open_image(source), True)
    except ImageError:
        raise
    except MemoryError:
        raise ImageError("too large to process in memory") from None
    except Exception as error:  # a mode, size or value the preprocessing cannot take
        raise ImageError(f"cannot be processed: {first_line(error)}") from None


def _model_input_or_error(source, form: Form) -> tuple[np.ndarray | None, str | None]:
    """model_input for batches and worker processes, which carry errors instead of raising."""
    if isinstance(source, ImageError):  # an input already known to be bad (e.g. a folder without images)
        return None, str(source)
    try:
        return model_input(source, form), None
    except ImageError as error:
        return None, str(error)


def _onnxruntime_problem(error: Exception) -> str:
    """onnxruntime's message without its error-code prefix and the C++ check that failed: e.g.
    "Reshape node: The input tensor cannot be reshaped to the requested shape. Input shape:{1,10}, ..." """
    text = " ".join(str(error).split())
    node = re.search(r"running (\S+) node", text)
    text = re.sub(r"^\[ONNXRuntimeError\] : \d+ : \w+ : ", "", text).split("Status Message: ", 1)[-1]
    text = re.sub(r"^\S+:\d+ .*? was false\. ", "", text)
    return first_line(f"{node.group(1)} node: {text}" if node else text)


def _is_batch(images) -> bool:
    """Any iterable (a list, a generator, ...) is a batch, except what is itself one image (a path,
    bytes, an array, a PIL image); a mapping is not a batch of its keys."""
    return isinstance(images, Iterable) and not isinstance(images, ONE_IMAGE + (Mapping,))


def _failed_input(reason: str) -> tuple[None, str]:
    return None, reason


class DigitClassifier:
    """Classify images of handwritten digits.

    >>> classifier = DigitClassifier()                 # the shipped model
    >>> classifier.predict("seven.png").digit          # one image -> Prediction (raises ImageError)
    >>> classifier.predict(["a.png", pil_image, array]) # a batch -> list of Prediction (errors inside)
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None,
                 options: onnxruntime.SessionOptions | None = None, batch_size: int = 256, workers: int = 1,
                 min_confidence: float | None = None):
        """`threads` or `options` fix the session's settings; with neither, the thread count follows
        the batch (see _session_for). `workers` > 1 decodes and preprocesses large batches in that
        many processes. `min_confidence` overrides the model's rejection threshold (0: never reject)."""
        self.model_path = Path(model) if model is not None else default_model_path()
        self.batch_size = batch_size
        self.workers = workers
        self._pool = None
        # One explicit choice: fixed settings, or one thread for a few images and a second,
        # multi-threaded session (opened when the first large batch comes) for the rest.
        self.threads_follow_batch = options is None and threads is None and default_threads() > 1
        self.session = self._open_session(options or session_options(1 if self.threads_follow_batch else threads))
        self._large_session = None
        self.metadata = self.session.get_modelmeta().custom_metadata_map
        contract = read_contract(self.session, self.model_path)
        self.labels, self.input_name, self.form = contract.labels, contract.input_name, contract.form
        try:  # the model's rule for "not a digit" (runtime/confidence.py); none in the metadata: never
            self.rule = RejectionRule.from_metadata(self.metadata, min_confidence)
        except RuleError as error:
            raise ModelError(f"{self.model_path}: {error}") from None

    def _open_session(self, options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
        return open_session(self.model_path, options)

    # --- inference on images already in MNIST form ---

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """[N, canvas, canvas] float32 in [0, 1] -> [N, len(labels)] probabilities."""
        return self._run("probabilities", batch)

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """[N, canvas, canvas] float32 in [0, 1] -> [N, len(labels)] logits (the model's raw scores)."""
        return self._run("logits", batch)

    def _session_for(self, count: int) -> onnxruntime.InferenceSession:
        """A few images run fastest on one thread: each of the 28 steps per layer is too small to
        share, and waking a second thread for it costs more than it saves. When the threads follow
        the batch, larger batches use a multi-threaded session, opened the first time one comes."""
        if not self.threads_follow_batch or count <= SMALL_BATCH:
            return self.session
        if self._large_session is None:
            self._large_session = self._open_session(session_options())
        return self._large_session

    def _run(self, output: str, batch: np.ndarray) -> np.ndarray:
        """The model's `output` for a batch: [N, len(labels)] floating-point numbers, or ModelError
        (onnxruntime raised, or the output is of another type or shape). NaN rows are left to the caller."""
        batch = np.ascontiguousarray(batch, dtype=np.float32)
        if 0 < len(batch) <= self.batch_size:  # the common case, and batch 1's hot path: no copies
            return self._run_part(output, batch, self._session_for(len(batch)))
        session = self._session_for(self.batch_size)
        parts = [self._run_part(output, batch[i : i + self.batch_size], session)
                 for i in range(0, len(batch), self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, len(self.labels)), np.float32)

    def _run_part(self, output: str, batch: np.ndarray, session: onnxruntime.InferenceSession) -> np.ndarray:
        try:
            result = session.run([output], {self.input_name: batch}, QUIET_RUN)[0]
        except Exception as error:  # onnxruntime's own exception types, for what the graph does with this input
            raise ModelError(f"{self.model_path}: onnxruntime could not run the model ({_onnxruntime_problem(error)})") from None
        if not isinstance(result, np.ndarray) or result.dtype.kind != "f":
            kind = result.dtype if isinstance(result, np.ndarray) else type(result).__name__
            raise ModelError(f"{self.model_path}: output {output} is {kind}, not floating-point numbers")
        if result.shape != (len(batch), len(self.labels)):
            raise ModelError(f"{self.model_path}: output {output} is {list(result.shape)} for {len(batch)} images, "
                             f"not [{len(batch)}, {len(self.labels)}]")
        return result

    def model_input(self, source) -> np.ndarray:
        """A path, image bytes, PIL image or array -> the [canvas, canvas] image the model is given
        for it (ImageError if it cannot be made)."""
        return model_input(source, self.form)

    @property
    def read_ahead(self) -> int:
        """How many inputs predict_iter reads at most beyond the last result it has given: a batch,
        and with workers what they hold or have answered out of order. Memory is bounded by it,
        whatever the number of inputs and however slowly the results are read."""
        if self.workers <= 1:
            return self.batch_size
        from .workers import read_ahead

        return self.batch_size + max(PARALLEL_FROM, read_ahead(self.workers))

    def close(self) -> None:
        """Stop the worker processes now, if any were started, without finishing queued work.
        Leaving `with DigitClassifier(...)` calls it, also through an exception (KeyboardInterrupt
        in the middle of predict_iter). The classifier stays usable: new workers start when needed.
        Workers ignore SIGINT (Ctrl-C reaches the main process, which stops them) and never outlive
        the main process (runtime/workers.py)."""
        if self._pool is not None:
            self._pool.close()

    def __enter__(self) -> "DigitClassifier":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def _model_inputs(self, sources: Iterable) -> Iterator[tuple[np.ndarray | None, str | None]]:
        """(image, error) per input, in order, read as they are needed; with workers (from
        PARALLEL_FROM inputs on), made ahead in worker processes, at most their read-ahead."""
        sources = iter(sources)
        if self.workers > 1:
            head = list(islice(sources, PARALLEL_FROM))
            if len(head) == PARALLEL_FROM:
                yield from self._worker_pool().map(chain(head, sources))
                return
            sources = iter(head)
        for source in sources:
            yield _model_input_or_error(source, self.form)

    def _worker_pool(self):
        if self._pool is None:
            from .workers import WorkerPool  # here, not at the top: one image should not pay for it

            GRAPH.open_before_forking()
            self._pool = WorkerPool(partial(_model_input_or_error, form=self.form), self.workers, _failed_input)
        return self._pool

    def predict(self, images, top_k: int = 1):
        """One image (path, bytes, PIL image or array) -> Prediction, raising ImageError if it cannot
        be classified and ModelError if the model fails on it. A list, or any other iterable (a
        generator too) -> list of Prediction in the same order, failures carried in `error`."""
        if _is_batch(images):
            return list(self.predict_iter(images, top_k))
        image = self.model_input(images)
        return self._prediction(image, self._checked_row(self.probabilities(image[None])[0]), top_k)

    def predict_iter(self, sources, top_k: int = 1) -> Iterator[Prediction]:
        """One Prediction per input, in order, as they are ready: while the model runs on one batch,
        the workers are already decoding the next. `sources` is any iterable (a generator too), read
        as the predictions are, at most `read_ahead` inputs ahead; one image is a batch of one. An
        ImageError given in place of an input is passed through as that input's error. When the
        model fails on a batch, each of its images is run alone, so that an image's answer never
        depends on the others in its batch."""
        model_inputs = self._model_inputs(sources if _is_batch(sources) else [sources])
        try:
            while batch := list(islice(model_inputs, self.batch_size)):
                good = [image for image, error in batch if error is None]
                rows = iter(self._rows(good))
                for image, error in batch:
                    row = next(rows) if error is None else error  # probabilities, or why there are none
                    yield Prediction(None, None, error=row) if isinstance(row, str) else self._prediction(image, row, top_k)
        finally:
            model_inputs.close()  # a run left early: the workers drop what they still hold for it

    def _rows(self, images: list[np.ndarray]) -> list[np.ndarray | str]:
        """Per image, its probabilities, or the one-line ModelError saying why the model gave none."""
        if not images:
            return []
        try:
            return [self._checked_row(row) for row in self.probabilities(np.stack(images))]
        except ModelError:
            return [self._row_alone(image) for image in images]

    def _row_alone(self, image: np.ndarray) -> np.ndarray | str:
        try:
            return self._checked_row(self.probabilities(image[None])[0])
        except ModelError as error:
            return str(error)

    def _checked_row(self, probabilities: np.ndarray) -> np.ndarray:
        """An image's probabilities, or ModelError if they are not all finite numbers (they would
        be printed as NaN, which is not JSON)."""
        if not np.isfinite(probabilities).all():
            raise ModelError(f"{self.model_path}: the model's probabilities for this image are not finite numbers")
        return probabilities

    def _prediction(self, image: np.ndarray, probabilities: np.ndarray, top_k: int) -> Prediction:
        ranked = np.argsort(-probabilities)[: max(1, top_k)]
        top = [(self.labels[i], float(probabilities[i])) for i in ranked]
        rejected = self.rule.rejects(probabilities)
        return Prediction(None if rejected else top[0][0], top[0][1], top, image=image, rejected=rejected)
