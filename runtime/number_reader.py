"""NumberReader: number.onnx in onnxruntime, the handwritten number in each image (docs/NUMBERS.md).

The file does everything from the RGBA pixels on: the strip preprocessing, the reader and the
reading rule with its rejection. The host decodes the image as for a digit (Pillow, EXIF
orientation applied). This module knows nothing of how the reader was trained.
"""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import onnxruntime

from ..errors import first_line
from .classifier import processed
from .images import ImageError
from .model_check import MAX_FILE_BYTES
from .model_file import ModelError, model_bytes, session_from, session_options
from .preprocess import rgba_pixels


def default_number_path() -> Path:
    from ..models import NUMBER, NUMBER_DIR

    return NUMBER_DIR / NUMBER


@dataclass
class DigitRead:
    digit: str
    probability: float
    box: tuple[int, int, int, int]  # x0, y0, x1, y1 in the input's pixels, x1 and y1 exclusive


@dataclass
class NumberReading:
    number: str | None  # the digits as a string (leading zeros kept); None when rejected or failed
    probability: float | None  # the product of its digits' probabilities (also when rejected; None if failed)
    digits: list[DigitRead] = field(default_factory=list)  # what was read, also when rejected
    rejected: bool = False  # not a number: nothing written, nothing read, or a digit too unsure
    error: str | None = None
    strip: np.ndarray | None = None  # what the reader saw: [28, W] float32 in [0, 1]

    @property
    def ok(self) -> bool:
        return self.error is None


class NumberReader:
    """Read handwritten numbers of any length.

    >>> reader = NumberReader()                  # the shipped number.onnx
    >>> reader.read("zip.jpg").number            # one image -> NumberReading (raises ImageError)
    '02139'
    >>> list(reader.read_all(["a.png", "b.png"]))  # many -> NumberReadings, errors inside
    """

    def __init__(self, model: str | Path | None = None, threads: int | None = None):
        from ..models import NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES

        self.model_path = Path(model) if model is not None else default_number_path()
        self.input_name, self.output_names = NUMBER_INPUT_NAME, NUMBER_OUTPUT_NAMES
        self.session = _open(self.model_path, session_options(threads or 1))
        inputs = [(i.name, i.type) for i in self.session.get_inputs()]
        outputs = [o.name for o in self.session.get_outputs()]
        if inputs != [(self.input_name, "tensor(uint8)")] or outputs != list(self.output_names):
            raise ModelError(f"{self.model_path}: not a number reader (inputs {inputs}, outputs {outputs}; "
                             f"expected {self.input_name} uint8 and {', '.join(self.output_names)})")
        self.metadata = self.session.get_modelmeta().custom_metadata_map

    def read(self, source) -> NumberReading:
        """The number in one image: a path, image bytes, PIL image or array. ImageError when it
        cannot be read; ModelError when the model fails on it."""
        pixels = processed(source, lambda image, release: rgba_pixels(image, release=release))
        try:
            values = dict(zip(self.output_names, self.session.run(None, {self.input_name: pixels})))
        except Exception as error:  # onnxruntime's own exception types
            raise ModelError(f"{self.model_path}: failed on the image ({first_line(error)})") from None
        digits = [DigitRead(str(int(digit)), float(probability), tuple(int(v) for v in box))
                  for digit, probability, box in zip(values["digits"], values["probabilities"], values["boxes"])]
        rejected = bool(values["rejected"])
        return NumberReading(None if rejected else "".join(d.digit for d in digits),
                             float(values["number_probability"]), digits, rejected, strip=values["strip"])

    def read_all(self, sources: Iterable) -> Iterator[NumberReading]:
        """One NumberReading per source, in order; a source that cannot be read gets its error."""
        for source in sources:
            if isinstance(source, ImageError):  # an input already known to be bad
                yield NumberReading(None, None, error=str(source))
                continue
            try:
                yield self.read(source)
            except (ImageError, ModelError) as error:  # the model failing on one image fails that image
                yield NumberReading(None, None, error=str(error))


def _open(path: Path, options: onnxruntime.SessionOptions) -> onnxruntime.InferenceSession:
    """The file opened by onnxruntime, or one ModelError naming the file and the problem. (The
    digit model's checks, runtime/model_check.py, are for a classifier's graph; a number reader's
    file has the preprocessing's loops and branches, which they do not cover.)"""
    data = model_bytes(path)
    if len(data) > MAX_FILE_BYTES:
        raise ModelError(f"{path}: larger than {MAX_FILE_BYTES >> 20} MB")
    return session_from(path, data, options)
