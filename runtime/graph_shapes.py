"""The shape of every value a graph computes, worked out from the file alone (runtime/model_check.py
bounds them), for the operators digit-export writes. Standard library only.

A dimension is a monomial in the batch, (c, k) = c * batch**k: (28, 0) is 28, (1, 1) is the batch.
Dimensions only ever multiply, so every shape's size is a monomial too and "how much per image" is
its coefficient. Small integer tensors (shapes, axes, indices) also carry their values, as the
exporter computes reshape targets from Shape nodes. Whatever is not understood here is refused:
a graph the check cannot follow is not one digit-export wrote.
"""

from itertools import zip_longest

from .onnx_structure import Model, ModelProblem, Node, quoted

ONE = (1, 0)
BATCH = (1, 1)
LARGE = 1 << 31  # a slice end at or past this keeps the whole dimension, whatever the batch
GATES = {"LSTM": 4, "GRU": 3, "RNN": 1, "DynamicQuantizeLSTM": 4}  # the recurrent operators, and their gates
DIRECTIONS = {b"forward": 1, b"reverse": 1, b"bidirectional": 2}


class Value:
    __slots__ = ("shape", "values")

    def __init__(self, shape: tuple, values: tuple | None = None):
        self.shape, self.values = tuple(shape), values


def shown(shape: tuple) -> str:
    def dim(d):
        c, k = d
        return str(c) if k == 0 else "batch" if d == BATCH else f"{c}*batch" if k == 1 else f"{c}*batch^{k}"
    return "[" + ", ".join(dim(d) for d in shape) + "]"


def size(shape: tuple) -> tuple[int, int]:
    c, k = 1, 0
    for dc, dk in shape:
        c, k = c * dc, k + dk
    return (0, 0) if c == 0 else (c, k)


def _times(a, b):
    return (0, 0) if a[0] == 0 or b[0] == 0 else (a[0] * b[0], a[1] + b[1])


def _fixed(value, what: str) -> int:
    if value is None or value[1] != 0:
        raise ModelProblem(f"{what} is not a fixed number")
    return value[0]


def _known(value: Value | None, what: str) -> tuple:
    if value is None or value.values is None:
        raise ModelProblem(f"{what} is not known from the file")
    return value.values


def _attribute(node: Node, name: str, default=None):
    value = node.attributes.get(name, default)
    if value is None and name in node.attributes:
        raise ModelProblem(f"{node.op_type} attribute {quoted(name)} has no type")
    return value


def _axis(axis: int, rank: int, node: Node) -> int:
    if not -rank <= axis < max(rank, 1):
        raise ModelProblem(f"{node.op_type} axis {axis} is outside rank {rank}")
    return axis % rank if rank else 0


def _broadcast(a: tuple, b: tuple) -> tuple:
    out = []
    for x, y in zip_longest(reversed(a), reversed(b), fillvalue=ONE):
        if x == y or y == ONE:
            out.append(x)
        elif x == ONE:
            out.append(y)
        else:
            raise ModelProblem(f"shapes {shown(a)} and {shown(b)} do not broadcast")
    return tuple(reversed(out))


