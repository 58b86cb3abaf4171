import io
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from lstm_digits.runtime import DigitClassifier, ImageError, ModelError, NoDigitFound, to_mnist_form
from lstm_digits.runtime.images import BYTES_PER_PIXEL, MAX_DECODED_BYTES, open_image

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.*g"))


@pytest.fixture(scope="module")
def classifier():
    return DigitClassifier(threads=1)


pytestmark = pytest.mark.runtime


@pytest.fixture(scope="module")
def mnist(mnist_test_digits):
    """The MNIST test images, uint8 [10000, 28, 28], as numpy: no torch needed."""
    return mnist_test_digits[0]


def mnist_digit(mnist, index=0) -> np.ndarray:
    return mnist[index]


def test_runtime_never_imports_torch():
    code = (
        "import sys, lstm_digits.runtime as r;"
        f"p = r.DigitClassifier().predict({str(SAMPLES[0])!r});"
        "from lstm_digits.cli import classify;"
        "print(p.digit, 'torch' in sys.modules, 'torchvision' in sys.modules, 'onnx' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    digit, *loaded = result.stdout.split()
    assert digit.isdigit() and loaded == ["False", "False", "False"]


def test_samples_in_the_repo_are_classified_correctly(classifier):
    # Each sample's file name ends with its digit: grid-7.jpg is a 7.
    for path, prediction in zip(SAMPLES, classifier.predict(SAMPLES)):
        assert prediction.ok and prediction.digit == path.stem[-1], (path, prediction)


def test_contract_comes_from_the_model_metadata(classifier, tmp_path, mnist):
    proto = onnx.load(str(classifier.model_path))
    names = ["zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine"]
    for prop in proto.metadata_props:
        if prop.key == "labels":
            prop.value = json.dumps(names)
    onnx.save(proto, str(tmp_path / "renamed.onnx"))
    renamed = DigitClassifier(tmp_path / "renamed.onnx")
    digit = mnist_digit(mnist, 0)
    assert renamed.predict(digit).digit == names[int(classifier.predict(digit).digit)]
    assert renamed.form.canvas == 28 and renamed.form.digit_box == 20


def test_inputs_can_be_paths_bytes_pil_images_and_arrays(classifier, mnist):
    digit = mnist_digit(mnist, 0)  # a 7
    pil = Image.fromarray(digit)
    encoded = io.BytesIO()
    pil.save(encoded, "PNG")
    as_float = digit.astype(np.float32) / 255
    results = classifier.predict([pil, encoded.getvalue(), digit, as_float, SAMPLES[0]])
    assert [r.digit for r in results[:4]] == ["7"] * 4
    assert results[4].ok
    single = classifier.predict(pil, top_k=3)
    assert single.digit == "7" and len(single.top_k) == 3
    assert single.top_k[0][1] >= single.top_k[1][1] >= single.top_k[2][1]
    assert single.image.shape == (28, 28) and single.image.dtype == np.float32


def test_one_bad_image_in_a_batch_does_not_lose_the_others(classifier, mnist, tmp_path):
    (tmp_path / "bad.png").write_text("not an image")
    results = classifier.predict([mnist_digit(mnist, 0), tmp_path / "bad.png", mnist_digit(mnist, 1)])
    assert [r.ok for r in results] == [True, False, True]
    assert "not an image" in results[1].error
    with pytest.raises(ImageError, match="not an image"):
        classifier.predict(tmp_path / "bad.png")


def test_a_blank_image_is_no_digit_not_a_guess(classifier):
    for blank in (np.full((64, 64), 255, np.uint8), np.zeros((28, 28), np.uint8), np.full((300, 200), 128, np.uint8)):
        with pytest.raises(NoDigitFound):
            classifier.predict(blank)
    noisy_paper = np.clip(np.random.default_rng(0).normal(200, 3, (200, 200)), 0, 255).astype(np.uint8)
    with pytest.raises(NoDigitFound):
        to_mnist_form(noisy_paper)


def test_session_options_are_exposed():
    assert DigitClassifier(threads=1).session.get_session_options().intra_op_num_threads == 1
    assert DigitClassifier(threads=2).session.get_session_options().intra_op_num_threads == 2


def test_default_threads_one_for_a_few_images_more_for_large_batches(mnist):
    classifier = DigitClassifier()
    images = mnist[:64].astype(np.float32) / 255
    one_by_one = np.concatenate([classifier.probabilities(image[None]) for image in images])
    assert classifier.session.get_session_options().intra_op_num_threads == 1
    assert classifier.threads_follow_batch == (os.cpu_count() > 1)
    if classifier.threads_follow_batch:
        assert classifier._large_session is None  # not opened until a large batch comes
    together = classifier.probabilities(images)
    large = classifier._large_session if classifier.threads_follow_batch else classifier.session
    assert large.get_session_options().intra_op_num_threads == min(2, os.cpu_count())
    np.testing.assert_allclose(together, one_by_one, atol=1e-6)


# --- preprocessing: each step on real digits ---

def on_paper(digit: np.ndarray, scale=6) -> Image.Image:
    """An MNIST digit as dark ink on white paper, enlarged and off-centre."""
    big = Image.fromarray(255 - digit).resize((28 * scale, 28 * scale), Image.Resampling.BICUBIC)
    page = Image.new("L", (28 * scale * 2, 28 * scale + 40), 255)
    page.paste(big, (10, 30))
    return page


def mean_difference(a: np.ndarray, b: np.ndarray) -> float:
    """Mean absolute pixel difference of two 28x28 images: 0 for the same image."""
    return float(np.abs(a - b).mean())


def test_polarity_dark_on_light_gives_the_same_digit_as_light_on_dark(mnist):
    page = on_paper(mnist_digit(mnist, 3))
    inverted = Image.fromarray(255 - np.asarray(page))
    assert mean_difference(to_mnist_form(page), to_mnist_form(inverted)) < 0.02


def test_exif_orientation_is_applied(mnist):
    page = on_paper(mnist_digit(mnist, 5))
    rotated = page.transpose(Image.Transpose.ROTATE_90)  # stored sideways ...
    exif = Image.Exif()
    exif[0x0112] = 6  # ... with the tag that says "rotate 90 clockwise to display"
    encoded = io.BytesIO()
    rotated.convert("RGB").save(encoded, "JPEG", quality=95, exif=exif)
    upright = to_mnist_form(open_image(encoded.getvalue()))
    assert mean_difference(upright, to_mnist_form(page)) < 0.03
    assert mean_difference(upright, to_mnist_form(rotated)) > 0.05


def test_transparent_drawing_keeps_its_strokes(mnist):
    digit = mnist_digit(mnist, 7)
    rgba = np.zeros((28, 28, 4), np.uint8)
    rgba[..., 3] = digit  # black strokes (RGB 0) on a fully transparent background (also RGB 0)
    drawing = Image.fromarray(rgba, "RGBA")
    assert mean_difference(to_mnist_form(drawing), to_mnist_form(digit)) < 0.02
    light = rgba.copy()
    light[..., :3] = 255  # white strokes on transparent
    assert mean_difference(to_mnist_form(Image.fromarray(light, "RGBA")), to_mnist_form(digit)) < 0.02
    faint = rgba.copy()
    faint[..., 3] = digit // 3  # a semi-transparent pen: no pixel more than a third opaque
    assert mean_difference(to_mnist_form(Image.fromarray(faint, "RGBA")), to_mnist_form(digit)) < 0.05


@pytest.mark.parametrize("mode", ["I;16", "CMYK", "P", "LA", "1"])
def test_other_image_modes_decode_to_the_same_digit(mnist, mode, tmp_path):
    digit = mnist_digit(mnist, 11)
    gray = Image.fromarray(digit)
    if mode == "I;16":
        image = Image.fromarray(digit.astype(np.uint16) * 257)  # 16-bit grayscale
        assert image.mode == "I;16"
    elif mode == "LA":
        image = Image.merge("LA", (gray, Image.new("L", gray.size, 255)))
    elif mode == "1":
        image = gray.point(lambda v: 255 if v > 127 else 0).convert("1")
    else:
        image = gray.convert(mode)
    suffix = ".tif" if mode == "CMYK" else ".png"  # lossless either way
    image.save(tmp_path / f"x{suffix}")
    reread = open_image(tmp_path / f"x{suffix}")
    assert reread.mode == image.mode
    tolerance = 0.06 if mode == "1" else 0.01  # bilevel loses the anti-aliasing
    assert mean_difference(to_mnist_form(reread), to_mnist_form(digit)) < tolerance, reread.mode


def test_animated_gif_uses_the_first_frame(mnist, tmp_path):
    first, second = (Image.fromarray(mnist_digit(mnist, i)) for i in (0, 1))
    first.save(tmp_path / "a.gif", save_all=True, append_images=[second], duration=100, loop=0)
    assert open_image(tmp_path / "a.gif").n_frames == 2
    assert mean_difference(to_mnist_form(open_image(tmp_path / "a.gif")), to_mnist_form(np.asarray(first))) < 0.01


def test_decompression_bomb_is_refused_before_decoding(tmp_path):
    side = int((MAX_DECODED_BYTES / BYTES_PER_PIXEL * 1.6) ** 0.5)
    Image.new("1", (side, side)).save(tmp_path / "bomb.png")  # a few kB on disk, 1.6 times the limit decoded
    assert (tmp_path / "bomb.png").stat().st_size < 200_000
    with pytest.raises(ImageError, match="megapixels"):
        open_image(tmp_path / "bomb.png")


@pytest.mark.parametrize("content, problem", [
    (b"", "empty file"),
    (b"hello, I am text", "not an image"),
    (None, "truncated or corrupt"),
])
def test_broken_files_are_named_errors(tmp_path, mnist, content, problem):
    path = tmp_path / "broken.png"
    if content is None:
        Image.fromarray(mnist_digit(mnist)).resize((200, 200)).save(path)
        path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    else:
        path.write_bytes(content)
    with pytest.raises(ImageError, match=problem):
        open_image(path)


def test_not_onnx_or_wrong_contract_models_are_refused(tmp_path):
    (tmp_path / "text.onnx").write_text("no")
    with pytest.raises(ModelError, match="not a usable ONNX model"):
        DigitClassifier(tmp_path / "text.onnx")
    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 4])])
    onnx.save(onnx.helper.make_model(graph), str(tmp_path / "other.onnx"))
    with pytest.raises(ModelError, match="no lstm-digits input contract"):
        DigitClassifier(tmp_path / "other.onnx")
    with pytest.raises(ModelError, match="no such model file"):
        DigitClassifier(tmp_path / "missing.onnx")


