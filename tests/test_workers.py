"""Issue 22, item 1 and the worker processes' lifetime: a worker that dies costs only the inputs it
held (they are tried once more, alone, in a new worker); close(), Ctrl-C and a killed main process
leave no worker behind. Linux: the workers are found in /proc."""

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lstm_digits.runtime import DigitClassifier
from test_classify_cli import SAMPLES
from test_predict_streaming import digits  # noqa: F401 (a fixture)

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)


class KillsItsWorker:
    """An input that kills the worker process it is sent to with SIGKILL, as the OOM killer does,
    when the worker unpacks it: the same input every time, so it kills its second worker too."""

    def __reduce__(self):
        return signal.raise_signal, (signal.SIGKILL,)


def children(pid: int) -> set[int]:
    """The processes `pid` started that are still running."""
    found = set()
    for task in Path(f"/proc/{pid}/task").iterdir():
        found |= {int(child) for child in (task / "children").read_text().split()}
    return {child for child in found if alive(child)}


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError):
        return False
    return state != "Z"  # a zombie has stopped; only its exit status is left


def all_gone(pids: set[int], within: float) -> bool:
    deadline = time.monotonic() + within
    while any(alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.05)
    return not any(alive(pid) for pid in pids)


def test_an_input_that_kills_its_worker_costs_only_itself(digits):
    pngs, expected = [png for png, _ in digits] * 40, [digit for _, digit in digits] * 40
    killers = {50, 151}
    sources = pngs[:50] + [KillsItsWorker()] + pngs[50:150] + [KillsItsWorker()] + pngs[150:]
    answers = iter(expected)
    with DigitClassifier(threads=1, workers=2) as classifier:
        results = classifier.predict(sources)
    assert len(results) == len(sources)
    for index, result in enumerate(results):
        if index in killers:
            assert not result.ok and "worker process died" in result.error and "\n" not in result.error
        else:
            assert result.ok and result.digit == next(answers), (index, result.error)


def test_a_worker_killed_mid_run_costs_nothing_the_run_goes_on(tmp_path, digits):
    """The issue's run at 1/10 the size: a folder of PNGs, one worker SIGKILLed once results flow."""
    folder = tmp_path / "digits"
    folder.mkdir()
    for index in range(2_000):
        png, digit = digits[index % len(digits)]
        (folder / f"{index:05d}-{digit}.png").write_bytes(png)
    command = [sys.executable, "-m", "lstm_digits.cli.classify", str(folder), "--workers", "2"]
    # unbuffered: readline() takes one line, and communicate() the rest
    with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, bufsize=0) as run:
        first = run.stdout.readline().decode()
        workers = children(run.pid)
        assert len(workers) == 2
        os.kill(min(workers), signal.SIGKILL)
        rest, err = (stream.decode() for stream in run.communicate(timeout=120))
    lines = [first, *rest.splitlines(keepends=True)]
    assert run.returncode == 0 and err == ""
    assert len(lines) == 2_000
    for line in lines:
        path, digit, _ = line.split("\t")
        assert path.endswith(f"-{digit}.png"), line


def test_close_stops_the_workers_at_once_and_the_classifier_goes_on():
    photo = next(path for path in SAMPLES if path.stem.startswith("photo"))  # 50-100 ms each to preprocess
    data, digit = photo.read_bytes(), photo.stem[-1]
    classifier = DigitClassifier(threads=1, workers=2, batch_size=8)  # the first result comes while work is queued
    before = children(os.getpid())
    predictions = classifier.predict_iter(data for _ in range(40))
    assert next(predictions).digit == digit
    workers = children(os.getpid()) - before
    assert len(workers) == 2
    start = time.monotonic()
    classifier.close()
    took = time.monotonic() - start
    assert took < 1 and not any(alive(pid) for pid in workers), took  # no queued work is finished first
    assert [p.digit for p in predictions] == [digit] * 39  # what the old workers held is done by new ones
    classifier.close()
    assert children(os.getpid()) == before


READER = textwrap.dedent("""
    import signal, sys
    from lstm_digits.runtime import DigitClassifier

    interrupted = []  # after Ctrl-C this program reads 2,000 more results, then stops through the with block
    data = open(sys.argv[1], "rb").read()
    with DigitClassifier(threads=1, workers=2, batch_size=8) as classifier:
        for n, prediction in enumerate(classifier.predict_iter(data for _ in range(1_000_000))):
            if n == 0:  # (once the workers have started: they must not count on inheriting this)
                signal.signal(signal.SIGINT, lambda *_: interrupted.append(n))
                print("reading", flush=True)
            if not prediction.ok:
                print("failed:", prediction.error, flush=True)
            if interrupted and n - interrupted[0] >= 2_000:
                raise SystemExit(5)
""")


@pytest.fixture
def reader(tmp_path, digits):
    """A program reading predictions from workers, in its own process group (as a terminal runs a
    command): the process and its workers once the first result is in. Whatever the test leaves
    of the group is killed after it."""
    (tmp_path / "digit.png").write_bytes(digits[0][0])
    run = subprocess.Popen([sys.executable, "-c", READER, str(tmp_path / "digit.png")], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, bufsize=0, start_new_session=True)  # (unbuffered: see above)
    try:
        assert run.stdout.readline() == b"reading\n", run.stderr.read()
        workers = children(run.pid)
        assert len(workers) == 2
        yield run, workers
    finally:
        try:
            os.killpg(run.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        run.communicate()


def test_ctrl_c_reaches_only_the_main_process_which_stops_the_workers(reader):
    run, workers = reader
    os.killpg(run.pid, signal.SIGINT)  # what Ctrl-C in a terminal does: the whole foreground group
    out, err = run.communicate(timeout=10)
    assert out == b"" and err == b"" and run.returncode == 5, (out, err)  # the workers worked on until it stopped
    assert all_gone(workers, within=0.5)


def test_no_worker_outlives_a_killed_main_process(reader):
    run, workers = reader
    run.kill()  # SIGKILL: the main process cannot stop its workers itself
    run.communicate(timeout=10)
    assert all_gone(workers, within=2)
