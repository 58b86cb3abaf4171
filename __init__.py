"""lstm-digits: train an LSTM on MNIST, export it to ONNX, classify digits on small CPUs.

Stages (each a subpackage): ``training`` and ``export`` need the ``[train]`` extra (torch);
``runtime`` needs only onnxruntime, numpy and pillow; ``cli`` holds the commands.
"""

__version__ = "0.1.0"
