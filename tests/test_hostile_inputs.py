"""Issue 15's hostile inputs, each case a test: files Pillow chokes on, bad model files, odd arrays
and PIL images, odd paths, unreadable folders (as an unprivileged user), and the memory limits.
Every one ends in a result or a one-line error naming the input; the other inputs are classified.
The cases from Pillow's own test images are in test_hostile_corpus.py."""

import io
import json
import os
import re
import shutil
import struct
import subprocess
import sys
import warnings
import zlib
from pathlib import Path

import numpy as np
import onnx
import pytest
from PIL import Image

from lstm_digits.runtime import DigitClassifier, ImageError, ModelError
from lstm_digits.preprocessing import MAX_WORK_PIXELS
from lstm_digits.runtime.images import BYTES_PER_PIXEL, MAX_DECODED_BYTES, MAX_STDIN_BYTES, open_image
from test_classify_cli import SAMPLES, classify

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

NOBODY = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"]


@pytest.fixture(scope="module")
def classifier():
    return DigitClassifier(threads=1)


def assert_one_line_errors(err: str, names: list) -> list[str]:
    """stderr holds exactly one 'digit-classify: NAME: problem' line per bad input, nothing else."""
    lines = err.splitlines()
    assert "Traceback" not in err and len(lines) == len(names), err
    for line, name in zip(lines, names):
        assert line.startswith(f"digit-classify: {name}: "), (line, name)
    return lines


def png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_with_chunk(kind: bytes, payload: bytes) -> bytes:
    """A real 28x28 digit PNG with one more ancillary chunk before the pixels."""
    encoded = io.BytesIO()
    Image.open(SAMPLES[0]).convert("L").resize((28, 28)).save(encoded, "PNG")
    data = encoded.getvalue()
    cut = data.index(b"IDAT") - 4
    return data[:cut] + png_chunk(kind, payload) + data[cut:]


def made_here_hostile_files(folder: Path) -> dict[str, bytes]:
    """Issue 15, "Why" 2, made here: files that gave tracebacks."""
    bomb = zlib.compress(b"\0" * 50_000_000, 9)  # 48 kB that inflate to 50 MB
    tiff = io.BytesIO()
    Image.open(SAMPLES[0]).convert("L").save(tiff, "TIFF", compression="tiff_deflate")
    flipped = bytearray(tiff.getvalue())
    for position in range(8, len(flipped), 97):  # header kept, every 97th byte inverted
        flipped[position] ^= 0xFF
    files = {
        "header-only.pgm": b"P5\n",
        "huge-token.pgm": b"P5\n1234567890123456789 28\n255\n" + b"\0" * 784,
        "ztxt-bomb.png": png_with_chunk(b"zTXt", b"Comment\0\0" + bomb),
        "itxt-bomb.png": png_with_chunk(b"iTXt", b"Comment\0\1\0\0\0" + bomb),
        "iccp-bomb.png": png_with_chunk(b"iCCP", b"profile\0\0" + bomb),
        "bit-flipped.tif": bytes(flipped),
    }
    for name, data in files.items():
        (folder / name).write_bytes(data)
    assert all(len(files[name]) < 60_000 for name in files if "bomb" in name)
    return files


# Pillow warns while it decodes the TIFF made corrupt here on purpose, its tags pointing past its
# end ("Tag data larger than file"; Pillow for Python 3.10 says "Truncated File Read"); the test
# is about the answer each file gets, which the warning does not change.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL.TiffImagePlugin")
def test_made_here_hostile_files_are_one_line_errors_or_results(tmp_path, classifier):
    files = made_here_hostile_files(tmp_path)
    paths = [tmp_path / name for name in files]
    results = classifier.predict([SAMPLES[0], *paths, SAMPLES[1]])  # a list never raises
    assert results[0].digit == SAMPLES[0].stem[-1] and results[-1].digit == SAMPLES[1].stem[-1]
    for path, result in zip(paths, results[1:-1]):
        if not result.ok:
            with pytest.raises(ImageError):
                classifier.predict(path)
    for name in ("header-only.pgm", "huge-token.pgm", "bit-flipped.tif"):
        assert not results[1 + list(files).index(name)].ok, name
    code, out, err = classify(SAMPLES[0], *paths, SAMPLES[1])
    failed = [str(path) for path, result in zip(paths, results[1:-1]) if not result.ok]
    assert code == 1
    assert_one_line_errors(err, failed)
    printed = [line.split("\t")[0] for line in out.splitlines()]
    assert printed[0] == str(SAMPLES[0]) and printed[-1] == str(SAMPLES[1]) and len(printed) == 2 + len(paths) - len(failed)


# --- 4: model files whose metadata does not match their graph ---

