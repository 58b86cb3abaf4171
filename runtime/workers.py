"""Worker processes that run one function over many inputs beside the main process (for the
classifier: decoding and preprocessing), giving the results in input order.

- Bounded: at most `read_ahead` inputs are taken from the caller's iterable beyond the result it
  is waiting for, and a worker holds at most HELD_PER_WORKER of them. Memory does not grow with the
  number of inputs, nor with how slowly the results are read: inputs are read as results are.
- A worker that dies (a decoder crash, the OOM killer) costs only the inputs it held: a new worker
  takes its place for the rest of the run, and each input the dead one held is tried once more,
  alone in a worker. If that worker dies too, the input's result is `failed(one-line reason)`.
- close() kills the workers at once (SIGKILL), without finishing queued work; the pool stays
  usable (new workers start when work comes; inputs the killed ones held are sent again). An
  exception that interrupts the pool's own work (KeyboardInterrupt) does the same before it goes on.
- Workers never outlive the main process. They ignore SIGINT: Ctrl-C in a terminal signals the
  whole foreground process group, and the main process alone decides what happens (its
  KeyboardInterrupt leaving `with DigitClassifier(...)` calls close()). On Linux a worker is
  SIGKILLed when the thread that started it ends (PR_SET_PDEATHSIG): a SIGKILLed main process
  leaves none behind, and a pool used from a thread that then ends loses its workers, which are
  replaced like any that die. Everywhere, a worker exits when its pipe from the main process closes.
"""

import multiprocessing
import os
import pickle
import selectors
import signal
import threading
import warnings
import weakref
from collections import deque
from dataclasses import dataclass, field
from itertools import count
from multiprocessing.connection import Connection
from typing import Callable, Iterable, Iterator

from .worker_process import frame, serve

HELD_PER_WORKER = 64  # inputs sent to a worker ahead of its answers; it gets more when it holds half
READ_AHEAD_PER_WORKER = 128  # inputs read beyond the next result: held by workers, or answered out of order
_DONE = object()


def read_ahead(workers: int) -> int:
    """How many inputs a pool of `workers` reads at most beyond the result its caller waits for."""
    return READ_AHEAD_PER_WORKER * workers


@dataclass(eq=False)
class _Worker:
    process: multiprocessing.process.BaseProcess
    tasks: Connection  # main -> worker: frames of inputs (worker_process.py)
    results: Connection  # worker -> main: lists of answers
    held: deque = field(default_factory=deque)  # (run, index) sent and not yet answered, in order
    alone: bool = False  # holds one input that is being tried again, and nothing else
    stopped: bool = False  # killed by close(): what it held was not its fault


@dataclass(eq=False)
class _Run:
    """One map() call: its inputs, and where each one is."""

    inputs: Iterator
    read: int = 0  # inputs taken from `inputs`: the next one's index
    given: int = 0  # results given to the caller: the next one's index
    exhausted: bool = False
    pending: dict = field(default_factory=dict)  # index -> input, until its result is in
    unsent: deque = field(default_factory=deque)  # indices read and not yet sent to a worker
    waiting: deque = field(default_factory=deque)  # indices to send again (their worker was stopped)
    retries: deque = field(default_factory=deque)  # indices to try once more, alone (their worker died)
    retried: set = field(default_factory=set)
    results: dict = field(default_factory=dict)  # index -> result, until given


