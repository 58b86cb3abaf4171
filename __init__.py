"""lstm-digits: train an LSTM on MNIST, export it to ONNX, classify digits on small CPUs.

Stages (each a subpackage): ``training`` and ``export`` need the ``[train]`` extra (torch);
``runtime`` needs only onnxruntime, numpy and pillow; ``cli`` holds the commands.
"""

import os

__version__ = "0.1.0"

# onnxruntime's telemetry off (README, "Privacy"): 1.32 on Linux writes a persistent device id and a
# ProcessInfo event for upload under ~/.cache/Microsoft/DeveloperTools/.onnxruntime/ (1DS telemetry,
# microsoft/onnxruntime#27379) unless ORT_DISABLE_TELEMETRY is set when it loads. Every entry point (the commands, `import
# lstm_digits.runtime`) passes here before onnxruntime is imported. A user's own setting stands
# (ORT_DISABLE_TELEMETRY=0 turns it on).
os.environ.setdefault("ORT_DISABLE_TELEMETRY", "1")