def edited_model(tmp_path: Path, name: str, metadata: dict | None = None, extra_probability_axis=False) -> Path:
    proto = onnx.load(str(DigitClassifier(threads=1).model_path))
    for prop in proto.metadata_props:
        if metadata and prop.key in metadata:
            prop.value = metadata[prop.key]
    if extra_probability_axis:  # probabilities [N, 1, 10]
        graph = proto.graph
        output = next(o for o in graph.output if o.name == "probabilities")
        for node in graph.node:
            node.output[:] = ["probabilities_2d" if o == "probabilities" else o for o in node.output]
        shape = onnx.helper.make_tensor("three_axes", onnx.TensorProto.INT64, [3], [-1, 1, 10])
        graph.initializer.append(shape)
        graph.node.append(onnx.helper.make_node("Reshape", ["probabilities_2d", "three_axes"], ["probabilities"]))
        output.type.tensor_type.shape.ClearField("dim")
    path = tmp_path / f"{name}.onnx"
    onnx.save(proto, str(path))
    return path


def contract(key: str, value) -> dict:
    return {key: json.dumps(value)}


BAD_MODELS = {
    "labels-short": (contract("labels", [str(d) for d in range(9)]), "labels"),
    "labels-dict": (contract("labels", {str(d): d for d in range(10)}), "labels"),
    "labels-number": (contract("labels", 10), "labels"),
    "input-list": (contract("input", ["image", [None, 28, 28]]), "input"),
    "digit-box-over-canvas": (contract("preprocessing", {"canvas": 28, "digit_box": 40}), "digit_box 40"),
    "canvas-not-the-graph's": (contract("preprocessing", {"canvas": 32, "digit_box": 20}), "not float [batch, 32, 32]"),
    "probabilities-3d": (None, "output probabilities is (1, 1, 10)"),
}


@pytest.mark.parametrize("name", BAD_MODELS)
def test_a_model_whose_metadata_disagrees_with_its_graph_is_one_line_and_exit_2(tmp_path, name):
    metadata, problem = BAD_MODELS[name]
    model = edited_model(tmp_path, name, metadata, extra_probability_axis=metadata is None)
    with pytest.raises(ModelError, match=re.escape(problem)) as raised:
        DigitClassifier(model)
    assert str(model) in str(raised.value) and "\n" not in str(raised.value)
    code, out, err = classify(SAMPLES[0], "--model", model)
    assert code == 2 and out == ""
    assert_one_line_errors(err, [str(model)])
    assert problem in err


def test_the_unchanged_model_passes_the_same_checks(tmp_path):
    model = edited_model(tmp_path, "unchanged")
    assert DigitClassifier(model).predict(SAMPLES[0]).digit == SAMPLES[0].stem[-1]


# --- 5: arrays and PIL images ---

ODD_ARRAYS = {
    "0x0": np.zeros((0, 0), np.uint8),
    "0x5": np.zeros((0, 5), np.uint8),
    "5x0x3": np.zeros((5, 0, 3), np.uint8),
    "scalar": np.array(7, np.uint8),
    "4-d": np.zeros((2, 28, 28, 1), np.uint8),
    "object": np.full((28, 28), None, object),
    "str": np.full((28, 28), "7"),
    "bytes": np.full((28, 28), b"7"),
    "structured": np.zeros((28, 28), [("a", np.uint8), ("b", np.float32)]),
    "complex": np.ones((28, 28), np.complex64),
    "datetime": np.zeros((28, 28), "datetime64[s]"),
    "nan": np.full((28, 28), np.nan, np.float32),
    "inf": np.full((28, 28), np.inf, np.float64),
}


@pytest.mark.parametrize("name", ODD_ARRAYS)
def test_odd_arrays_are_image_errors_and_never_lose_the_batch(classifier, name):
    array = ODD_ARRAYS[name]
    with pytest.raises(ImageError):
        classifier.predict(array)
    first, odd, last = classifier.predict([SAMPLES[0], array, SAMPLES[1]])
    assert first.digit == SAMPLES[0].stem[-1] and last.digit == SAMPLES[1].stem[-1]
    assert not odd.ok and "\n" not in odd.error


@pytest.mark.parametrize("value", [np.nan, np.inf, -np.inf])
def test_a_float_array_holding_nan_or_infinity_is_named_as_such_without_a_warning(classifier, value):
    array = np.full((28, 28), 0.0, np.float32)
    array[5:20, 12:15] = value
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # numpy's "invalid value encountered in cast" was the symptom
        with pytest.raises(ImageError, match="NaN or infinity"):
            classifier.predict(array)


