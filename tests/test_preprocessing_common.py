"""preprocessing/common.py, percentiles.py and filters.py in onnxscript's eager mode (each function run
on numpy arrays) against the rules written out here in plain numpy, exactly (block sums to float32
rounding): the nearest-rank percentile (the sorted values at a rank), square minimum and maximum
filters and the box mean over edge-replicated windows, reconstruction as dilation within `allowed`
until nothing changes, Otsu's threshold over 64 histogram bins, block sums, the border. Inputs: random
values, crops of the sample images, edge cases (1 x N, all equal), and arrays whose every 32nd value
misleads the sampled percentiles (their exact fall-back)."""

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from numpy.lib.stride_tricks import sliding_window_view
from onnxscript.optimizer import optimize
from PIL import Image

from lstm_digits.preprocessing.common import (BORDER_FRACTION, SMALL_MASK, block_counts, block_sums, border,
                                              box_mean, count, dilate_mask_5, dims, is_flat)
from lstm_digits.preprocessing.filters import (opening, otsu_threshold, reconstruct, square_max, square_min,
                                               window_rows_max, window_rows_min)
from lstm_digits.preprocessing.percentiles import (PLAIN_TOPK_VALUES, SAMPLE_STEP, high_percentile,
                                                   high_percentile_sampled, low_high_percentiles, low_percentile,
                                                   median, median_in_band, median_in_band_among,
                                                   tail_percentiles_sampled)

SAMPLES = sorted((Path(__file__).resolve().parents[1] / "samples").glob("*.*g"))
RNG = np.random.default_rng(21)


def gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"), dtype=np.float32) / 255.0


def misleading_sample(top: bool) -> np.ndarray:
    """Values in [0.25, 0.75] but every SAMPLE_STEP-th value distinct and above 1 (top) or below 0."""
    values = (RNG.random((300, 320)) * 0.5 + 0.25).astype(np.float32)
    sampled = values.reshape(-1)[::SAMPLE_STEP]
    ramp = np.arange(sampled.size, dtype=np.float32) / sampled.size
    values.reshape(-1)[::SAMPLE_STEP] = 1 + ramp if top else -ramp
    return values


ARRAYS = {
    "random": RNG.random((37, 53)).astype(np.float32),
    "large random": (RNG.random((500, 420)) ** 3).astype(np.float32),
    "quantised": (RNG.integers(0, 4, (40, 30)) / 3).astype(np.float32),
    "one pixel": np.array([[0.25]], np.float32),
    "row": RNG.random((1, 41)).astype(np.float32),
    "all equal": np.full((12, 9), 0.5, np.float32),
    "sample above": misleading_sample(top=True),
    "sample below": misleading_sample(top=False),
    **{path.name: gray(path) for path in SAMPLES},
}
IMAGES = {name: ARRAYS[name] for name in ("random", "quantised", "one pixel", "row", "all equal")} | {
    path.name: gray(path)[:120, :90] for path in SAMPLES}


# --- the rules, written out -------------------------------------------------------------------

def nearest(values: np.ndarray, *qs: float) -> list[np.ndarray]:
    """The q-th percentiles ("nearest rank"): among the n sorted values, the one at rank
    round(q / 100 (n - 1)) (Python's round: halves to even), at most n - 1."""
    ordered = np.sort(values.ravel())
    n = ordered.size
    return [np.array(ordered[min(n - 1, round(q / 100 * (n - 1)))], np.float32) for q in qs]


def edge_padded_windows(image: np.ndarray, side: int, axis: int | None = None) -> np.ndarray:
    """The side (x side) windows centred on each pixel, along axis (or both axes when None), the
    image padded with side // 2 copies of its edge: shape [h, w, side] (or [h, w, side, side])."""
    half = side // 2
    if axis is None:
        return sliding_window_view(np.pad(image, half, mode="edge"), (side, side))
    widths = [(0, 0), (0, 0)]
    widths[axis] = (half, half)
    return sliding_window_view(np.pad(image, widths, mode="edge"), side, axis=axis)


def window_rows_reference(image: np.ndarray, side: int, reduce) -> np.ndarray:
    """reduce (np.min or np.max) over the `side` rows centred on each row, edge rows replicated."""
    return reduce(edge_padded_windows(image, side, axis=0), axis=-1)


def square_reference(image: np.ndarray, side: int, reduce) -> np.ndarray:
    """reduce (np.min or np.max) over the side x side square centred on each pixel, edges replicated."""
    return reduce(edge_padded_windows(image, side), axis=(-2, -1))


