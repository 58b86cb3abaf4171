import json
import subprocess
import sys
from dataclasses import replace

import pytest
import torch

from lstm_digits.training.checkpoint import CheckpointError, load_checkpoint, load_model, save_checkpoint
from lstm_digits.training.model import DigitRNN, ModelConfig
from lstm_digits.training.recipes import DEFAULT, TUTORIAL, Recipe, get_recipe
from lstm_digits.training.tasks import DigitTask
from lstm_digits.training.train import TrainConfig, TrainingInterrupted, metrics_path, train

evaluate = DigitTask().evaluate

from torchrun_runs import assert_two_processes_train_as_one

pytest_plugins = ["exported_checkpoint"]  # the fixture trained: a short default run, shared with test_export

SMALL = ModelConfig(cell="lstm", layers=1, hidden=32)


def quick(recipe, iterations, eval_every=None):
    return replace(recipe, iterations=iterations, eval_every=eval_every or iterations)


def test_tutorial_recipe_uses_the_tutorials_learning_rate_for_each_cell():
    assert (TUTORIAL.optimizer, TUTORIAL.batch_size, TUTORIAL.iterations, TUTORIAL.eval_every) == ("sgd", 100, 3000, 500)
    assert not TUTORIAL.augment and TUTORIAL.grad_clip is None and TUTORIAL.weight_decay == 0
    # The tutorial's RNN page: models A and B (ReLU) at 0.01, model C (tanh) at 0.1; its LSTM page: 0.1.
    lr = {cell: get_recipe("tutorial", cell=cell).lr for cell in ("rnn-relu", "rnn-tanh", "lstm")}
    assert lr == {"rnn-relu": 0.01, "rnn-tanh": 0.1, "lstm": 0.1}
    relu = get_recipe("tutorial", cell="rnn-relu")
    assert relu.lr_at(0) == relu.lr_at(2999) == 0.01
    assert get_recipe("seed", cell="rnn-relu") == relu  # the recipe's first name still works


@pytest.mark.parametrize("field, value", [("optimizer", "adam"), ("optimizer", "SGD"), ("schedule", "cosin")])
def test_a_misspelt_optimizer_or_schedule_is_an_error(field, value):
    with pytest.raises(ValueError, match=f"{field} must be one of .* not '{value}'"):
        Recipe(**{**DEFAULT.to_dict(), field: value})


def test_iterations_override_keeps_the_rest_of_the_recipe():
    recipe = get_recipe("default", 50)
    assert recipe.iterations == 50 and recipe.eval_every == 50
    assert replace(recipe, iterations=DEFAULT.iterations, eval_every=DEFAULT.eval_every) == DEFAULT


def test_short_run_on_real_mnist_beats_90_percent_on_1000_test_images(trained, mnist):
    """The run is the fixture `trained` (tests/exported_checkpoint.py), trained once for this test
    and for the export's tests."""
    model, checkpoint = load_model(trained)
    assert Recipe(**checkpoint["recipe"]) == quick(DEFAULT, 400, 200) and checkpoint["model_config"]["layers"] == 1
    accuracy, _ = evaluate(model, mnist.test.subset(1000))
    assert accuracy > 0.90, accuracy
    summary = checkpoint["metrics"][-1]
    assert summary["final"] and summary["stalled"] is None and checkpoint["complete"]


def test_checkpoint_holds_everything_and_round_trips_with_weights_only(mnist, tmp_path):
    output = tmp_path / "m.pt"
    summary = train(TrainConfig(output=output, model=SMALL, recipe=quick(TUTORIAL, 30, 15), progress=False), mnist=mnist)
    checkpoint = torch.load(output, weights_only=True)  # no pickled code anywhere
    assert checkpoint["model_config"] == SMALL.to_dict()
    assert checkpoint["recipe"]["name"] == "tutorial" and checkpoint["recipe"]["iterations"] == 30
    assert checkpoint["versions"]["torch"] == str(torch.__version__)
    assert checkpoint["metrics"][-1]["test_accuracy"] == summary["test_accuracy"]

    # The reloaded weights are the final ones: they reproduce the test accuracy recorded at the end.
    model, _ = load_model(output)
    assert evaluate(model, mnist.test)[0] == summary["test_accuracy"]

    lines = metrics_path(output).read_text().splitlines()
    records = [json.loads(line) for line in lines]
    assert [r["iteration"] for r in records[:-1]] == [15, 30] and records[-1]["final"]


def test_same_seed_gives_the_same_weights_and_metrics(mnist, tmp_path):
    config = TrainConfig(output=tmp_path / "a.pt", model=SMALL, recipe=quick(DEFAULT, 30), progress=False, seed=3)
    first = train(config, mnist=mnist)
    second = train(replace(config, output=tmp_path / "b.pt"), mnist=mnist)
    a, b = load_checkpoint(tmp_path / "a.pt"), load_checkpoint(tmp_path / "b.pt")
    assert all(torch.equal(a["state_dict"][k], b["state_dict"][k]) for k in a["state_dict"])
    assert (first["val_accuracy"], first["test_accuracy"]) == (second["val_accuracy"], second["test_accuracy"])
    other = train(replace(config, output=tmp_path / "c.pt", seed=4), mnist=mnist)
    assert not torch.equal(load_checkpoint(tmp_path / "c.pt")["state_dict"]["head.weight"], a["state_dict"]["head.weight"])
    assert other["seed"] == 4


