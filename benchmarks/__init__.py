"""Benchmarks: `python -m benchmarks` measures the runtime against PyTorch and writes docs/BENCHMARKS.md."""