def box_mean_reference(image: np.ndarray, radius: int) -> np.ndarray:
    """The mean of the 2 radius + 1 values centred on each, edges replicated, summed in double and
    rounded to float32: down the columns, then along the rows of that. (box_mean takes differences
    of running sums in double: the same sums wherever those are exact, as on the images here; on
    values spanning some 30 binary orders of magnitude, x ** 8, its last bit can differ.)"""
    side = 2 * radius + 1

    def down_columns(values: np.ndarray) -> np.ndarray:
        sums = edge_padded_windows(values.astype(np.float64), side, axis=0).sum(axis=-1)
        return (sums / side).astype(np.float32)
    return down_columns(down_columns(image).T).T


def reconstruct_reference(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The pixels of `allowed` 8-connected to a seed: the seeds in `allowed`, dilated by the 3 x 3
    square and cut to `allowed` until nothing changes."""
    current = seeds & allowed
    while True:
        grown = square_reference(current, 3, np.max) & allowed
        if np.array_equal(grown, current):
            return current
        current = grown


def otsu_reference(values: np.ndarray) -> np.float32:
    """Otsu's threshold of values in [0, 1]: a histogram of 64 bins (bin floor(value (64 - 0.001)),
    in float32, so that 1 falls in the last), and of the splits 'bins below s, bins from s on'
    (s = 1 .. 64) the first with the largest between-class variance w0 w1 (mean0 - mean1)^2 (0 when
    a class is empty), as the level s / 64."""
    bins = 64
    index = (values.ravel() * np.float32(bins - 1e-3)).astype(np.int64)
    counts = np.bincount(index, minlength=bins)[:bins].astype(np.float64)
    levels = np.arange(bins, dtype=np.float64)
    best_split, best_variance = 0, -1.0
    for split in range(1, bins + 1):
        w0, w1 = counts[:split].sum(), counts[split:].sum()
        variance = 0.0
        if w0 > 0 and w1 > 0:
            mean0 = (counts[:split] * levels[:split]).sum() / w0
            mean1 = (counts[split:] * levels[split:]).sum() / w1
            variance = w0 * w1 * (mean0 - mean1) ** 2
        if variance > best_variance:
            best_split, best_variance = split, variance
    return np.float32(best_split / bins)


# --- percentiles ------------------------------------------------------------------------------

def q(value: float) -> np.ndarray:
    """A percentage as the functions take it: a double scalar."""
    return np.array(value, np.float64)


def check_percentiles(values: np.ndarray, run) -> None:
    """Each percentile function, run by run(function, *arguments), against nearest."""
    for low in (0.5, 1, 10, 50):
        assert run(low_percentile, values, q(low)) == nearest(values, low)
    for high in (90, 99, 99.5, 99.9):
        assert run(high_percentile, values, q(high)) == nearest(values, high)
    assert run(median, values) == run(median_in_band, values) == nearest(values, 50)
    assert run(high_percentile_sampled, values, q(99.9)) == nearest(values, 99.9)
    assert run(low_high_percentiles, values, q(0.5), q(99.5)) == nearest(values, 0.5, 99.5)
    assert run(tail_percentiles_sampled, values, q(1), q(99)) == nearest(values, 1, 99)


@pytest.fixture(scope="module")
def sessions():
    """The optimized graph of each percentile function (eager mode runs each operator in its own
    session: seconds for these few arrays)."""
    functions = (low_percentile, high_percentile, median, median_in_band, high_percentile_sampled,
                 low_high_percentiles, tail_percentiles_sampled)
    return {f.name: onnxruntime.InferenceSession(optimize(f.to_model_proto()).SerializeToString(),
                                                 providers=["CPUExecutionProvider"]) for f in functions}


@pytest.mark.parametrize("name", ARRAYS)
def test_percentiles_are_the_nearest_rank_values(name, sessions):
    def run(function, *arguments):
        session = sessions[function.name]
        return session.run(None, dict(zip((i.name for i in session.get_inputs()), arguments)))
    check_percentiles(ARRAYS[name], run)


@pytest.mark.parametrize("name", ["random", "sample above"])
def test_percentiles_eagerly(name):
    def run(function, *arguments):
        result = function(*arguments)
        return [np.asarray(r) for r in (result if isinstance(result, tuple) else (result,))]
    check_percentiles(ARRAYS[name], run)


@pytest.mark.parametrize("size", [4001, 9001])  # one plain TopK; the sampled band (over PLAIN_TOPK_VALUES)
@pytest.mark.parametrize("among", [1, 2, 500, 4001])
def test_median_among_the_first_values(among, size):
    """cleaning's noise: the values past `among` stand for larger ones left out."""
    assert (size <= PLAIN_TOPK_VALUES) == (size == 4001)
    values = RNG.random(size).astype(np.float32)
    values[among:] += 2.0
    assert median_in_band_among(values, np.array(among)) == nearest(values[:among], 50)[0]


