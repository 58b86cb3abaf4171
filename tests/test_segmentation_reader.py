"""SegmentationReader, the second number reader: connected components of the preprocessing's ink,
each read by the shipped digit model (issue 23 point 2)."""

import numpy as np
import pytest
from PIL import Image

from lstm_digits.export.number_paper import strip_on_paper
from lstm_digits.runtime import ImageError
from lstm_digits.runtime.segmentation_reader import SegmentationReader, digit_pieces, label_components

from test_number_cli import ROOT

NUMBER_SAMPLES = sorted((ROOT / "samples" / "numbers").glob("*.png"))


@pytest.fixture(scope="module")
def reader():
    return SegmentationReader()


def test_components_join_diagonal_neighbours_and_keep_apart_what_does_not_touch():
    mask = np.array([
        [1, 0, 0, 0, 1],
        [0, 1, 0, 0, 1],
        [0, 0, 0, 0, 0],
        [1, 1, 0, 1, 0],
        [0, 0, 0, 0, 1],
    ], bool)
    labels, count = label_components(mask)
    assert count == 4
    assert labels[0, 0] == labels[1, 1] == 1  # diagonal neighbours: one piece
    assert labels[0, 4] == labels[1, 4] == 2
    assert labels[3, 0] == labels[3, 1] == 3  # apart from the piece above it: a blank row between
    assert labels[3, 3] == labels[4, 4] == 4
    assert (labels[~mask] == 0).all()
    # A U: its two arms meet only at the bottom row, after each began as a piece of its own.
    u = np.array([[1, 0, 1], [1, 0, 1], [1, 1, 1]], bool)
    assert label_components(u)[1] == 1 and (label_components(u)[0][u] == 1).all()


def test_pieces_over_the_same_columns_are_one_digit_and_specks_are_dropped():
    ink = np.zeros((30, 60), np.float32)
    ink[5:25, 5:9] = 1  # a 1
    ink[4:7, 22:34] = 1  # a 5's hat, apart from its body
    ink[9:25, 20:32] = 1  # the body
    ink[24:26, 45:47] = 1  # a speck: a dot after the number
    pieces = digit_pieces(ink)
    assert [box for _, box in pieces] == [(5, 5, 9, 25), (20, 4, 34, 25)]
    assert pieces[1][0].shape == (21, 14) and pieces[1][0].sum() == ink[4:25, 20:34].sum()


def test_the_sample_numbers_are_read_with_leading_zeros_and_a_box_for_each_digit(reader):
    for path in NUMBER_SAMPLES:
        reading = reader.read(path)
        number = path.stem.split("-")[-1]
        assert reading.number == number and not reading.rejected, (path.name, reading)
        width, height = Image.open(path).size
        boxes = [digit.box for digit in reading.digits]
        assert all(0 <= x0 < x1 <= width and 0 <= y0 < y1 <= height for x0, y0, x1, y1 in boxes)
        assert all(left[2] <= right[0] for left, right in zip(boxes, boxes[1:])), boxes  # left to right, apart
        assert 0.9 < reading.probability <= 1


def test_digits_that_touch_are_rejected_not_read_as_one(reader, mnist_test_digits):
    images, labels = mnist_test_digits
    three, eight = (images[np.flatnonzero(labels == digit)[0]] / 255.0 for digit in (3, 8))
    columns = [np.flatnonzero(image.max(0) > 0) for image in (three, eight)]
    left, right = three[:, columns[0][0] : columns[0][-1] + 1], eight[:, columns[1][0] : columns[1][-1] + 1]
    overlap = 4  # the 8 written over the 3's last columns: their ink runs into each other
    strip = np.zeros((28, left.shape[1] + right.shape[1] - overlap), np.float32)
    strip[:, : left.shape[1]] = left
    strip[:, left.shape[1] - overlap :] = np.maximum(strip[:, left.shape[1] - overlap :], right)
    reading = reader.read(strip_on_paper(strip))
    assert reading.rejected and reading.number is None and len(reading.digits) == 1


def test_a_blank_page_is_no_number_and_a_broken_file_is_its_error(reader, tmp_path):
    blank = reader.read(np.full((60, 200), 255, np.uint8))
    assert blank.rejected and blank.number is None and blank.digits == [] and blank.probability == 0
    broken = tmp_path / "broken.png"
    broken.write_bytes(NUMBER_SAMPLES[0].read_bytes()[:100])
    with pytest.raises(ImageError):
        reader.read(broken)
    readings = list(reader.read_all([broken, NUMBER_SAMPLES[0]]))
    assert readings[0].error and not readings[0].ok and readings[1].number == NUMBER_SAMPLES[0].stem.split("-")[-1]


def test_a_model_that_fails_on_a_piece_is_an_error_not_a_rejection(tmp_path):
    """A digit model that fails (here onnxruntime refuses every piece) is the reading's error, as
    for the digit reader: it is not "not a number", which would blame the writing."""
    from lstm_digits.runtime import DigitClassifier, ModelError
    from test_prediction_errors import gather_error_model

    canvas = DigitClassifier().form.canvas
    reader = SegmentationReader(DigitClassifier(gather_error_model(tmp_path, canvas, ink_limit=1.0), threads=1))
    with pytest.raises(ModelError):
        reader.read(NUMBER_SAMPLES[0])
    (reading,) = reader.read_all([NUMBER_SAMPLES[0]])
    assert not reading.ok and not reading.rejected and "\n" not in reading.error
