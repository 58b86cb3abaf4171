"""How a digit-classify run ends and speaks: exit codes, signals, and the standard streams.

- Results go to stdout and diagnostics to stderr, one whole line at a time, flushed at once.
- SIGINT, SIGTERM and SIGHUP end the run as an exception (RunEnds) that leaves the `with
  classifier:` block, which stops the worker processes; then one line on stderr and exit 128 + the
  signal's number. One that arrives while an input's lines are written takes effect once they are
  out (`answering`), so no reader sees half a line; a second one takes effect at once. A worker
  process that gets one of them dies of it, as it would by default.
- A stdout that cannot be written (full disk, I/O error, closed) ends the run with one line on
  stderr; a reader that went away (`digit-classify dir | head -1`) ends it quietly.
- stderr never ends the run: a line that cannot be written to it (full, broken or closed) is lost,
  and the results still reach stdout.
Standard library only, and nothing slow to import: every run passes here.
"""

import io
import json
import os
import signal
import sys

from ..errors import first_line

# Exit codes, defined here once: `digit-classify --help` (exit_codes_text) and cli/classify.py's docstring
# are made from EXIT_CODES; the README's Exit codes row names each (tests/test_cli_signals_and_streams.py).
CLASSIFIED, FAILED, USAGE, STDOUT_FAILED = 0, 1, 2, 74  # 74: EX_IOERR in sysexits.h
STOP_SIGNALS = {getattr(signal, name): why for name, why in (  # (Windows has no SIGHUP)
    ("SIGHUP", " (its terminal closed)"), ("SIGINT", " (Ctrl-C)"), ("SIGTERM", " (kill, Popen.terminate())")) if hasattr(signal, name)}
READER_GONE = 128 + getattr(signal, "SIGPIPE", 13)  # 141: what a shell reports for a program a closed pipe ended
EXIT_CODES = dict(sorted({
    CLASSIFIED: "every input classified",
    FAILED: "some input failed (its one-line error is on stderr)",
    USAGE: "usage error: bad options, a bad --model, a --save-preprocessed folder that cannot be written",
    STDOUT_FAILED: "stdout cannot be written (full disk, I/O error, closed): one line on stderr",
    READER_GONE: "stdout's reader went away (digit-classify ... | head): stopped quietly",
    **{128 + signum: f"stopped by {signal.Signals(signum).name}{why}" for signum, why in STOP_SIGNALS.items()},
}.items()))


def exit_codes_text() -> str:
    """The exit codes as --help lists them."""
    return "\n".join(f"{code:>3}  {meaning}" for code, meaning in EXIT_CODES.items())


class RunEnds(BaseException):
    """The run stops before its end: a signal, or stdout gone. A BaseException, like
    KeyboardInterrupt, so that no `except Exception` on the way (an image's errors) takes it.
    `message` is the line for stderr (None: end quietly); `code` the exit code."""

    def __init__(self, code: int, message: str | None):
        super().__init__(message)
        self.code, self.message = code, message


class _Run:
    main_pid: int | None = None  # the process that installed the handlers (forked workers inherit them)
    answering = False  # one input's lines are being written: a first stop signal waits for them
    pending: int | None = None  # that signal
    stopped = False  # ended by RunEnds: what stdout's buffer may still hold is an abandoned line


def stop_on_signals() -> None:
    """SIGINT, SIGTERM and SIGHUP end the run (RunEnds) instead of killing it or raising KeyboardInterrupt."""
    _Run.main_pid = os.getpid()
    for signum in STOP_SIGNALS:
        signal.signal(signum, _stop)


def _stop(signum: int, frame) -> None:
    if os.getpid() != _Run.main_pid:  # a forked worker process: die of it, as by default
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    if _Run.answering and _Run.pending is None:
        _Run.pending = signum
        return
    _stopped(signum)  # (a second signal while lines are written: at once; a pipe writes a line whole or not at all)


def _stopped(signum: int) -> None:
    ending(stopped=True)
    raise RunEnds(128 + signum, f"stopped by {signal.Signals(signum).name}")


def ending(stopped: bool = False) -> None:
    """From here on the run is ending (every answer is out, or it was stopped): a stop signal now
    has its default effect, so that a second one ends a run stuck in its cleanup."""
    _Run.stopped = _Run.stopped or stopped
    if _Run.main_pid == os.getpid():
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_DFL)


class answering:
    """`with answering():` around writing one input's lines: a stop signal that comes meanwhile
    takes effect when they are all out (RunEnds at the end of the block), so that no reader sees
    half a line and the inputs answered are those whose blocks ended."""

    def __enter__(self) -> None:
        _Run.answering = True

    def __exit__(self, kind, value, traceback) -> None:
        _Run.answering = False
        if kind is None and _Run.pending is not None:
            _stopped(_Run.pending)


def answer_each(entries: list, results, shown, answer) -> int:
    """answer(name, result) for each (name, source) entry and its result, in order, each under
    `answering`; how many failed (the answers' sum). A run that ends early (RunEnds) says how many
    inputs were left, from which one on."""
    failures = answered = 0
    try:
        for (name, _), result in zip(entries, results):
            with answering():  # a stop signal waits for this input's lines
                failures += answer(name, result)
                answered += 1
    except RunEnds as end:
        if end.message and answered < len(entries):
            end.message += (f"; {len(entries) - answered:,} of {len(entries):,} inputs not answered, "
                            f"from {shown(entries[answered][0])} on")
        raise
    return failures


