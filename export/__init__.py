"""Export stage: checkpoint -> model.onnx, TorchScript, ExportedProgram, test data, parity report and
model card, each export validated against PyTorch. Needs the [train] extra."""


class ExportError(Exception):
    """The export could not be written, or it does not compute what PyTorch computes."""
