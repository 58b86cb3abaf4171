"""What an ONNX file holds, read from its bytes with the standard library: the fields the load-time
check needs (runtime/model_check.py), before onnxruntime is given the file. Neither onnx nor
protobuf is imported: this is a reader of the protobuf wire format for the few ONNX fields used.

It reads as protobuf does, so that it sees what onnxruntime will see: a message field that occurs
more than once is the merge of all its occurrences (a graph split in two is read whole), the last
occurrence of a single value wins, and repeated numbers may be packed or not. Field numbers are
onnx.proto's; fields not listed here are passed over. A field of a type other than onnx.proto's,
which protobuf would pass over, is refused instead. Reading costs at most MAX_FIELDS fields and
numbers, whatever the file holds.
"""

import struct

MAX_FIELDS = 100_000  # fields and packed numbers read from one file: the shipped model has about 400
SMALL_TENSOR = 64  # integer initializers up to this many elements are decoded (axes, shapes, indices)
INT_TYPES = {6: "i", 7: "q"}  # TensorProto.INT32, INT64: their raw_data layout (little-endian)
# AttributeProto fields and types that hold a tensor, a graph or a type rather than numbers and strings
NESTED_ATTRIBUTE_FIELDS = {5, 6, 10, 11, 14, 15, 22, 23}
NESTED_ATTRIBUTE_TYPES = {4, 5, 9, 10, 11, 12, 13, 14}


class ModelProblem(ValueError):
    """What is wrong with a model file, in one line that does not name the file."""


def quoted(text: str, limit: int = 60) -> str:
    """A name from the file as a problem shows it: quoted, escaped (one line, no terminal codes), cut."""
    return repr(text[:limit]) + ("..." if len(text) > limit else "")


class _Record:
    """Plain attribute holders: four dataclasses took 4 ms to import, on every model load's path."""

    __slots__ = ()

    def __init__(self, *values):
        for name, value in zip(self.__slots__, values):
            setattr(self, name, value)


class Tensor(_Record):
    """An initializer: its declared shape and type; its numbers only when it is a small integer tensor."""

    __slots__ = ("name", "dims", "data_type", "external", "values")
    name: str
    dims: tuple[int, ...]
    data_type: int
    external: bool  # its data is in another file
    values: tuple[int, ...] | None


class Node(_Record):
    __slots__ = ("op_type", "domain", "inputs", "outputs", "attributes", "nested")
    op_type: str
    domain: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    attributes: dict  # name -> int, float, bytes or a tuple of them; None for a type not read here
    nested: bool  # an attribute holds a graph, a tensor or a type


class ValueInfo(_Record):
    __slots__ = ("name", "elem_type", "dims")
    name: str
    elem_type: int | None  # None: not a tensor
    dims: tuple[int | str | None, ...] | None  # a number, a named dimension or None (unknown); None: no shape


class Model:
    def __init__(self):
        self.opsets: dict[str, int] = {}
        self.metadata: dict[str, str] = {}
        self.repeated_metadata: list[str] = []  # keys given more than once
        self.nodes: list[Node] = []
        self.initializers: list[Tensor] = []
        self.inputs: list[ValueInfo] = []
        self.outputs: list[ValueInfo] = []
        self.extras: list[str] = []  # parts the runtime never takes: functions, training, sparse weights


def _unusable(reason: str) -> ModelProblem:
    return ModelProblem(f"not a usable ONNX model ({reason})")