def failed(path: str, name: str, error: str | None, image, as_json: bool, save_preprocessed, saved_names: set) -> bool:
    """The part of an input's answer that digit and number runs share: the input's error, or, with
    --save-preprocessed, saving what the model saw (which may fail too). A failure is written (one
    line on stderr, and a JSON record with --json) and True returned; False when the answer is to follow."""
    if not error and save_preprocessed is not None:
        from .preprocessed import save

        try:
            save(save_preprocessed, name, image, saved_names)
        except OSError as problem:
            error = f"cannot save the preprocessed image ({problem.strerror or first_line(problem)})"
    if error:
        diagnostic(f"{path}: {error}")
        if as_json:
            result(json.dumps({"path": path, "error": error}))
    return bool(error)


def _whole_line(stream, line: str) -> None:
    stream.write(line + "\n")
    stream.flush()


def result(line: str) -> None:
    """One result line on stdout, written and flushed now; RunEnds if stdout cannot take it."""
    try:
        _whole_line(sys.stdout, line)
    except (OSError, ValueError, AttributeError) as error:  # ValueError, AttributeError: stdout closed
        raise stdout_failed(error) from None


def stdout_failed(error: Exception) -> RunEnds:
    """How a run ends when stdout cannot take what it writes: quietly if its reader went away."""
    ending(stopped=True)
    if isinstance(error, BrokenPipeError):
        return RunEnds(READER_GONE, None)
    problem = error.strerror if isinstance(error, OSError) and error.strerror else "it is closed"
    return RunEnds(STDOUT_FAILED, f"stdout: cannot write ({problem})")


def report(end: RunEnds) -> int:
    """Its line on stderr (if it has one); the exit code."""
    ending(stopped=True)
    if end.message:
        diagnostic(end.message)
    return end.code


def diagnostic(line: str) -> None:
    """One line on stderr, prefixed with the command's name; lost, never raised, if stderr cannot take it."""
    try:
        _whole_line(sys.stderr, f"digit-classify: {line}")
    except (OSError, ValueError, AttributeError):
        pass


class _ForgivingFile(io.FileIO):
    """stderr's descriptor for Python's sys.stderr: what cannot be written is dropped, so that
    click, warnings or anything else writing to sys.stderr never fails because of it."""

    def write(self, data) -> int:
        try:
            written = super().write(data)
        except OSError:
            return memoryview(data).nbytes
        return memoryview(data).nbytes if written is None else written  # (None: would block)


def take_over_streams() -> None:
    """Set up the standard streams for a run.

    Pillow warns and logs about odd files, and the C libraries under it (libtiff, openjpeg) write to
    file descriptor 2; our users get our one-line errors instead. So Python's stderr moves to a copy
    of descriptor 2 that never raises, and descriptor 2 itself goes to /dev/null. A descriptor 0, 1
    or 2 that was closed is opened on /dev/null, so that no file the run opens takes its number (a C
    library writing to "stderr" would write into it); a closed stdout is then seen at the first result."""
    import logging
    import warnings

    warnings.simplefilter("ignore")
    logging.getLogger("PIL").setLevel(logging.CRITICAL + 1)
    closed = [fd for fd in (0, 1, 2) if not _is_open(fd)]
    for fd in closed:
        null = os.open(os.devnull, os.O_RDWR)  # the lowest free number: fd itself
        if null != fd:
            os.dup2(null, fd)
            os.close(null)
    encoding = getattr(sys.stderr, "encoding", None) or "utf-8"
    if sys.stderr is not None:
        try:
            sys.stderr.flush()
        except (OSError, ValueError):
            pass
    copy = os.dup(2)
    os.set_inheritable(copy, False)
    sys.stderr = io.TextIOWrapper(io.BufferedWriter(_ForgivingFile(copy, "w")), encoding=encoding,
                                  errors="backslashreplace", line_buffering=True)
    null = os.open(os.devnull, os.O_WRONLY)
    os.dup2(null, 2)
    os.close(null)
    if 1 in closed:
        sys.stdout = None  # (Python already made it None; the first result says so and ends the run)
    elif sys.stdout is not None:
        sys.stdout.reconfigure(errors="backslashreplace")  # whatever the locale's encoding, never a crash


def _is_open(fd: int) -> bool:
    try:
        os.fstat(fd)
    except OSError:
        return False
    return True


def exit_now(code: int) -> None:
    """Flush what can be flushed and exit without the interpreter's teardown: by then every result
    is written and the worker processes have stopped; tearing down numpy's and onnxruntime's
    modules would only add ~20 ms, a sixth of a one-image run. After RunEnds, stdout is not flushed
    again: what it may hold is a line a second signal abandoned, and its reader may be stuck."""
    ending()
    for stream in (sys.stderr,) if _Run.stopped else (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError, AttributeError):  # a closed pipe (digit-classify ... | head), a full disk
            pass
    os._exit(code)
