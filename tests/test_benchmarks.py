"""The benchmark script must keep working: run it in --quick mode. No timing is asserted."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_benchmark_runs_every_path_in_quick_mode(data_dir, tmp_path):
    output = tmp_path / "BENCHMARKS.md"
    output.write_text("# Benchmarks\n\nNotes kept by hand.\n\n<!-- measured:start -->\nold\n<!-- measured:end -->\n\nMore notes.\n")
    result = subprocess.run([sys.executable, "-m", "benchmarks", "--quick", "--data-dir", str(data_dir), "--output", str(output)],
                            cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    text = output.read_text()
    assert text.startswith("# Benchmarks\n\nNotes kept by hand.") and text.rstrip().endswith("More notes.")
    assert "\nold\n" not in text and "--quick run" in text
    for backend in ("onnxruntime (lstm_digits.runtime)", "PyTorch eager", "TorchScript", "ExportedProgram"):
        assert f"| {backend} |" in text
    for section in ("## Whole process: one image", "## A folder of MNIST test PNGs", "## int8", "## Physical limit",
                    "## number.onnx", "## Goals"):
        assert section in text
    assert "`digit-classify`" in text and "torch_classify.py" in text


def test_model_size_benchmark_runs_in_quick_mode():
    result = subprocess.run([sys.executable, "-m", "benchmarks.sizes", "--quick"], cwd=ROOT, capture_output=True,
                            text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    rows = [line for line in result.stdout.splitlines() if line.startswith("| 1 x 64 |")]
    assert len(rows) == 1 and rows[0].count("µs") == 5 and " vs " in rows[0], result.stdout