class _Reader:
    """The wire format, with a budget of MAX_FIELDS fields and numbers for the whole file."""

    def __init__(self):
        self.budget = MAX_FIELDS

    def spend(self, count: int) -> None:
        self.budget -= count
        if self.budget < 0:
            raise ModelProblem(f"the file holds more than {MAX_FIELDS:,} fields and numbers")

    @staticmethod
    def varint(data: memoryview, position: int) -> tuple[int, int]:
        result = shift = 0
        while True:
            if position >= len(data):
                raise _unusable("it ends inside a number")
            byte = data[position]
            position += 1
            result |= (byte & 0x7F) << shift
            if byte < 0x80:
                return result, position
            shift += 7
            if shift >= 70:
                raise _unusable("a number longer than 10 bytes")

    def fields(self, data: memoryview) -> dict[int, list]:
        """One message: field number -> its occurrences in order (an int, or a memoryview for bytes)."""
        fields: dict[int, list] = {}
        position, end, count = 0, len(data), 0
        while position < end:
            key = data[position]  # one byte for fields 1-15, the common case
            key, position = (key, position + 1) if key < 0x80 else self.varint(data, position)
            number, wire = key >> 3, key & 7
            if wire == 0:
                value, position = self.varint(data, position)
            elif wire == 1 or wire == 5:
                size = 8 if wire == 1 else 4
                if position + size > end:
                    raise _unusable("it ends inside a number")
                value = int.from_bytes(data[position : position + size], "little")
                position += size
            elif wire == 2:
                size, position = self.varint(data, position)
                if position + size > end:
                    raise _unusable("a field runs past the end of its message")
                value = data[position : position + size]
                position += size
            else:
                raise _unusable(f"wire type {wire}")
            if number == 0:
                raise _unusable("field number 0")
            fields.setdefault(number, []).append(value)
            count += 1
            if count > self.budget:
                self.spend(count)
        self.spend(count)
        return fields

    def message(self, fields: dict, number: int) -> dict[int, list]:
        """A message field: all its occurrences merged, as protobuf merges them."""
        parts = [_bytes(part) for part in fields.get(number, [])]
        return self.fields(parts[0] if len(parts) == 1 else memoryview(b"".join(parts)))

    def integers(self, fields: dict, number: int) -> list[int]:
        """A repeated int64 field, packed (bytes) or not (numbers)."""
        values = []
        for item in fields.get(number, []):
            if isinstance(item, int):
                values.append(_signed(item))
                continue
            position, first = 0, len(values)
            while position < len(item):
                value, position = self.varint(item, position)
                values.append(_signed(value))
                if len(values) - first > self.budget:
                    self.spend(len(values) - first)
            self.spend(len(values) - first)
        return values

    def floats(self, fields: dict, number: int) -> list[float]:
        values = []
        for item in fields.get(number, []):
            if isinstance(item, int):
                values.append(struct.unpack("<f", (item & 0xFFFFFFFF).to_bytes(4, "little"))[0])
            elif len(item) % 4 == 0:
                self.spend(len(item) // 4)
                values.extend(struct.unpack(f"<{len(item) // 4}f", item))
            else:
                raise _unusable("packed floats of odd length")
        return values


def _bytes(value) -> memoryview:
    if not isinstance(value, memoryview):
        raise _unusable("a number where onnx.proto has bytes or a message")
    return value


def _number(fields: dict, number: int, default: int = 0) -> int:
    if number not in fields:
        return default
    value = fields[number][-1]
    if not isinstance(value, int):
        raise _unusable("bytes where onnx.proto has a number")
    return _signed(value)


def _text(value) -> str:
    try:
        return bytes(_bytes(value)).decode("utf-8")
    except UnicodeDecodeError:
        raise _unusable("a name or text that is not UTF-8") from None


def _string(fields: dict, number: int, default: str = "") -> str:
    return _text(fields[number][-1]) if number in fields else default


def _signed(value: int) -> int:
    return value - (1 << 64) if value >= 1 << 63 else value


# --- ONNX messages ---

def _tensor(reader: _Reader, data: memoryview) -> Tensor:
    fields = reader.fields(data)
    dims = tuple(reader.integers(fields, 1))
    data_type = _number(fields, 2)
    external = 13 in fields or _number(fields, 14) == 1
    count = 1
    for dim in dims:
        count *= max(dim, 0)
    values = None
    if data_type in INT_TYPES and count <= SMALL_TENSOR and not external:
        if 9 in fields:  # raw_data
            raw = _bytes(fields[9][-1])
            if len(raw) == count * struct.calcsize(INT_TYPES[data_type]):
                values = struct.unpack(f"<{count}{INT_TYPES[data_type]}", raw)
        else:
            stored = reader.integers(fields, 7 if data_type == 7 else 5)
            if len(stored) == count:
                values = tuple(stored)
    return Tensor(_string(fields, 8), dims, data_type, external, values)


def _attribute(reader: _Reader, data: memoryview) -> tuple[str, object, bool]:
    fields = reader.fields(data)
    kind = _number(fields, 20)
    nested = kind in NESTED_ATTRIBUTE_TYPES or bool(NESTED_ATTRIBUTE_FIELDS & fields.keys())
    value = None
    if kind == 1:
        value = (reader.floats(fields, 2) or [0.0])[-1]
    elif kind == 2:
        value = _number(fields, 3)
    elif kind == 3:
        value = bytes(_bytes(fields[4][-1])) if 4 in fields else b""
    elif kind == 6:
        value = tuple(reader.floats(fields, 7))
    elif kind == 7:
        value = tuple(reader.integers(fields, 8))
    elif kind == 8:
        value = tuple(bytes(_bytes(item)) for item in fields.get(9, []))
    return _string(fields, 1), value, nested


def _node(reader: _Reader, data: memoryview) -> Node:
    fields = reader.fields(data)
    attributes, nested = {}, False
    for item in fields.get(5, []):
        name, value, holds = _attribute(reader, _bytes(item))
        attributes[name] = value
        nested = nested or holds
    return Node(_string(fields, 4), _string(fields, 7), tuple(_text(x) for x in fields.get(1, [])),
                tuple(_text(x) for x in fields.get(2, [])), attributes, nested)


def _value_info(reader: _Reader, data: memoryview) -> ValueInfo:
    fields = reader.fields(data)
    name = _string(fields, 1)
    type_fields = reader.message(fields, 2)
    if 1 not in type_fields:  # a sequence, map, optional or sparse tensor
        return ValueInfo(name, None, None)
    tensor = reader.message(type_fields, 1)
    if 2 not in tensor:
        return ValueInfo(name, _number(tensor, 1), None)
    dims = []
    for item in reader.message(tensor, 2).get(1, []):
        dim = reader.fields(_bytes(item))
        dims.append(_number(dim, 1) if 1 in dim else _string(dim, 2) if 2 in dim else None)
    return ValueInfo(name, _number(tensor, 1), tuple(dims))


def read_model(data: bytes, max_nodes: int) -> Model:
    """The parts of a ModelProto the check needs. Raises ModelProblem if the bytes are not one, or
    if its graph has more than max_nodes nodes (counted before any is read)."""
    reader = _Reader()
    fields = reader.fields(memoryview(data))
    model = Model()
    for item in fields.get(8, []):
        opset = reader.fields(_bytes(item))
        model.opsets[_string(opset, 1)] = _number(opset, 2)
    for item in fields.get(14, []):
        entry = reader.fields(_bytes(item))
        key = _string(entry, 1)
        if key in model.metadata:
            model.repeated_metadata.append(key)
        model.metadata[key] = _string(entry, 2)
    for number, name in ((20, "training information"), (25, "functions")):
        if number in fields:
            model.extras.append(name)
    if 7 in fields:
        graph = reader.message(fields, 7)
        if len(graph.get(1, [])) > max_nodes:
            raise ModelProblem(f"the graph has {len(graph[1]):,} nodes, more than {max_nodes}")
        model.nodes = [_node(reader, _bytes(item)) for item in graph.get(1, [])]
        model.initializers = [_tensor(reader, _bytes(item)) for item in graph.get(5, [])]
        model.inputs = [_value_info(reader, _bytes(item)) for item in graph.get(11, [])]
        model.outputs = [_value_info(reader, _bytes(item)) for item in graph.get(12, [])]
        if 15 in graph:
            model.extras.append("sparse initializers")
    return model
