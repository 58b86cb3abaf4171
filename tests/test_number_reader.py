"""The number reader: its CTC reading, its model, and digit-train --task number (checkpoints, resume, DDP)."""

import json
import math
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from lstm_digits.training.checkpoint import CheckpointError, load_checkpoint, load_model
from lstm_digits.training.model import ModelConfig
from lstm_digits.training.ctc_reading import greedy_decode
from lstm_digits.training.number_model import NumberConfig, NumberRNN
from lstm_digits.training.number_strings import BLANK
from lstm_digits.training import tasks
from lstm_digits.training.tasks import NumberBatches, NumberTask
from lstm_digits.training.train import TrainConfig, TrainingInterrupted, train

from number_settings import FEW_EVAL_NUMBERS, TINY, quick

pytest_plugins = ["number_checkpoint"]  # the fixture number_trained


def _scores(columns: list[int]) -> torch.Tensor:
    """[T, 1, 11] log-probabilities whose best class per column is `columns`."""
    scores = torch.full((len(columns), 1, 11), -10.0)
    for t, label in enumerate(columns):
        scores[t, 0, label] = -0.01
    return scores


def test_greedy_reading_merges_a_run_into_one_digit_and_a_blank_separates_two():
    b = BLANK
    read = greedy_decode(_scores([b, 1, 1, b, 1, 3, 3, 3, b, b, 0]), torch.tensor([11]))
    assert read == [[(1, 1, 2), (1, 4, 4), (3, 5, 7), (0, 10, 10)]]
    # Columns past a strip's length are not read.
    assert greedy_decode(_scores([7, b, 2]), torch.tensor([2])) == [[(7, 0, 0)]]
    assert greedy_decode(_scores([b, b]), torch.tensor([2])) == [[]]
    assert greedy_decode(torch.zeros(5, 0, 11), torch.tensor([], dtype=torch.int64)) == []  # no strips


