"""The shipped pipeline's facts for the JavaScript checks (scripts/check_node.sh, check_browser.sh),
as one JSON object, so that no script retypes a file name or a tolerance:

    python scripts/pipeline_facts.py    # a Python with lstm-digits installed (runtime only is enough)

pipeline, model: the ONNX files; input, outputs: the pipeline's input and output names;
pipeline_test_data: its test_data_set_N folders; tolerance: its per-output tolerance;
model_test_data and model_tolerance: model.onnx's test data and the export's parity tolerance
(parity.json); version: the installed lstm-digits' version, which the npm package (js/) has too;
number, number_input, number_outputs, number_test_data, number_tolerance: the same for number.onnx."""

import json
from importlib.metadata import version

from lstm_digits import models


def main() -> None:
    folder = models.DEFAULT_DIR
    parity = json.loads((folder / models.PARITY).read_text())
    sets = sorted((folder / models.PIPELINE_TEST_DATA).glob("test_data_set_*"), key=lambda path: int(path.name.rsplit("_", 1)[1]))
    print(json.dumps({
        "pipeline": str(folder / models.PIPELINE),
        "input": models.PIPELINE_INPUT_NAME,
        "outputs": list(models.PIPELINE_OUTPUT_NAMES),
        "pipeline_test_data": [str(path) for path in sets],
        "tolerance": models.PIPELINE_TEST_TOLERANCE,
        "model": str(folder / models.ONNX),
        "model_test_data": str(folder / models.TEST_DATA),
        "model_tolerance": parity["tolerance"]["max_abs_logit_diff"],
        "version": version("lstm-digits"),
        "number": str(models.NUMBER_DIR / models.NUMBER),
        "number_input": models.NUMBER_INPUT_NAME,
        "number_outputs": list(models.NUMBER_OUTPUT_NAMES),
        "number_test_data": str(models.NUMBER_DIR / models.TEST_DATA),
        "number_tolerance": json.loads((models.NUMBER_DIR / models.PARITY).read_text())["tolerance"],
    }))


if __name__ == "__main__":
    main()
