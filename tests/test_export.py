import json
import re
import signal
import subprocess
import sys
import time

import numpy as np
import onnx
import onnxruntime
import pytest
import torch
from onnx import numpy_helper

from lstm_digits.export import parity
from lstm_digits.export.metadata import sha256
from lstm_digits.export.parity import ParityError
from lstm_digits.export.export_checkpoint import export_checkpoint
from lstm_digits.models import CARD, INPUT_NAME, MODEL_FILES, ONNX, OUTPUT_NAMES, PARITY, TEST_DATA
from lstm_digits.training.checkpoint import load_checkpoint
from lstm_digits.training.data import to_float
from lstm_digits.training.model import ModelConfig
from lstm_digits.training.tasks import DigitTask

from export_cli import run_export_cli
from random_checkpoints import random_checkpoint

evaluate = DigitTask().evaluate

pytest_plugins = ["exported_checkpoint"]  # the fixtures trained and exported


def test_export_writes_every_file_and_replaces_the_old_folder(exported):
    out, result = exported
    names = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert names == sorted([CARD, *MODEL_FILES]) and len(names) == len(set(MODEL_FILES)) + 1
    assert not list(out.parent.glob(".model.*")), "no staging or previous folder is left behind"


def test_exporter_warnings_do_not_leak_to_users(exported):
    _, result = exported
    assert "Warning" not in result.stderr and "deprecated" not in result.stderr.lower()
    assert "[torch.onnx]" not in result.stdout + result.stderr
    assert "parity passed" in result.stdout


def test_onnx_graph_contract(exported):
    proto = onnx.load(str(exported[0] / "model.onnx"))
    onnx.checker.check_model(proto, full_check=True)
    assert max(o.version for o in proto.opset_import if o.domain in ("", "ai.onnx")) >= 17
    (image,) = proto.graph.input
    assert image.name == INPUT_NAME and image.type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert [d.dim_param or d.dim_value for d in image.type.tensor_type.shape.dim] == ["batch", 28, 28]
    assert tuple(o.name for o in proto.graph.output) == OUTPUT_NAMES
    ops = [node.op_type for node in proto.graph.node]
    assert ops.count("LSTM") == 1, "one native LSTM node, not 28 unrolled steps"
    assert "Loop" not in ops and "Scan" not in ops and ops.count("MatMul") <= 1
    # simplify.py: zero initial states dropped (ONNX's default), the output reshape is one Squeeze.
    assert not {"Expand", "Shape", "ConstantOfShape", "Reshape"} & set(ops), ops
    assert len(ops) <= 10, ops


def test_onnx_metadata_describes_the_model(exported, trained):
    proto = onnx.load(str(exported[0] / "model.onnx"))
    meta = {p.key: p.value for p in proto.metadata_props}
    contract = json.loads(meta["input"])
    assert contract["name"] == "image" and contract["range"] == [0.0, 1.0] and contract["polarity"] == "white-on-black"
    assert json.loads(meta["labels"]) == [str(d) for d in range(10)]
    assert json.loads(meta["preprocessing"])["digit_box"] == 20
    assert json.loads(meta["model_config"]) == {"cell": "lstm", "layers": 1, "hidden": 64, "bidirectional": False}
    assert 0.9 < json.loads(meta["training"])["test_accuracy"] <= 1
    assert meta["source_checkpoint_sha256"] == sha256(trained)
    assert json.loads(meta["exporter"])["torch"] == str(torch.__version__)


