"""The Python helpers of the JavaScript checks (scripts/check_node.sh, scripts/check_browser.sh):
pipeline_facts.py names the shipped pipeline, its test data and tolerances as lstm_digits.models
and parity.json do, mnist_pngs.py --robustness writes the robustness set's images, and
same_images.py writes each image's RGBA pixels as the runtime decodes them and fails a host whose
images or answers are not the Python runtime's, and fake_camera.py writes the fake camera's video."""

import json
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np

import robustness
from lstm_digits import models
from lstm_digits.export.pipeline_agreement import IMAGE_ROUNDING, host_pixels

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def test_pipeline_facts_name_the_shipped_pipeline_its_test_data_and_tolerances():
    printed = subprocess.run([sys.executable, SCRIPTS / "pipeline_facts.py"], check=True, capture_output=True, text=True)
    facts = json.loads(printed.stdout)
    assert Path(facts["pipeline"]) == models.DEFAULT_DIR / models.PIPELINE and Path(facts["pipeline"]).is_file()
    assert (facts["input"], facts["outputs"]) == (models.PIPELINE_INPUT_NAME, list(models.PIPELINE_OUTPUT_NAMES))
    sets = [Path(folder) for folder in facts["pipeline_test_data"]]
    assert [folder.name for folder in sets] == [f"test_data_set_{i}" for i in range(len(models.PIPELINE_TEST_SETS))]
    assert all(folder.parent == models.DEFAULT_DIR / models.PIPELINE_TEST_DATA for folder in sets)
    assert all(len(list(folder.glob("output_*.pb"))) == len(models.PIPELINE_OUTPUT_NAMES) for folder in sets)
    assert facts["tolerance"] == models.PIPELINE_TEST_TOLERANCE
    parity = json.loads((models.DEFAULT_DIR / models.PARITY).read_text())
    assert facts["model_tolerance"] == parity["tolerance"]["max_abs_logit_diff"]
    assert Path(facts["model"]) == models.DEFAULT_MODEL and Path(facts["model_test_data"]) == models.DEFAULT_DIR / models.TEST_DATA
    assert facts["version"] == json.loads((SCRIPTS.parent / "js" / "package.json").read_text())["version"]


def test_mnist_pngs_robustness_writes_the_robustness_sets_images(mnist, data_dir, tmp_path):
    subprocess.run([sys.executable, SCRIPTS / "mnist_pngs.py", "--robustness", "--count", "4", "--start", "3",
                    "--data-dir", data_dir, tmp_path], check=True)
    expected = robustness.build(mnist.test.images.numpy(), mnist.test.labels.numpy(), 7)[3:]
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"robustness-{i:05d}-{label}{suffix}" for i, (_, suffix, _, label) in enumerate(expected, 3)]
    assert [f.read_bytes() for f in files] == [data for data, _, _, _ in expected]


def test_same_images_writes_rgba_records_and_fails_a_host_that_differs(mnist, data_dir, tmp_path):
    same = [sys.executable, SCRIPTS / "same_images.py"]
    subprocess.run(same + ["write", tmp_path, "--data-dir", data_dir, "--mnist", "3", "--robustness", "2", "--tight", "0",
                           "--styles", "0", "--no-samples"], check=True, capture_output=True)
    records, at, pixels = (tmp_path / "records.bin").read_bytes(), 0, []
    while at < len(records):
        height, width = struct.unpack_from("<II", records, at)
        pixels.append(records[at + 8 : at + 8 + 4 * height * width])
        at += 8 + 4 * height * width
    rendered = robustness.build(mnist.test.images.numpy(), mnist.test.labels.numpy(), 2)
    assert len(pixels) == 5 and at == len(records)
    assert pixels[3:] == [host_pixels(data).tobytes() for data, *_ in rendered]  # decoded as the runtime decodes
    assert json.loads((tmp_path / "sets.json").read_text())["sets"] == [
        {"name": "MNIST test PNGs", "count": 3}, {"name": "robustness set", "count": 2}]

    def compare(change=lambda: None):
        for suffix in ("f32", "json"):
            shutil.copy(tmp_path / f"python.{suffix}", tmp_path / f"host.{suffix}")
        change()
        return subprocess.run(same + ["compare", tmp_path, "host"], capture_output=True, text=True)
    assert compare().returncode == 0

    def nudge_a_pixel():
        images = np.fromfile(tmp_path / "host.f32", "<f4")
        images[28 * 28 + 400] += 3 * IMAGE_ROUNDING
        images.tofile(tmp_path / "host.f32")
    failed = compare(nudge_a_pixel)
    assert failed.returncode == 1 and "MNIST test PNGs: 1 images differ by more than 1e-06 (record 1:" in failed.stderr

    def change_an_answer():
        written = json.loads((tmp_path / "host.json").read_text())
        (tmp_path / "host.json").write_text(json.dumps({**written, "answers": written["answers"][:4] + [None]}))
    failed = compare(change_an_answer)
    assert failed.returncode == 1 and "robustness set: 1 answers differ (record 4: no digit, Python " in failed.stderr


