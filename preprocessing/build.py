"""Building the preprocessing's onnxscript functions into ONNX models: functions inlined, loops given
a condition, optimised, written reproducibly. The graphs built here (GRAPHS): the digit's MNIST
form (mnist_form.py, shipped as MNIST_FORM_GRAPH) and a number's strip (strip_form.py, the first
part of the number reader's file).
"""

import importlib
import logging
import os
import subprocess
import sys
from pathlib import Path

import onnx
import onnx_ir
import onnxscript.optimizer
from onnx_ir.passes.common import InlinePass

HASH_SEED = "0"
# name -> (module, the @script function whose arguments and results are the graph's inputs and outputs)
GRAPHS = {"mnist_form": ("lstm_digits.preprocessing.mnist_form", "_preprocess"),
          "strip_form": ("lstm_digits.preprocessing.strip_form", "strip_graph")}


def built_model(name: str) -> onnx.ModelProto:
    """The graph GRAPHS[name] as one ONNX model, functions inlined and optimised.

    Built in a Python process whose string hashing is fixed (PYTHONHASHSEED=0): onnxscript orders an
    If's outputs and a Loop's carried values as a Python set does, so the same code gave other bytes
    from one process to the next. Same outputs either way; a rebuild must give the same file."""
    if name not in GRAPHS:
        raise ValueError(f"no preprocessing graph called {name!r} (known: {', '.join(GRAPHS)})")
    if os.environ.get("PYTHONHASHSEED") != HASH_SEED:
        built = subprocess.run([sys.executable, "-m", __spec__.name, name], capture_output=True,
                               env={**os.environ, "PYTHONHASHSEED": HASH_SEED}, check=False)
        if built.returncode != 0:
            raise RuntimeError(f"building the {name} graph failed: {built.stderr.decode(errors='replace')[-2000:]}")
        return onnx.load_model_from_string(built.stdout)
    module, function = GRAPHS[name]
    graph = getattr(importlib.import_module(module), function)
    # onnx_ir's inliner: onnx.inliner leaves attribute defaults (reduce_by_tiles' tile sizes) unset,
    # and the optimizer's own inlining loses values that If branches read from outer scopes.
    model = onnx_ir.from_proto(graph.to_model_proto())
    InlinePass()(model)
    model = onnx_ir.to_proto(model)
    _give_loops_a_condition(model.graph)
    return optimized(model)


def write_runtime_format(source: Path, target: Path) -> None:
    """The graph at `source` saved by onnxruntime in its own format (ORT) at `target`, as it is (no
    optimisation: the runtime opens it with none)."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
    options.optimized_model_filepath = str(target)
    options.add_session_config_entry("session.save_model_format", "ORT")
    options.log_severity_level = 3
    onnxruntime.InferenceSession(str(source), options, providers=["CPUExecutionProvider"])


def optimized(model: onnx.ModelProto) -> onnx.ModelProto:
    """onnxscript's optimizer: constants folded, shared values merged, and the nodes nothing reads
    removed, in If branches too (onnxruntime warns embedders about unused constants). Its notes that
    branch outputs which are constants cannot be deduplicated are expected here, so they are not shown.
    The types and shapes it writes for the values inside the graph (value_info) are dropped: every
    runtime infers them again, and onnxruntime opens the graph sooner without them (117 ms against
    100 ms, docs/BENCHMARKS.md)."""
    deduplication = logging.getLogger("onnx_ir.passes.common.initializer_deduplication")
    level = deduplication.level
    deduplication.setLevel(logging.ERROR)
    try:
        model = onnxscript.optimizer.optimize(model)
    finally:
        deduplication.setLevel(level)
    drop_value_info(model.graph)
    return model


def drop_value_info(graph: onnx.GraphProto) -> None:
    """The types and shapes of the values inside the graph and its If and Loop bodies, removed."""
    del graph.value_info[:]
    for node in graph.node:
        for attribute in node.attribute:
            for body in [attribute.g] if attribute.type == onnx.AttributeProto.GRAPH else attribute.graphs:
                drop_value_info(body)


def _give_loops_a_condition(graph: onnx.GraphProto) -> None:
    """A Python `for` becomes a Loop with no condition input, which ONNX reads as "always true" and
    onnx's reference evaluator as "false" (it runs none of the iterations): each gets a constant True."""
    for index in reversed(range(len(graph.node))):
        node = graph.node[index]
        for attribute in node.attribute:
            if attribute.type == onnx.AttributeProto.GRAPH:
                _give_loops_a_condition(attribute.g)
        if node.op_type == "Loop" and (len(node.input) < 2 or not node.input[1]):
            always = f"{node.output[0]}_always"
            graph.node.insert(index, onnx.helper.make_node("Constant", [], [always], value=onnx.helper.make_tensor(
                always, onnx.TensorProto.BOOL, [], [True])))
            node.input[1] = always


if __name__ == "__main__":  # (built_model's child process) the model's bytes on stdout
    sys.stdout.buffer.write(built_model(sys.argv[1]).SerializeToString())