def _elementwise(node: Node, a: Value, b: Value) -> list[Value]:
    shape = _broadcast(a.shape, b.shape)
    values = None
    if a.values is not None and b.values is not None and len(shape) <= 1:
        left, right = a.values, b.values
        count = max(len(left), len(right))
        left, right = (left * count if len(left) == 1 else left), (right * count if len(right) == 1 else right)
        if node.op_type == "Mul":
            values = tuple(_times(x, y) for x, y in zip(left, right))
        elif all(x[1] == 0 and y[1] == 0 for x, y in zip(left, right)):
            if node.op_type == "Add":
                values = tuple((x[0] + y[0], 0) for x, y in zip(left, right))
            elif node.op_type == "Sub":
                values = tuple((x[0] - y[0], 0) for x, y in zip(left, right))
            elif all(y[0] for y in right):  # integer Div truncates towards zero
                values = tuple(((abs(x[0]) // abs(y[0])) * (1 if (x[0] < 0) == (y[0] < 0) else -1), 0)
                               for x, y in zip(left, right))
    return [Value(shape, values)]


def _transpose(node: Node, data: Value) -> list[Value]:
    rank = len(data.shape)
    perm = _attribute(node, "perm", tuple(reversed(range(rank))))
    if sorted(perm) != list(range(rank)):
        raise ModelProblem(f"Transpose perm {list(perm)} does not fit rank {rank}")
    return [Value(tuple(data.shape[i] for i in perm))]


def _squeeze(node: Node, data: Value, axes: Value | None = None) -> list[Value]:
    rank = len(data.shape)
    if axes is None:
        raise ModelProblem("Squeeze without axes")
    dropped = {_axis(_fixed(a, "a Squeeze axis"), rank, node) for a in _known(axes, "Squeeze's axes")}
    if any(data.shape[i] != ONE for i in dropped):
        raise ModelProblem(f"Squeeze of axes {sorted(dropped)} of {shown(data.shape)}")
    return [Value(tuple(d for i, d in enumerate(data.shape) if i not in dropped), data.values)]


def _reshape(node: Node, data: Value, target: Value) -> list[Value]:
    wanted = _known(target, "a Reshape's target shape")
    keep_zero = _attribute(node, "allowzero", 0)
    shape, unknown = [], None
    for i, dim in enumerate(wanted):
        if dim == (0, 0) and not keep_zero:
            if i >= len(data.shape):
                raise ModelProblem(f"Reshape copies dimension {i} of {shown(data.shape)}")
            dim = data.shape[i]
        elif dim == (-1, 0) and unknown is None:
            unknown = i
        elif dim[0] < 0:
            raise ModelProblem(f"Reshape to {[d[0] for d in wanted]}")
        shape.append(dim)
    if unknown is not None:
        rest = size(shape[:unknown] + shape[unknown + 1 :])
        total = size(data.shape)
        if rest[0] == 0 or total[1] < rest[1] or total[0] % rest[0]:
            raise ModelProblem(f"Reshape of {shown(data.shape)} to {shown(tuple(shape))}")
        shape[unknown] = (total[0] // rest[0], total[1] - rest[1]) if total[0] else (0, 0)
    if size(tuple(shape)) != size(data.shape):
        raise ModelProblem(f"Reshape of {shown(data.shape)} to {shown(tuple(shape))}")
    return [Value(shape, data.values)]


def _concat(node: Node, *parts: Value) -> list[Value]:
    rank = len(parts[0].shape)
    axis = _axis(_attribute(node, "axis", 0), rank, node)
    if any(len(p.shape) != rank or p.shape[:axis] + p.shape[axis + 1 :] != parts[0].shape[:axis] + parts[0].shape[axis + 1 :]
           for p in parts):
        raise ModelProblem(f"Concat of {', '.join(shown(p.shape) for p in parts)}")
    joined = [p.shape[axis] for p in parts if p.shape[axis][0]]
    if len({k for _, k in joined}) > 1:
        raise ModelProblem(f"Concat of {', '.join(shown(p.shape) for p in parts)}")
    dim = (sum(c for c, _ in joined), joined[0][1]) if joined else (0, 0)
    values = sum((p.values for p in parts), ()) if rank == 1 and all(p.values is not None for p in parts) else None
    return [Value(parts[0].shape[:axis] + (dim,) + parts[0].shape[axis + 1 :], values)]


def _slice(node: Node, data: Value, starts: Value, ends: Value, axes: Value | None = None, steps: Value | None = None) -> list[Value]:
    rank = len(data.shape)
    starts, ends = _known(starts, "Slice's starts"), _known(ends, "Slice's ends")
    axes = _known(axes, "Slice's axes") if axes is not None else tuple((i, 0) for i in range(len(starts)))
    steps = _known(steps, "Slice's steps") if steps is not None else (ONE,) * len(starts)
    if not len(starts) == len(ends) == len(axes) == len(steps):
        raise ModelProblem("Slice's starts, ends, axes and steps differ in length")
    shape, values = list(data.shape), data.values
    for start, end, axis, step in zip(starts, ends, axes, steps):
        start, end, step = _fixed(start, "a Slice start"), _fixed(end, "a Slice end"), _fixed(step, "a Slice step")
        axis = _axis(_fixed(axis, "a Slice axis"), rank, node)
        if step == 0:
            raise ModelProblem("Slice step 0")
        if shape[axis][1] != 0:  # a batch dimension is only ever kept whole
            if not (start == 0 and end >= LARGE and step == 1):
                raise ModelProblem(f"Slice [{start}:{end}:{step}] of the batch dimension of {shown(data.shape)}")
            continue
        kept = range(*slice(start, end, step).indices(shape[axis][0]))
        shape[axis] = (len(kept), 0)
        values = tuple(values[i] for i in kept) if values is not None and rank == 1 else None
    return [Value(shape, values)]


def _gather(node: Node, data: Value, indices: Value) -> list[Value]:
    rank = len(data.shape)
    axis = _axis(_attribute(node, "axis", 0), rank, node)
    values = None
    if data.values is not None and indices.values is not None and rank == 1 and all(i[1] == 0 for i in indices.values):
        count = len(data.values)
        if all(-count <= i[0] < count for i in indices.values):
            values = tuple(data.values[i[0]] for i in indices.values)
    return [Value(data.shape[:axis] + indices.shape + data.shape[axis + 1 :], values)]


def _gemm(node: Node, a: Value, b: Value, c: Value | None = None) -> list[Value]:
    if len(a.shape) != 2 or len(b.shape) != 2:
        raise ModelProblem(f"Gemm of {shown(a.shape)} and {shown(b.shape)}")
    (m, k) = a.shape[::-1] if _attribute(node, "transA", 0) else a.shape
    (k2, n) = b.shape[::-1] if _attribute(node, "transB", 0) else b.shape
    if k != k2 or (c is not None and _broadcast((m, n), c.shape) != (m, n)):
        raise ModelProblem(f"Gemm of {shown(a.shape)} and {shown(b.shape)}")
    return [Value((m, n))]


def _matmul_integer(node: Node, a: Value, b: Value, *zero_points) -> list[Value]:
    if len(a.shape) < 2 or len(b.shape) != 2 or a.shape[-1] != b.shape[0]:
        raise ModelProblem(f"MatMulInteger of {shown(a.shape)} and {shown(b.shape)}")
    return [Value(a.shape[:-1] + b.shape[1:])]


def _shape(node: Node, data: Value) -> list[Value]:
    dims = data.shape[slice(_attribute(node, "start", 0), _attribute(node, "end", None))]
    return [Value(((len(dims), 0),), dims)]


def _recurrent(node: Node, x: Value, *weights) -> list[Value]:
    if len(x.shape) != 3:
        raise ModelProblem(f"{node.op_type} of {shown(x.shape)}")
    hidden = _attribute(node, "hidden_size", 0)
    directions = DIRECTIONS.get(_attribute(node, "direction", b"forward"))
    if not isinstance(hidden, int) or hidden <= 0 or directions is None:
        raise ModelProblem(f"{node.op_type} needs a hidden_size and a direction")
    batch_first = _attribute(node, "layout", 0) == 1
    (batch, steps) = x.shape[:2] if batch_first else x.shape[1::-1]
    states = (batch, (directions, 0), (hidden, 0)) if batch_first else ((directions, 0), batch, (hidden, 0))
    sequence = (batch, steps, (directions, 0), (hidden, 0)) if batch_first else (steps, (directions, 0), batch, (hidden, 0))
    return [Value(sequence), Value(states), Value(states)]


def _same(node: Node, data: Value, *rest) -> list[Value]:
    return [Value(data.shape, data.values if node.op_type == "Cast" else None)]


def _quantize(node: Node, data: Value) -> list[Value]:
    return [Value(data.shape), Value(()), Value(())]


SHAPES = {
    "Add": _elementwise, "Sub": _elementwise, "Mul": _elementwise, "Div": _elementwise,
    "Transpose": _transpose, "Squeeze": _squeeze, "Reshape": _reshape, "Concat": _concat, "Slice": _slice,
    "Gather": _gather, "Gemm": _gemm, "MatMulInteger": _matmul_integer, "Shape": _shape,
    "Softmax": _same, "Cast": _same, "DynamicQuantizeLinear": _quantize,
    **{name: _recurrent for name in GATES},
}


def node_work(node: Node, values: dict[str, Value]) -> tuple[int, int]:
    """Multiply-adds (or, for operators without, numbers written) a node costs, as a monomial in
    the batch like a size: a recurrent node does steps x directions x gates x hidden x (features +
    hidden), Gemm and MatMulInteger rows x inner x columns."""
    first = values[node.inputs[0]].shape
    if node.op_type in GATES:
        steps, batch, features = (first[1], first[0], first[2]) if _attribute(node, "layout", 0) == 1 else first
        hidden = _attribute(node, "hidden_size", 0)
        if features[1] != 0:
            raise ModelProblem(f"a {node.op_type} node's input {shown(first)} has features that grow with the batch")
        per_step = DIRECTIONS[_attribute(node, "direction", b"forward")] * GATES[node.op_type] * hidden * (features[0] + hidden)
        return size((steps, batch, (per_step, 0)))
    if node.op_type == "Gemm":
        rows, inner = first[::-1] if _attribute(node, "transA", 0) else first
        return size((rows, inner, values[node.outputs[0]].shape[1]))
    if node.op_type == "MatMulInteger":
        return size(first + values[node.outputs[0]].shape[-1:])
    work = (0, 0)
    for name in filter(None, node.outputs):
        made = size(values[name].shape)
        work = max(work, made, key=lambda m: (m[1], m[0]))
    return work


def value_shapes(model: Model, input_shapes: dict[str, tuple]) -> dict[str, Value]:
    """name -> Value for the graph's inputs (given), its initializers and every value its nodes
    compute, in order. Raises ModelProblem for a node that reads a value not made before it, a value
    made twice, or shapes its operator cannot take."""
    known: dict[str, Value] = {name: Value(shape) for name, shape in input_shapes.items()}
    for tensor in model.initializers:
        values = tuple((v, 0) for v in tensor.values) if tensor.values is not None else None
        known.setdefault(tensor.name, Value(tuple((d, 0) for d in tensor.dims), values))
    for node in model.nodes:
        missing = [name for name in node.inputs if name and name not in known]
        if missing:
            raise ModelProblem(f"a {node.op_type} node reads {quoted(missing[0])}, which nothing before it makes")
        arguments = [known[name] if name else None for name in node.inputs]
        if not arguments or arguments[0] is None:
            raise ModelProblem(f"a {node.op_type} node has no input")
        try:
            results = SHAPES[node.op_type](node, *arguments)
        except TypeError:  # too many or too few inputs for the operator
            raise ModelProblem(f"a {node.op_type} node with {len(node.inputs)} inputs") from None
        if len(node.outputs) > len(results):
            raise ModelProblem(f"a {node.op_type} node with {len(node.outputs)} outputs")
        for name, result in zip(node.outputs, results):
            if name in known:
                raise ModelProblem(f"value {quoted(name)} is made twice")
            if name:
                known[name] = result
    return known
