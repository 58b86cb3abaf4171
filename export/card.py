"""MODEL_CARD.md: what the exported model is, how well it does, how to check and use it.

Its Python examples show what they print, in `# ` lines after the print(): the export runs each one
in the exported folder and writes down what it printed (tests/test_model_card_examples.py runs them
again against the shipped card).
"""

import subprocess
import sys
from pathlib import Path

from ..models import (CARD, INPUT_NAME, INT8, ONNX, PIPELINE, PIPELINE_INPUT_NAME, PIPELINE_OUTPUT_NAMES,
                      PIPELINE_TEST_DATA)
from . import ExportError
from .metadata import sha256
from .parity import table

MODEL_EXAMPLE = f"""import numpy as np, onnxruntime as ort
session = ort.InferenceSession("{ONNX}", providers=["CPUExecutionProvider"])
images = np.zeros((1, 28, 28), np.float32)          # MNIST-form pixels in [0, 1], white ink on black
images[0, 4:24, 13:16] = 1.0                         # a stroke down the middle: a 1
logits, probabilities = session.run(None, {{"{INPUT_NAME}": images}})
print(probabilities.argmax(1), probabilities.max(1).round(4))
"""
PIPELINE_EXAMPLE = f"""import numpy as np, onnxruntime as ort
from PIL import Image, ImageDraw, ImageOps
session = ort.InferenceSession("{PIPELINE}", providers=["CPUExecutionProvider"])
photo = Image.new("RGB", (60, 80), "white")                                        # or Image.open("digit.jpg")
ImageDraw.Draw(photo).line([(20, 15), (40, 15), (28, 65)], fill="black", width=5)  # a 7
pixels = np.asarray(ImageOps.exif_transpose(photo).convert("RGBA"))
logits, probabilities, image, rejected, no_digit, box = session.run(None, {{"{PIPELINE_INPUT_NAME}": pixels}})
print("no digit" if no_digit[0] else "not a digit" if rejected[0] else probabilities.argmax())
"""


def with_output(example: str, folder: Path) -> str:
    """example, then what it prints when run in folder, as `# ` lines."""
    result = subprocess.run([sys.executable, "-c", example], cwd=folder, capture_output=True, text=True, timeout=300)
    if result.returncode != 0 or not result.stdout.strip():
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        raise ExportError(f"{folder / CARD}: a usage example failed in the exported folder: {last}")
    return example + "".join(f"# {line}\n" for line in result.stdout.splitlines())


def _size(path: Path) -> str:
    size = path.stat().st_size
    return f"{size / 1e6:.2f} MB" if size >= 1e5 else f"{size / 1e3:.1f} kB"


