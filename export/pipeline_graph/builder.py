"""A small helper for writing ONNX graphs by hand: `g.op("Add", a, b)` appends a node and returns
the name of its output. Subgraphs (the branches of If, the body of Loop) are Builders that share
their parent's name counter, so every value name in the model is unique."""

import itertools

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

FLOAT, DOUBLE, INT64, INT32, BOOL, UINT8 = (TensorProto.FLOAT, TensorProto.DOUBLE, TensorProto.INT64, TensorProto.INT32,
                                          TensorProto.BOOL, TensorProto.UINT8)


class Builder:
    def __init__(self, prefix: str = "pre", counter=None):
        self.prefix = prefix
        self.counter = counter if counter is not None else itertools.count()
        self.nodes: list = []

    def name(self, hint: str = "v") -> str:
        return f"{self.prefix}/{hint}_{next(self.counter)}"

    def op(self, op_type: str, *inputs: str, outputs: int = 1, **attributes):
        """Append one node; its output name (or a tuple of names when outputs > 1)."""
        names = [self.name(op_type) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, list(inputs), names, name=self.name(op_type + "_node"), **attributes))
        return names[0] if outputs == 1 else tuple(names)

    def const(self, value, dtype=np.float32) -> str:
        """A constant tensor (a Constant node: subgraphs may use it too)."""
        array = np.asarray(value, dtype=dtype)
        out = self.name("const")
        self.nodes.append(helper.make_node("Constant", [], [out], name=out + "_node", value=numpy_helper.from_array(array, out)))
        return out

    def scalar(self, value, dtype=np.float32) -> str:
        return self.const(value, dtype)

    def ints(self, *values: int) -> str:
        return self.const(list(values), np.int64)

    def sub(self, hint: str) -> "Builder":
        return Builder(f"{self.prefix}/{hint}", self.counter)

    def graph(self, name: str, inputs: list, outputs: list):
        """This builder's nodes as a GraphProto; inputs/outputs: (name, type) or (name, type, shape)."""
        def info(item):
            return helper.make_tensor_value_info(item[0], item[1], item[2] if len(item) > 2 else None)
        return helper.make_graph(self.nodes, name, [info(i) for i in inputs], [info(o) for o in outputs])

    # --- the few compound operations every step uses ---

    def cast(self, x: str, to: int) -> str:
        return self.op("Cast", x, to=to)

    def if_(self, condition: str, then_branch: "Builder", then_outputs: list, else_branch: "Builder",
            else_outputs: list, types: list) -> tuple:
        """If(condition): each branch's builder and its output names; types: the outputs' element types."""
        then_graph = then_branch.graph(then_branch.prefix, [], [(self._identity(then_branch, o), t) for o, t in zip(then_outputs, types)])
        else_graph = else_branch.graph(else_branch.prefix, [], [(self._identity(else_branch, o), t) for o, t in zip(else_outputs, types)])
        result = self.op("If", condition, outputs=len(types), then_branch=then_graph, else_branch=else_graph)
        return result if len(types) > 1 else (result,)

    @staticmethod
    def _identity(branch: "Builder", value: str) -> str:
        # A branch's outputs must be values made in the branch (not outer ones): an Identity makes sure.
        return branch.op("Identity", value)
