"""Timing helpers: medians with spread, and whole-process wall time and peak memory; the folder of
MNIST PNGs the folder runs read."""

import json
import os
import statistics
import subprocess
import sys
import time


def spread(values: list[float]) -> dict:
    ordered = sorted(values)
    pick = lambda q: ordered[min(len(ordered) - 1, int(q * len(ordered)))]
    return {"median": statistics.median(ordered), "p10": pick(0.1), "p90": pick(0.9), "n": len(ordered)}


def call_seconds(run, calls: int, warmup: int = 0) -> list[float]:
    """Wall time of each of `calls` calls of run(), in seconds, after `warmup` untimed calls."""
    for _ in range(warmup):
        run()
    times = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        run()
        times.append((time.perf_counter_ns() - start) / 1e9)
    return times


def latency_us(run, calls: int, warmup: int) -> dict:
    """Per-call time of run() in microseconds."""
    return spread([t * 1e6 for t in call_seconds(run, calls, warmup)])


def throughput(run, batch: int, repeats: int, warmup: int) -> dict:
    """Images per second of run() on a batch of `batch` images."""
    return spread([batch / t for t in call_seconds(run, repeats, warmup)])


# Runs the command and reports its own wall time and peak RSS. On Linux a child inherits its
# parent's RSS high-water mark through fork, so the command is started from this small launcher,
# not from the benchmark process (which holds torch); the launcher's ~10 MB is then the floor.
_LAUNCHER = """
import json, os, subprocess, sys, time
start = time.perf_counter()
child = subprocess.Popen(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
_, status, usage = os.wait4(child.pid, 0)
wall = time.perf_counter() - start
print(json.dumps({"wall": wall, "rss_kb": usage.ru_maxrss, "code": os.waitstatus_to_exitcode(status),
                  "stderr": child.stderr.read().decode()[-500:]}))
"""


def process(command: list[str], runs: int, cwd=None, env=None) -> dict:
    """Wall time (s) and peak resident memory (MB) of a whole process, each run on its own."""
    walls, peaks = [], []
    for _ in range(runs):
        report = subprocess.run([sys.executable, "-S", "-c", _LAUNCHER, *command], capture_output=True, text=True, cwd=cwd, env=env)
        result = json.loads(report.stdout)
        if result["code"] != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {result['stderr']}")
        walls.append(result["wall"])
        peaks.append(result["rss_kb"] / 1024)  # kB on Linux
    return {"wall_s": spread(walls), "peak_rss_mb": spread(peaks)}


def gemm_gflops(size: int = 2048, repeats: int = 5) -> float:
    """What this CPU does on the friendliest workload: a large float32 matrix product (numpy's BLAS,
    all cores). The practical peak that the model's throughput is compared with."""
    import numpy as np

    a = np.random.default_rng(0).random((size, size), dtype=np.float32)
    best = min(call_seconds(lambda: a @ a, repeats, warmup=1))
    return 2 * size**3 / best / 1e9


def folder_size_mb(path) -> float:
    total = 0
    for root, _, files in os.walk(path):
        for name in files:
            full = os.path.join(root, name)
            if not os.path.islink(full):
                total += os.path.getsize(full)
    return total / 1e6


def write_pngs(images, folder) -> int:
    """The uint8 [N, 28, 28] MNIST digits as folder/00000.png ...: the folder a folder run reads; N."""
    from PIL import Image

    for index, image in enumerate(images):
        Image.fromarray(image).save(f"{folder}/{index:05d}.png")
    return len(images)
