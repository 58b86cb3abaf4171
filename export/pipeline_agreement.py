"""pipeline.onnx against the Python runtime on the same encoded images: the outcome (the digit, "-"
when rejected, or "no digit") and the 28x28 image the model saw. Both run the one preprocessing
graph, so they must agree on every image, the 28x28 images within float rounding (IMAGE_ROUNDING).
Used by benchmarks/pipeline.py (full sets) and tests/test_pipeline_onnx.py (subsets). onnxruntime,
numpy and Pillow only."""

from dataclasses import dataclass

import numpy as np
import onnxruntime

from ..models import PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES
from ..runtime.images import NoDigitFound, open_image
from ..runtime.model_file import session_options
from ..runtime.preprocess import rgba_pixels

NO_DIGIT = "no digit"  # how an answer of None (no digit stands out) is shown
IMAGE_ROUNDING = 1e-6  # the largest difference of one pixel of the 28x28 images (float32 summed in other orders)


def host_pixels(data: bytes) -> np.ndarray:
    """RGBA uint8 [h, w, 4] as a host gives them to the pipeline: decoded, EXIF orientation applied."""
    return rgba_pixels(open_image(data))


def pipeline_session(path, threads: int = 1) -> onnxruntime.InferenceSession:
    return onnxruntime.InferenceSession(str(path), session_options(threads), providers=["CPUExecutionProvider"])


def pipeline_outcome(session: onnxruntime.InferenceSession, pixels: np.ndarray, classifier) -> tuple[str | None, np.ndarray]:
    """(answer, 28x28 image) from pipeline.onnx, in runtime_outcome's terms (classifier: its labels
    and rejection label)."""
    out = dict(zip(PIPELINE_OUTPUT_NAMES, session.run(None, {PIPELINE_INPUT_NAME: pixels})))
    if out["no_digit"][0]:
        return None, out["image"]
    if out["rejected"][0]:
        return classifier.rule.label, out["image"]
    return classifier.labels[int(out["probabilities"][0].argmax())], out["image"]


def runtime_outcome(classifier, prediction) -> tuple[str | None, np.ndarray]:
    """(answer, 28x28 image) of a DigitClassifier's prediction, as digit-classify has them: the digit
    or the rejection rule's label, and the image the model saw; None and a black image when no digit
    stands out. RuntimeError when the runtime refused the image."""
    if prediction.ok:
        return (classifier.rule.label if prediction.rejected else prediction.digit), prediction.image
    if prediction.error == str(NoDigitFound()):
        return None, np.zeros((classifier.form.canvas,) * 2, np.float32)
    raise RuntimeError(f"the runtime refused an image: {prediction.error}")


@dataclass
class Agreement:
    images: int
    same: int  # the same outcome (digit, rejection or no digit)
    max_difference: float  # the largest difference of a pixel of the 28x28 images, over all images
    differing: list  # indices of the images whose outcome or image differs

    @property
    def holds(self) -> bool:
        return self.same == self.images and self.max_difference <= IMAGE_ROUNDING


def compare(classifier, session: onnxruntime.InferenceSession, encoded: list[bytes]) -> Agreement:
    """classifier: a runtime DigitClassifier (digit-classify's path); session: pipeline.onnx."""
    same, largest, differing = 0, 0.0, []
    for index, (data, prediction) in enumerate(zip(encoded, classifier.predict(encoded))):
        outcome, image = pipeline_outcome(session, host_pixels(data), classifier)
        try:
            expected, reference = runtime_outcome(classifier, prediction)
        except RuntimeError as error:
            raise RuntimeError(f"image {index}: {error}") from None
        difference = float(np.abs(image - reference).max())
        same += outcome == expected
        largest = max(largest, difference)
        if outcome != expected or difference > IMAGE_ROUNDING:
            differing.append(index)
    return Agreement(len(encoded), same, largest, differing)