@pytest.mark.parametrize("mode", ["1", "L", "P", "RGB", "RGBA", "CMYK", "YCbCr", "LAB", "HSV", "I", "F", "I;16", "LA", "PA", "RGBa", "La"])
def test_empty_pil_images_of_every_mode_are_image_errors(classifier, mode):
    with pytest.raises(ImageError, match="empty image"):
        classifier.predict(Image.new(mode, (0, 0)))
    with pytest.raises(ImageError, match="empty image"):
        classifier.predict(Image.new(mode, (0, 7)))
    first, odd = classifier.predict([SAMPLES[0], Image.new(mode, (0, 0))])
    assert first.ok and not odd.ok


def test_not_an_image_at_all_is_an_image_error(classifier):
    for source in (None, 7, 3.5, {"a": 1}, object()):
        with pytest.raises(ImageError, match="not an image"):
            classifier.predict(source)


# --- 6: paths ---

def test_a_file_name_that_is_not_utf8_under_a_utf8_locale(tmp_path):
    name = os.fsdecode(b"\xff\xfe-digit.png")
    shutil.copy(SAMPLES[0], tmp_path / name)
    environment = {**os.environ, "LC_ALL": "C.UTF-8", "PYTHONUTF8": "0"}
    environment.pop("PYTHONIOENCODING", None)
    for folder_run in (False, True):
        arguments = [tmp_path] if folder_run else [tmp_path / name, SAMPLES[1]]
        result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", *map(str, arguments)],
                                capture_output=True, env=environment, timeout=120)
        assert result.returncode == 0 and result.stderr == b""
        lines = result.stdout.decode("utf-8").splitlines()
        assert lines[0] == f"{tmp_path}/\\xff\\xfe-digit.png\t{SAMPLES[0].stem[-1]}\t" + lines[0].split("\t")[2]
        assert len(lines) == (1 if folder_run else 2)


def test_newlines_and_tabs_in_file_names_stay_on_one_line(tmp_path):
    shutil.copy(SAMPLES[0], tmp_path / "two\nlines\t.png")
    (tmp_path / "bad\nname.png").write_text("not an image")
    code, out, err = classify(tmp_path, "--top-k", "2")
    assert code == 1
    (line,) = out.splitlines()
    assert line.split("\t")[:2] == [f"{tmp_path}/two\\nlines\\t.png", SAMPLES[0].stem[-1]]
    assert_one_line_errors(err, [f"{tmp_path}/bad\\nname.png"])
    code, out, _ = classify(tmp_path, "--json")
    assert [json.loads(line)["path"] for line in out.splitlines()] == [
        f"{tmp_path}/bad\\nname.png", f"{tmp_path}/two\\nlines\\t.png"]


def test_an_empty_argument_is_an_error_for_that_argument_not_the_current_folder(tmp_path):
    code, out, err = classify("", SAMPLES[0])
    assert code == 1 and len(out.splitlines()) == 1 and out.startswith(str(SAMPLES[0]))
    assert_one_line_errors(err, [""])
    assert "empty argument" in err


def as_nobody(*args, cwd=None):
    """digit-classify as user nobody: root reads every folder, so permission tests drop privileges."""
    command = [*NOBODY, sys.executable, "-m", "lstm_digits.cli.classify", *map(str, args)]
    result = subprocess.run(command, capture_output=True, timeout=300, cwd=cwd,
                            env={**os.environ, "HOME": "/nonexistent"})
    return result.returncode, result.stdout.decode(), result.stderr.decode()


@pytest.fixture
def world_readable_tmp(tmp_path):
    """tmp_path that user nobody can enter (pytest makes it 0700), with a readable copy of two samples."""
    for folder in (tmp_path, *tmp_path.parents):
        if folder == Path("/tmp") or folder == Path("/"):
            break
        folder.chmod(folder.stat().st_mode | 0o755)
    for sample in SAMPLES[:2]:
        shutil.copy(sample, tmp_path / sample.name)
    return tmp_path


@pytest.mark.unprivileged
def test_unreadable_folders_are_one_line_each_even_when_recursive(world_readable_tmp):
    root = world_readable_tmp
    (root / "locked").mkdir()
    shutil.copy(SAMPLES[2], root / "locked" / "hidden.png")
    (root / "locked").chmod(0o300)  # no read permission for anyone but root
    nested = root / "open" / "deeper-locked"
    nested.mkdir(parents=True)
    shutil.copy(SAMPLES[2], root / "open" / "seen.png")
    nested.chmod(0o000)
    code, out, err = as_nobody(root / "locked", SAMPLES[0])
    assert code == 1 and out.split("\t")[0] == str(SAMPLES[0])
    assert_one_line_errors(err, [str(root / "locked")])
    assert "Permission denied" in err
    code, out, err = as_nobody(root, "--recursive")
    assert code == 1
    assert [line.split("\t")[0] for line in out.splitlines()] == [
        str(root / SAMPLES[0].name), str(root / SAMPLES[1].name), str(root / "open" / "seen.png")]
    assert_one_line_errors(err, [str(root / "locked"), str(nested)])
    unreadable_file = root / "secret.png"
    shutil.copy(SAMPLES[0], unreadable_file)
    unreadable_file.chmod(0o000)
    code, out, err = as_nobody(unreadable_file)
    assert code == 1 and out == "" and "Permission denied" in err
    assert_one_line_errors(err, [str(unreadable_file)])