# --- filters ----------------------------------------------------------------------------------

@pytest.mark.parametrize("side", [9, 64, 65, 90])  # dilate_mask_5 by MaxPools up to SMALL_MASK pixels, by Ors above
def test_dilation_either_way_is_the_5_x_5_maximum(side):
    assert (side * side <= SMALL_MASK) == (side <= 64)
    mask = RNG.random((side, side + 3)) > 0.97
    np.testing.assert_array_equal(dilate_mask_5(mask), square_reference(mask, 5, np.max))


@pytest.mark.parametrize("name", IMAGES)
def test_otsu_threshold_is_the_best_split(name):
    assert otsu_threshold(IMAGES[name]) == otsu_reference(IMAGES[name])


@pytest.mark.parametrize("side", [1, 3, 5, 15])
@pytest.mark.parametrize("name", ["random", "row", "all equal", SAMPLES[0].name])
def test_square_filters_are_window_minima_and_maxima(name, side):
    image, s = IMAGES[name], np.array(side)
    np.testing.assert_array_equal(window_rows_min(image, s), window_rows_reference(image, side, np.min))
    np.testing.assert_array_equal(window_rows_max(image, s), window_rows_reference(image, side, np.max))
    smallest = square_reference(image, side, np.min)
    np.testing.assert_array_equal(square_min(image, s), smallest)
    np.testing.assert_array_equal(square_max(image, s), square_reference(image, side, np.max))
    np.testing.assert_array_equal(opening(image, s), square_reference(smallest, side, np.max))


@pytest.mark.parametrize("radius", [0, 1, 4])
@pytest.mark.parametrize("name", ["random", "row", SAMPLES[1].name])
def test_box_mean_is_the_window_mean(name, radius):
    image = IMAGES[name]
    np.testing.assert_array_equal(box_mean(image, np.array(radius)), box_mean_reference(image, radius))


@pytest.mark.parametrize("name", ["random", "quantised", SAMPLES[2].name])
def test_masks(name):
    """reconstruct, the 5 x 5 dilation and the count of bool masks."""
    image = IMAGES[name]
    seeds, allowed = image > 0.9, image > 0.4
    np.testing.assert_array_equal(reconstruct(seeds, allowed), reconstruct_reference(seeds, allowed))
    np.testing.assert_array_equal(dilate_mask_5(seeds), square_reference(seeds, 5, np.max))
    assert count(seeds) == np.count_nonzero(seeds)


# --- block sums, the border -------------------------------------------------------------------

@pytest.mark.parametrize("factor", [1, 2, 3, 7])
@pytest.mark.parametrize("name", ["random", "row", "one pixel"])
def test_block_sums(name, factor):
    image = IMAGES[name]
    height, width = image.shape
    blocks_h, blocks_w = -(-height // factor), -(-width // factor)
    padded = np.zeros((blocks_h * factor, blocks_w * factor), np.float64)
    padded[:height, :width] = image
    expected = padded.reshape(blocks_h, factor, blocks_w, factor).sum(axis=(1, 3))
    np.testing.assert_allclose(block_sums(image, np.array(factor)), expected, rtol=1e-6)  # float32 sums
    mask = image > 0.5
    padded[:height, :width] = mask
    counts = padded.reshape(blocks_h, factor, blocks_w, factor).sum(axis=(1, 3))
    np.testing.assert_array_equal(block_counts(mask, np.array(factor)), counts.astype(np.float32))


@pytest.mark.parametrize("name", IMAGES)
def test_border_and_flat_paper(name):
    """The border: the pixels within max(1, min(h, w) // BORDER_FRACTION) of each edge (corners
    twice), and its 'half within 1/255 of its median' test."""
    image = IMAGES[name]
    assert [int(d) for d in dims(image)] == list(image.shape)
    margin = max(1, min(image.shape) // BORDER_FRACTION)
    expected = np.concatenate([image[:margin].ravel(), image[-margin:].ravel(), image[:, :margin].ravel(),
                               image[:, -margin:].ravel()])
    edge = border(image)
    np.testing.assert_array_equal(edge, expected)
    level = nearest(expected, 50)[0]
    flat = 2 * np.count_nonzero(np.abs(expected - level) <= np.float32(1 / 255)) >= expected.size
    assert bool(is_flat(edge, np.array(level))) == flat
