"""What `pip install .` installs: one package, lstm_digits, with the shipped model, and the runtime's
dependencies only."""

import shutil
import subprocess
import sys
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

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


def test_plain_install_requires_only_the_runtime(wheel):
    (metadata,) = [n for n in wheel.namelist() if n.endswith(".dist-info/METADATA")]
    requires = Parser().parsestr(wheel.read(metadata).decode()).get_all("Requires-Dist")
    plain = sorted(r.split(">")[0].split("=")[0].split(";")[0].strip() for r in requires if "extra ==" not in r)
    assert plain == ["click", "numpy", "onnxruntime", "pillow"]
    extras = {r.split("extra ==")[1].strip().strip("'\"") for r in requires if "extra ==" in r}
    assert extras == {"train", "dev"}
    train = sorted(r.split(">")[0].strip() for r in requires if "extra == \"train\"" in r or "extra == 'train'" in r)
    assert {"torch", "torchvision", "onnx", "onnxscript"} <= set(train)
