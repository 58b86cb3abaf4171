"""Saving an export's ONNX files without details of the build.

The exporters record, in the graph, the Python stack trace of every node (absolute paths of our
code and of torch's), module paths and the numbering of symbols, which depends on what the process
did before. None of it is needed to run or to read the model, and it would make the shipped files
name the machine that built them and differ from one export to the next.
"""

from pathlib import Path

import onnx


def _subgraphs(nodes):
    """Every graph held by these nodes' attributes (If, Loop and Scan bodies), at any depth."""
    for node in nodes:
        for attribute in node.attribute:
            for graph in (*([attribute.g] if attribute.HasField("g") else []), *attribute.graphs):
                yield graph
                yield from _subgraphs(graph.node)


def strip_build_details(proto: onnx.ModelProto) -> onnx.ModelProto:
    """proto, changed in place: no doc_string and no metadata_props on any graph, node, value,
    initializer or function (torch writes `pkg.torch.*` there, onnxscript `pkg.onnxscript.*`).
    The model's own doc_string and metadata_props (the ones we write) stay."""
    graphs = (proto.graph, *_subgraphs(proto.graph.node), *_subgraphs(n for f in proto.functions for n in f.node))
    items = [item for graph in graphs
             for item in (graph, *graph.node, *graph.input, *graph.output, *graph.value_info, *graph.initializer)]
    items += [item for function in proto.functions for item in (function, *function.node)]
    for item in items:
        item.doc_string = ""
        del item.metadata_props[:]
    return proto


def save_onnx(proto: onnx.ModelProto, path: Path) -> None:
    """Writes proto to path without build details (strip_build_details): every ONNX file of an export."""
    onnx.save(strip_build_details(proto), str(path))