def write_card(folder: Path, files, metadata: dict, parity: dict, parameters: int, architecture: str) -> Path:
    """metadata: the values of metadata.build()."""
    config, training, exporter, contract = (metadata[key] for key in ("model_config", "training", "exporter", "input"))
    worst = max(row["max_abs_logit_diff"] for row in parity["rows"])
    file_rows = "\n".join(f"| `{name}` | {_size(folder / name)} | `{sha256(folder / name)}` |" for name in files)
    direction = "bidirectional " if config["bidirectional"] else ""
    text = f"""# Model card: {direction}{config['cell'].upper()} digit classifier

A recurrent network that reads a 28x28 image of a handwritten digit as 28 time steps (rows) of
28 pixels and answers which of the digits 0-9 it is.

## Architecture
{config['layers']} {direction}{config['cell']} layer(s) of {config['hidden']} hidden units, then a linear layer to 10 logits;
{parameters:,} parameters. Normalisation is inside the graph.

```
{architecture}
```

## Accuracy
| measured on | accuracy |
|---|---:|
| MNIST validation (5,000 held out of training), PyTorch | {training.get('val_accuracy', float('nan')):.2%} |
| MNIST test (10,000), PyTorch | {training.get('test_accuracy', float('nan')):.2%} |
| MNIST test (10,000), `model.onnx` in onnxruntime | {parity['onnx_test_accuracy']:.2%} |
| MNIST test (10,000), `model.int8.onnx` (int8 weights) in onnxruntime | {parity['int8_test_accuracy']:.2%} |

Trained with the `{training['recipe']}` recipe for {training.get('iterations', '?')} iterations (seed {training['seed']}),
torch {training['versions']['torch']}.

## Confidence
`probabilities` are calibrated: softmax(logits / {metadata['calibration']['temperature']}), the temperature fitted on the validation split
(expected calibration error on MNIST test {metadata['calibration']['ece_test_before']:.2%} before, {metadata['calibration']['ece_test_after']:.2%} after). An image whose largest
probability is below {metadata['rejection']['min_confidence']} is not a digit (`{metadata['rejection']['label']}`; {metadata['rejection']['chosen_by']});
both numbers are in the metadata (`calibration`, `rejection`), so every runtime applies the same rule.

## Input contract
- input `{contract['name']}`: float32 `[batch, 28, 28]` in [0, 1], {contract['polarity']}, {contract['layout']};
  any batch size.
- outputs `logits` and `probabilities` (softmax), both `[batch, 10]`; labels `0`-`9`.
- Real photos and drawings must first be brought into MNIST form (see `preprocessing` in the
  metadata): bright ink on black, longest side of the digit 20 px, centred by mass in 28x28.
  `lstm_digits.runtime` does this.
- All of this is in the ONNX file's `metadata_props` (`input`, `labels`, `preprocessing`,
  `model_config`, `training`, `source_checkpoint_sha256`, `exporter`).

## Files
| file | size | sha256 |
|---|---:|---|
{file_rows}

Exported with torch {exporter['torch']}, onnx {exporter['onnx']}, onnxscript {exporter['onnxscript']},
ONNX opset {exporter['opset']}; from checkpoint sha256 `{metadata['source_checkpoint_sha256']}`.
`model.torchscript.pt` is TorchScript, deprecated since PyTorch 2.11: prefer `model.pt2`
(`torch.export.load`), or the ONNX file. `model.int8.onnx` is `model.onnx` with its weights
quantized to int8 by onnxruntime's dynamic quantization (same inputs, outputs and metadata):
{(folder / INT8).stat().st_size / (folder / ONNX).stat().st_size:.0%} of its size; its accuracy is in the table above.

## Parity
Every export is checked against PyTorch eager on {parity['inputs']['mnist_test_digits']:,} MNIST test digits and
{parity['inputs']['random_images']} random images, at batch sizes {', '.join(map(str, parity['batch_sizes']))}. Tolerance: max absolute
logit difference {parity['tolerance']['max_abs_logit_diff']:.0e} and the same predicted digit in 100% of cases.
Largest difference measured: {worst:.2e}.

{table(parity)}

`test_data_set_0/` holds ten MNIST test digits (`input_0.pb`) and the expected `logits` and
`probabilities` (`output_0.pb`, `output_1.pb`) as ONNX TensorProtos, to check the file in any runtime.

## The whole pipeline: `{PIPELINE}`
`{PIPELINE}` takes a photo, scan or drawing as decoded pixels and gives the digit: the
preprocessing graph that `lstm_digits.runtime` runs (alpha, gray, polarity, paper and shading, noise,
printed lines, crop, scale to the 20 px box, centre of mass; written once in `lstm_digits.preprocessing`)
in standard ONNX operators (opset {exporter['opset']}, no custom operators), then this model's graph.
Every onnxruntime (Python, Node, the browser, C#, Java, mobile) runs the same steps from the one file.
- input `{PIPELINE_INPUT_NAME}`: uint8 `[height, width, 4]`, RGBA, any size, as a decoder or a browser canvas
  gives it. Decoding and EXIF orientation stay with the host.
- outputs {', '.join(f'`{name}`' for name in PIPELINE_OUTPUT_NAMES)}: the logits and calibrated probabilities
  `[1, 10]`, the 28x28 image the model saw (float32 in [0, 1]), `rejected` (bool `[1]`: the largest
  probability is below {metadata['rejection']['min_confidence']}, or there is nothing to classify), `no_digit` (bool `[1]`: no
  ink stands out of the paper; never an error) and `box` (int64 `[4]`: the digit's top, left, bottom and right
  in the input's pixels, bottom and right exclusive; all 0 with `no_digit`).
- `{PIPELINE_TEST_DATA}/test_data_set_0..2` hold a photo, a drawing and a blank page (`input_0.pb`) with
  the expected outputs (`output_0.pb` ... `output_{len(PIPELINE_OUTPUT_NAMES) - 1}.pb`, in the order above), computed by the Python
  runtime; the export checks the graph against them. The same answers and images as the runtime on
  whole test sets: `python -m benchmarks.pipeline` in the repository.
- Keep `{ONNX}` if you do your own preprocessing into MNIST form.

## Use it
Python, with onnxruntime and numpy only:
```python
{with_output(MODEL_EXAMPLE, folder)}```

JavaScript (Node.js), with onnxruntime-node. It does not expose the custom `metadata_props`,
so a program that wants the contract (input name, labels, polarity) reads it from the file, as
`examples/node/` in the lstm-digits repository does with a small protobuf reader. That program
classifies PNG and JPEG files with `pipeline.onnx` (below); it also runs this file's test data
(`node classify.js --model model.onnx --check test_data_set_0 --tolerance 1e-4`). The essentials:
```js
const ort = require("onnxruntime-node");
(async () => {{
  const session = await ort.InferenceSession.create("model.onnx");
  const image = new ort.Tensor("float32", new Float32Array(28 * 28), [1, 28, 28]);  // MNIST-form pixels
  const {{ probabilities }} = await session.run({{ image }});
  console.log(probabilities.data.indexOf(Math.max(...probabilities.data)));
}})();
```

The whole pipeline from a photo, Python (the host decodes and applies EXIF orientation):
```python
{with_output(PIPELINE_EXAMPLE, folder)}```

Node.js (onnxruntime-node; decode PNG or JPEG to RGBA with any decoder, e.g. pngjs or jpeg-js):
```js
const session = await ort.InferenceSession.create("{PIPELINE}");
const pixels = new ort.Tensor("uint8", rgba, [height, width, 4]);   // Uint8Array, 4 bytes a pixel
const {{ probabilities, rejected, no_digit }} = await session.run({{ {PIPELINE_INPUT_NAME}: pixels }});
```

The browser (onnxruntime-web, served over http: `file://` cannot load WebAssembly):
```js
import * as ort from "onnxruntime-web/wasm";
const session = await ort.InferenceSession.create("{PIPELINE}");
const {{ data, width, height }} = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height);
const pixels = new ort.Tensor("uint8", new Uint8Array(data.buffer), [height, width, 4]);
const {{ probabilities, rejected, no_digit, image }} = await session.run({{ {PIPELINE_INPUT_NAME}: pixels }});
```
"""
    path = folder / CARD
    path.write_text(text)
    return path
