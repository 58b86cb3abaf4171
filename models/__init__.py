"""A model as `digit-export` writes it: file names, graph input and output names and ONNX opset, here
and nowhere else. And the shipped default model (installed as package data): models/default/, with
its model card, parity report and test data; rebuild it with `make model`. Standard library only:
the runtime reads this too."""

from pathlib import Path

ONNX, INT8, TORCHSCRIPT, PROGRAM = "model.onnx", "model.int8.onnx", "model.torchscript.pt", "model.pt2"
PARITY, CARD, TEST_DATA = "parity.json", "MODEL_CARD.md", "test_data_set_0"
# test_data_set_0 in the ONNX model zoo's layout: the input, then one TensorProto per output.
TEST_DATA_FILES = tuple(f"{TEST_DATA}/{name}" for name in ("input_0.pb", "output_0.pb", "output_1.pb"))

OPSET = 18
INPUT_NAME = "image"  # float32 [batch, 28, 28]
OUTPUT_NAMES = ("logits", "probabilities")  # both [batch, 10]

# The whole pipeline, raw pixels to digit: the preprocessing as ONNX operators, then the classifier.
PIPELINE = "pipeline.onnx"
PIPELINE_INPUT_NAME = "pixels"  # uint8 [height, width, 4], RGBA, any size
# logits, probabilities [1, 10]; image [28, 28] float32 (what the model saw); rejected, no_digit bool [1]
PIPELINE_OUTPUT_NAMES = (*OUTPUT_NAMES, "image", "rejected", "no_digit", "box")
PIPELINE_TEST_DATA = "pipeline_test_data"  # test_data_set_0, 1, 2 inside: a photo, a drawing, a blank
PIPELINE_TEST_SETS = ("photo", "drawing", "blank")  # test_data_set_{index}: what its input is
# Each set in the ONNX model zoo's layout: input_0.pb (pixels), then output_{i}.pb for each output in order.
PIPELINE_TEST_DATA_FILES = tuple(f"{PIPELINE_TEST_DATA}/test_data_set_{index}/{name}" for index in range(len(PIPELINE_TEST_SETS))
                                 for name in ("input_0.pb", *(f"output_{i}.pb" for i in range(len(PIPELINE_OUTPUT_NAMES)))))
# The graph's outputs against the expected ones (the Python runtime's, which runs the same preprocessing
# graph), max |difference| per float output: the image within float rounding, the model's outputs as
# model.onnx's own test data (onnxruntime's kernels may sum in other orders); rejected and no_digit equal.
PIPELINE_TEST_TOLERANCE = {"image": 1e-6, "logits": 1e-4, "probabilities": 1e-5}

MODEL_FILES = (ONNX, INT8, TORCHSCRIPT, PROGRAM, PARITY, *TEST_DATA_FILES, PIPELINE, *PIPELINE_TEST_DATA_FILES)  # in the card, with sha256

DEFAULT_DIR = Path(__file__).resolve().parent / "default"
DEFAULT_MODEL = DEFAULT_DIR / ONNX
DEFAULT_INT8_MODEL = DEFAULT_DIR / INT8  # the same, with int8 weights

# The number reader (docs/NUMBERS.md), raw pixels to number in one file, in its own export folder.
NUMBER = "number.onnx"
NUMBER_INPUT_NAME = "pixels"  # uint8 [height, width, 4], RGBA, any size
# digits int64 [L]; probabilities float32 [L]; boxes int64 [L, 4] (x0, y0, x1, y1 in the input's pixels,
# x1 and y1 exclusive); number_probability float32 scalar; rejected, no_number bool scalars;
# strip float32 [28, W] (what the reader saw); log_probs float32 [T, 1, 11] (its scores per column)
NUMBER_OUTPUT_NAMES = ("digits", "probabilities", "boxes", "number_probability", "rejected", "no_number", "strip",
                       "log_probs")
NUMBER_DIR = Path(__file__).resolve().parent / "number"
