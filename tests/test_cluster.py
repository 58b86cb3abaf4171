"""Issue 26 point 6: classification at cluster scale. examples/cluster/classify_files.py, the code
docs/CLUSTER.md tells users to copy, run as its command on a local Ray cluster of 2 workers over the
10,000 MNIST test digits as PNG files and a few hostile files: one Parquet row per file, each the
answer `digit-classify --recursive --json` gives for the same file. Needs the `cluster` extra (in
`dev`); Ray's usage statistics must be off and the run must write none."""

import importlib.util
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from PIL import Image

from test_classify_cli import ROOT
from test_hostile_corpus import corpus  # noqa: F401  (the fixture: Pillow's test images)

pytestmark = pytest.mark.corpus

MODULE = ROOT / "examples" / "cluster" / "classify_files.py"
WORKERS = 2
# From Pillow's corpus: files digit-classify answers with an error; g4-multi.tiff is refused only with
# the guard on images decoded inside others that digit-classify turns on (without it: no digit found).
CORPUS_FILES = ["broken.png", "crash-2020-10-test.tif", "decompression_bomb.gif", "g4-multi.tiff",
                "hopper_naxis_zero.fits", "oom-8ed3316a4109213ca96fb8a256a0bfefdece1461.icns", "png_decompression_dos.png"]
USAGE_STATS_OFF = "Usage reporting is disabled."  # what Ray's usage-statistics reporter logs when they are off


