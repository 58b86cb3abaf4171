"""Hostile model files, made from the shipped model (issue 22, items 5 and 6), and digit-classify
run on one in its own process with its wall time and peak resident memory measured. Used by
tests/test_hostile_models.py; as a command, the issue's own sizes before and after the check:

    python tests/hostile_model_files.py FOLDER

writes the issue's models into FOLDER (a 1.6 GB folding bomb of each kind, a canvas of 20,000, a
Loop in the probe run, metadata with 1e400 and nested 20,000 deep, forged labels) and prints, for
each, the exit code, wall time, peak memory and the last line of output of digit-classify on two
samples. The runs are capped at ADDRESS_SPACE_FOR_COMMAND of address space and MEASURED_SECONDS."""

import json
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

from lstm_digits.models import DEFAULT_MODEL

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = sorted((ROOT / "samples").glob("*.*g"))
MEASURED_SECONDS = 15  # a run still going then is killed (and reported as timed out)
ADDRESS_SPACE = 3 << 30  # a net under the measured runs: a model that escapes the check cannot take the machine
ADDRESS_SPACE_FOR_COMMAND = 6 << 30  # the command measures the issue's 1.6 GB and 3 GB models before the check
BOMB_ELEMENTS = 100_000_000  # 400 MB of float32 from a few bytes: over the tests' 300 MB, under ADDRESS_SPACE

# The measured run, started from a small process: Linux carries the parent's peak RSS into a child
# across fork and exec, so a child of the test process itself would report the test process's size.
MEASURE = r"""
import json, os, resource, subprocess, sys, time
report, limit, timeout, command = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), sys.argv[4:]
def cap():
    resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
start = time.monotonic()
child = subprocess.Popen(command, preexec_fn=cap)
timed_out = False
while True:
    pid, status, usage = os.wait4(child.pid, os.WNOHANG)
    if pid:
        break
    if time.monotonic() - start > timeout:
        timed_out = True
        child.kill()
        _, status, usage = os.wait4(child.pid, 0)
        break
    time.sleep(0.005)
with open(report, "w") as handle:
    json.dump({"code": os.waitstatus_to_exitcode(status), "seconds": time.monotonic() - start,
               "peak_mb": usage.ru_maxrss / 1024, "timed_out": timed_out}, handle)
"""


@dataclass
class Run:
    code: int
    out: str
    err: str
    seconds: float
    peak_mb: float
    timed_out: bool


def measured_classify(*args, address_space: int = ADDRESS_SPACE) -> Run:
    """digit-classify ARGS in its own process: exit code, output, wall time and peak resident memory."""
    command = [sys.executable, "-m", "lstm_digits.cli.classify", *map(str, args)]
    with tempfile.TemporaryDirectory() as folder:
        report = Path(folder) / "run.json"
        result = subprocess.run([sys.executable, "-c", MEASURE, str(report), str(address_space), str(MEASURED_SECONDS),
                                 *command], capture_output=True, timeout=MEASURED_SECONDS + 60)
        measured = json.loads(report.read_text())
    return Run(out=result.stdout.decode(errors="replace"), err=result.stderr.decode(errors="replace"), **measured)


# --- hostile models, made from the shipped one ---

def shipped() -> onnx.ModelProto:
    return onnx.load(str(DEFAULT_MODEL))


def with_metadata(proto: onnx.ModelProto, **values) -> onnx.ModelProto:
    """metadata_props set to these values: strings as they are (to write what JSON cannot), others as JSON."""
    for key, value in values.items():
        text = value if isinstance(value, str) else json.dumps(value)
        props = [prop for prop in proto.metadata_props if prop.key == key]
        if props:
            props[0].value = text
        else:
            proto.metadata_props.add(key=key, value=text)
    return proto


def rejection_with_label(label: str) -> str:
    rejection = json.loads(next(p.value for p in shipped().metadata_props if p.key == "rejection"))
    return json.dumps({**rejection, "label": label})


def logits_through(proto: onnx.ModelProto, nodes: list, initializers: list, extra: str) -> onnx.ModelProto:
    """The graph's logits pass through `nodes`, which read 'raw_logits' and the value `extra` and
    write 'logits': the extra value is used, so no optimizer may drop the nodes that make it."""
    graph = proto.graph
    kept = list(graph.node)
    for node in kept:
        node.output[:] = ["raw_logits" if name == "logits" else name for name in node.output]
    gemm = next(i for i, node in enumerate(kept) if "raw_logits" in node.output)
    add = helper.make_node("Add", ["raw_logits", extra], ["logits"], name="uses_the_extra_value")
    del graph.node[:]
    graph.node.extend([*kept[: gemm + 1], *nodes, add, *kept[gemm + 1 :]])
    graph.initializer.extend(initializers)
    return proto


