"""The runtime: classify digit images with an exported ONNX model, and read numbers with number.onnx.
onnxruntime, numpy and pillow only; it never imports torch and knows nothing of training."""

from .classifier import DigitClassifier, Prediction
from .model_file import ModelError, default_model_path, session_options
from .images import ImageError, NoDigitFound, image_suffixes, open_image
from .number_reader import NumberReader, NumberReading
from .preprocess import Form, to_mnist_form
from .segmentation_reader import SegmentationReader

__all__ = [
    "DigitClassifier", "Prediction", "NumberReader", "NumberReading", "SegmentationReader", "ModelError", "ImageError", "NoDigitFound",
    "Form", "default_model_path", "session_options", "open_image", "to_mnist_form", "image_suffixes",
]
