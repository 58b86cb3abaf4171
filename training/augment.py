"""Batched augmentation on CPU tensors: light random affine and stroke width.

Users' digits reach the model after the runtime has brought them into MNIST form, so what is left
to tolerate is small: a slant, a slightly different size or position, a thicker or thinner pen.
Everything is drawn from an explicit generator, so a run (and a resumed run) is reproducible.
"""

import math

import torch
import torch.nn.functional as F

MAX_ROTATION_DEG = 12.0
SCALE_RANGE = (0.88, 1.12)
MAX_SHEAR = 0.25
MAX_SHIFT_PX = 2.0
STROKE_PROBABILITY = 0.5


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def random_affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """images: [N, H, W] float in [0, 1]."""
    n, height, width = images.shape
    angle = _uniform(n, -MAX_ROTATION_DEG, MAX_ROTATION_DEG, generator) * math.pi / 180
    scale = _uniform(n, *SCALE_RANGE, generator)
    shear = _uniform(n, -MAX_SHEAR, MAX_SHEAR, generator)
    shift_x = _uniform(n, -MAX_SHIFT_PX, MAX_SHIFT_PX, generator) * 2 / width
    shift_y = _uniform(n, -MAX_SHIFT_PX, MAX_SHIFT_PX, generator) * 2 / height
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output coordinates to input coordinates: the inverse transform.
    theta = torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift_x], dim=1),
            torch.stack([sin, cos + shear * sin, shift_y], dim=1),
        ],
        dim=1,
    )
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    return F.grid_sample(images.unsqueeze(1), grid, align_corners=False, padding_mode="zeros").squeeze(1)


def random_stroke_width(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blend each image towards its 3x3 dilation (thicker pen) or erosion (thinner pen)."""
    n = images.shape[0]
    x = images.unsqueeze(1)
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    amount = _uniform(n, -0.6, 0.8, generator) * (torch.rand(n, generator=generator) < STROKE_PROBABILITY)
    amount = amount.view(n, 1, 1, 1)
    target = torch.where(amount > 0, thicker, thinner)
    return (x + amount.abs() * (target - x)).squeeze(1)


def augment(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    return random_affine(random_stroke_width(images, generator), generator).clamp_(0.0, 1.0)
