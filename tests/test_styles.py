"""Handwriting styles MNIST lacks (docs/STYLES.md): the style set through the runtime, and the
training augmentation that teaches them.

The model measured is the shipped one, or the model.onnx named by $LSTM_DIGITS_STYLES_MODEL (to
check a candidate before it is shipped)."""

import io
import os

import numpy as np
import pytest
import torch
from PIL import Image

import styles
from lstm_digits.runtime import DigitClassifier
from lstm_digits.training import augment
from lstm_digits.training.data import to_float

# The least share of each style the model must read as the intended digit: measured on this set
# (styles.build(STYLE_SET_SIZE)) with a model trained by the default recipe and these augmentations,
# a little below what it scored. See docs/STYLES.md for the scores.
FLOORS = {
    "plain": 0.99,
    "continental-1": 0.95,
    "crossed-7": 0.98,
    "open-4": 0.98,
    "marker": 0.98,
    "narrow": 0.97,
    "wide": 0.97,
}
STYLE_SET_SIZE = 200  # per style


def test_style_set_is_seeded_png_and_holds_every_style_and_digit():
    first, again = styles.build(20), styles.build(20)
    assert [data for data, *_ in first] == [data for data, *_ in again]
    assert {style for _, style, _ in first} == set(styles.STYLES)
    for data, style, label in first:
        image = Image.open(io.BytesIO(data))
        assert image.format == "PNG" and min(image.size) > 40
        assert label == {"continental-1": 1, "crossed-7": 7, "open-4": 4}.get(style, label)
    assert {label for _, style, label in first if style == "marker"} == set(range(10))


def test_narrow_and_wide_digits_are_narrow_and_wide():
    def aspect(style):
        shapes = []
        for data, _, _ in styles.build(30, styles=(style,)):
            ink = np.asarray(Image.open(io.BytesIO(data))) < 128
            rows, cols = np.nonzero(ink)
            shapes.append((np.ptp(cols) + 1) / (np.ptp(rows) + 1))
        return np.median(shapes)

    assert aspect("narrow") < 0.75 * aspect("plain") < 0.75**2 * aspect("wide")


def test_model_reads_each_style_at_least_at_its_floor():
    classifier = DigitClassifier(os.environ.get("LSTM_DIGITS_STYLES_MODEL"))
    accuracy = styles.accuracy_by_style(classifier, styles.build(STYLE_SET_SIZE))
    print({style: f"{value:.1%}" for style, value in accuracy.items()})
    assert set(accuracy) == set(FLOORS)
    assert all(accuracy[style] >= floor for style, floor in FLOORS.items()), accuracy


# --- the augmentation ---

def _digits(mnist, digit: int, count: int = 64):
    index = torch.nonzero(mnist.train.labels == digit).squeeze(1)[:count]
    return to_float(mnist.train.images[index]), mnist.train.labels[index]


def _always(monkeypatch, name: str):
    monkeypatch.setattr(augment, name, 1.0)


@pytest.mark.mnist
def test_a_crossbar_inks_the_middle_rows_of_sevens_only(mnist, monkeypatch):
    _always(monkeypatch, "CROSS_7_PROBABILITY")
    sevens, labels = _digits(mnist, 7)
    crossed = augment.add_styles(sevens, labels, torch.Generator().manual_seed(0))
    top, bottom, _, _ = augment._extent(sevens)
    added = (crossed - sevens).clamp_min(0)
    assert torch.all(crossed >= sevens)  # only ink is added
    rows = torch.arange(28).view(1, 28)
    middle = (rows >= (top + 0.3 * (bottom - top))[:, None]) & (rows <= (top + 0.8 * (bottom - top))[:, None])
    per_row = added.sum(2)
    assert (per_row * middle).sum() > 0.95 * per_row.sum()  # where the bar goes
    assert (added.sum((1, 2)) > 3).float().mean() > 0.95  # every 7 got a visible bar
    # A bar is wide: in the rows that gained ink, the ink reaches further left and right.
    widened = (added.amax(1) > 0.5).sum(1).float()
    assert widened.median() >= 4
    monkeypatch.setattr(augment, "FLAG_1_PROBABILITY", 0.0)
    monkeypatch.setattr(augment, "OPEN_4_PROBABILITY", 0.0)
    mixed, mixed_labels = to_float(mnist.train.images[:256]), mnist.train.labels[:256]
    changed = (augment.add_styles(mixed, mixed_labels, torch.Generator()) != mixed).flatten(1).any(1)
    assert torch.equal(changed, mixed_labels == 7)