class WorkerPool:
    """`workers` processes applying `work` (a picklable function of one input) to inputs; an input
    whose workers die twice gets `failed(reason)` instead. Thread-safe; see the module's docstring."""

    def __init__(self, work: Callable, workers: int, failed: Callable[[str], object]):
        self._work, self._size, self._failed = work, workers, failed
        self.read_ahead = read_ahead(workers)
        # fork where there is one: workers start in milliseconds and need no re-import
        self._forks = "fork" in multiprocessing.get_all_start_methods()
        self._context = multiprocessing.get_context("fork" if self._forks else None)
        self._workers: list[_Worker] = []
        self._runs: dict[int, _Run] = {}
        self._run_ids = count()
        self._lock = threading.Lock()
        self._selector = selectors.DefaultSelector()  # the workers' answers, and their ends
        weakref.finalize(self, _kill, self._workers)  # a pool dropped without close()

    def map(self, inputs: Iterable) -> Iterator:
        """`work(input)` per input, in order, reading the inputs as the results are read."""
        run_id, run = next(self._run_ids), _Run(iter(inputs))
        self._runs[run_id] = run
        try:
            while (result := self._next_result(run_id, run)) is not _DONE:
                yield result
        finally:
            del self._runs[run_id]  # answers still on their way for it are dropped when they come

    def close(self) -> None:
        """Kill the workers now, without finishing their work, and wait for them to end."""
        workers = list(self._workers)
        for worker in workers:
            worker.stopped = True
            _kill_process(worker.process)
        for worker in workers:
            try:
                worker.process.join()
            except ValueError:  # taken off and closed meanwhile by a map() in another thread
                pass
        if self._lock.acquire(blocking=False):  # else a map() is running, and takes them off itself
            try:
                for worker in workers:
                    if worker in self._workers:
                        self._reap(worker)
            finally:
                self._lock.release()

    def _read(self, run: _Run) -> None:
        """Take inputs from the caller's iterable up to the read-ahead. Outside the lock: the
        iterable may be anything, the results of another map() on this pool included."""
        while not run.exhausted and run.read - run.given < self.read_ahead:
            try:
                run.pending[run.read] = next(run.inputs)
            except StopIteration:
                run.exhausted = True
                return
            run.unsent.append(run.read)
            run.read += 1

    def _next_result(self, run_id: int, run: _Run):
        while True:
            self._read(run)
            with self._lock:
                try:
                    self._send_work(run_id, run)
                    if run.given not in run.results and run.given < run.read:
                        self._receive()
                except BaseException:  # KeyboardInterrupt: the workers' state is unknown, so they go
                    self._stop_all()
                    raise
                if run.given in run.results:
                    run.given += 1
                    return run.results.pop(run.given - 1)
                if run.exhausted and run.given == run.read:
                    return _DONE

    # --- everything below runs under self._lock ---

    def _send_work(self, run_id: int, run: _Run) -> None:
        """Inputs to try again go first, each alone in a worker that holds nothing (and no new work
        goes out until they have gone); then the run's inputs, as far as the read-ahead allows."""
        while run.retries:
            worker = self._free_worker(idle=True)
            if worker is None:
                if not self._workers:  # no worker can be started: it cannot be tried again
                    index = run.retries.popleft()
                    run.results[index] = self._failed("not classified: its worker process died and no other could be started")
                    continue
                return
            worker.alone = True
            self._send(worker, run_id, run, [run.retries.popleft()])
        while run.waiting or run.unsent:
            worker = self._free_worker()
            if worker is None and self._workers:
                return
            if worker is None:  # no worker can be started: this process does the work itself
                index = self._next_index(run)
                run.results[index] = self._work(run.pending.pop(index))
                continue
            # an equal share of what is held and waiting for each worker, up to HELD_PER_WORKER
            ready = len(run.waiting) + len(run.unsent) + sum(len(w.held) for w in self._workers)
            share = min(HELD_PER_WORKER, -(-ready // self._size)) - len(worker.held)
            if share <= 0:
                return
            self._send(worker, run_id, run, [self._next_index(run) for _ in range(min(share, len(run.waiting) + len(run.unsent)))])

    def _next_index(self, run: _Run) -> int | None:
        for indices in (run.waiting, run.unsent):
            if indices:
                return indices.popleft()
        return None

    def _free_worker(self, idle: bool = False) -> _Worker | None:
        """A worker that holds half its share or less (nothing, if `idle`), started if need be."""
        if len(self._workers) < self._size and (worker := self._start_worker()) is not None:
            return worker
        room = [w for w in self._workers if not w.alone and len(w.held) <= (0 if idle else HELD_PER_WORKER // 2)]
        return min(room, key=lambda w: len(w.held), default=None)

    def _start_worker(self) -> _Worker | None:
        tasks_out, tasks_in = self._context.Pipe(duplex=False)  # (reading end, writing end)
        results_out, results_in = self._context.Pipe(duplex=False)
        # what a forked worker must not keep: the main process's ends of its pipes and the others' pipes
        inherited = [tasks_in, results_out, *(c for w in self._workers for c in (w.tasks, w.results))] if self._forks else []
        process = self._context.Process(target=serve, args=(tasks_out, results_in, self._work, os.getpid(), inherited),
                                        name="lstm-digits worker", daemon=True)
        try:
            with warnings.catch_warnings():  # Python 3.12+ warns of fork in a process with threads (onnxruntime's)
                warnings.filterwarnings("ignore", "This process .* is multi-threaded", DeprecationWarning)
                process.start()
        except OSError:  # out of processes or memory: the run goes on with the workers it has
            for end in (tasks_out, tasks_in, results_out, results_in):
                end.close()
            return None
        tasks_out.close()
        results_in.close()
        worker = _Worker(process, tasks_in, results_out)
        self._workers.append(worker)
        self._selector.register(worker.results, selectors.EVENT_READ, (worker, "answers"))
        self._selector.register(worker.process.sentinel, selectors.EVENT_READ, (worker, "ended"))
        return worker

    def _send(self, worker: _Worker, run_id: int, run: _Run, indices: list[int]) -> None:
        frames = []
        for index in indices:
            try:
                frames.append(frame(run_id, index, pickle.dumps(run.pending[index], pickle.HIGHEST_PROTOCOL)))
            except Exception:  # a thing that cannot be sent to a process: this process looks at it
                run.results[index] = self._work(run.pending.pop(index))
                continue
            worker.held.append((run_id, index))
        try:
            if frames:
                worker.tasks.send_bytes(b"".join(frames))
        except OSError:  # it has ended: what it held is tried again
            self._reap(worker)

    def _receive(self) -> None:
        """Wait until a worker answers or ends, and take in what it says."""
        if not self._workers:
            return
        for key, _ in self._selector.select():
            worker, event = key.data
            if worker in self._workers and (event == "ended" or not self._take_answers(worker)):
                self._reap(worker)

    def _take_answers(self, worker: _Worker) -> bool:
        """One message of answers from the worker; False if its pipe has closed (it has ended)."""
        try:
            message = worker.results.recv_bytes()
        except (EOFError, OSError):
            return False
        for run_id, index, ok, value in pickle.loads(message):
            worker.held.popleft()  # (run_id, index): a worker answers in the order it was given
            worker.alone = False
            if (run := self._runs.get(run_id)) is not None:
                run.pending.pop(index)
                run.results[index] = value if ok else self._failed(value)
        return True

    def _reap(self, worker: _Worker) -> None:
        """A worker that has ended (or is ending): its last answers are taken in, and each input it
        still held is sent again (it was stopped), tried once more alone, or failed (the second death)."""
        self._workers.remove(worker)
        self._selector.unregister(worker.results)
        self._selector.unregister(worker.process.sentinel)
        while self._take_answers(worker):  # until the end of the pipe: the worker has ended, or will
            pass
        worker.process.join()
        reason = _cause_of_death(worker.process.exitcode)
        for run_id, index in worker.held:
            if (run := self._runs.get(run_id)) is None:
                continue
            if worker.stopped:
                run.waiting = deque(sorted([*run.waiting, index]))
            elif index in run.retried:
                run.pending.pop(index)
                run.results[index] = self._failed(f"not classified: its worker process died twice while working on it ({reason})")
            else:
                run.retried.add(index)
                run.retries.append(index)
        for end in (worker.tasks, worker.results):
            end.close()
        worker.process.close()

    def _stop_all(self) -> None:
        for worker in self._workers:
            worker.stopped = True
            _kill_process(worker.process)
        for worker in list(self._workers):
            self._reap(worker)


def _cause_of_death(exitcode: int | None) -> str:
    if exitcode is not None and exitcode < 0:
        name = signal.Signals(-exitcode).name if -exitcode in signal.valid_signals() else f"signal {-exitcode}"
        return f"killed by {name}{', perhaps for lack of memory' if -exitcode == signal.SIGKILL else ''}"
    return f"exit status {exitcode}"


def _kill_process(process: multiprocessing.process.BaseProcess) -> None:
    try:
        process.kill()
    except (OSError, ValueError):  # gone already, or closed
        pass


def _kill(workers: list[_Worker]) -> None:
    for worker in workers:
        _kill_process(worker.process)