def scalar_of(name: str, rank: int) -> tuple[list, list]:
    """Nodes taking element [0, 0, ...] of a rank-`rank` value `name`, as '<name>_scalar' (Gather only)."""
    zero = numpy_helper.from_array(np.array(0, np.int64), "zero_index")
    nodes = [helper.make_node("Gather", [name if i == 0 else f"{name}_{i}", "zero_index"],
                              [f"{name}_scalar" if i == rank - 1 else f"{name}_{i + 1}"], axis=0) for i in range(rank)]
    return nodes, [zero]


def folding_bomb(kind: str, elements: int = BOMB_ELEMENTS) -> onnx.ModelProto:
    """A few bytes that onnxruntime's constant folding turns into `elements` float32 numbers when it
    opens the model (issue 22: 1.6 GB at load from a 550 KB file)."""
    count = numpy_helper.from_array(np.array([elements], np.int64), "bomb_count")
    one = numpy_helper.from_array(np.array([0.0], np.float32), "bomb_seed")
    side = int(elements ** 0.5)
    if kind == "ConstantOfShape":
        made = [helper.make_node("ConstantOfShape", ["bomb_count"], ["bomb"],
                                 value=helper.make_tensor("v", TensorProto.FLOAT, [1], [0.0]))]
        initializers, rank = [count], 1
    elif kind == "Expand":
        made, initializers, rank = [helper.make_node("Expand", ["bomb_seed", "bomb_count"], ["bomb"])], [count, one], 1
    elif kind == "Tile":
        made, initializers, rank = [helper.make_node("Tile", ["bomb_seed", "bomb_count"], ["bomb"])], [count, one], 1
    else:  # an outer difference, with operators digit-export itself writes: Sub of [side, 1] and [1, side]
        column = numpy_helper.from_array(np.zeros((side, 1), np.float32), "bomb_column")
        row = numpy_helper.from_array(np.zeros((1, side), np.float32), "bomb_row")
        made, initializers, rank = [helper.make_node("Sub", ["bomb_column", "bomb_row"], ["bomb"])], [column, row], 2
    gather, zero = scalar_of("bomb", rank)
    return logits_through(shipped(), made + gather, initializers + zero, "bomb_scalar")


def loop_in_the_probe() -> onnx.ModelProto:
    """A Loop of 2**62 turns in a graph that does not declare its output shapes, so that loading it
    runs one blank image through it (issue 22: hangs, and Ctrl-C does not stop it)."""
    body = helper.make_graph(
        [helper.make_node("Identity", ["going_in"], ["going_out"]), helper.make_node("Identity", ["value_in"], ["value_out"])],
        "forever",
        [helper.make_tensor_value_info("turn", TensorProto.INT64, []), helper.make_tensor_value_info("going_in", TensorProto.BOOL, []),
         helper.make_tensor_value_info("value_in", TensorProto.FLOAT, [1])],
        [helper.make_tensor_value_info("going_out", TensorProto.BOOL, []), helper.make_tensor_value_info("value_out", TensorProto.FLOAT, [1])])
    turns = numpy_helper.from_array(np.array(2**62, np.int64), "turns")
    going = numpy_helper.from_array(np.array(True), "going")
    zero = numpy_helper.from_array(np.zeros(1, np.float32), "loop_zero")
    loop = helper.make_node("Loop", ["turns", "going", "loop_zero"], ["looped"], body=body)
    proto = logits_through(shipped(), [loop], [turns, going, zero], "looped")
    for output in proto.graph.output:
        output.type.tensor_type.ClearField("shape")
    return proto


def huge_canvas(canvas: int = 20_000) -> onnx.ModelProto:
    """Metadata and graph input agree on a canvas of 20,000 px; the graph slices the 28x28 it uses
    (issue 22: 3.1 GB for 2 images)."""
    proto = with_metadata(shipped(), preprocessing={"canvas": canvas, "digit_box": 20})
    graph = proto.graph
    for dim in graph.input[0].type.tensor_type.shape.dim[1:]:
        dim.dim_value = canvas
    for node in graph.node:
        node.input[:] = ["image_28" if name == "image" else name for name in node.input]
    corner = [numpy_helper.from_array(np.array(values, np.int64), name)
              for name, values in (("corner_start", [0, 0]), ("corner_end", [28, 28]), ("corner_axes", [1, 2]))]
    graph.initializer.extend(corner)
    graph.node.insert(0, helper.make_node("Slice", ["image", "corner_start", "corner_end", "corner_axes"], ["image_28"]))
    return proto


