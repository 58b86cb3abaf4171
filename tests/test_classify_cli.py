import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.*g"))


def classify(*args, stdin: bytes | None = None):
    result = subprocess.run([sys.executable, "-m", "lstm_digits.cli.classify", *map(str, args)],
                            input=stdin, capture_output=True, timeout=300)
    return result.returncode, result.stdout.decode(), result.stderr.decode()


def test_default_output_is_path_digit_probability_per_line():
    code, out, err = classify(*SAMPLES)
    assert code == 0 and err == ""
    rows = [line.split("\t") for line in out.splitlines()]
    assert [row[0] for row in rows] == [str(p) for p in SAMPLES]
    assert all(len(row) == 3 and row[1] == Path(row[0]).stem[-1] and 0.5 < float(row[2]) <= 1 for row in rows)


def test_json_lines_with_top_k():
    code, out, _ = classify(SAMPLES[0], "--json", "--top-k", "3")
    record = json.loads(out)
    assert code == 0 and set(record) == {"path", "digit", "probability", "top_k"}
    assert [d["digit"] for d in record["top_k"]][0] == record["digit"] and len(record["top_k"]) == 3
    probabilities = [d["probability"] for d in record["top_k"]]
    assert probabilities == sorted(probabilities, reverse=True)


def test_folder_recursive_and_stdin(tmp_path):
    nested = tmp_path / "a" / "b"
    nested.mkdir(parents=True)
    (tmp_path / "a" / "top.png").write_bytes(SAMPLES[0].read_bytes())
    (nested / "deep.png").write_bytes(SAMPLES[1].read_bytes())
    (nested / "notes.txt").write_text("ignored: not an image suffix")
    code, out, _ = classify(tmp_path / "a")
    assert code == 0 and [line.split("\t")[0] for line in out.splitlines()] == [str(tmp_path / "a" / "top.png")]
    code, out, _ = classify(tmp_path / "a", "--recursive")
    assert code == 0 and len(out.splitlines()) == 2
    code, out, _ = classify("-", stdin=SAMPLES[2].read_bytes())
    assert code == 0 and out.split("\t")[:2] == ["-", SAMPLES[2].stem[-1]]


def test_save_preprocessed_writes_what_the_model_saw(tmp_path):
    code, _, _ = classify(*SAMPLES, "--save-preprocessed", tmp_path / "seen")
    saved = sorted((tmp_path / "seen").iterdir())
    assert code == 0 and [p.name for p in saved] == sorted(p.stem + ".png" for p in SAMPLES)
    image = np.asarray(Image.open(saved[0]))
    assert image.shape == (28, 28) and image[0].max() == 0 and image.max() > 200  # MNIST form: black border, bright ink


def test_every_kind_of_bad_input_is_one_line_and_the_rest_still_classified(tmp_path):
    bad = {}
    (tmp_path / "zero.png").write_bytes(b"")
    bad["zero.png"] = "empty file"
    (tmp_path / "text.png").write_text("this is text")
    bad["text.png"] = "not an image"
    Image.fromarray(np.full((100, 100), 200, np.uint8)).save(tmp_path / "blank.png")
    bad["blank.png"] = "no digit found"
    data = SAMPLES[0].read_bytes()
    (tmp_path / "truncated.jpg").write_bytes(data[: len(data) // 3])
    bad["truncated.jpg"] = "truncated or corrupt"
    Image.new("1", (9000, 9000)).save(tmp_path / "bomb.png")
    bad["bomb.png"] = "megapixels"
    (tmp_path / "empty-folder").mkdir()
    bad["empty-folder"] = "no images in folder"
    bad["missing.png"] = "no such file"
    paths = [SAMPLES[0], *(tmp_path / name for name in bad), SAMPLES[1]]
    code, out, err = classify(*paths)
    assert code == 1
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == len(bad)
    for name, problem in bad.items():
        (line,) = [l for l in lines if f"{tmp_path / name}:" in l]
        assert problem in line, line
    assert [line.split("\t")[0] for line in out.splitlines()] == [str(SAMPLES[0]), str(SAMPLES[1])]

    code, out, _ = classify(*paths, "--json")
    records = [json.loads(line) for line in out.splitlines()]
    assert code == 1 and len(records) == len(bad) + 2
    assert sum("error" in r for r in records) == len(bad) and records[0]["digit"] == SAMPLES[0].stem[-1]


def _onnx_without_our_contract() -> bytes:
    import onnx

    graph = onnx.helper.make_graph(
        [onnx.helper.make_node("Identity", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 784])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1, 784])])
    return onnx.helper.make_model(graph).SerializeToString()


@pytest.mark.parametrize("content, problem", [
    (b"not onnx", "not a usable ONNX model"),
    (None, "no such model file"),
    ("valid ONNX, other contract", "no lstm-digits input contract"),
])
def test_a_bad_model_is_one_line_and_exit_2(tmp_path, content, problem):
    model = tmp_path / "model.onnx"
    if content == "valid ONNX, other contract":
        model.write_bytes(_onnx_without_our_contract())
    elif content is not None:
        model.write_bytes(content)
    code, out, err = classify(SAMPLES[0], "--model", model)
    assert code == 2 and out == "" and "Traceback" not in err
    assert len(err.strip().splitlines()) == 1 and str(model) in err and problem in err


def test_usage_errors_exit_2_and_version_works():
    assert classify()[0] == 2
    assert classify(SAMPLES[0], "--top-k", "0")[0] == 2
    code, out, _ = classify("--version")
    assert code == 0 and "digit-classify, version" in out


def test_threads_option_is_accepted():
    code, out, _ = classify(SAMPLES[0], "--threads", "1")
    assert code == 0 and out.split("\t")[1] == SAMPLES[0].stem[-1]


def test_int8_switch_uses_the_shipped_int8_model():
    code, out, _ = classify(*SAMPLES, "--int8")
    assert code == 0 and [line.split("\t")[1] for line in out.splitlines()] == [p.stem[-1] for p in SAMPLES]
    assert classify(SAMPLES[0], "--int8", "--model", "x.onnx")[0] == 2
