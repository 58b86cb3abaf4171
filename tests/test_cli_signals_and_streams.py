"""Issue 22, items 4, 7 and 10: how a digit-classify run ends and what it leaves behind.
Signals (SIGINT, SIGTERM, SIGHUP) end it with whole lines, no worker left and exit 128 + the
signal; a stdout that is full or closed ends it with one line and exit 74, a reader that went away
(| head) quietly with 141; stderr, whatever happens to it, never stops the results; the
--save-preprocessed PNGs are written whole or not at all, never through a planted symlink.
Linux: worker processes are found in /proc."""

import fcntl
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image

from lstm_digits.cli import classify as classify_command
from lstm_digits.cli import output
from test_classify_cli import ROOT, SAMPLES, classify
from test_hostile_inputs import assert_one_line_errors

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

COMMAND = [sys.executable, "-m", "lstm_digits.cli.classify"]
COPIES = 200  # of each sample: 1,000 files, the first results after 256 (a batch), the rest ~1 s later
SIDE = 64  # px: the samples made small, still each read as its digit, a few ms each to preprocess


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    """1,000 images whose names end with their digit, enough for a run to be stopped in the middle."""
    folder = tmp_path_factory.mktemp("many")
    for sample in SAMPLES:
        image = Image.open(sample)
        image.thumbnail((SIDE, SIDE))
        image.save(folder / f"0000-{sample.stem}.png")
        data = (folder / f"0000-{sample.stem}.png").read_bytes()
        for index in range(1, COPIES):
            (folder / f"{index:04d}-{sample.stem}.png").write_bytes(data)
    return folder


def worker_pids(pid: int) -> set[int]:
    return {int(child) for task in Path(f"/proc/{pid}/task").iterdir() for child in (task / "children").read_text().split()}


def all_gone(pids: set[int], within: float = 2.0) -> bool:
    """Whether every process in `pids` has ended (a zombie has) within `within` seconds."""
    def running(pid: int) -> bool:
        try:
            return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
        except (FileNotFoundError, ProcessLookupError):
            return False

    deadline = time.monotonic() + within
    while any(map(running, pids)) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(map(running, pids))