@pytest.mark.parametrize("batch", [1, 7, 256])
def test_onnx_runs_at_any_batch_size_and_outputs_probabilities(exported, mnist, batch):
    session = onnxruntime.InferenceSession(str(exported[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    images = to_float(mnist.test.images[:batch]).numpy()
    logits, probabilities = session.run(None, {"image": images})
    assert logits.shape == probabilities.shape == (batch, 10)
    np.testing.assert_allclose(probabilities.sum(1), 1.0, atol=1e-5)
    assert (probabilities.argmax(1) == logits.argmax(1)).all()


def test_parity_report_meets_the_tolerance_on_1000_real_digits(exported):
    report = json.loads((exported[0] / PARITY).read_text())
    assert report["tolerance"]["max_abs_logit_diff"] == parity.TOLERANCE
    assert report["passed"] and report["inputs"]["mnist_test_digits"] >= 1000 and report["inputs"]["random_images"] > 0
    backends = {row["backend"] for row in report["rows"]}
    assert backends == {"torchscript", "exportedprogram", "onnxruntime", "onnx reference"}
    assert {row["batch_size"] for row in report["rows"]} == {1, 7, 256}
    assert all(row["max_abs_logit_diff"] <= parity.TOLERANCE and row["prediction_agreement"] == 1.0 for row in report["rows"])


def test_onnx_accuracy_on_10000_test_digits_equals_pytorch(exported, trained, mnist):
    from lstm_digits.training.checkpoint import load_model

    model, _ = load_model(trained)
    torch_accuracy, _ = evaluate(model, mnist.test)
    session = onnxruntime.InferenceSession(str(exported[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    logits = session.run(["logits"], {"image": to_float(mnist.test.images).numpy()})[0]
    onnx_accuracy = float((logits.argmax(1) == mnist.test.labels.numpy()).mean())
    assert abs(onnx_accuracy - torch_accuracy) <= 0.0001
    assert json.loads((exported[0] / "parity.json").read_text())["onnx_test_accuracy"] == pytest.approx(onnx_accuracy)


def test_test_data_set_reproduces_with_onnxruntime(exported, mnist):
    folder = exported[0] / TEST_DATA
    inputs = numpy_helper.to_array(onnx.load_tensor(str(folder / "input_0.pb")))
    expected = [numpy_helper.to_array(onnx.load_tensor(str(folder / f"output_{i}.pb"))) for i in (0, 1)]
    assert inputs.shape == (10, 28, 28)
    session = onnxruntime.InferenceSession(str(exported[0] / "model.onnx"), providers=["CPUExecutionProvider"])
    for got, want in zip(session.run(None, {"image": inputs}), expected):
        np.testing.assert_allclose(got, want, atol=parity.TOLERANCE)
    assert list(expected[0].argmax(1)).count(0) <= 2  # real digits of every class, not blanks


def test_model_card_states_the_real_sha256_of_each_file(exported):
    out = exported[0]
    card = (out / "MODEL_CARD.md").read_text()
    listed = dict(re.findall(r"\| `([^`]+)` \| [^|]+ \| `([0-9a-f]{64})` \|", card))
    assert set(listed) >= {"model.onnx", "model.pt2", "model.torchscript.pt", "parity.json"}
    assert all(sha256(out / name) == digest for name, digest in listed.items())
    assert "onnxruntime-node" in card and "InferenceSession" in card


# Every cell, 1-3 layers, bidirectional: fewer parity inputs keep this quick; the tolerance is the same.
COVERAGE = [
    ModelConfig("lstm", 3, 16, True),
    ModelConfig("gru", 1, 16, False),
    ModelConfig("gru", 2, 16, True),
    ModelConfig("rnn-tanh", 3, 16, False),
    ModelConfig("rnn-relu", 2, 16, True),
    ModelConfig("rnn-relu", 1, 16, False),
]


@pytest.mark.parametrize("config", COVERAGE, ids=lambda c: f"{c.cell}-{c.layers}{'-bi' if c.bidirectional else ''}")
def test_export_and_parity_for_every_architecture(config, random_model_export):
    folder, report = random_model_export(config)
    assert report["passed"], parity.table(report)
    ops = [node.op_type for node in onnx.load(str(folder / "model.onnx")).graph.node]
    native = config.cell.split("-")[0].upper()  # lstm -> LSTM, gru -> GRU, rnn-tanh and rnn-relu -> RNN
    assert ops.count(native) == config.layers
    assert "Tanh" not in ops and "Relu" not in ops, "the recurrence is inside the native node"
    assert "Expand" not in ops, "zero initial states are left to the recurrent node's default"


def test_a_failed_parity_check_fails_the_export_and_writes_nothing(data_dir, tmp_path):
    checkpoint = random_checkpoint(tmp_path / "m.pt", ModelConfig(hidden=16))
    # A tolerance nothing can meet: the failure path runs for real.
    with pytest.raises(ParityError, match=r"parity check failed .* differs by \d\.\d+e[-+]\d+ \(tolerance -1e\+00\)") as error:
        export_checkpoint(checkpoint, tmp_path / "out", data_dir, log=lambda *_: None, parity_digits=16,
                          random_images=4, tolerance=-1.0)
    assert "| onnxruntime |" in str(error.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.pt"]


def test_an_interrupted_run_is_refused_in_one_line_that_says_how_to_finish_it(data_dir, tmp_path):
    # The reproduction: digit-train in the background, Ctrl-C (SIGINT) once it has saved, then export.
    checkpoint = tmp_path / "run.pt"
    # The tutorial recipe (no augmentation) reaches the first save, at iteration 500, the soonest.
    command = [sys.executable, "-m", "lstm_digits.cli.train", "--data-dir", str(data_dir), "--output", str(checkpoint),
               "--recipe", "tutorial", "--iterations", "100000", "--hidden", "8", "--train-limit", "2000", "--quiet"]
    # Ctrl-C's default action in the child, even when this suite runs where SIGINT is ignored (a
    # background job of a shell without job control), which Python would otherwise inherit.
    training = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    deadline = time.monotonic() + 300
    while not checkpoint.exists():  # the first evaluation (iteration 500) saves it
        assert training.poll() is None and time.monotonic() < deadline, training.stderr.read() if training.poll() else ""
        time.sleep(0.2)
    training.send_signal(signal.SIGINT)
    _, stderr = training.communicate(timeout=120)
    assert training.returncode == 1 and "continue with --resume" in stderr, stderr
    saved = load_checkpoint(checkpoint)
    assert saved["complete"] is False and saved["iteration"] >= 500 and saved["metrics"][-1].get("test_accuracy") is None

    result = run_export_cli(checkpoint, "--output-dir", tmp_path / "out", "--data-dir", data_dir)
    assert result.returncode == 2 and "Traceback" not in result.stderr
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith(f"Error: {checkpoint}: training was interrupted") and "no such" not in line
    assert f"at iteration {saved['iteration']} of 100000" in line and f"digit-train --output {checkpoint} --resume" in line
    assert result.stdout == "" and not (tmp_path / "out").exists()


def _bad_checkpoints(tmp_path):
    (tmp_path / "empty.pt").write_bytes(b"")
    (tmp_path / "text.pt").write_text("not a checkpoint\n")
    torch.save({"weight": torch.zeros(2)}, tmp_path / "foreign.pt")
    return {
        "missing.pt": "no such file",
        "empty.pt": "not a readable checkpoint",
        "text.pt": "not a readable checkpoint",
        "foreign.pt": "not an lstm-digits checkpoint",
    }


def test_bad_checkpoints_give_one_line_and_exit_1(tmp_path):
    for name, problem in _bad_checkpoints(tmp_path).items():
        result = run_export_cli(tmp_path / name, "--output-dir", tmp_path / "out")
        assert result.returncode == 1, (name, result.stderr)
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and name in lines[0] and problem in lines[0], (name, result.stderr)
        assert "Traceback" not in result.stderr and not (tmp_path / "out").exists()


def test_an_unwritable_output_gives_one_line_and_exit_1(tmp_path):
    checkpoint = random_checkpoint(tmp_path / "m.pt", ModelConfig(hidden=8))
    (tmp_path / "a-file").write_text("")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o555)
    for target, problem in ((tmp_path / "a-file", "not a folder"), (locked / "out", "not writable")):
        result = run_export_cli(checkpoint, "--output-dir", target)
        assert result.returncode == 1 and "Traceback" not in result.stderr
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and str(target) in lines[0] and problem in lines[0], result.stderr
