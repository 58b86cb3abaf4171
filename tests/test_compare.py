"""digit-compare's rule for the chosen model, and its reuse of finished runs."""

import json
from pathlib import Path

import pytest

from lstm_digits.training.checkpoint import CheckpointError
from lstm_digits.training.compare import Run, choose, run_comparison, write_report
from lstm_digits.training.model import ModelConfig


def run(name: str, correct_of_5000: int, parameters: int) -> Run:
    summary = {"val_accuracy": correct_of_5000 / 5000, "parameters": parameters}
    return Run(name, "default", Path(f"{name}.pt"), summary, [])


def test_the_smallest_model_within_five_validation_images_of_the_best_is_chosen():
    best, tied, short = run("big", 4980, 200_000), run("middle", 4975, 130_000), run("small", 4974, 50_000)
    assert choose([best, tied, short]).name == "middle"
    assert choose([best, short]).name == "big"
    # Two runs of the same size: the better one.
    assert choose([run("a", 4976, 10), run("b", 4978, 10)]).name == "b"


@pytest.mark.mnist
def test_finished_runs_are_reused_and_a_run_trained_otherwise_is_refused(data_dir, tmp_path):
    models = {"LSTM 1x8": ModelConfig(cell="lstm", layers=1, hidden=8)}
    runs_dir, logged = tmp_path / "runs", []

    def compare(iterations, seed=0):
        return run_comparison(data_dir, runs_dir, ("default",), iterations, seed, progress=False,
                              log=logged.append, models=models)

    first = compare(iterations=4)
    assert logged[-1].startswith("LSTM 1x8, default recipe: training")
    again = compare(iterations=4)
    assert logged[-1] == f"LSTM 1x8, default recipe: reusing {runs_dir / 'lstm-1x8-default.pt'}"
    assert again[0].summary == first[0].summary
    with pytest.raises(CheckpointError, match="lstm-1x8-default.pt: trained with another recipe"):
        compare(iterations=5)  # a 5-iteration comparison must not take the 4-iteration run as its own
    with pytest.raises(CheckpointError, match="another seed"):
        compare(iterations=4, seed=1)

    report, chosen = write_report(again, tmp_path / "docs", "digit-compare")
    assert report == tmp_path / "docs" / "COMPARISON.md" and chosen.name == "LSTM 1x8"
    assert "| LSTM 1x8 | lstm | 1 | 8 | default |" in report.read_text()
    assert json.loads((tmp_path / "docs" / "comparison.json").read_text())["chosen"]["name"] == "LSTM 1x8"