@pytest.mark.parametrize("conv", [False, True])
def test_a_strip_reads_the_same_alone_and_padded_in_a_batch(conv):
    torch.manual_seed(0)
    model = NumberRNN(NumberConfig(layers=2, hidden=24, conv=conv)).eval()
    strips = torch.rand(3, 28, 90)
    widths = torch.tensor([90, 41, 64])
    for index, width in enumerate(widths.tolist()):
        strips[index, :, width:] = 0
    with torch.no_grad():
        batch, lengths = model(strips, widths)
        assert lengths.tolist() == (widths // (2 if conv else 1)).tolist()
        for index, width in enumerate(widths.tolist()):
            alone, _ = model(strips[index : index + 1, :, :width], widths[index : index + 1])
            torch.testing.assert_close(batch[: lengths[index], index], alone[:, 0], atol=1e-5, rtol=1e-5)
            # Without widths (what the exported file runs): the strip alone, unpadded.
            unpadded, _ = model(strips[index : index + 1, :, :width])
            torch.testing.assert_close(unpadded, alone, atol=1e-5, rtol=1e-5)


def test_a_number_run_learns_and_its_checkpoint_reloads(number_trained):
    output, summary = number_trained
    records = [json.loads(line) for line in output.with_suffix(".metrics.jsonl").read_text().splitlines()]
    assert [r["iteration"] for r in records[:-1]] == [30, 60] and records[-1]["task"] == "number"
    # Per-digit CTC loss: a reader that knows nothing pays more than ln 10 per digit.
    assert records[0]["val_loss"] > records[1]["val_loss"], records
    model, checkpoint = load_model(output, task="number")
    assert isinstance(model, NumberRNN) and checkpoint["task"] == "number" and checkpoint["complete"]
    with pytest.raises(CheckpointError, match="a number model's checkpoint, where a digit model's is needed"):
        load_model(output)
    assert summary["title"].startswith("number reader: conv")


def test_an_interrupted_number_run_resumes_to_exactly_the_uninterrupted_result(mnist, tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "EVAL_NUMBERS", FEW_EVAL_NUMBERS)
    full = TrainConfig(output=tmp_path / "full.pt", task="number", model=TINY, recipe=quick(16, 8),
                       progress=False, train_limit=3000)
    train(full, mnist=mnist)

    def interrupt_at_11(iteration):
        if iteration == 11:
            raise KeyboardInterrupt

    broken = replace(full, output=tmp_path / "broken.pt")
    with pytest.raises(TrainingInterrupted):
        train(broken, mnist=mnist, callback=interrupt_at_11)
    # The checkpoint's settings win, the task included.
    train(replace(broken, resume=True, task="digit", model=ModelConfig(hidden=7), seed=9), mnist=mnist)
    resumed, expected = load_checkpoint(tmp_path / "broken.pt"), load_checkpoint(tmp_path / "full.pt")
    assert resumed["complete"] and resumed["task"] == "number" and resumed["iteration"] == 16
    for key, value in expected["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key


def test_a_number_run_that_cannot_learn_is_reported_as_stalled(mnist, tmp_path, monkeypatch):
    monkeypatch.setattr(tasks, "EVAL_NUMBERS", FEW_EVAL_NUMBERS)
    monkeypatch.setattr(tasks, "STALL_GRACE", 100)  # (1,000 steps: the rule is the same, ten times the time)
    frozen = replace(quick(100, 100), lr=0.0, batch_size=2, augment=False)
    summary = train(TrainConfig(output=tmp_path / "m.pt", task="number", model=NumberConfig(layers=1, hidden=4, conv=False), recipe=frozen,
                                progress=False, train_limit=2000), mnist=mnist)
    assert summary["stalled"] and "validation numbers are read right" in summary["stalled"]
    assert summary["val_loss"] > math.log(10)


def test_a_config_of_the_other_task_is_refused():
    with pytest.raises(ValueError, match="a number run takes a NumberConfig, not a ModelConfig"):
        TrainConfig(output="x.pt", task="number", model=ModelConfig())


def _digit_train(*args, **kwargs):
    return subprocess.run([sys.executable, "-m", "lstm_digits.cli.train", *args], capture_output=True, text=True,
                          timeout=600, **kwargs)


@pytest.mark.parametrize("args, message", [
    (["--task", "number", "--recipe", "tutorial"], "the tutorial recipe does not train a number model"),
    (["--task", "number", "--cell", "gru"], "the number reader is a bidirectional LSTM"),
    (["--task", "number", "--unidirectional"], "the number reader is a bidirectional LSTM"),
    (["--conv"], "--conv is for the number reader"),
    (["--recipe", "number"], "the number recipe does not train a digit model"),
])
def test_digit_train_refuses_options_of_the_other_task(tmp_path, args, message):
    result = _digit_train(*args, "--output", str(tmp_path / "x.pt"))
    assert result.returncode == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_processes_under_torchrun_split_each_batch_of_numbers_between_them(mnist):
    """What makes N processes take one process's steps (the DDP run itself: the digit task's test):
    each process's share is its slice of the one-process batch, strips cut to their own widest,
    and CTC's mean over equal shares averages to the whole batch's (a strip reads the same alone
    and in a batch: test_a_strip_reads_the_same_alone_and_padded_in_a_batch)."""
    recipe = quick(10)
    whole = NumberBatches(mnist.train, recipe, 3, 3000, 1, 0).get(7)
    halves = [NumberBatches(mnist.train, recipe, 3, 3000, 2, rank).get(7) for rank in (0, 1)]
    half = recipe.batch_size // 2
    for rank, part in enumerate(halves):
        assert [part.text(i) for i in range(len(part))] == [whole.text(i) for i in range(rank * half, (rank + 1) * half)]
        for i in range(len(part)):
            width = int(part.widths[i])
            assert torch.equal(part.strips[i, :, :width], whole.strips[rank * half + i, :, :width])
    torch.manual_seed(0)
    model = NumberRNN(TINY).eval()
    task = NumberTask()
    with torch.no_grad():
        mean_of_halves = sum(task.loss(model, part, recipe)[0] for part in halves) / 2
        torch.testing.assert_close(mean_of_halves, task.loss(model, whole, recipe)[0], atol=1e-5, rtol=1e-5)
