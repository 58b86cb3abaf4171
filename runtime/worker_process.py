"""What runs in a worker process of runtime/workers.py's pool, and the messages it exchanges with
the main process. Standard library only, as the pool."""

import ctypes
import os
import pickle
import queue
import signal
import struct
import sys
import threading
import warnings
from multiprocessing.connection import Connection
from typing import Callable, Iterator

from ..errors import first_line

# A message of inputs to a worker is frames, each (run, index, length) and `length` bytes of the
# pickled input, so that one input that cannot be unpickled is only that input's error. A message
# of answers from it is one pickled list of (run, index, ok, result or reason).
FRAME = struct.Struct("<qqI")
ANSWERS_AT_ONCE = 8  # answers a worker sends in one message (fewer at the end of a message of inputs)
PR_SET_PDEATHSIG = 1  # <linux/prctl.h>


def frame(run_id: int, index: int, payload: bytes) -> bytes:
    return FRAME.pack(run_id, index, len(payload)) + payload


def frames(message: bytes) -> Iterator[tuple[int, int, memoryview]]:
    view, offset = memoryview(message), 0
    while offset < len(view):
        run_id, index, length = FRAME.unpack_from(view, offset)
        offset += FRAME.size + length
        yield run_id, index, view[offset - length : offset]


def serve(tasks: Connection, results: Connection, work: Callable, parent: int, inherited: list[Connection]) -> None:
    """A worker's life: inputs in, answers out, until the pipe from the main process closes.
    Answers go out ANSWERS_AT_ONCE at a time (and at the end of each message of inputs), sent by a
    thread, so that the worker goes on reading inputs while the main process is busy elsewhere (and
    never blocks the main process sending it one)."""
    _become_a_worker(parent, inherited)
    outbox: queue.SimpleQueue = queue.SimpleQueue()  # messages of answers, as many as the main process lets it hold
    sender = threading.Thread(target=_send_messages, args=(outbox, results), daemon=True)
    sender.start()
    while True:
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            break
        answers = []
        for run_id, index, payload in frames(message):
            try:
                answers.append((run_id, index, True, work(pickle.loads(payload))))
            except Exception as error:  # `work` handles its own inputs' errors; this is anything else
                answers.append((run_id, index, False, f"not classified: {first_line(error)}"))
            if len(answers) == ANSWERS_AT_ONCE:
                outbox.put(_pickled(answers))
                answers = []
        if answers:
            outbox.put(_pickled(answers))
    outbox.put(None)
    sender.join()


def _pickled(answers: list[tuple]) -> bytes:
    """[(run, index, ok, result or reason), ...] as one message; a result that cannot be pickled is its input's error."""
    try:
        return pickle.dumps(answers, pickle.HIGHEST_PROTOCOL)
    except Exception:
        return pickle.dumps([_picklable(answer) for answer in answers], pickle.HIGHEST_PROTOCOL)


def _picklable(answer: tuple) -> tuple:
    try:
        pickle.dumps(answer, pickle.HIGHEST_PROTOCOL)
        return answer
    except Exception as error:
        return (*answer[:2], False, f"not classified: its result cannot be sent ({first_line(error)})")


def _send_messages(outbox: queue.SimpleQueue, results: Connection) -> None:
    while (message := outbox.get()) is not None:
        try:
            results.send_bytes(message)
        except OSError:  # the main process has gone
            os._exit(0)


def _become_a_worker(parent: int, inherited: list[Connection]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is for the main process, which stops the workers
    signal.signal(signal.SIGTERM, signal.SIG_DFL)  # not whatever handler the main process installed
    if sys.platform.startswith("linux"):
        try:
            ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
        except (OSError, AttributeError):
            pass
    if os.getppid() != parent:  # the main process ended before prctl took effect
        os._exit(0)
    for connection in inherited:  # copied by fork: this worker keeps only its own ends of its own pipes
        connection.close()
    warnings.simplefilter("ignore")  # workers print nothing: Pillow's warnings about odd files are not our users' business
