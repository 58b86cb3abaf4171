"""SegmentationReader: the second way to read a handwritten number, a digit at a time (docs/NUMBERS.md).

The ink the digit preprocessing keeps (the preprocessing graph's `ink` output: the same rules that
find a digit's strokes on paper, in the image's frame) is split into connected components. Pieces
whose columns overlap are one digit (a 5 whose hat stands apart), specks are dropped, and each
digit is read by the digit model, as `digit-classify` reads a digit. It cannot split digits that
touch: a piece wider than a digit rejects the number, as does a digit the digit model rejects.

It is a second opinion beside number.onnx, which reads the whole strip at once and handles
touching digits: docs/NUMBERS.md measures each reader and the rule that answers when both agree.
"""

from collections.abc import Iterable, Iterator

import numpy as np

from .classifier import DigitClassifier, processed
from .images import ImageError
from .model_file import ModelError
from .number_reader import DigitRead, NumberReading
from .preprocess import graph_outputs, rgba_pixels

INK_LEVEL = 0.25  # the ink output is in [0, 1]: a pixel at least this bright is part of a stroke
SPECK = 0.25  # a piece smaller each way than this share of the tallest digit is a speck (a dot, noise)
SAME_DIGIT = 0.5  # pieces whose columns overlap by this share of the narrower one are one digit
MAX_DIGIT_WIDTH = 1.2  # a piece wider than this times the number's height holds digits that touch


def label_components(mask: np.ndarray) -> tuple[np.ndarray, int]:
    """The 8-connected components of a bool mask [H, W]: (labels int32 [H, W], 0 off the mask and
    1..count on it, count), numbered in the order their first pixel comes, row by row. Runs of
    pixels in a row are joined to the runs they touch in the row above (union-find)."""
    parent: list[int] = []

    def root(run: int) -> int:
        while parent[run] != run:
            parent[run] = parent[parent[run]]
            run = parent[run]
        return run

    runs, above = [], []  # runs: (row, start, stop, run); above: the previous row's (start, stop, run)
    for row, line in enumerate(mask):
        edges = np.flatnonzero(np.diff(np.concatenate(([False], line, [False])).astype(np.int8)))
        current = []
        for start, stop in zip(edges[::2].tolist(), edges[1::2].tolist()):
            run = len(parent)
            parent.append(run)
            for other_start, other_stop, other in above:
                if other_start <= stop and start <= other_stop:  # they touch, diagonally too
                    a, b = root(run), root(other)
                    parent[max(a, b)] = min(a, b)
            current.append((start, stop, run))
            runs.append((row, start, stop, run))
        above = current
    labels, numbers = np.zeros(mask.shape, np.int32), {}
    for row, start, stop, run in runs:
        labels[row, start:stop] = numbers.setdefault(root(run), len(numbers) + 1)
    return labels, len(numbers)


def digit_pieces(ink: np.ndarray) -> list[tuple[np.ndarray, tuple[int, int, int, int]]]:
    """The number's digits in the preprocessing's ink [H, W], left to right: ([h, w] float32 the
    digit's own ink, bright on black; its box x0, y0, x1, y1 in the ink's pixels, x1 and y1
    exclusive). Pieces that overlap in columns are one digit; specks are dropped."""
    labels, count = label_components(ink >= INK_LEVEL)
    rows, columns = np.nonzero(labels)
    of = labels[rows, columns] - 1
    starts, stops = np.full((2, count), labels.size), np.zeros((2, count), np.int64)  # per piece: x, y
    for axis, where in enumerate((columns, rows)):
        np.minimum.at(starts[axis], of, where)
        np.maximum.at(stops[axis], of, where + 1)
    boxes = [[starts[0, i], starts[1, i], stops[0, i], stops[1, i], [i + 1]] for i in range(count)]
    digits: list[list] = []
    for x0, y0, x1, y1, members in sorted(boxes, key=lambda b: b[0]):
        last = digits[-1] if digits else None
        if last and min(x1, last[2]) - max(x0, last[0]) >= SAME_DIGIT * min(x1 - x0, last[2] - last[0]):
            last[:4] = [min(x0, last[0]), min(y0, last[1]), max(x1, last[2]), max(y1, last[3])]
            last[4] += members
        else:
            digits.append([x0, y0, x1, y1, members])
    tallest = max((y1 - y0 for _, y0, _, y1, _ in digits), default=0)
    digits = [d for d in digits if max(d[2] - d[0], d[3] - d[1]) >= SPECK * tallest]
    pieces = []
    for x0, y0, x1, y1, members in digits:
        own = np.isin(labels[y0:y1, x0:x1], members)
        pieces.append((np.where(own, ink[y0:y1, x0:x1], 0).astype(np.float32), (int(x0), int(y0), int(x1), int(y1))))
    return pieces


class SegmentationReader:
    """Read a handwritten number digit by digit, with the digit model.

    >>> reader = SegmentationReader()               # the shipped model.onnx, its not-a-digit rule
    >>> reader.read("zip.png").number               # one image -> NumberReading (raises ImageError)
    '02139'
    """

    def __init__(self, classifier: DigitClassifier | None = None):
        self.classifier = classifier or DigitClassifier(threads=1)

    def read(self, source) -> NumberReading:
        """The number in one image (a path, image bytes, PIL image or array); boxes in its pixels."""
        pixels = processed(source, lambda image, release: rgba_pixels(image, release=release))
        outputs = graph_outputs(pixels)
        if outputs.no_digit:
            return NumberReading(None, 0.0, rejected=True)
        scale = pixels.shape[1] / outputs.ink.shape[1]  # a very large photo's ink is reduced
        pieces = digit_pieces(outputs.ink)
        predictions = self.classifier.predict([piece for piece, _ in pieces], top_k=1)
        digits, rejected = [], not pieces
        height = max((y1 - y0 for _, (_, y0, _, y1) in pieces), default=0)  # the number's: its tallest digit's
        for (piece, box), prediction in zip(pieces, predictions):
            if not prediction.ok:  # the piece alone tells which: nothing in it to read, or the model failed
                try:
                    self.classifier.predict(piece)
                except ImageError:  # a piece the digit preprocessing finds nothing in
                    return NumberReading(None, 0.0, digits, rejected=True)
                raise ModelError(prediction.error)  # (raised by the line above, unless it failed only in the batch)
            label, probability = prediction.top_k[0]
            digits.append(DigitRead(label, probability, tuple(round(v * scale) for v in box)))
            rejected |= prediction.rejected or box[2] - box[0] > MAX_DIGIT_WIDTH * height
        probability = float(np.prod([d.probability for d in digits])) if digits else 0.0
        return NumberReading(None if rejected else "".join(d.digit for d in digits), probability, digits, rejected)

    def read_all(self, sources: Iterable) -> Iterator[NumberReading]:
        """One NumberReading per source, in order; a source that cannot be read gets its error."""
        for source in sources:
            try:
                yield self.read(source)
            except (ImageError, ModelError) as error:
                yield NumberReading(None, None, error=str(error))