def many_labels(count: int) -> onnx.ModelProto:
    """A head of `count` outputs and as many labels: a graph and metadata that agree."""
    proto = with_metadata(shipped(), labels=[f"c{i}" for i in range(count)])
    graph = proto.graph
    for initializer in graph.initializer:
        if initializer.name.startswith("model.head."):
            array = numpy_helper.to_array(initializer)
            initializer.CopyFrom(numpy_helper.from_array(np.resize(array, (count, *array.shape[1:])), initializer.name))
    for output in graph.output:
        output.type.tensor_type.shape.dim[1].dim_value = count
    return proto


def protobuf_field(number: int, payload: bytes) -> bytes:
    """One length-delimited protobuf field, as a hostile writer can append it to a file."""
    def varint(value: int) -> bytes:
        out = b""
        while value >= 0x80:
            out, value = out + bytes([value & 0x7F | 0x80]), value >> 7
        return out + bytes([value])
    return varint(number << 3 | 2) + varint(len(payload)) + payload


def graph_split_in_two() -> bytes:
    """The Loop model with its graph in two fields (ModelProto.graph = 7): protobuf, and so
    onnxruntime, merges them into one graph; a reader that keeps only the last sees no Loop."""
    proto = loop_in_the_probe()
    loop = [node for node in proto.graph.node if node.op_type == "Loop" or node.name == "uses_the_extra_value"]
    rest = onnx.GraphProto()
    rest.CopyFrom(proto.graph)
    del rest.node[:]
    rest.node.extend(node for node in proto.graph.node if node not in loop)
    second = onnx.GraphProto(node=loop)
    proto.ClearField("graph")
    data = proto.SerializeToString() + protobuf_field(7, rest.SerializeToString()) + protobuf_field(7, second.SerializeToString())
    assert "Loop" in [node.op_type for node in onnx.load_from_string(data).graph.node]  # protobuf sees it
    return data


def metadata_not_utf8() -> bytes:
    """A metadata value that is not UTF-8 (ModelProto.metadata_props = 14; key = 1, value = 2):
    onnxruntime's custom_metadata_map raised UnicodeDecodeError, a traceback."""
    entry = protobuf_field(1, b"note") + protobuf_field(2, b"\xff\xfe")
    return shipped().SerializeToString() + protobuf_field(14, entry)


def growing_as_the_batch_squared() -> onnx.ModelProto:
    """A [batch, batch] value, from operators digit-export writes: its size per image grows with the batch."""
    def const(name, values):
        return numpy_helper.from_array(np.array(values, np.int64), name)
    nodes = [
        helper.make_node("Gather", ["image", "zero"], ["row"], axis=1),  # [batch, 28]
        helper.make_node("Gather", ["row", "zero"], ["pixel"], axis=1),  # [batch]
        helper.make_node("Reshape", ["pixel", "column_shape"], ["column"]),  # [batch, 1]
        helper.make_node("Transpose", ["column"], ["row_of_batch"], perm=[1, 0]),  # [1, batch]
        helper.make_node("Sub", ["column", "row_of_batch"], ["square"]),  # [batch, batch]
        helper.make_node("Gather", ["square", "zero"], ["first"], axis=1),  # [batch]
        helper.make_node("Reshape", ["first", "column_shape"], ["extra"]),  # [batch, 1]
    ]
    return logits_through(shipped(), nodes, [const("zero", 0), const("column_shape", [-1, 1])], "extra")


def with_unused_nodes(count: int) -> onnx.ModelProto:
    proto = shipped()
    proto.graph.node.extend(helper.make_node("Softmax", ["image"], [f"unused_{i}"]) for i in range(count))
    return proto


def with_opset(version: int) -> onnx.ModelProto:
    proto = shipped()
    proto.opset_import[0].version = version
    return proto


def with_doc_string(megabytes: int) -> onnx.ModelProto:
    proto = shipped()
    proto.doc_string = "x" * (megabytes << 20)
    return proto


