"""Issue 22, item 13: onnxruntime's telemetry stays off. onnxruntime 1.32 on Linux (and
onnxruntime-node) write a persistent device id and a ProcessInfo event under
~/.cache/Microsoft/DeveloperTools/.onnxruntime/ unless ORT_DISABLE_TELEMETRY is set before it loads;
importing lstm_digits sets it, unless the user has set it themselves. Each run here gets a fresh,
empty home folder and must leave it empty. (The Node.js example is checked by scripts/check_node.sh,
which installs its dependencies.)"""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from test_classify_cli import SAMPLES

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

TELEMETRY_FOLDER = Path(".cache/Microsoft/DeveloperTools/.onnxruntime")  # under the home folder
# onnxruntime writes no telemetry where these say it runs in CI (CI=true, as .ci/run has it): the
# runs below leave them out, or their "writes nothing" would hold in CI even without our setting.
CI_MARKERS = ("CI", "TF_BUILD", "GITHUB_ACTIONS")


def run_with_fresh_home(home: Path, arguments: list, telemetry_setting: str | None = None) -> list[Path]:
    """Run `python ARGUMENTS` with HOME an empty folder; return the files it left there."""
    home.mkdir()
    environment = {**os.environ, "HOME": str(home)}
    environment.pop("ORT_DISABLE_TELEMETRY", None)
    environment.pop("XDG_CACHE_HOME", None)
    for name in CI_MARKERS:
        environment.pop(name, None)
    if telemetry_setting is not None:
        environment["ORT_DISABLE_TELEMETRY"] = telemetry_setting
    result = subprocess.run([sys.executable, *arguments], capture_output=True, env=environment, timeout=120)
    assert result.returncode == 0, result.stderr.decode()
    return sorted(path.relative_to(home) for path in home.rglob("*") if path.is_file())


def test_digit_classify_writes_nothing_in_the_home_folder(tmp_path):
    left = run_with_fresh_home(tmp_path / "home", ["-m", "lstm_digits.cli.classify", SAMPLES[0]])
    assert left == []


def test_the_python_api_writes_nothing_in_the_home_folder(tmp_path):
    program = f"from lstm_digits.runtime import DigitClassifier; print(DigitClassifier().predict({str(SAMPLES[0])!r}).digit)"
    assert run_with_fresh_home(tmp_path / "home", ["-c", program]) == []


def test_a_user_who_sets_the_variable_keeps_their_choice(tmp_path):
    # ORT_DISABLE_TELEMETRY=0 is how a user opts in: onnxruntime then writes its device id, which
    # also shows that the tests above would see it.
    program = "import os, lstm_digits.runtime; print(os.environ['ORT_DISABLE_TELEMETRY'])"
    left = run_with_fresh_home(tmp_path / "home", ["-c", program], telemetry_setting="0")
    import onnxruntime

    # onnxruntime 1.23 (the newest for Python 3.10) writes no telemetry files at all; 1.30 (Node) and
    # 1.32 do, which is what the tests above guard against.
    if tuple(int(part) for part in onnxruntime.__version__.split(".")[:2]) >= (1, 30):
        assert TELEMETRY_FOLDER / "deviceid" in left
    else:
        assert left == []