def test_an_interrupted_run_resumes_to_exactly_the_uninterrupted_result(mnist, tmp_path):
    recipe = quick(DEFAULT, 40, 20)
    full = TrainConfig(output=tmp_path / "full.pt", model=SMALL, recipe=recipe, progress=False)
    train(full, mnist=mnist)

    def interrupt_at_25(iteration):
        if iteration == 25:
            raise KeyboardInterrupt

    broken = replace(full, output=tmp_path / "broken.pt")
    with pytest.raises(TrainingInterrupted, match="continue with --resume"):
        train(broken, mnist=mnist, callback=interrupt_at_25)
    saved = load_checkpoint(tmp_path / "broken.pt")
    assert saved["iteration"] == 25 and not saved["complete"]

    # Resume with different options on purpose: the checkpoint's own settings win.
    train(replace(broken, resume=True, model=ModelConfig(hidden=7), seed=99), mnist=mnist)
    resumed, expected = load_checkpoint(tmp_path / "broken.pt"), load_checkpoint(tmp_path / "full.pt")
    assert resumed["complete"] and resumed["iteration"] == 40
    for key, value in expected["state_dict"].items():
        assert torch.equal(resumed["state_dict"][key], value), key


def test_checkpoint_write_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "m.pt"
    save_checkpoint(path, {"model_config": {}, "recipe": {}, "state_dict": {}, "metrics": [1], "versions": {}})

    def crash(obj, handle):
        handle.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", crash)
    with pytest.raises(OSError):
        save_checkpoint(path, {"model_config": {}, "recipe": {}, "state_dict": {}, "metrics": [2], "versions": {}})
    assert load_checkpoint(path)["metrics"] == [1]
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]


@pytest.mark.parametrize(
    "content, problem",
    [(None, "no such file"), (b"", "not a readable checkpoint"), (b"hello, not torch", "not a readable checkpoint")],
)
def test_bad_checkpoint_files_give_one_clear_error(tmp_path, content, problem):
    path = tmp_path / "bad.pt"
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(CheckpointError, match=problem) as error:
        load_checkpoint(path)
    assert str(path) in str(error.value) and "\n" not in str(error.value)


def test_a_torch_file_that_is_not_our_checkpoint_is_named_as_such(tmp_path):
    path = tmp_path / "weights.pt"
    torch.save({"weight": torch.zeros(3)}, path)
    with pytest.raises(CheckpointError, match="not an lstm-digits checkpoint"):
        load_checkpoint(path)


def test_a_run_that_cannot_learn_is_reported_as_stalled(mnist, tmp_path):
    frozen = replace(TUTORIAL, lr=0.0, iterations=1000, eval_every=500)
    summary = train(TrainConfig(output=tmp_path / "m.pt", model=ModelConfig(hidden=8), recipe=frozen,
                                progress=False, train_limit=5000), mnist=mnist)
    assert summary["stalled"] and "chance level" in summary["stalled"]
    records = [json.loads(line) for line in metrics_path(tmp_path / "m.pt").read_text().splitlines()]
    assert records[1]["stalled"] == summary["stalled"]  # flagged at iteration 1000, in the metrics too


# One layer: the short run above (the same recipe, over 90% on test) proves it.
@pytest.mark.parametrize("layers", [2, 3])
def test_default_recipe_learns_with_two_and_three_layers(mnist, tmp_path, layers):
    summary = train(TrainConfig(output=tmp_path / "m.pt", model=ModelConfig(layers=layers, hidden=48),
                                recipe=quick(DEFAULT, 250), progress=False), mnist=mnist)
    assert summary["val_accuracy"] > 0.6, summary
    assert summary["val_loss"] < 1.5


def test_describe_prints_the_tutorial_shapes():
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.train", "--describe", "--hidden", "100"],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[400, 28]" in result.stdout and "[10, 100]" in result.stdout and "Total: 53,010" in result.stdout


def test_digit_train_cli_writes_checkpoint_metrics_and_summary(data_dir, tmp_path):
    output = tmp_path / "cli.pt"
    result = subprocess.run(
        [sys.executable, "-m", "lstm_digits.cli.train", "--data-dir", str(data_dir), "--output", str(output),
         "--recipe", "tutorial", "--iterations", "20", "--hidden", "16", "--train-limit", "2000", "--seed", "1"],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout.strip().splitlines()[-1])
    assert summary["iterations"] == 20 and summary["hidden"] == 16 and summary["recipe"] == "tutorial"
    assert "iter     20/20" in result.stderr  # the evaluation line
    assert load_checkpoint(output)["complete"] and metrics_path(output).is_file()


def test_torchrun_with_two_processes_matches_one_process(data_dir, tmp_path):
    torch.manual_seed(0)
    assert_two_processes_train_as_one(tmp_path, DigitRNN(ModelConfig(hidden=16)).state_dict(), "--data-dir", data_dir,
                                      "--recipe", "seed", "--iterations", "12", "--hidden", "16", "--train-limit",
                                      "3000", "--quiet")
