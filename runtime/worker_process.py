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

# Messages both ways are frames, each (run, index, length) and `length` bytes: a pickled input to a
# worker, a pickled (ok, result or reason) from it. One message carries as many as are ready.
FRAME = struct.Struct("<qqI")
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
    Answers are sent by a thread, so that the worker goes on reading inputs while the main process
    is busy elsewhere (and never blocks the main process sending it one)."""
    _become_a_worker(parent, inherited)
    answers: queue.SimpleQueue = queue.SimpleQueue()  # as many as the main process lets it hold (workers.py)
    sender = threading.Thread(target=_send_answers, args=(answers, results), daemon=True)
    sender.start()
    while True:
        try:
            message = tasks.recv_bytes()
        except (EOFError, OSError):
            break
        for run_id, index, payload in frames(message):
            try:
                answer = pickle.dumps((True, work(pickle.loads(payload))), pickle.HIGHEST_PROTOCOL)
            except Exception as error:  # `work` handles its own inputs' errors; this is anything else
                answer = pickle.dumps((False, f"not classified: {first_line(error)}"))
            answers.put(frame(run_id, index, answer))
    answers.put(None)
    sender.join()


def _send_answers(answers: queue.SimpleQueue, results: Connection) -> None:
    """The answers in the queue, as many in one message as are ready, until None."""
    done = False
    while not done:
        ready = [answers.get()]
        while ready[-1] is not None and not answers.empty():
            ready.append(answers.get())
        if done := ready[-1] is None:
            ready.pop()
        try:
            if ready:
                results.send_bytes(b"".join(ready))
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
