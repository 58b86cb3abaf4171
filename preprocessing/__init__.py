"""The preprocessing as onnxscript functions: RGBA pixels of any size -> the 28x28 MNIST-form image.

Written once here, as `@script` functions that read as the rules they apply: these functions are
the preprocessing's definition. mnist_form.py builds them into one ONNX graph, mnist_form.onnx
(MNIST_FORM_GRAPH, shipped in the package), which the Python runtime runs in onnxruntime and which
pipeline.onnx embeds (Node.js, the browser): every runtime runs this one preprocessing. Each
function runs eagerly on numpy arrays too, for debugging and tests. Needs onnxscript (the `train`
extra); running the built graph does not.
"""

from pathlib import Path

# Images over this many pixels are area-averaged down to it first (limit_size.py). Here, with no
# onnxscript import, because the runtime needs it too: it decodes a large JPEG reduced to no less.
MAX_WORK_PIXELS = 4_000_000
# The preprocessing graph the runtime runs: these functions built into one ONNX model (mnist_form.py),
# shipped in the package. `make preprocessing-graph` rebuilds it; a test checks it is up to date.
MNIST_FORM_GRAPH = Path(__file__).resolve().parent / "mnist_form.onnx"
# The same graph in onnxruntime's own format (ORT), which the Python runtime opens: 66 ms against
# 100 ms, and 7 MB less at the peak of a one-image run (docs/BENCHMARKS.md). Written from
# MNIST_FORM_GRAPH by `make preprocessing-graph`; onnxruntime writes other bytes each time (the same
# graph), so a test holds it to the .onnx's outputs. Every other host runs the .onnx (in pipeline.onnx).
MNIST_FORM_RUNTIME_GRAPH = MNIST_FORM_GRAPH.with_suffix(".ort")
# Its inputs (the RGBA pixels, then the model's two sizes, int64 scalars) and outputs, in order.
MNIST_FORM_INPUTS = ("pixels", "canvas", "digit_box")
MNIST_FORM_OUTPUTS = ("image", "no_digit", "ink", "box")
# A number's strip (strip_form.py): built at export into the number reader's file, not shipped alone.
STRIP_FORM_INPUTS = ("pixels", "strip_height", "ink_height")
STRIP_FORM_OUTPUTS = ("strip", "no_number", "box")