def with_metadata_twice() -> onnx.ModelProto:
    """onnxruntime keeps the last of two values for one key; a check must not read the other one."""
    proto = shipped()
    proto.metadata_props.add(key="preprocessing", value=json.dumps({"canvas": 28, "digit_box": 20}))
    return proto


def compute_bomb(stages: int = 75, steps: int = 256, hidden: int = 256) -> onnx.ModelProto:
    """LSTMs in a chain, each over [steps, batch, hidden] made from the image by Gather, all sharing
    one set of weights (2 MB): every value within the size bound, 10 billion multiply-adds per image."""
    rng = np.random.default_rng(0)
    weights = [numpy_helper.from_array(rng.normal(0, 0.05, (1, 4 * hidden, hidden)).astype(np.float32), name)
               for name in ("w", "r")]
    constants = [numpy_helper.from_array(np.arange(steps, dtype=np.int64) % 28, "rows"),
                 numpy_helper.from_array(np.arange(hidden, dtype=np.int64) % 28, "columns"),
                 numpy_helper.from_array(np.array([1], np.int64), "direction_axis"),
                 numpy_helper.from_array(np.zeros(1, np.int64), "first")]
    nodes = [helper.make_node("Gather", ["image", "rows"], ["tall"], axis=1),  # [batch, steps, 28]
             helper.make_node("Gather", ["tall", "columns"], ["wide"], axis=2),  # [batch, steps, hidden]
             helper.make_node("Transpose", ["wide"], ["x_0"], perm=[1, 0, 2])]  # [steps, batch, hidden]
    for stage in range(stages):
        nodes += [helper.make_node("LSTM", [f"x_{stage}", "w", "r"], [f"y_{stage}"], hidden_size=hidden),
                  helper.make_node("Squeeze", [f"y_{stage}", "direction_axis"], [f"h_{stage}"]),  # [steps, batch, hidden]
                  helper.make_node("Add", ["x_0", f"h_{stage}"], [f"x_{stage + 1}"])]
    nodes += [helper.make_node("Gather", [f"x_{stages}", "first"], ["last_row"], axis=0),  # [1, batch, hidden]
              helper.make_node("Squeeze", ["last_row", "first"], ["per_image"]),  # [batch, hidden]
              helper.make_node("Gather", ["per_image", "first"], ["extra"], axis=1)]  # [batch, 1]
    proto = logits_through(shipped(), nodes, weights + constants, "extra")
    for output in proto.graph.output:  # so that loading runs the probe
        output.type.tensor_type.ClearField("shape")
    return proto


DIGITS = [str(d) for d in range(10)]


def labels_with(seven: str) -> list[str]:
    return [*DIGITS[:7], seven, *DIGITS[8:]]


def issue_models() -> dict:
    """The models as issue 22 describes them, at its sizes."""
    return {
        "loop-in-the-probe": loop_in_the_probe,
        **{f"{kind}-1.6GB": (lambda kind=kind: folding_bomb(kind, 400_000_000)) for kind in ("ConstantOfShape", "Expand", "Tile", "Sub")},
        "canvas-20000": huge_canvas,
        "canvas-1e400": lambda: with_metadata(shipped(), preprocessing='{"canvas": 1e400, "digit_box": 20}'),
        "labels-nested-deep": lambda: with_metadata(shipped(), labels="[" * 20_000 + "]" * 20_000),
        "label-newline": lambda: with_metadata(shipped(), labels=labels_with("7\nsamples/forged.png\t3\t0.9999")),
        "label-osc": lambda: with_metadata(shipped(), labels=labels_with("\x1b]0;owned\x077")),
        "rejection-label-ansi": lambda: with_metadata(shipped(), rejection=rejection_with_label("\x1b[31m-")),
    }


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    for name, make in issue_models().items():
        path = folder / f"{name}.onnx"
        made = make()
        path.write_bytes(made if isinstance(made, bytes) else made.SerializeToString())
        run = measured_classify(*SAMPLES[:2], "--model", path, address_space=ADDRESS_SPACE_FOR_COMMAND)
        lines = (run.err or run.out).strip().splitlines()
        print(f"{name:22s} {path.stat().st_size / 1e3:5.0f} kB  exit {run.code:3d}  {run.seconds:5.2f} s  {run.peak_mb:5.0f} MB  "
              f"{'timed out ' if run.timed_out else ''}{(lines[-1] if lines else '')[:100]!r}")


if __name__ == "__main__":
    main()
