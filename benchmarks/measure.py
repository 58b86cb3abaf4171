"""Timing helpers: medians with spread, and whole-process wall time and peak memory."""

import os
import statistics
import subprocess
import time


def spread(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"median": statistics.median(ordered), "p10": pick(0.1), "p90": pick(0.9), "n": len(ordered)}


def latency_us(run, calls: int, warmup: int) -> dict:
    """Per-call time of run() in microseconds."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        run()
        times.append((time.perf_counter_ns() - start) / 1000)
    return spread(times)


def throughput(run, batch: int, repeats: int, warmup: int) -> dict:
    """Images per second of run() on a batch of `batch` images."""
    for _ in range(warmup):
        run()
    rates = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        rates.append(batch / (time.perf_counter() - start))
    return spread(rates)


def process(command: list[str], runs: int, cwd=None) -> dict:
    """Wall time (s) and peak resident memory (MB) of a whole process, each run on its own."""
    walls, peaks = [], []
    for _ in range(runs):
        start = time.perf_counter()
        child = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, cwd=cwd)
        _, status, usage = os.wait4(child.pid, 0)
        walls.append(time.perf_counter() - start)
        child.returncode = os.waitstatus_to_exitcode(status)
        if child.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {child.stderr.read().decode()[-500:]}")
        peaks.append(usage.ru_maxrss / 1024)  # kB on Linux
    return {"wall_s": spread(walls), "peak_rss_mb": spread(peaks)}


def folder_size_mb(path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total / 1e6
