"""preprocessing/common.py, percentiles.py and filters.py against the numpy runtime they translate
(runtime/morphology.py, runtime/cleaning.py), in onnxscript's eager mode (each function run on numpy
arrays): random values, crops of the sample images, edge cases (1 x N, all equal), and arrays whose
every 32nd value misleads the sampled percentiles (their exact fall-back)."""

from pathlib import Path

import numpy as np
import onnxruntime
import pytest
from onnxscript.optimizer import optimize
from PIL import Image

from lstm_digits.preprocessing.common import (SMALL_MASK, block_counts, block_sums, border, box_mean, count,
                                              dilate_mask_5, dims, is_flat)
from lstm_digits.preprocessing.filters import (opening, otsu_threshold, reconstruct, square_max, square_min,
                                               window_rows_max, window_rows_min)
from lstm_digits.preprocessing.percentiles import (PLAIN_TOPK_VALUES, SAMPLE_STEP, high_percentile,
                                                   high_percentile_sampled, low_high_percentiles, low_percentile,
                                                   median, median_in_band, median_in_band_among,
                                                   tail_percentiles_sampled)
from lstm_digits.runtime import morphology
from lstm_digits.runtime.cleaning import BORDER_FRACTION

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


def q(value: float) -> np.ndarray:
    """A percentage as the functions take it: a double scalar."""
    return np.array(value, np.float64)


def nearest(values: np.ndarray, *qs: float) -> list[np.ndarray]:
    return [np.array(v, np.float32) for v in morphology.percentiles(values, *qs)]


def check_percentiles(values: np.ndarray, run) -> None:
    """Each percentile function, run by run(function, *arguments), against morphology.percentiles."""
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


@pytest.mark.parametrize("side", [9, 64, 65, 90])  # dilate_mask_5 by MaxPools up to SMALL_MASK pixels, by Ors above
def test_dilation_either_way_as_numpy(side):
    assert (side * side <= SMALL_MASK) == (side <= 64)
    mask = RNG.random((side, side + 3)) > 0.97
    np.testing.assert_array_equal(dilate_mask_5(mask), morphology.square_filter(mask, 5, np.maximum))


@pytest.mark.parametrize("name", IMAGES)
def test_otsu_threshold_as_numpy(name):
    assert otsu_threshold(IMAGES[name]) == np.float32(morphology.otsu_threshold(IMAGES[name]))


@pytest.mark.parametrize("side", [1, 3, 5, 15])
@pytest.mark.parametrize("name", ["random", "row", "all equal", SAMPLES[0].name])
def test_square_filters_as_numpy(name, side):
    image, s = IMAGES[name], np.array(side)
    np.testing.assert_array_equal(window_rows_min(image, s), morphology.window_rows(image, side, np.minimum))
    np.testing.assert_array_equal(window_rows_max(image, s), morphology.window_rows(image, side, np.maximum))
    smallest = morphology.square_filter(image, side, np.minimum)
    np.testing.assert_array_equal(square_min(image, s), smallest)
    np.testing.assert_array_equal(square_max(image, s), morphology.square_filter(image, side, np.maximum))
    np.testing.assert_array_equal(opening(image, s), morphology.square_filter(smallest, side, np.maximum))


@pytest.mark.parametrize("radius", [0, 1, 4])
@pytest.mark.parametrize("name", ["random", "row", SAMPLES[1].name])
def test_box_mean_as_numpy(name, radius):
    image = IMAGES[name]
    np.testing.assert_array_equal(box_mean(image, np.array(radius)), morphology.box_mean(image, radius))


@pytest.mark.parametrize("name", ["random", "quantised", SAMPLES[2].name])
def test_masks_as_numpy(name):
    """reconstruct, the 5 x 5 dilation and the count of bool masks."""
    image = IMAGES[name]
    seeds, allowed = image > 0.9, image > 0.4
    np.testing.assert_array_equal(reconstruct(seeds, allowed), morphology.reconstruct(seeds, allowed))
    np.testing.assert_array_equal(dilate_mask_5(seeds), morphology.square_filter(seeds, 5, np.maximum))
    assert count(seeds) == np.count_nonzero(seeds)


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
def test_border_and_flat_paper_as_cleaning(name):
    """The border as runtime/cleaning.py takes it, and its 'half within 1/255 of the level' test."""
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
