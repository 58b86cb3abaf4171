"""The obvious PyTorch way to classify one image, for comparison with `digit-classify`:
load the TorchScript model, preprocess the image the same way, predict, print."""

import sys

import numpy as np
import torch

from lstm_digits.runtime.images import open_image
from lstm_digits.runtime.preprocess import to_mnist_form

model_path, image_path = sys.argv[1], sys.argv[2]
model = torch.jit.load(model_path, map_location="cpu").eval()
image = to_mnist_form(open_image(image_path))
with torch.no_grad():
    logits, probabilities = model(torch.from_numpy(image[None]))
digit = int(np.argmax(probabilities[0].numpy()))
print(f"{image_path}\t{digit}\t{float(probabilities[0, digit]):.4f}")
