"""The preprocessing as onnxscript functions: RGBA pixels of any size -> the 28x28 MNIST-form image.

Written once here, as `@script` functions that read as the rules they apply, and built into the ONNX
graph that every runtime runs (pipeline.onnx). Each function runs eagerly on numpy arrays too, for
debugging and tests. Needs onnxscript (the `train` extra): the runtime runs the built graph.
"""
