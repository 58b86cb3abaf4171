"""Shared fixtures. Tests that need MNIST read it from $LSTM_DIGITS_DATA and fail, never skip,
when it is missing: a suite that silently skips its real-data tests proves nothing."""

import os
from pathlib import Path

import pytest

ARCHIVES = (
    "train-images-idx3-ubyte.gz",
    "train-labels-idx1-ubyte.gz",
    "t10k-images-idx3-ubyte.gz",
    "t10k-labels-idx1-ubyte.gz",
)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    value = os.environ.get("LSTM_DIGITS_DATA")
    if not value:
        pytest.fail("LSTM_DIGITS_DATA is not set: point it at a folder with the four MNIST archives")
    path = Path(value)
    if not any(all((folder / name).is_file() for name in ARCHIVES) for folder in (path, path / "MNIST" / "raw")):
        pytest.fail(f"LSTM_DIGITS_DATA={value} does not hold the four MNIST archives")
    return path


@pytest.fixture(scope="session")
def mnist(data_dir):
    from lstm_digits.training.data import load_mnist

    return load_mnist(data_dir)


@pytest.fixture
def offline_env(monkeypatch):
    """Any download attempt fails at once, here or on a machine with network."""
    for name in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY"):
        monkeypatch.setenv(name, "http://127.0.0.1:9")
    monkeypatch.delenv("no_proxy", raising=False)
    monkeypatch.delenv("NO_PROXY", raising=False)
    return dict(os.environ)
