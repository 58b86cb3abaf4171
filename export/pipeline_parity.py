"""The pipeline against the Python runtime on the same encoded images: the outcome (the digit, "-"
when rejected, or "no digit") and the 28x28 image the model saw. Used by benchmarks/pipeline.py
(full sets) and tests/test_pipeline_onnx.py (subsets). onnxruntime, numpy and Pillow only."""

from dataclasses import dataclass

import numpy as np
import onnxruntime
from PIL import ImageOps

from ..models import PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES
from ..runtime.model_file import session_options
from ..runtime.images import NoDigitFound, open_image

NO_DIGIT = "no digit"
SAME_OUTCOME = 0.998  # issue 14: the same digit, rejection or no-digit on at least this fraction ...
MEAN_IMAGE_DIFFERENCE = 0.01  # ... and at most this mean absolute difference of the 28x28 images


def host_pixels(data: bytes) -> np.ndarray:
    """RGBA uint8 [h, w, 4] as a host gives them to the pipeline: decoded, EXIF orientation applied."""
    return np.asarray(ImageOps.exif_transpose(open_image(data)).convert("RGBA"))


def pipeline_session(path, threads: int = 1) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def pipeline_outcome(session: onnxruntime.InferenceSession, pixels: np.ndarray, labels) -> tuple[str, np.ndarray]:
    out = dict(zip(PIPELINE_OUTPUT_NAMES, session.run(None, {PIPELINE_INPUT_NAME: pixels})))
    if out["no_digit"][0]:
        return NO_DIGIT, out["image"]
    return ("-" if out["rejected"][0] else labels[int(out["probabilities"][0].argmax())]), out["image"]


@dataclass
class Agreement:
    images: int
    same: int  # the same outcome (digit, rejection or no digit)
    mean_difference: float  # of the 28x28 images, over all images (0 where both found no digit)
    max_difference: float  # the largest mean difference of one image
    differing: list  # indices of the images whose outcome differs

    @property
    def same_fraction(self) -> float:
        return self.same / self.images if self.images else 1.0

    @property
    def holds(self) -> bool:
        return self.same_fraction >= SAME_OUTCOME and self.mean_difference <= MEAN_IMAGE_DIFFERENCE


def compare(classifier, session: onnxruntime.InferenceSession, encoded: list[bytes]) -> Agreement:
    """classifier: a runtime DigitClassifier (digit-classify's path); session: pipeline.onnx."""
    labels = classifier.labels
    canvas = None
    same, differences, differing = 0, [], []
    for index, (data, prediction) in enumerate(zip(encoded, classifier.predict(encoded))):
        outcome, image = pipeline_outcome(session, host_pixels(data), labels)
        canvas = image.shape
        if prediction.ok:
            expected, reference = ("-" if prediction.rejected else prediction.digit), prediction.image
        elif prediction.error == str(NoDigitFound()):
            expected, reference = NO_DIGIT, np.zeros(canvas, np.float32)
        else:
            raise RuntimeError(f"image {index}: the runtime refused it: {prediction.error}")
        same += outcome == expected
        if outcome != expected:
            differing.append(index)
        differences.append(float(np.abs(image - reference).mean()))
    return Agreement(len(encoded), same, float(np.mean(differences)) if differences else 0.0,
                     max(differences, default=0.0), differing)
