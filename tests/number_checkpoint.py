"""Fixtures for the tests that need a number reader trained and exported: a pytest plugin, loaded
by `pytest_plugins = ["number_checkpoint"]`, so the reader is trained and exported once a session."""

import pytest

from lstm_digits.training import tasks
from lstm_digits.training.train import TrainConfig, train

from number_settings import FEW_EVAL_NUMBERS, TINY, quick

# export_number's settings here: few numbers for parity, the threshold and the figures.
EXPORT_SETTINGS = {"parity_numbers": 20, "calibration_numbers": 40, "test_per_length": 3}


@pytest.fixture(scope="session")
def number_trained(mnist, tmp_path_factory):
    """(checkpoint, summary): a tiny number reader trained briefly on real MNIST digits, as
    `digit-train --task number` writes it, evaluated twice."""
    folder = tmp_path_factory.mktemp("number")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(tasks, "EVAL_NUMBERS", FEW_EVAL_NUMBERS)
        summary = train(TrainConfig(output=folder / "n.pt", task="number", model=TINY, recipe=quick(60, 30),
                                    progress=False, train_limit=5000), mnist=mnist)
    return folder / "n.pt", summary


@pytest.fixture(scope="session")
def number_exported(number_trained, data_dir, tmp_path_factory):
    """(folder, report): `number_trained` exported, with few numbers for parity, threshold and figures."""
    from lstm_digits.export.export_number import export_number

    folder = tmp_path_factory.mktemp("number_export") / "number"
    report = export_number(number_trained[0], folder, data_dir, log=lambda text: None, **EXPORT_SETTINGS)
    return folder, report
