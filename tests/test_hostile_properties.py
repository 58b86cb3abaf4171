"""Property-based tests (hypothesis): random bytes, truncated and bit-flipped real images, and
random arrays of any shape and dtype, to DigitClassifier.predict and to digit-classify. Each ends
in a result, ImageError (NoDigitFound is one), or the command's one-line error; nothing else.

The examples are derandomized (the same in every run) and few, so CI takes seconds. For a longer
campaign: HYPOTHESIS_EXAMPLES=3000 pytest tests/test_hostile_properties.py"""

import io
import json
import os
import subprocess
import sys
from functools import lru_cache

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as nps
from PIL import Image

from lstm_digits.runtime import DigitClassifier, ImageError
from test_classify_cli import SAMPLES

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

EXAMPLES = int(os.environ.get("HYPOTHESIS_EXAMPLES", "60"))
SETTINGS = settings(max_examples=EXAMPLES, derandomize=True, deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
# Real images in the formats people and programs write, each a digit: the seeds of the corruptions.
FORMATS = {"PNG": {}, "JPEG": {"quality": 90}, "TIFF": {"compression": "tiff_deflate"}, "BMP": {},
           "GIF": {}, "WEBP": {}, "TGA": {"compression": "tga_rle"}, "ICO": {}, "JPEG2000": {}, "PPM": {}}


@lru_cache(maxsize=1)
def classifier() -> DigitClassifier:
    return DigitClassifier(threads=1)


@lru_cache(maxsize=1)
def real_images() -> list[bytes]:
    page = Image.open(next(s for s in SAMPLES if s.suffix == ".jpg")).resize((96, 96))
    encoded = []
    for name, options in FORMATS.items():
        stream = io.BytesIO()
        page.convert("RGBA" if name in ("ICO", "WEBP") else "RGB").save(stream, name, **options)
        encoded.append(stream.getvalue())
    return encoded


def assert_result_or_image_error(source) -> None:
    """predict() alone: a Prediction or ImageError; in a list: the error carried, the neighbours kept."""
    try:
        prediction = classifier().predict(source)
        assert prediction.digit in classifier().labels and 0 <= prediction.probability <= 1
    except ImageError as error:
        assert str(error) and "\n" not in str(error)
    first, odd, last = classifier().predict([SAMPLES[0], source, SAMPLES[1]])
    assert first.digit == SAMPLES[0].stem[-1] and last.digit == SAMPLES[1].stem[-1]
    assert odd.ok or "\n" not in odd.error


@st.composite
def damaged_images(draw) -> bytes:
    """A real image, truncated somewhere or with a few bytes flipped (often both)."""
    data = bytearray(draw(st.sampled_from(real_images())))
    for _ in range(draw(st.integers(0, 8))):
        position = draw(st.integers(0, len(data) - 1))
        data[position] ^= draw(st.integers(1, 255))
    cut = draw(st.integers(1, len(data)))
    return bytes(data[:cut])


any_dtype = st.one_of(nps.scalar_dtypes(), nps.byte_string_dtypes(), nps.unicode_string_dtypes(),
                      nps.array_dtypes(allow_subarrays=True), st.just(np.dtype(object)))


@st.composite
def odd_arrays(draw) -> np.ndarray:
    dtype = draw(any_dtype)
    shape = draw(nps.array_shapes(min_dims=0, max_dims=4, min_side=0, max_side=48))
    if dtype.kind == "O":
        return np.full(shape, draw(st.one_of(st.none(), st.integers(), st.text(max_size=3))), dtype=object)
    return draw(nps.arrays(dtype, shape))


@SETTINGS
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    assert_result_or_image_error(data)


# Pillow warns while it decodes the randomly damaged files (e.g. a TIFF's EXIF cut short: which
# warnings depends on the bytes hypothesis flips); the test is about the answer each file gets,
# which a warning does not change. Only Pillow's own UserWarnings are ignored.
@pytest.mark.filterwarnings("ignore::UserWarning:PIL")
@SETTINGS
@given(damaged_images())
def test_truncated_and_bit_flipped_real_images(data):
    assert_result_or_image_error(data)


@SETTINGS
@given(odd_arrays())
def test_arrays_of_any_shape_and_dtype(array):
    assert_result_or_image_error(array)


@settings(SETTINGS, max_examples=max(3, EXAMPLES // 20))
@given(st.lists(st.one_of(damaged_images(), st.binary(max_size=512)), min_size=1, max_size=24))
def test_the_command_on_a_folder_of_damaged_files(tmp_path_factory, files):
    """A folder of damaged files and two samples: one record per file, a one-line error per failure."""
    folder = tmp_path_factory.mktemp("damaged")
    for index, data in enumerate(files):
        (folder / f"{index:02d}.png").write_bytes(data)
    for sample in SAMPLES[:2]:
        (folder / f"sample-{sample.name}").write_bytes(sample.read_bytes())
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", "--json", str(folder)],
                            capture_output=True, timeout=300)
    records = [json.loads(line) for line in result.stdout.splitlines()]
    assert [r["path"] for r in records] == sorted(str(p) for p in folder.iterdir())
    assert [r["digit"] for r in records[-2:]] == [s.stem[-1] for s in SAMPLES[:2]]
    errors = [f"digit-classify: {r['path']}: {r['error']}" for r in records if "error" in r]
    assert result.stderr.decode().splitlines() == errors
    assert result.returncode == (1 if errors else 0)


@pytest.mark.parametrize("data", [b"", b"\0", b"\xff\xd8\xff", b"\x89PNG\r\n\x1a\n", b"P5\n", b"II*\0"])
def test_the_command_on_stdin(data):
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", "-"], input=data,
                            capture_output=True, timeout=120)
    assert result.returncode == 1 and result.stdout == b""
    (line,) = result.stderr.decode().splitlines()
    assert line.startswith("digit-classify: -: ")
