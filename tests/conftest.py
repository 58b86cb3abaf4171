"""Shared fixtures. Tests that need MNIST read it from $LSTM_DIGITS_DATA and fail, never skip,
when it is missing: a suite that silently skips its real-data tests proves nothing."""

import gzip
import os
from pathlib import Path

import numpy as np
import pytest

from lstm_digits.training.mnist_files import ENV_VAR, TEST_IMAGES, TEST_LABELS, find_archives

MNIST_FIXTURES = {"data_dir", "mnist", "mnist_test_digits"}


def pytest_collection_modifyitems(items):
    """A test that uses MNIST (through a fixture below) carries the `mnist` marker, so that
    `-m "not mnist"` selects exactly the tests that run without the data."""
    for item in items:
        if MNIST_FIXTURES & set(item.fixturenames):
            item.add_marker(pytest.mark.mnist)


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
