"""Fixtures for the tests that need a trained checkpoint exported by `digit-export`: a pytest plugin,
loaded by `pytest_plugins = ["exported_checkpoint"]` in each test file that uses them, so that the
checkpoint is trained and exported once in a session however many files use it."""

from dataclasses import replace

import pytest

from lstm_digits.training.model import ModelConfig
from lstm_digits.training.recipes import DEFAULT
from lstm_digits.training.train import TrainConfig, train

from export_cli import run_export_cli


@pytest.fixture(scope="session")
def trained(mnist, tmp_path_factory):
    """A small LSTM trained briefly on real MNIST: a checkpoint as digit-train writes it."""
    folder = tmp_path_factory.mktemp("trained")
    recipe = replace(DEFAULT, iterations=400, eval_every=200)
    train(TrainConfig(output=folder / "m.pt", model=ModelConfig(hidden=64), recipe=recipe, progress=False,
                      train_limit=20_000), mnist=mnist)
    return folder / "m.pt"


@pytest.fixture(scope="session")
def exported(trained, data_dir, tmp_path_factory):
    """(folder, completed process): `trained` exported by digit-export over a folder holding an old file."""
    out = tmp_path_factory.mktemp("export") / "model"
    out.mkdir()
    (out / "stale.txt").write_text("from an earlier export")
    result = run_export_cli(trained, "--output-dir", out, "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    return out, result
