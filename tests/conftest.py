"""Shared fixtures. Tests that need MNIST read it from $LSTM_DIGITS_DATA and fail, never skip,
when it is missing: a suite that silently skips its real-data tests proves nothing.

The suite runs on pytest-xdist's workers (pyproject's addopts: one per core, at most four), each a
process of its own with its own session fixtures. A test that uses one of the costly session
fixtures in SHARED_FIXTURES is sent to that fixture's worker (xdist's loadgroup), so that each is
built once however many tests use it."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from lstm_digits.training.mnist_files import ENV_VAR, TEST_IMAGES, TEST_LABELS, find_archives

MNIST_FIXTURES = {"data_dir", "mnist", "mnist_test_digits"}
# Session fixtures that take 15-50 s to build -> the worker group of the tests that use them.
SHARED_FIXTURES = {
    "trained": "digit checkpoint", "exported": "digit checkpoint",  # tests/exported_checkpoint.py
    "number_trained": "number checkpoint", "number_exported": "number checkpoint",  # tests/number_checkpoint.py
    "robustness_set": "robustness set", "robustness_predictions": "robustness set",
    "random_model_export": "random models",
}


def pytest_configure(config):
    """A worker's torch runs on one thread: two workers that each ran as many threads as there are
    cores spent their time waiting for each other (the suite took 785 s, against 615 s on one process)."""
    if getattr(config, "workerinput", {}).get("workercount", 1) > 1:
        os.environ["OMP_NUM_THREADS"] = "1"  # read when torch is imported, here and in the commands tests run


def pytest_sessionstart(session):
    """With workers, MNIST is copied and extracted here, once, before they start: two workers
    extracting the same archives into the same folder at once could each read the other's half-written
    file. (Without torch, as in a runtime-only install, the workers read the archives themselves.)"""
    value = os.environ.get(ENV_VAR)
    if not getattr(session.config.option, "numprocesses", None) or hasattr(session.config, "workerinput") or not value:
        return
    try:
        from lstm_digits.training.data import load_mnist
    except ImportError:
        return
    if find_archives(Path(value)) is not None:
        load_mnist(value)


def pytest_itemcollected(item):
    """A test that uses MNIST (through a fixture below) carries the `mnist` marker, so that
    `-m "not mnist"` selects exactly the tests that run without the data; one that uses a fixture
    of SHARED_FIXTURES carries its xdist_group. (Marked as each test is collected: xdist reads the
    groups in its pytest_collection_modifyitems, which may run before this file's.)"""
    names = set(getattr(item, "fixturenames", ()))
    if MNIST_FIXTURES & names:
        item.add_marker(pytest.mark.mnist)
    group = next((SHARED_FIXTURES[name] for name in sorted(names) if name in SHARED_FIXTURES), None)
    if group:
        item.add_marker(pytest.mark.xdist_group(group))


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get(ENV_VAR)
    if not value:
        pytest.fail(f"{ENV_VAR} is not set: point it at a folder with the four MNIST archives")
    if find_archives(Path(value)) is None:
        pytest.fail(f"{ENV_VAR}={value} does not hold the four MNIST archives")
    return Path(value)


@pytest.fixture(scope="session")
def mnist(data_dir):
    from lstm_digits.training.data import load_mnist

    return load_mnist(data_dir)


@pytest.fixture(scope="session")
def mnist_test_digits(data_dir) -> tuple[np.ndarray, np.ndarray]:
    """The MNIST test set as numpy arrays (images uint8 [10000, 28, 28], labels uint8 [10000]), read
    from the archives without torch: the runtime's tests run in a runtime-only install too."""
    folder = find_archives(data_dir)

    def idx(name: str, header: int) -> np.ndarray:  # the IDX format: a big-endian header, then the bytes
        with gzip.open(folder / name) as archive:
            return np.frombuffer(archive.read(), np.uint8, offset=header)

    return idx(TEST_IMAGES, 16).reshape(-1, 28, 28), idx(TEST_LABELS, 8)


@pytest.fixture(scope="session")
def robustness_set(mnist_test_digits) -> list:
    """The robustness set the suite scores, [(encoded bytes, suffix, style, label)] for the first
    robustness.SET_SIZE MNIST test digits, rendered once a session (about 20 s): the shipped
    model's floor (test_shipped_model) and the rejection targets (test_confidence) read it."""
    import robustness

    images, labels = mnist_test_digits
    return robustness.build(images, labels, robustness.SET_SIZE)


@pytest.fixture(scope="session")
def robustness_predictions(robustness_set) -> list:
    """The shipped model's predictions on the robustness set with rejection off, each with the
    image the model saw, made once a session (about 15 s): test_shipped_model scores them, and
    test_confidence applies the rejection rule to what the model saw."""
    from lstm_digits.runtime import DigitClassifier

    with DigitClassifier(min_confidence=0) as classifier:
        return classifier.predict([data for data, *_ in robustness_set])


@pytest.fixture(scope="session")
def random_model_export(data_dir, tmp_path_factory):
    """export(config) -> (folder, report): digit-export's whole export (export_checkpoint) of a
    checkpoint with random weights (seed 0) for this ModelConfig, with fewer parity inputs than a
    real export (48 MNIST test digits and 16 random images; the same tolerance), and its parity
    report. Each config is exported once a session: test_export checks every architecture's export
    and parity, test_model_check the operators and shapes in the files of some of them."""
    exports = {}

    def export(config) -> tuple[Path, dict]:
        if config not in exports:
            from lstm_digits.export.export_checkpoint import export_checkpoint
            from random_checkpoints import random_checkpoint

            folder = tmp_path_factory.mktemp(f"{config.cell}-{config.layers}{'-bi' if config.bidirectional else ''}")
            random_checkpoint(folder / "m.pt", config)
            report = export_checkpoint(folder / "m.pt", folder / "out", data_dir, log=lambda *_: None,
                                       parity_digits=48, random_images=16)
            exports[config] = folder / "out", report
        return exports[config]

    return export


@pytest.fixture
def offline_env(monkeypatch):
    """Any download attempt fails at once, here or on a machine with network."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    return dict(os.environ)
