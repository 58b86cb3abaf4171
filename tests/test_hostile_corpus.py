"""Pillow's own test images (1,067 real files in every format Pillow reads, fuzzer-found crash files
and decompression bombs among them) as one folder run: no traceback, one record per file taken,
exit 1, and each file's answer the same as when it is classified alone. The corpus is found through
LSTM_DIGITS_CORPUS (default: ../shared/corpora/pillow-test-images beside the repository); the tests
fail, never skip, when it is missing."""

import contextlib
import json
import os
import random
import subprocess
import sys
import warnings
from pathlib import Path

import pytest
from PIL.Image import DecompressionBombWarning

from lstm_digits.runtime import DigitClassifier, ImageError
from lstm_digits.runtime import images
from lstm_digits.runtime.images import image_suffixes
from test_classify_cli import ROOT, SAMPLES

pytestmark = [pytest.mark.corpus, pytest.mark.runtime]  # runtime: also run in a runtime-only install

# Issue 15's files that gave tracebacks, by name (globs), and what each must come to.
NAMED = ["crash-2020-10-test.tif", "crash-63b1*.tif", "seek_too_large.tif", "png_decompression_dos.png",
         "hopper_naxis_zero.fits", "unimplemented_*.dds", "oom-8ed33*.icns"]
# What Pillow warns as it decodes this corpus's odd files (category, start of the message). The
# library passes Pillow's warnings on to its caller, as Pillow does (digit-classify and its workers
# silence them); here, where the corpus is classified in this process, they are expected.
PILLOW_WARNINGS = [
    (UserWarning, "Tag data larger than file"),
    (UserWarning, "Corrupt EXIF data"),
    (UserWarning, "Invalid APNG"),
    (UserWarning, "Image appears to be a malformed MPO file"),
    (UserWarning, "Image was not the expected size"),
    (DeprecationWarning, "IM image format is deprecated"),  # the corpus's .im files
    (DecompressionBombWarning, r"Image size \(\d+ pixels\) exceeds limit"),  # under twice the limit: a warning, not an error
]


@contextlib.contextmanager
def pillow_warnings_expected():
    """PILLOW_WARNINGS, from Pillow's own modules, ignored in the block; any other warning shows."""
    with warnings.catch_warnings():
        for category, message in PILLOW_WARNINGS:
            warnings.filterwarnings("ignore", message, category, module="PIL")
        yield


@pytest.fixture(scope="module")
def corpus() -> Path:
    folder = Path(os.environ.get("LSTM_DIGITS_CORPUS", ROOT.parent / "shared" / "corpora" / "pillow-test-images"))
    if not folder.is_dir() or sum(1 for _ in folder.rglob("*")) < 1000:
        pytest.fail(f"Pillow's test images are not in {folder}: set LSTM_DIGITS_CORPUS")
    return folder


@pytest.fixture(scope="module")
def folder_run(corpus):
    """digit-classify --recursive --json over the whole corpus, then samples/, as a user would run it."""
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", "--recursive", "--json", str(corpus),
                             str(ROOT / "samples")],
                            capture_output=True, timeout=600)
    return result.returncode, [json.loads(line) for line in result.stdout.splitlines()], result.stderr.decode()


def taken(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in image_suffixes())


def answer(record_or_prediction) -> tuple:
    if isinstance(record_or_prediction, dict):
        record = record_or_prediction
        return ("error", record["error"]) if "error" in record else (record["digit"], record["probability"])
    prediction = record_or_prediction
    return ("error", prediction.error) if prediction.error else (prediction.digit, round(prediction.probability, 6))


def test_the_corpus_as_one_folder_run(corpus, folder_run):
    code, records, err = folder_run
    files = taken(corpus)
    assert len(files) > 950  # the suffixes Pillow registers: all but ~70 of the 1,069 files
    assert code == 1 and "Traceback" not in err
    # One record per file taken, in order, the samples after the corpus.
    assert [record["path"] for record in records] == files + taken(ROOT / "samples")
    failed = [record["path"] for record in records if "error" in record]
    lines = err.splitlines()
    assert lines == [f"digit-classify: {path}: {record['error']}" for record in records
                     if "error" in record for path in [record["path"]]]
    assert 100 < len(failed) < len(files) - 300  # most of the corpus decodes; hundreds do not


def test_each_answer_is_the_same_as_the_file_alone(corpus, folder_run, monkeypatch):
    """Each file through predict() alone, in reverse order in this process (what came before a file
    must not matter), and a sample of files in a fresh process each."""
    _, records, _ = folder_run
    expected = {record["path"]: answer(record) for record in records}
    monkeypatch.setattr(images, "guard_nested_images", True)  # as digit-classify does
    classifier = DigitClassifier(threads=1)
    for path in reversed(list(expected)):
        try:
            with pillow_warnings_expected():
                alone = answer(classifier.predict(path))
        except ImageError as error:
            alone = ("error", str(error))
        assert alone == expected[path], path
    sample = random.Random(15).sample(taken(corpus), 12)
    for path in sample:
        result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", "--json", path],
                                capture_output=True, timeout=120)
        assert answer(json.loads(result.stdout)) == expected[path], path


def test_the_named_crash_files_are_one_line_errors_and_do_not_take_the_others(corpus):
    named = sorted(str(p) for pattern in NAMED for p in corpus.rglob(pattern))
    assert len(named) >= len(NAMED) + 2  # crash-63b1* and unimplemented_*.dds match several
    good = [str(SAMPLES[0]), str(SAMPLES[1])]
    with pillow_warnings_expected():
        results = DigitClassifier(threads=1).predict([good[0], *named, good[1]])
    assert [r.digit for r in (results[0], results[-1])] == [Path(p).stem[-1] for p in good]
    assert all(not r.ok and "\n" not in r.error for r in results[1:-1])
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", good[0], *named, good[1]],
                            capture_output=True, timeout=120)
    out, err = result.stdout.decode(), result.stderr.decode()
    assert result.returncode == 1 and [line.split("\t")[0] for line in out.splitlines()] == good
    assert [line.split(": ")[1] for line in err.splitlines()] == named


def test_what_claims_a_file_does_not_depend_on_the_files_before_it(corpus):
    """pillow.ico gave 3 alone, and 'truncated or corrupt' after a .tga (Pillow's TGA plugin, once
    loaded, claimed it)."""
    tga, ico = next(corpus.rglob("*.tga")), next(corpus.rglob("pillow.ico"))
    code = ("import sys; from lstm_digits.runtime import DigitClassifier;"
            "c = DigitClassifier(threads=1, min_confidence=0); print(c.predict(sys.argv[1:])[-1].digit)")
    alone = subprocess.run([sys.executable, "-c", code, str(ico)], capture_output=True, text=True, timeout=120)
    after = subprocess.run([sys.executable, "-c", code, str(tga), str(ico)], capture_output=True, text=True, timeout=120)
    assert alone.stdout == after.stdout and alone.stdout.strip().isdigit()  # a digit both times, the same one


def test_samples_keep_their_digits_when_mixed_with_the_corpus(folder_run):
    code, records, err = folder_run  # the samples come after the whole corpus in that run
    records = {record["path"]: record for record in records}
    assert code == 1 and "Traceback" not in err
    for sample in SAMPLES:
        assert records[str(sample)]["digit"] == sample.stem[-1], sample
