"""Writing the model in each format: ONNX (with its metadata), TorchScript and torch.export.

Each file is reproducible and names no path of the machine that wrote it: the same checkpoint gives
the same bytes in any folder, on any machine with the same versions. The exporters record where the
model's Python code was when they traced it (stack traces with absolute paths, in ONNX node
metadata, TorchScript's *.debug_pkl records and torch.export's node metadata) and state of the
process (symbol numbering, a random example input); all of that is left out here. One limit:
TorchScript names the classes it traces after their Python names, and a second trace of the same
class in one process gets a mangled name (`___torch_mangle_N`, from TorchScript's global class
registry), so only the first TorchScript export in a process is reproducible byte for byte
(`digit-export` exports once a process).
"""

import contextlib
import io
import json
import warnings
from pathlib import Path

import onnx
import onnxscript.optimizer
import torch
from torch import nn

from ..models import INPUT_NAME, OPSET, OUTPUT_NAMES
from ..training.contract import IMAGE_SIZE
from .onnx_files import save_onnx
from .rnn_onnx import CUSTOM_TRANSLATIONS
from .simplify import simplify

MAX_BATCH = 65_536
FOLD_LIMIT = 1 << 26  # elements: fold every constant weight of any model we export


class WithProbabilities(nn.Module):
    """The exported graph: logits and their calibrated softmax, softmax(logits / temperature), so
    users need no post-processing (the temperature: export/calibration.py)."""

    def __init__(self, model: nn.Module, temperature: float = 1.0):
        super().__init__()
        self.model, self.temperature = model, temperature

    def forward(self, image: torch.Tensor):
        logits = self.model(image)
        return logits, torch.softmax(logits / self.temperature, dim=-1)


def _example(batch: int = 2) -> torch.Tensor:
    """The same input every time: torch.export stores it in model.pt2 (sample_inputs)."""
    return torch.rand(batch, IMAGE_SIZE, IMAGE_SIZE, generator=torch.Generator().manual_seed(0))


def _batch_dim():
    return {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}


@contextlib.contextmanager
def quiet_torch():
    """The exporters narrate on stdout and warn about their own internals; our users see neither.
    What matters is checked afterwards, by the parity check."""
    with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
        warnings.simplefilter("ignore", category=UserWarning)
        warnings.simplefilter("ignore", category=FutureWarning)
        warnings.simplefilter("ignore", category=DeprecationWarning)
        warnings.simplefilter("ignore", category=torch.jit.TracerWarning)
        yield


def export_onnx(model: nn.Module, path: Path, metadata: dict, doc: str, temperature: float = 1.0) -> None:
    """metadata: key -> value, written as the value itself if a string, else as JSON."""
    with quiet_torch():
        program = torch.onnx.export(
            WithProbabilities(model, temperature).eval(),
            (_example(),),
            dynamo=True,
            input_names=[INPUT_NAME],
            output_names=list(OUTPUT_NAMES),
            dynamic_shapes=(_batch_dim(),),
            opset_version=OPSET,
            custom_translation_table=CUSTOM_TRANSLATIONS,
            verbose=False,
        )
    # Fold what is constant: torch's gate order is rearranged into ONNX's by Slice/Concat nodes that
    # onnxscript's default limits (8,192 elements) leave in the graph. Folded, the recurrent weights
    # are plain initializers: a smaller graph, and one that int8 quantization can see into.
    proto = onnxscript.optimizer.optimize(program.model_proto, input_size_limit=FOLD_LIMIT, output_size_limit=FOLD_LIMIT)
    proto = simplify(proto)  # zero initial states and single-direction reshapes: see simplify.py
    # The exporter names the dynamic dimension after the Dim; outputs get the same name.
    for value in (*proto.graph.input, *proto.graph.output):
        value.type.tensor_type.shape.dim[0].dim_param = "batch"
    proto.producer_name = "lstm-digits"
    proto.doc_string = doc
    del proto.metadata_props[:]
    for key, value in metadata.items():
        proto.metadata_props.add(key=key, value=value if isinstance(value, str) else json.dumps(value))
    onnx.checker.check_model(proto, full_check=True)
    save_onnx(proto, path)


def export_torchscript(model: nn.Module, path: Path, temperature: float = 1.0) -> None:
    # TorchScript is deprecated since PyTorch 2.11 but still asked for by some consumers; the
    # deprecation warnings are expected here and silenced, and parity proves the file works.
    with quiet_torch():
        traced = torch.jit.trace(WithProbabilities(model, temperature).eval(), (_example(),), check_trace=False)
        torch.jit.save(traced, str(path))
    _drop_debug_records(path)


def _drop_debug_records(path: Path) -> None:
    """Rewrites the archive at path without its *.debug_pkl records: the tracer's Python stack for
    each node (absolute paths of our code and of torch's). TorchScript loads and runs without them;
    only its error messages lose the line of Python a node came from. The writer aligns the
    records as torch.jit.save does and derives .data/serialization_id from what is written."""
    reader = torch._C.PyTorchFileReader(str(path))
    version = int(reader.get_record("version"))
    written_by_the_writer = {"version", ".data/version", ".data/serialization_id"}
    records = {name: reader.get_record(name) for name in reader.get_all_records()
               if not name.endswith(".debug_pkl") and name not in written_by_the_writer}
    del reader
    writer = torch._C.PyTorchFileWriter(str(path))  # the archive's folder is named after the file, as before
    writer.set_min_version(version)
    for name, data in records.items():
        writer.write_record(name, data, len(data))
    writer.write_end_of_file()


def load_torchscript(path: Path):
    with quiet_torch():
        return torch.jit.load(str(path), map_location="cpu")


def export_program(model: nn.Module, path: Path, temperature: float = 1.0) -> None:
    with quiet_torch():
        program = torch.export.export(WithProbabilities(model, temperature).eval(), (_example(),), dynamic_shapes=(_batch_dim(),))
        for module in program.graph_module.modules():
            if isinstance(module, torch.fx.GraphModule):
                for node in module.graph.nodes:
                    node.meta.pop("stack_trace", None)  # absolute paths of our code and torch's
        torch.export.save(program, str(path))


def load_program(path: Path):
    with quiet_torch():
        return torch.export.load(str(path)).module()
