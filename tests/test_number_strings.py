"""The synthetic numbers the number reader trains on: what they hold, and that they vary as written numbers do."""

import pytest
import torch

from lstm_digits.training.data import to_float
from lstm_digits.training.number_strings import (INK, LENGTHS, STRIP_HEIGHT, STRIP_INK_HEIGHT, to_strip,
                                                 write_numbers)


@pytest.fixture(scope="module")
def numbers(mnist):
    """500 numbers written with validation digits, in styles."""
    return write_numbers(to_float(mnist.val.images), mnist.val.labels, 500, torch.Generator().manual_seed(5))


def test_numbers_have_every_length_and_digit(numbers):
    lengths = [len(digits) for digits in numbers.digits]
    assert set(lengths) == set(range(LENGTHS[0], LENGTHS[1] + 1))
    assert set(torch.cat(numbers.digits).tolist()) == set(range(10))
    # Random strings, not a fixed list: almost every number of 3 or more digits is unique.
    long = [numbers.text(i) for i, length in enumerate(lengths) if length >= 3]
    assert len(set(long)) >= 0.98 * len(long)


def test_each_strip_holds_its_ink_at_the_strip_height_and_nothing_beyond_its_width(numbers):
    assert numbers.strips.shape[1] == STRIP_HEIGHT
    for index, width in enumerate(numbers.widths.tolist()):
        strip = numbers.strips[index]
        assert strip[:, width:].abs().sum() == 0
        rows = torch.nonzero((strip[:, :width] >= INK).any(1)).flatten()
        # The number's ink spans STRIP_INK_HEIGHT rows (give or take the resampling's edge), centred.
        assert STRIP_INK_HEIGHT - 2 <= len(rows) <= STRIP_INK_HEIGHT + 1, (index, rows)
        assert rows[0] >= 2 and rows[-1] <= STRIP_HEIGHT - 3


def test_digit_boxes_run_left_to_right_and_each_holds_ink(numbers):
    for index, boxes in enumerate(numbers.boxes):
        width = int(numbers.widths[index])
        assert len(boxes) == len(numbers.digits[index])
        assert (boxes[:, 0] <= boxes[:, 1]).all() and (boxes[1:, 0] >= boxes[:-1, 0]).all()
        assert boxes.min() >= 0 and boxes.max() <= width - 1
        ink = (numbers.strips[index] >= INK).any(0)
        for first, last in boxes.round().long().tolist():
            assert ink[first : last + 1].any(), (index, first, last)
        # Together the boxes hold the number's ink (give or take a column at each edge, where the
        # strip's scale blurs a digit's edge).
        mass = numbers.strips[index].sum(0)
        inside = torch.zeros_like(mass, dtype=torch.bool)
        for first, last in boxes.tolist():
            inside[max(0, int(first) - 1) : int(last) + 3] = True
        assert mass[inside].sum() >= 0.97 * mass.sum(), (index, float(mass[inside].sum() / mass.sum()))


def test_spacing_runs_from_overlapping_digits_to_wide_gaps(numbers):
    gaps = torch.cat([boxes[1:, 0] - boxes[:-1, 1] for boxes in numbers.boxes if len(boxes) > 1])
    assert (gaps <= 1).float().mean() > 0.15  # touching (the next column) or overlapping
    assert (gaps < 0).float().mean() > 0.05  # overlapping
    assert (gaps > 6).float().mean() > 0.15  # a clear gap
    assert gaps.min() < -2 and gaps.max() > 10


def test_a_batch_depends_only_on_its_generator(mnist):
    images, labels = to_float(mnist.val.images[:2000]), mnist.val.labels[:2000]
    first = write_numbers(images, labels, 8, torch.Generator().manual_seed(1))
    again = write_numbers(images, labels, 8, torch.Generator().manual_seed(1))
    other = write_numbers(images, labels, 8, torch.Generator().manual_seed(2))
    assert torch.equal(first.strips, again.strips) and first.digits[0].tolist() == again.digits[0].tolist()
    assert [first.text(i) for i in range(8)] != [other.text(i) for i in range(8)]


def test_to_strip_scales_the_ink_to_the_strip_and_its_boxes_with_it():
    canvas = torch.zeros(60, 100)
    canvas[10:50, 20:30] = 1.0  # ink 40 rows tall: scaled by 0.5
    canvas[10:50, 60:80] = 1.0
    strip, boxes = to_strip(canvas, torch.tensor([[20.0, 29.0], [60.0, 79.0]]))
    assert strip.shape == (STRIP_HEIGHT, 50)
    ink_columns = torch.nonzero((strip >= 0.5).any(0)).flatten()
    assert ink_columns.min() == 10 and ink_columns.max() == 39
    assert torch.allclose(boxes, torch.tensor([[9.75, 14.25], [29.75, 39.25]]))
