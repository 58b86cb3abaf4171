"""The Python helpers of the JavaScript checks (scripts/check_node.sh, scripts/check_browser.sh):
pipeline_facts.py names the shipped pipeline, its test data and tolerances as lstm_digits.models
and parity.json do, and mnist_pngs.py --robustness writes the robustness set's images."""

import json
import subprocess
import sys
from pathlib import Path

import robustness
from lstm_digits import models

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


def test_mnist_pngs_robustness_writes_the_robustness_sets_images(mnist, data_dir, tmp_path):
    subprocess.run([sys.executable, SCRIPTS / "mnist_pngs.py", "--robustness", "--count", "4", "--start", "3",
                    "--data-dir", data_dir, tmp_path], check=True)
    expected = robustness.build(mnist.test.images.numpy(), mnist.test.labels.numpy(), 7)[3:]
    files = sorted(tmp_path.iterdir())
    assert [f.name for f in files] == [f"robustness-{i:05d}-{label}{suffix}" for i, (_, suffix, _, label) in enumerate(expected, 3)]
    assert [f.read_bytes() for f in files] == [data for data, _, _, _ in expected]
