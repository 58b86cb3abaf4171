"""digit-export from a wheel, not from this checkout: what the export reads besides the checkpoint
and MNIST (the pipeline's test inputs, from samples/) is installed with the package."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package built as a wheel from a clean copy of the checkout and installed into a folder of
    its own (no dependencies: this Python's are used)."""
    source = tmp_path_factory.mktemp("source") / "lstm-digits"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "runs", "data", "*.egg-info", ".pytest_cache", ".ci-cache", "__pycache__"))
    wheels, target = tmp_path_factory.mktemp("wheel"), tmp_path_factory.mktemp("site")
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "--quiet"]
    subprocess.run([*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", wheels, source], check=True, timeout=300)
    (wheel,) = wheels.glob("lstm_digits-*.whl")
    subprocess.run([*pip, "install", "--no-deps", "--no-index", "--target", target, wheel], check=True, timeout=300)
    shutil.rmtree(source)  # nothing of the checkout is left to read by accident
    return target


def test_the_pipeline_test_inputs_are_read_from_the_installed_package(installed, tmp_path):
    script = ("import lstm_digits\n"
              "from lstm_digits.export.pipeline_test_data import inputs\n"
              "print(lstm_digits.__file__)\n"
              "print(*(f'{name} {pixels.shape}' for name, pixels in inputs().items()), sep='\\n')\n")
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "PYTHONPATH": str(installed)})
    assert result.returncode == 0, result.stderr
    where, *shapes = result.stdout.splitlines()
    assert Path(where).parent == installed / "lstm_digits"
    assert [line.split()[0] for line in shapes] == ["photo", "drawing", "blank"]
