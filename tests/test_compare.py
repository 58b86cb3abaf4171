"""digit-compare's rule for the chosen model, and its reuse of finished runs."""

import json
from pathlib import Path

import pytest

from lstm_digits.training.checkpoint import CheckpointError
from lstm_digits.training.compare import Run, choose, previous_runs, run_comparison, write_report
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

    report, chosen = write_report(again, tmp_path / "docs")
    assert report == tmp_path / "docs" / "COMPARISON.md" and chosen.name == "LSTM 1x8"
    assert "| LSTM 1x8 | lstm | 1 | 8 | default | 0.003 |" in report.read_text()
    assert json.loads((tmp_path / "docs" / "comparison.json").read_text())["chosen"]["name"] == "LSTM 1x8"


def test_one_recipe_is_rerun_alone_and_the_other_rows_are_kept_with_their_dates(data_dir, tmp_path):
    models = {"RNN A": ModelConfig(cell="rnn-relu", layers=1, hidden=8)}
    docs = tmp_path / "docs"

    def compare(recipes, command):
        runs = run_comparison(data_dir, tmp_path / "runs", recipes, 4, progress=False, log=lambda _: None,
                              models=models, command=command)
        return write_report(runs + previous_runs(docs, recipes), docs)

    compare(("default",), "digit-compare --recipes default")
    saved = json.loads((docs / "comparison.json").read_text())["runs"]
    saved[0]["measured"]["date"] = "2000-01-02"  # as if measured long ago
    (docs / "comparison.json").write_text(json.dumps({"runs": saved}))

    report, _ = compare(("seed",), "digit-compare --recipes seed")  # the tutorial recipe's old name
    text = report.read_text()
    # The tutorial's own learning rate for a ReLU RNN, and the tutorial's figure beside ours.
    assert "| RNN A | rnn-relu | 1 | 8 | tutorial | 0.01 |" in text and "| ~92.2% |" in text
    default_row = next(line for line in text.splitlines() if "| default |" in line)
    assert default_row.endswith("| 2000-01-02 |")
    assert "- `default` rows: 2000-01-02" in text and "with `digit-compare --recipes default`" in text
    assert "- `tutorial` rows: " in text and "with `digit-compare --recipes seed`" in text
    assert [r["recipe"] for r in json.loads((docs / "comparison.json").read_text())["runs"]] == ["tutorial", "default"]
