"""The input contract: the one place where image size, labels and normalisation are defined.

The export stage writes these values into the ONNX file's metadata; the runtime reads them
from there and never imports this module.
"""

IMAGE_SIZE = 28  # rows (time steps) x columns (features per step)
LABELS = [str(digit) for digit in range(10)]
PIXEL_RANGE = (0.0, 1.0)
POLARITY = "white-on-black"  # ink is bright, background is 0, as in MNIST

# Mean and standard deviation of MNIST training pixels in [0, 1]. The model normalises its
# input itself, so exported files take plain pixels.
MNIST_MEAN = 0.1307
MNIST_STD = 0.3081

# How MNIST itself was made (LeCun et al.): the digit's bounding box is scaled so its longest
# side is 20 px, keeping the aspect ratio, then placed in 28x28 by its centre of mass.
DIGIT_BOX = 20
PLACEMENT = "center-of-mass"
