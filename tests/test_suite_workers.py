"""The suite's own set-up: tests that share a costly session fixture run on one xdist worker
(tests/conftest.py groups them), so that it is built once. pytest 9.2 silently broke that grouping
(pytest-dev/pytest-xdist#1386); this fails if the installed pytest and xdist no longer group."""

import os
import subprocess
import sys

import pytest


@pytest.mark.runtime
def test_tests_of_one_group_run_on_one_worker(tmp_path):
    (tmp_path / "pytest.ini").write_text("[pytest]\n")  # not this repository's settings
    (tmp_path / "test_grouped.py").write_text(
        "import os, pathlib, pytest\n"
        "@pytest.mark.parametrize('index', range(8))\n"
        "@pytest.mark.xdist_group('shared')\n"
        "def test_worker(index):\n"
        "    (pathlib.Path(os.environ['RAN']) / f'ran-{index}').write_text(os.environ['PYTEST_XDIST_WORKER'])\n")
    ran = tmp_path / "ran"
    ran.mkdir()
    result = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-n", "2", "--dist", "loadgroup",
                             "-c", tmp_path / "pytest.ini", tmp_path / "test_grouped.py"],
                            capture_output=True, text=True, timeout=120, env={**{k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}, "RAN": str(ran)})
    assert result.returncode == 0, result.stdout + result.stderr
    workers = [path.read_text() for path in ran.iterdir()]
    assert len(workers) == 8 and len(set(workers)) == 1, workers