@pytest.mark.unprivileged
def test_save_preprocessed_into_a_folder_that_cannot_be_written_is_a_usage_error(world_readable_tmp, tmp_path):
    (world_readable_tmp / "read-only").mkdir(mode=0o555)
    for target in (world_readable_tmp / "read-only", world_readable_tmp / "read-only" / "new"):
        code, out, err = as_nobody(SAMPLES[0], "--save-preprocessed", target)
        assert code == 2 and out == ""
        assert_one_line_errors(err, [str(target)])
        assert "Permission denied" in err
    (tmp_path / "a-file").write_text("")
    code, out, err = classify(SAMPLES[0], "--save-preprocessed", tmp_path / "a-file" / "seen")
    assert code == 2 and out == ""
    assert_one_line_errors(err, [str(tmp_path / "a-file" / "seen")])


# --- 7: memory ---

def test_the_decode_limit_is_memory_and_checked_from_the_header(tmp_path, classifier):
    limit_pixels = MAX_DECODED_BYTES // BYTES_PER_PIXEL
    side = int(limit_pixels**0.5) + 2  # just over: refused before any pixel is decoded
    Image.new("L", (side, side)).save(tmp_path / "over.png")
    with pytest.raises(ImageError, match="larger than"):
        open_image(tmp_path / "over.png")
    photo = next(sample for sample in SAMPLES if sample.suffix == ".jpg")
    page = Image.open(photo)
    width = int((limit_pixels * 3) ** 0.5)  # a JPEG three times the limit: decoded at half scale, then averaged
    page.resize((width, width)).save(tmp_path / "big.jpg", quality=80)
    decoded = open_image(tmp_path / "big.jpg")
    assert decoded.width == ((width + 1) // 2) // 2 and decoded.width * decoded.height <= MAX_WORK_PIXELS
    assert classifier.predict(tmp_path / "big.jpg").digit == photo.stem[-1]
    code, out, _ = classify(tmp_path / "big.jpg")
    assert code == 0 and out.split("\t")[1] == photo.stem[-1]
    page.resize((4100, 4100)).save(tmp_path / "big.jp2", quality_mode="rates", quality_layers=[100])
    assert open_image(tmp_path / "big.jp2").size == (2050, 2050)  # decoded at half size; the graph averages the rest
    assert classifier.predict(tmp_path / "big.jp2").digit == photo.stem[-1]


def test_a_large_tiff_within_the_limit_is_read_by_digit_classify(tmp_path):
    """A 16-megapixel TIFF (a page scanned at 400 dpi) is under the 21-megapixel decode limit. Pillow
    checks a TIFF's tile against its bomb limit while decoding, which digit-classify lowers for images
    nested in other files: the scan itself was refused as "an image inside it is too large"."""
    photo = next(sample for sample in SAMPLES if sample.suffix == ".jpg")
    page = Image.open(photo).convert("L").resize((4600, 3500))
    assert page.width * page.height * BYTES_PER_PIXEL < MAX_DECODED_BYTES
    page.save(tmp_path / "scan.tif")
    code, out, err = classify(tmp_path / "scan.tif")
    assert (code, err) == (0, "") and out.split("\t")[1] == photo.stem[-1]


def test_stdin_is_capped_with_a_clear_error():
    code, out, err = classify("-", SAMPLES[0], stdin=b"\0" * (MAX_STDIN_BYTES + 1))
    assert code == 1 and out.startswith(str(SAMPLES[0]))
    assert_one_line_errors(err, ["-"])
    assert f"more than {MAX_STDIN_BYTES // 2**20} MB on stdin" in err


def test_an_image_error_with_an_empty_message_given_as_input_stays_that_inputs_error(classifier):
    # predict_iter passes an ImageError given in place of an input through as that input's error;
    # an empty message once took the batch down (StopIteration from the row iterator).
    results = classifier.predict([ImageError(""), str(SAMPLES[0])])
    assert results[0].error == "" and results[0].digit is None
    assert results[1].ok and results[1].digit == SAMPLES[0].stem[-1]
