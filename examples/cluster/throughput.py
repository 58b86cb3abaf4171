"""The throughput in docs/CLUSTER.md: a folder of images (there, the 10,000 MNIST test digits as
PNG files) classified by classify_files.py on a local Ray cluster with 1 and then 2 workers, each
run as a user runs it; and what one worker's classifying costs in CPU time, which the machine's
other work changes far less than the wall-clock time.

    python scripts/mnist_pngs.py --count 10000 /tmp/forms      # archives from $LSTM_DIGITS_DATA
    python examples/cluster/throughput.py /tmp/forms [--runs 2]

Each line says the load average: on a shared machine it matters more than anything else here.
"""

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import classify_files  # noqa: E402  (beside this file)
from lstm_digits.runtime import image_suffixes  # noqa: E402

MODULE = Path(classify_files.__file__)


def load() -> str:
    return "load average %.1f %.1f %.1f" % os.getloadavg()


def cluster_run(folder: Path, workers: int) -> str:
    with tempfile.TemporaryDirectory() as output:
        started = time.perf_counter()
        result = subprocess.run([sys.executable, str(MODULE), output + "/parquet", str(folder), "--workers", str(workers)],
                                capture_output=True, text=True, check=True)
        wall = time.perf_counter() - started
    summary = result.stderr.strip().splitlines()[-1]  # "10,000 files classified into OUTPUT in S s (R files/s ...)"
    return f"{summary.rsplit(' in ', 1)[1]}; {wall:.1f} s with the cluster's start and stop"


def cpu_per_file(files: list[str]) -> str:
    """One worker's work (ClassifyBatch, batch by batch) in this process, in CPU seconds."""
    worker = classify_files.ClassifyBatch()
    batches = [classify_files.file_table(files[i : i + classify_files.BATCH_SIZE])
               for i in range(0, len(files), classify_files.BATCH_SIZE)]
    worker(batches[0])  # (the first batch's one-time costs are part of a worker's start)
    cpu = time.process_time()
    for batch in batches:
        worker(batch)
    cpu = time.process_time() - cpu
    return f"{cpu:.1f} CPU s for {len(files):,} files: {len(files) / cpu:,.0f} files per CPU second"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    files = sorted(str(path) for path in args.folder.rglob("*") if path.suffix.lower() in image_suffixes())
    print(f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, {os.cpu_count()} CPUs, {len(files):,} image files")
    for run in range(1, args.runs + 1):
        for workers in (1, 2):
            print(f"run {run}, {workers} worker{'s' * (workers > 1)}: {cluster_run(args.folder, workers)} ({load()})", flush=True)
    print(f"one worker's classifier: {cpu_per_file(files)} ({load()})")


if __name__ == "__main__":
    main()
