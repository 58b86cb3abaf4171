"""Writing the model in each format: ONNX (with its metadata), TorchScript and torch.export."""

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
    return torch.rand(batch, IMAGE_SIZE, IMAGE_SIZE)


def _batch_dim():
    return {0: torch.export.Dim("batch", min=1, max=MAX_BATCH)}


@contextlib.contextmanager
def _quiet_torch():
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
    with _quiet_torch():
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
    onnx.save(proto, str(path))


def export_torchscript(model: nn.Module, path: Path, temperature: float = 1.0) -> None:
    # TorchScript is deprecated since PyTorch 2.11 but still asked for by some consumers; the
    # deprecation warnings are expected here and silenced, and parity proves the file works.
    with _quiet_torch():
        traced = torch.jit.trace(WithProbabilities(model, temperature).eval(), (_example(),), check_trace=False)
        torch.jit.save(traced, str(path))


def load_torchscript(path: Path):
    with _quiet_torch():
        return torch.jit.load(str(path), map_location="cpu")


def export_program(model: nn.Module, path: Path, temperature: float = 1.0) -> None:
    with _quiet_torch():
        program = torch.export.export(WithProbabilities(model, temperature).eval(), (_example(),), dynamic_shapes=(_batch_dim(),))
        torch.export.save(program, str(path))


def load_program(path: Path):
    with _quiet_torch():
        return torch.export.load(str(path)).module()
