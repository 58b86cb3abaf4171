"""Export stage: checkpoint -> model.onnx, TorchScript, ExportedProgram, test data, parity report and
model card, each export validated against PyTorch. Needs the [train] extra."""