def test_fake_camera_writes_a_y4m_whose_corner_tells_which_digit_each_frame_shows(mnist, data_dir, tmp_path):
    printed = subprocess.run([sys.executable, SCRIPTS / "fake_camera.py", tmp_path / "camera.y4m", "--digits", "2",
                              "--data-dir", data_dir], check=True, capture_output=True, text=True)
    schedule = json.loads(printed.stdout)
    width, height, frames = schedule["width"], schedule["height"], schedule["frames"]
    video = (tmp_path / "camera.y4m").read_bytes()
    header, _, body = video.partition(b"\n")
    assert header == f"YUV4MPEG2 W{width} H{height} F{schedule['fps']}:1 Ip A1:1 C420jpeg".encode()
    frame_bytes = len(b"FRAME\n") + width * height * 3 // 2
    assert len(body) == frames * frame_bytes
    first, second = schedule["segments"]
    assert (first["first"], first["last"] + 1, second["last"] + 1) == (0, second["first"], frames)
    assert first["last"] + 1 == frames // 2 >= 2 * schedule["fps"]  # two digits, each two seconds or more
    labels = mnist.test.labels.numpy()
    assert [segment["text"] for segment in schedule["segments"]] == [str(labels[s["mnist_test_index"]]) for s in (first, second)]
    assert first["text"] != second["text"]
    side = schedule["marker"]
    for index, segment in enumerate(schedule["segments"]):
        for frame in (segment["first"], segment["last"]):
            luma = np.frombuffer(body, np.uint8, width * height, frame * frame_bytes + 6).reshape(height, width)
            assert (luma[:side, :side] == schedule["marker_levels"][index]).all()
            middle = luma[height // 4 : 3 * height // 4, width // 4 : 3 * width // 4]
            assert middle.min() < 80 < 180 < middle.max()  # ink on paper in the guide box


def test_fake_camera_writes_numbers_each_boxed_where_its_ink_is(data_dir, tmp_path):
    printed = subprocess.run([sys.executable, SCRIPTS / "fake_camera.py", tmp_path / "numbers.y4m", "--numbers", "407,93",
                              "--data-dir", data_dir], check=True, capture_output=True, text=True)
    schedule = json.loads(printed.stdout)
    width, height = schedule["width"], schedule["height"]
    frame_bytes = len(b"FRAME\n") + width * height * 3 // 2
    body = (tmp_path / "numbers.y4m").read_bytes().partition(b"\n")[2]
    assert [segment["text"] for segment in schedule["segments"]] == ["407", "93"]
    for segment in schedule["segments"]:
        top, left, bottom, right = segment["box"]
        assert right - left > 1.5 * (bottom - top) * (len(segment["text"]) / 3)  # a row of digits, not one
        at_rest = segment["last"]  # (the first frames slide it in)
        luma = np.frombuffer(body, np.uint8, width * height, at_rest * frame_bytes + 6).reshape(height, width)
        inside, outside = luma[top:bottom, left:right], np.delete(luma[40:-40], np.s_[left - 4 : right + 4], axis=1)
        assert inside.min() < 80 and outside.min() > 120  # the ink is in the box, none beside it
    failed = subprocess.run([sys.executable, SCRIPTS / "fake_camera.py", tmp_path / "x.y4m", "--numbers", "4a7",
                             "--data-dir", data_dir], capture_output=True, text=True)
    assert failed.returncode != 0 and "--numbers must be" in failed.stderr and not (tmp_path / "x.y4m").exists()
