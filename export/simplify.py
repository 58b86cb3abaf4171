"""Simplify the exported graph around its recurrent nodes, for batch-1 latency.

torch.onnx builds each recurrent layer's zero initial state for the dynamic batch (Shape, Concat,
Expand, Slice) and reshapes each layer's output with ten shape-computing nodes. For a model this
small those nodes cost about as much as the recurrence. Two rewrites, both exact:
- an initial state that is all zeros is dropped: ONNX's LSTM, GRU and RNN default it to zeros;
- a one-direction layer's output Y [T, 1, N, H], transposed and reshaped to [T, N, H], is one Squeeze.
Then onnxscript's optimizer removes the nodes and initializers nothing uses. The parity check runs on the result.
"""

import numpy as np
import onnx
import onnxscript.optimizer
from onnx import helper, numpy_helper

RECURRENT = {"LSTM", "GRU", "RNN"}
INITIAL_STATES = (5, 6)  # initial_h, and initial_c for LSTM
PASS_THROUGH = {"Slice", "Reshape", "Transpose", "Squeeze", "Unsqueeze", "Identity"}


def _constant_arrays(graph: onnx.GraphProto) -> dict:
    arrays = {init.name: numpy_helper.to_array(init) for init in graph.initializer}
    for node in graph.node:
        if node.op_type == "Constant" and node.attribute and node.attribute[0].name == "value":
            arrays[node.output[0]] = numpy_helper.to_array(node.attribute[0].t)
    return arrays


def _zero_filled(name: str, producers: dict, constants: dict) -> bool:
    """Whether a value is all zeros whatever the input: an Expand of zeros, or a view of one."""
    node = producers.get(name)
    if node is None:
        return name in constants and not np.any(constants[name])
    if node.op_type == "Expand":
        return node.input[0] in constants and not np.any(constants[node.input[0]])
    if node.op_type in PASS_THROUGH:
        return _zero_filled(node.input[0], producers, constants)
    return False


def _attribute(node, name, default=None):
    return next((helper.get_attribute_value(a) for a in node.attribute if a.name == name), default)


def _drop_zero_initial_states(graph, producers, constants) -> None:
    for node in graph.node:
        if node.op_type in RECURRENT:
            for index in INITIAL_STATES:
                if index < len(node.input) and node.input[index] and _zero_filled(node.input[index], producers, constants):
                    node.input[index] = ""
            while node.input and node.input[-1] == "":
                node.input.pop()


def _replace_nodes(graph, nodes) -> None:
    kept = [onnx.NodeProto.FromString(node.SerializeToString()) for node in nodes]
    del graph.node[:]
    graph.node.extend(kept)


def _squeeze_single_direction_outputs(graph, producers) -> None:
    axes = "lstm_digits_squeeze_axis_1"
    nodes = []
    for node in graph.node:
        transpose = producers.get(node.input[0]) if node.op_type == "Reshape" else None
        recurrent = producers.get(transpose.input[0]) if transpose is not None and transpose.op_type == "Transpose" else None
        if (recurrent is not None and recurrent.op_type in RECURRENT and recurrent.output[0] == transpose.input[0]
                and list(_attribute(transpose, "perm", [])) == [0, 2, 1, 3]
                and _attribute(recurrent, "direction", b"forward") in (b"forward", "forward")):
            if not any(init.name == axes for init in graph.initializer):
                graph.initializer.append(numpy_helper.from_array(np.array([1], dtype=np.int64), axes))
            node = helper.make_node("Squeeze", [recurrent.output[0], axes], [node.output[0]], name=f"{node.name}_squeeze")
        nodes.append(node)
    _replace_nodes(graph, nodes)


def simplify(model: onnx.ModelProto) -> onnx.ModelProto:
    graph = model.graph
    constants = _constant_arrays(graph)
    producers = {out: node for node in graph.node for out in node.output}
    _drop_zero_initial_states(graph, producers, constants)
    _squeeze_single_direction_outputs(graph, producers)
    onnxscript.optimizer.remove_unused_nodes(model)  # and the initializers only they used
    return model