def assert_whole_result_lines(out: bytes) -> list[str]:
    """Every line of `out` a whole `path<TAB>digit<TAB>probability`, the digit the one the name ends with."""
    text = out.decode()
    assert text.endswith("\n"), text[-200:]
    lines = text.splitlines()
    for line in lines:
        path, digit, probability = line.split("\t")
        assert Path(path).stem[-1] == digit and 0 < float(probability) <= 1, line
    return lines


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGHUP], ids=lambda s: signal.Signals(s).name)
def test_a_signal_ends_the_run_with_whole_lines_no_worker_left_and_exit_128_plus_it(folder, signum):
    run = subprocess.Popen([*COMMAND, folder, "--workers", "2"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           start_new_session=True)
    try:
        first = run.stdout.readline()  # mid-run: results are coming
        workers = worker_pids(run.pid)
        if signum == signal.SIGINT:
            os.killpg(run.pid, signum)  # Ctrl-C in a terminal: the whole foreground process group
        else:
            os.kill(run.pid, signum)  # kill PID, Popen.terminate(), a closed terminal: the main process
        out, err = first + run.stdout.read(), run.stderr.read().decode()
        run.wait(timeout=30)
    finally:
        if run.poll() is None:
            os.killpg(run.pid, signal.SIGKILL)
    assert len(workers) == 2 and all_gone(workers)
    assert run.returncode == 128 + signum
    lines = assert_whole_result_lines(out)
    assert 0 < len(lines) < 5 * COPIES
    files = sorted(folder.iterdir())
    assert [line.split("\t")[0] for line in lines] == [str(path) for path in files[: len(lines)]]
    assert err == (f"digit-classify: stopped by {signal.Signals(signum).name}; {5 * COPIES - len(lines):,} of "
                   f"{5 * COPIES:,} inputs not answered, from {files[len(lines)]} on\n")


def test_a_reader_that_stops_reading_a_full_pipe_cannot_keep_the_run_from_ending(folder):
    """A first signal waits for the line being written; when the reader is stuck, a second one ends
    the run at once, still with whole lines only."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # full after ~60 lines
    run = subprocess.Popen([*COMMAND, folder, "--workers", "2"], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    try:
        deadline = time.monotonic() + 60
        while _bytes_in_pipe(read_end) < 4096 - 200 and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.3)  # the next line is waiting for room in the pipe
        for _ in range(2):
            run.terminate()
            try:
                run.wait(timeout=2)
                break
            except subprocess.TimeoutExpired:
                pass
        run.wait(timeout=10)
        with open(read_end, "rb") as reader:
            out = reader.read()
        err = run.stderr.read().decode()
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 128 + signal.SIGTERM and "Traceback" not in err
    assert err.startswith("digit-classify: stopped by SIGTERM; ") and err.count("\n") == 1
    assert 0 < len(assert_whole_result_lines(out)) < 5 * COPIES


def _bytes_in_pipe(descriptor: int) -> int:
    import array
    import termios

    count = array.array("i", [0])
    fcntl.ioctl(descriptor, termios.FIONREAD, count)
    return count[0]


def test_a_reader_that_goes_away_ends_the_run_quietly_with_141_and_no_worker_left(folder):
    """digit-classify folder | head -1: normal use, so no message; 141 is what a shell reports for
    a program that a closed pipe ended (128 + SIGPIPE)."""
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, 4096)  # so that the run is still writing when the reader goes
    run = subprocess.Popen([*COMMAND, folder, "--workers", "2"], stdout=write_end, stderr=subprocess.PIPE)
    os.close(write_end)
    with open(read_end, "rb") as reader:
        first = reader.readline()
        workers = worker_pids(run.pid)
    err = run.stderr.read()
    run.wait(timeout=30)
    assert first.decode().startswith(str(sorted(folder.iterdir())[0]))
    assert (run.returncode, err) == (output.READER_GONE, b"")
    assert len(workers) == 2 and all_gone(workers)


def shell(redirection: str, *args) -> subprocess.CompletedProcess:
    """digit-classify ARGS with a shell redirection of its standard streams (2>&-, >/dev/full, ...)."""
    script = f'exec "$@" {redirection}'
    return subprocess.run(["sh", "-c", script, "sh", *COMMAND, *map(str, args)], capture_output=True, timeout=120)


@pytest.mark.parametrize("redirection, problem", [(">/dev/full", "No space left on device"), (">&-", "it is closed")])
def test_a_full_or_closed_stdout_is_one_line_and_exit_74(redirection, problem):
    result = shell(redirection, *SAMPLES)
    assert result.returncode == output.STDOUT_FAILED
    assert result.stderr.decode() == (f"digit-classify: stdout: cannot write ({problem}); "
                                      f"{len(SAMPLES)} of {len(SAMPLES)} inputs not answered, from {SAMPLES[0]} on\n")


def test_help_version_and_usage_errors_with_full_streams_keep_their_exit_codes():
    full_stdout = shell(">/dev/full", "--version")
    assert (full_stdout.returncode, full_stdout.stderr.decode()) == (
        output.STDOUT_FAILED, "digit-classify: stdout: cannot write (No space left on device)\n")
    assert shell("2>/dev/full", SAMPLES[0], "--top-k", "0").returncode == output.USAGE


@pytest.mark.parametrize("stderr", ["full", "closed", "broken pipe"])
def test_whatever_happens_to_stderr_the_results_reach_stdout(tmp_path, stderr):
    arguments = [SAMPLES[0], tmp_path / "missing.png", SAMPLES[1], "", SAMPLES[2]]
    if stderr == "broken pipe":
        read_end, write_end = os.pipe()
        os.close(read_end)
        result = subprocess.run([*COMMAND, *map(str, arguments)], stdout=subprocess.PIPE, stderr=write_end, timeout=120)
        os.close(write_end)
    else:
        result = shell({"full": "2>/dev/full", "closed": "2>&-"}[stderr], *arguments)
    assert result.returncode == output.FAILED  # two inputs failed; their lines were lost
    assert [line.split("\t")[0] for line in result.stdout.decode().splitlines()] == [str(p) for p in SAMPLES[:3]]


def test_the_exit_codes_are_in_help_the_docstring_and_the_readme():
    result = subprocess.run([*COMMAND, "--help"], capture_output=True, text=True, timeout=60)
    readme_row = next(line for line in (ROOT / "README.md").read_text().splitlines() if line.startswith("| Exit codes"))
    for code, meaning in output.EXIT_CODES.items():
        assert f"{code:>3}  {meaning}" in result.stdout
        assert f"  {code:<4} {meaning}\n" in classify_command.__doc__
        assert f"{code} " in readme_row, code


# --- --save-preprocessed ---

def test_save_preprocessed_replaces_a_planted_symlink_and_never_writes_through_it(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    seen = tmp_path / "seen"
    seen.mkdir()
    (seen / f"{SAMPLES[0].stem}.png").symlink_to(victim)
    code, _, err = classify(*SAMPLES, "--save-preprocessed", seen)
    assert code == 0 and err == "" and victim.read_text() == "precious"
    assert sorted(path.name for path in seen.iterdir()) == sorted(f"{p.stem}.png" for p in SAMPLES)
    planted = seen / f"{SAMPLES[0].stem}.png"
    assert not planted.is_symlink() and Image.open(planted).size == (28, 28)


def test_save_preprocessed_on_a_full_disk_leaves_no_partial_file(tmp_path):
    """A disk that takes only 100 bytes a file (RLIMIT_FSIZE, SIGXFSZ ignored, as a full disk
    fails a write): each image is that input's one-line error, and the folder stays empty."""
    def files_of_at_most_100_bytes():
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100, 100))

    seen = tmp_path / "seen"
    result = subprocess.run([*COMMAND, *map(str, SAMPLES), "--save-preprocessed", str(seen)], capture_output=True,
                            timeout=120, preexec_fn=files_of_at_most_100_bytes)
    assert result.returncode == output.FAILED and result.stdout == b""
    for line in assert_one_line_errors(result.stderr.decode(), [str(p) for p in SAMPLES]):
        assert line.endswith(": cannot save the preprocessed image (File too large)"), line
    assert list(seen.iterdir()) == []
