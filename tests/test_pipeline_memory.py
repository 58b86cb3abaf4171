"""pipeline.onnx on inputs at the edges of its contract (issue 22, item 12): a large input is
area-averaged tile by tile, exactly as Pillow's Image.reduce, without a full-size float copy, so a
20-megapixel run stays within three times its uint8 bytes plus 100 MB in onnxruntime; an input
with no pixels is `no_digit`, not an error. Memory is measured in a fresh process by
tests/pipeline_memory.py (which also prints the table for other sizes)."""

import numpy as np
import onnx
import onnxruntime
import pytest
from PIL import Image

from onnxscript import FLOAT, INT64, UINT8, script

from lstm_digits.export.pipeline_agreement import pipeline_session
from lstm_digits.models import DEFAULT_DIR, PIPELINE, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES
from lstm_digits.preprocessing.limit_size import reduce_by_tiles
from pipeline_memory import measure

SHIPPED = DEFAULT_DIR / PIPELINE
UINT8_COPIES, SLACK_MB = 3, 100  # a run may take at most this many times its input's bytes, plus this


def tiled_reduction(tile_side: int, tile_pixels: int) -> onnxruntime.InferenceSession:
    """reduce_by_tiles alone, with small tiles: pixels uint8 [h, w, 4] and factor -> float32 [4, h', w']
    (a built model: eager mode cannot run the Loop's body, which calls functions)."""
    @script()
    def tiles(pixels: UINT8[None, None, 4], factor: INT64) -> FLOAT[4, None, None]:
        return reduce_by_tiles(pixels, factor, tile_side=tile_side, tile_pixels=tile_pixels)
    model = tiles.to_model_proto()
    onnx.checker.check_model(model, full_check=True)
    return onnxruntime.InferenceSession(model.SerializeToString(), providers=["CPUExecutionProvider"])


@pytest.mark.parametrize("tile_side, tile_pixels", [(8, 64), (7, 40), (3, 9), (512, 2**18)])
def test_tiles_reduce_exactly_as_pillow_with_the_last_blocks_short(tile_side, tile_pixels):
    """Random colours and alphas (some 0, some 255), sizes that leave short blocks and short tiles,
    tiles of one block and tiles wider than high: every value equal to Image.reduce's on RGBA."""
    session = tiled_reduction(tile_side, tile_pixels)
    rng = np.random.default_rng(tile_side)
    for factor in (2, 3, 5):
        for height, width in [(1, 1), (1, 37), (23, 1), (17, 29), (40, 41), (factor * 4, factor * 6), (64, 3)]:
            pixels = rng.integers(0, 256, (height, width, 4), dtype=np.uint8)
            pixels[..., 3][rng.random((height, width)) < 0.2] = 0
            pixels[..., 3][rng.random((height, width)) < 0.2] = 255
            expected = np.asarray(Image.fromarray(pixels, "RGBA").reduce(factor)).transpose(2, 0, 1)
            (planes,) = session.run(None, {"pixels": pixels, "factor": np.array(factor, np.int64)})
            assert planes.shape == expected.shape and np.array_equal(planes, expected), (factor, height, width)


@pytest.mark.parametrize("kind, digit", [("photo", 9), ("drawing", 3)])
def test_a_20_megapixel_input_takes_at_most_three_times_its_bytes_plus_100_mb(kind, digit):
    """5000 x 4000 RGBA (76 MB): samples/photo-9.png (opaque) and drawing-3.png (translucent) scaled up.
    The graph before tiling took 831 and 847 MB beyond the input (11 times it)."""
    result = measure(SHIPPED, 4000, 5000, kind)
    assert "error" not in result, result
    assert result["extra_mb"] <= UINT8_COPIES * result["input_mb"] + SLACK_MB, result
    assert (result["digit"], result["rejected"]) == (digit, False), result


@pytest.fixture(scope="module")
def shipped():
    return pipeline_session(SHIPPED)


@pytest.mark.parametrize("shape", [(0, 0, 4), (0, 5, 4), (5, 0, 4)])
def test_an_input_with_no_pixels_is_no_digit_not_an_error(shipped, shape):
    out = dict(zip(PIPELINE_OUTPUT_NAMES, shipped.run(None, {PIPELINE_INPUT_NAME: np.zeros(shape, np.uint8)})))
    assert out["no_digit"].tolist() == [True] and out["rejected"].tolist() == [True]
    assert out["image"].shape == (28, 28) and not out["image"].any()
    assert out["probabilities"].shape == (1, 10) and np.isfinite(out["logits"]).all()