def test_very_large_photos_are_area_averaged_before_processing(mnist):
    """Over MAX_WORK_PIXELS, the graph averages 2 x 2 blocks first (limit_size.py): the cleaning runs
    on the half-size page, and the result is the half-size page's; the digit reads as at a size
    under the limit."""
    from lstm_digits.preprocessing import MAX_WORK_PIXELS
    from lstm_digits.runtime.preprocess import clean_ink

    page = on_paper(mnist_digit(mnist, 9), scale=60)  # 3360 x 1720: 5.8 megapixels
    assert page.width * page.height > MAX_WORK_PIXELS
    assert clean_ink(page).shape == (page.height // 2, page.width // 2)
    reduced_result = to_mnist_form(page)
    assert mean_difference(reduced_result, to_mnist_form(page.reduce(2))) == 0.0
    smaller = page.resize((page.width * 3 // 5, page.height * 3 // 5), Image.Resampling.BOX)  # 2.1 MP, read whole
    assert mean_difference(reduced_result, to_mnist_form(smaller)) < 0.01


def test_ruled_lines_survive_small_gaps_but_digit_strokes_are_not_lines():
    """printed_lines.long_runs, run eagerly (onnxscript): gaps of up to 2 x LINE_GAP px are bridged."""
    pytest.importorskip("onnxscript")
    from lstm_digits.preprocessing.printed_lines import LINE_GAP, long_runs

    def ruled_lines(faint):
        horizontal, vertical = long_runs(faint, faint.sum(axis=1).astype(np.float32), faint.sum(axis=0).astype(np.float32))
        return horizontal | vertical

    page = np.zeros((40, 100), bool)
    page[20] = True
    page[20, 30 : 30 + 2 * LINE_GAP] = False  # JPEG noise: a gap of 4 px
    page[20, 60:63] = False
    assert ruled_lines(page)[20].sum() == page[20].sum()
    page[20, 30 : 31 + 2 * LINE_GAP + 1] = False  # a gap of 6 px: two pieces, neither 90% long
    assert not ruled_lines(page).any()
    stroke = np.zeros((40, 100), bool)
    stroke[5:35, 50] = True  # a long straight stroke of a 1, 75% of the height
    assert not ruled_lines(stroke).any()


def test_an_opaque_rgba_image_is_read_exactly_as_the_same_rgb_image():
    """One gray rule for opaque pixels, whatever the mode (pipeline.onnx applies the same rule)."""
    from lstm_digits.runtime.preprocess import to_mnist_form

    rgb = Image.open(ROOT / "samples" / "ruled-2.png").convert("RGB")
    assert np.array_equal(to_mnist_form(rgb.convert("RGBA")), to_mnist_form(rgb))


def test_integer_arrays_are_0_to_255_and_float_arrays_0_to_1(classifier):
    """The array rule (README, Python API): integers of any width are 0-255 levels, floats 0-1.
    scan-4.jpg's pixels as int64 were read as 0-1 floats before (NoDigitFound); now every integer
    type, and the floats over 255, give exactly the uint8 answer."""
    pixels = np.asarray(Image.open(ROOT / "samples" / "scan-4.jpg").convert("RGB"))
    expected = classifier.predict(pixels)
    assert expected.digit == "4"
    for dtype in (np.int64, np.int32, np.int16, np.uint16, np.uint32):
        got = classifier.predict(pixels.astype(dtype))
        assert (got.digit, got.probability) == (expected.digit, expected.probability), dtype
        assert np.array_equal(got.image, expected.image), dtype
    as_float = classifier.predict(pixels.astype(np.float64) / 255)
    assert as_float.digit == "4" and np.array_equal(as_float.image, expected.image)
    gray = pixels[..., 0]
    as_bool = classifier.predict(gray < 128)  # bool is Pillow's 1-bit mode: True white, False black
    assert as_bool.digit == classifier.predict(np.where(gray < 128, 255, 0).astype(np.uint8)).digit


@pytest.mark.parametrize("bad", [-1, 256, 70000])
def test_integer_arrays_outside_0_to_255_are_refused_naming_the_rule(classifier, bad):
    pixels = np.full((28, 28), 0, np.int64)
    pixels[10:18, 12:16] = bad
    with pytest.raises(ImageError, match="0-255"):
        classifier.predict(pixels)


def test_an_image_without_an_exif_orientation_is_not_copied_to_be_turned():
    """ImageOps.exif_transpose copies an upright image whole: for a large photo, a second copy."""
    from lstm_digits.runtime.preprocess import _upright

    upright = Image.new("RGBA", (50, 40))
    assert _upright(upright) is upright
    buffer = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # turned a quarter: shown 40 wide and 50 high
    upright.save(buffer, "PNG", exif=exif)
    assert _upright(Image.open(buffer)).size == (40, 50)