@pytest.mark.mnist
def test_a_flag_inks_up_and_left_of_a_ones_top(mnist, monkeypatch):
    _always(monkeypatch, "FLAG_1_PROBABILITY")
    monkeypatch.setattr(augment, "BASE_1_PROBABILITY", 0.0)
    ones, labels = _digits(mnist, 1)
    flagged = augment.add_styles(ones, labels, torch.Generator().manual_seed(0))
    added = (flagged - ones).clamp_min(0)
    top, bottom, _, _ = augment._extent(ones)
    summit = augment._row_centre(ones, top + 1)  # the 1's top
    columns = torch.arange(28, dtype=torch.float32)
    rows = torch.arange(28, dtype=torch.float32)
    mass = added.sum((1, 2)).clamp_min(1e-6)
    added_x = (added.sum(1) * columns).sum(1) / mass
    added_y = (added.sum(2) * rows).sum(1) / mass
    assert (mass > 3).float().mean() > 0.95
    assert ((added_x < summit - 1) & (added_y < (top + bottom) / 2)).float().mean() > 0.95


@pytest.mark.mnist
def test_opening_a_four_only_removes_ink_from_its_upper_part(mnist, monkeypatch):
    _always(monkeypatch, "OPEN_4_PROBABILITY")
    fours, labels = _digits(mnist, 4)
    opened = augment.add_styles(fours, labels, torch.Generator().manual_seed(0))
    removed = (fours - opened).clamp_min(0)
    assert torch.all(opened <= fours)
    top, bottom, _, _ = augment._extent(fours)
    rows = torch.arange(28).view(1, 28, 1)
    lower = rows > (top + 0.6 * (bottom - top)).view(-1, 1, 1)
    assert removed[lower.expand_as(removed)].sum() == 0
    assert (removed.sum((1, 2)) > 1).float().mean() > 0.3  # many MNIST 4s are open already


@pytest.mark.mnist
def test_without_aspect_or_affine_the_geometry_step_keeps_a_digit_in_place(mnist, monkeypatch):
    """Back into MNIST form composes correctly with the affine: with nothing random left, identity."""
    for name, value in (("ASPECT_PROBABILITY", 0.0), ("MAX_ROTATION_DEG", 0.0), ("SCALE_RANGE", (1.0, 1.0)),
                        ("MAX_SHEAR", 0.0), ("MAX_SHIFT_PX", 0.0)):
        monkeypatch.setattr(augment, name, value)
    images = to_float(mnist.train.images[:64])
    same = augment.reshape_and_affine(images, images, torch.Generator())
    assert (same - images).abs().max() < 1e-4
    monkeypatch.setattr(augment, "ASPECT_PROBABILITY", 1.0)
    monkeypatch.setattr(augment, "ASPECT_RANGE", (0.5, 0.5))
    narrow = augment.reshape_and_affine(images, images, torch.Generator())
    _, _, left, right = augment._extent(images)
    _, _, narrow_left, narrow_right = augment._extent(narrow)
    wide_enough = (right - left) >= 10
    assert torch.all((narrow_right - narrow_left)[wide_enough] <= 0.6 * (right - left)[wide_enough] + 1)
    assert (augment._mass_centre(narrow) - augment._mass_centre(images)).abs().max() < 0.6


@pytest.mark.mnist
def test_a_marker_thickens_strokes_and_keeps_the_digit_size(mnist, monkeypatch):
    _always(monkeypatch, "MARKER_PROBABILITY")
    images = to_float(mnist.train.images[:64])
    thick = augment.random_marker(images, torch.Generator().manual_seed(0))
    assert torch.all(thick.sum((1, 2)) > 1.4 * images.sum((1, 2)))
    for name, value in (("ASPECT_PROBABILITY", 0.0), ("MAX_ROTATION_DEG", 0.0), ("SCALE_RANGE", (1.0, 1.0)),
                        ("MAX_SHEAR", 0.0), ("MAX_SHIFT_PX", 0.0)):
        monkeypatch.setattr(augment, name, value)
    fitted = augment.reshape_and_affine(thick, images, torch.Generator())
    top, bottom, left, right = augment._extent(images)
    fitted_top, fitted_bottom, fitted_left, fitted_right = augment._extent(fitted)
    longest = torch.maximum(bottom - top, right - left)
    fitted_longest = torch.maximum(fitted_bottom - fitted_top, fitted_right - fitted_left)
    assert (fitted_longest - longest).abs().max() <= 1.5


@pytest.mark.mnist
def test_augment_is_reproducible_from_its_generator_and_uses_the_labels(mnist):
    images, labels = to_float(mnist.train.images[:256]), mnist.train.labels[:256]
    first = augment.augment(images, torch.Generator().manual_seed(5), labels)
    assert torch.equal(first, augment.augment(images, torch.Generator().manual_seed(5), labels))
    assert not torch.equal(first, augment.augment(images, torch.Generator().manual_seed(6), labels))
    without_labels = augment.augment(images, torch.Generator().manual_seed(5))
    styled = (labels == 1) | (labels == 4) | (labels == 7)
    differs = (first - without_labels).abs().amax((1, 2)) > 1e-6
    assert not differs[~styled].any() and differs[styled].any()
    assert first.shape == images.shape and first.min() >= 0 and first.max() <= 1