def load_module():
    spec = importlib.util.spec_from_file_location("classify_files", MODULE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def files(tmp_path, mnist_test_digits, corpus) -> tuple[Path, list[str], list[str]]:  # noqa: F811
    """A folder of 10,000 MNIST PNGs (in subfolders of 1,000) and hostile files; the hostile files'
    paths; a few files as file:// URIs (read as object storage is: bytes through pyarrow)."""
    folder = tmp_path / "forms"
    digits, _ = mnist_test_digits
    for index, digit in enumerate(digits):
        subfolder = folder / "digits" / f"{index // 1000}"
        subfolder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(digit).save(subfolder / f"{index:05}.png", compress_level=1)
    hostile = folder / "hostile"
    hostile.mkdir()
    for name in CORPUS_FILES:
        shutil.copy(corpus / name, hostile / name)
    (hostile / "zero-bytes.png").write_bytes(b"")
    png = (folder / "digits" / "0" / "00000.png").read_bytes()
    (hostile / "truncated.png").write_bytes(png[: len(png) // 2])
    (hostile / "notes.png").write_text("not an image\n")
    (hostile / os.fsdecode(b"odd\nname-\xff.png")).write_bytes(png)  # a newline and a byte that is not UTF-8
    hostile_paths = sorted(os.fsdecode(entry.path) for entry in os.scandir(hostile))
    uris = [Path(path).as_uri() for path in hostile_paths if "odd" not in path]
    uris += [(folder / "digits" / "3" / f"{index:05}.png").as_uri() for index in range(3000, 3010)]
    uris += [(hostile / "missing.png").as_uri()]
    return folder, hostile_paths, uris


def start_digit_classify(folder: Path, answers: Path) -> subprocess.Popen:
    """digit-classify --recursive --json on the folder, its answers into a file; it runs while Ray starts."""
    with answers.open("wb") as stdout:
        return subprocess.Popen([sys.executable, "-m", "lstm_digits.cli.classify", "--recursive", "--json", str(folder)],
                                stdout=stdout, stderr=subprocess.DEVNULL)


def digit_classify_answers(process: subprocess.Popen, answers: Path) -> dict[str, dict]:
    assert process.wait(timeout=600) == 1  # 1: some files failed
    return {record["path"]: record for record in map(json.loads, answers.read_text().splitlines())}


def run_on_a_local_cluster(files, tmp_path: Path, environment: dict) -> tuple[dict[str, dict], object, str, list[str], str]:
    """The module's command, as a user runs it, on a local cluster with its session files in a
    folder of our own; the user has not set RAY_USAGE_STATS_ENABLED. Returns the rows by path,
    the Parquet schema, what it printed, the names of the session's files and the log of Ray's
    usage-statistics reporter."""
    folder, _, uris = files
    output = tmp_path / "parquet"
    ray_folder = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))  # short: Ray's socket paths have a length limit
    environment = {**environment, "RAY_TMPDIR": str(ray_folder)}
    environment.pop("RAY_USAGE_STATS_ENABLED", None)
    try:
        result = subprocess.run([sys.executable, str(MODULE), str(output), str(folder), *uris, "--workers", str(WORKERS)],
                                capture_output=True, env=environment, timeout=600)
        printed = result.stdout.decode() + result.stderr.decode()
        assert result.returncode == 0, printed[-3000:]
        session_files = {path.name: path for path in ray_folder.rglob("*") if path.is_file()}
        reporter_log = session_files["dashboard.log"].read_text()  # the head's process, which reports usage
    finally:
        shutil.rmtree(ray_folder, ignore_errors=True)
    table = pq.read_table(output)
    rows = table.to_pylist()
    assert len({row["path"] for row in rows}) == len(rows)  # one row per file
    return {row["path"]: row for row in rows}, table.schema, printed, sorted(session_files), reporter_log


def same_answer(row: dict, record: dict) -> bool:
    """A Parquet row and a digit-classify --json record (probabilities rounded to 6 places) agree."""
    if "error" in record:
        return row["error"] == record["error"] and row["digit"] is None and row["probability"] is None
    return (row["error"] is None and row["digit"] == record["digit"] and row["rejected"] == record.get("rejected", False)
            and math.isclose(row["probability"], record["probability"], abs_tol=1e-6))


def check_every_file_is_one_row_with_the_answer_digit_classify_gives(rows, files, cli_answers, labels):
    _, hostile_paths, _ = files
    local = {path: row for path, row in rows.items() if "://" not in path}
    assert local.keys() == cli_answers.keys()
    assert len(local) == 10_000 + len(hostile_paths)
    differing = [path for path, record in cli_answers.items() if not same_answer(local[path], record)]
    assert differing == [], [(path, local[path], cli_answers[path]) for path in differing[:5]]
    # Not vacuous: every hostile file but the renamed digit is an error row, and the digits are classified.
    errors = {path for path, row in local.items() if row["error"] is not None}
    odd = next(path for path in local if "odd" in path)
    assert errors == {path for path in local if "/hostile/" in path} - {odd}
    correct = sum(local[path]["digit"] == str(labels[int(Path(path).stem)]) for path in local if "/digits/" in path)
    assert correct > 9_800, correct
    assert odd.endswith("odd\\nname-\\xff.png") and local[odd]["digit"] == str(labels[0])  # as digit-classify prints it; a copy of 00000.png


def check_object_storage_uris_give_the_same_answers_as_the_files(rows, files):
    """file:// URIs are read as s3:// ones are (bytes through pyarrow's filesystem): the same answers
    as the same files by path, except that an empty object's error says input, not file."""
    _, _, uris = files
    for uri in uris:
        by_uri = rows[uri]
        path = uri.removeprefix("file://")
        if path.endswith("missing.png"):
            assert by_uri["error"].startswith("cannot read: ") and "No such file" in by_uri["error"]
        elif path.endswith("zero-bytes.png"):
            assert (by_uri["error"], rows[path]["error"]) == ("empty input (0 bytes)", "empty file (0 bytes)")
        else:
            assert {**by_uri, "path": path} == rows[path], uri
    assert sum(rows[uri]["digit"] is not None for uri in uris) == 10


def test_classify_files_on_a_local_ray_cluster(files, mnist_test_digits, tmp_path, offline_env):
    digit_classify = start_digit_classify(files[0], tmp_path / "answers.jsonl")
    rows, schema, printed, session_files, reporter_log = run_on_a_local_cluster(files, tmp_path, offline_env)
    cli_answers = digit_classify_answers(digit_classify, tmp_path / "answers.jsonl")
    check_every_file_is_one_row_with_the_answer_digit_classify_gives(rows, files, cli_answers, mnist_test_digits[1])
    check_object_storage_uris_give_the_same_answers_as_the_files(rows, files)
    assert schema.remove_metadata() == load_module().SCHEMA  # the documented columns and types, in every file
    # Ray's usage statistics are off (ray.init does that for a cluster it starts) and none are written.
    assert USAGE_STATS_OFF in reporter_log
    assert "usage_stats.json" not in session_files  # (Ray writes it where they are on)
    assert "Traceback" not in printed
