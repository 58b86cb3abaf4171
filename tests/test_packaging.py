"""What `pip install .` installs: one package, lstm_digits, with the shipped model, and the runtime's
dependencies only."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    # Build from a clean copy: an in-place build would reuse a stale build/ folder.
    source = tmp_path_factory.mktemp("source") / "lstm-digits"
    shutil.copytree(ROOT, source, ignore=shutil.ignore_patterns(
        ".git", ".venv", "build", "dist", "runs", "data", "*.egg-info", ".pytest_cache", ".ci-cache", "__pycache__"))
    folder = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--quiet",
                    "-w", str(folder), str(source)], check=True, timeout=300)
    (path,) = folder.glob("lstm_digits-*.whl")
    return zipfile.ZipFile(path)


def test_wheel_installs_only_the_lstm_digits_package(wheel):
    top_level = {name.split("/")[0] for name in wheel.namelist() if not name.split("/")[0].endswith(".dist-info")}
    assert top_level == {"lstm_digits"}
    for stage in ("training", "export", "runtime", "cli", "models"):
        assert f"lstm_digits/{stage}/__init__.py" in wheel.namelist()
    assert not any("/tests/" in name or "/benchmarks/" in name for name in wheel.namelist())


def test_wheel_carries_the_shipped_model(wheel):
    names = set(wheel.namelist())
    for file in ("model.onnx", "model.int8.onnx", "MODEL_CARD.md", "parity.json", "model.pt2", "model.torchscript.pt",
                 "test_data_set_0/input_0.pb", "test_data_set_0/output_0.pb", "test_data_set_0/output_1.pb"):
        assert f"lstm_digits/models/default/{file}" in names, file
    assert wheel.read("lstm_digits/models/default/model.onnx") == (ROOT / "models/default/model.onnx").read_bytes()
    for file in ("number.onnx", "MODEL_CARD.md", "parity.json", "test_data_set_0/input_0.pb"):  # the number reader
        assert wheel.read(f"lstm_digits/models/number/{file}") == (ROOT / "models/number" / file).read_bytes(), file
    for graph in ("mnist_form.onnx", "mnist_form.ort"):  # the preprocessing, and the copy the runtime opens
        assert wheel.read(f"lstm_digits/preprocessing/{graph}") == (ROOT / "preprocessing" / graph).read_bytes(), graph


def test_plain_install_requires_only_the_runtime(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = [Requirement(r) for r in Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist")]

    def names(extra: str | None) -> set[str]:
        """The requirements a plain install (extra None) or one with this extra asks for, beyond the plain ones."""
        plain = {r.name for r in requires if r.marker is None}
        if extra is None:
            return plain
        return {r.name for r in requires if r.marker is not None and r.marker.evaluate({"extra": extra})} - plain

    assert names(None) == {"click", "numpy", "onnxruntime", "pillow"}
    assert {"torch", "torchvision", "onnx", "onnxscript"} <= names("train")
    assert "torch" not in names("nonexistent")
    assert {"pytest", "hypothesis", "onnx"} <= names("test") and "torch" not in names("test")  # the runtime's tests
    assert {"packaging", "lstm-digits"} <= names("dev")  # lstm-digits[train] and [test]: both extras too
    assert {"train", "test"} <= {extra for r in requires if r.name == "lstm-digits" for extra in r.extras}
