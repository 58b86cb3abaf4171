"""Batched augmentation on CPU tensors: handwriting styles, stroke width, aspect, and a light affine.

Users' digits reach the model after the runtime has brought them into MNIST form, so what is left
to tolerate is how people write: a slant, a slightly different size or position, a thicker or
thinner pen, and styles MNIST's American writers rarely use (docs/STYLES.md):
- a continental 1: an up-stroke from the top of the 1 down to the left, sometimes a base;
- a 7 with a bar across its stem;
- a 4 with an open top: the upper part of the left stroke erased, so it no longer meets the stem;
- a thick marker: one to two full 3x3 dilations;
- narrow and wide writing: the digit scaled horizontally by 0.45-2.0.
After these, each digit is brought back into MNIST form (longest side as before, centre of mass
where it was), as the runtime would do with such a drawing, in the same resampling as the affine.
Everything is drawn from an explicit generator, in the same amounts whatever the batch holds, so a
run (and a resumed run) is reproducible.
"""

import math

import torch
import torch.nn.functional as F

MAX_ROTATION_DEG = 12.0
SCALE_RANGE = (0.88, 1.12)
MAX_SHEAR = 0.25
MAX_SHIFT_PX = 2.0
STROKE_PROBABILITY = 0.5

INK = 0.3  # a pixel at or above this is ink, for finding a digit's extent and strokes
FLAG_1_PROBABILITY = 0.5  # of the 1s: an up-stroke from the top, down to the left
FLAG_LENGTH = (0.25, 0.55)  # in digit heights
FLAG_ANGLE_DEG = (30.0, 65.0)  # below the horizontal: steeper than a 7's bar
BASE_1_PROBABILITY = 0.4  # of the flagged 1s: a base
BASE_HALF_LENGTH = (0.12, 0.28)
CROSS_7_PROBABILITY = 0.35  # of the 7s: a bar across the stem
CROSS_HEIGHT = (0.45, 0.62)  # where, from the top, in digit heights
CROSS_HALF_LENGTH = (0.12, 0.26)
OPEN_4_PROBABILITY = 0.25  # of the 4s: the top of the left stroke erased
OPEN_DEPTH = (0.3, 0.6)  # how far down, as a fraction of the way from the top to the bar
MARKER_PROBABILITY = 0.12  # of all digits: 1-2 full dilations
ASPECT_PROBABILITY = 0.25  # of all digits: scaled horizontally, log-uniform in ASPECT_RANGE
ASPECT_RANGE = (0.45, 2.0)


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def _chance(n: int, probability: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) < probability


# --- where the ink is ---

def _extent(images: torch.Tensor):
    """(top, bottom, left, right) rows and columns of ink per image, floats; a blank image gets the canvas."""
    n, height, width = images.shape
    ink = images >= INK
    rows, cols = ink.any(2), ink.any(1)
    blank = ~rows.any(1)
    top = rows.float().argmax(1)
    bottom = height - 1 - rows.flip(1).float().argmax(1)
    left = cols.float().argmax(1)
    right = width - 1 - cols.flip(1).float().argmax(1)
    top, left = torch.where(blank, 0, top), torch.where(blank, 0, left)
    bottom, right = torch.where(blank, height - 1, bottom), torch.where(blank, width - 1, right)
    return top.float(), bottom.float(), left.float(), right.float()


def _row_centre(images: torch.Tensor, row: torch.Tensor) -> torch.Tensor:
    """The ink-weighted mean column of each image's row (nearest row to `row`, +-1 row)."""
    n, height, width = images.shape
    index = row.round().long().clamp(1, height - 2)
    band = torch.stack([images[torch.arange(n), index + k] for k in (-1, 0, 1)], 1).sum(1)  # [N, W]
    columns = torch.arange(width, dtype=images.dtype)
    mass = band.sum(1)
    return torch.where(mass > 0, (band * columns).sum(1) / mass.clamp_min(1e-6), torch.full_like(mass, width / 2))


def _stroke_width(images: torch.Tensor, top: torch.Tensor, bottom: torch.Tensor) -> torch.Tensor:
    """Ink per row over the middle half of the digit: a single stroke's width, for 1s and 7s."""
    rows = torch.arange(images.shape[1], dtype=images.dtype)
    height = bottom - top
    middle = (rows >= (top + 0.25 * height)[:, None]) & (rows <= (bottom - 0.25 * height)[:, None])
    per_row = images.sum(2)
    width = (per_row * middle).sum(1) / middle.sum(1).clamp_min(1)
    return width.clamp(1.2, 4.0)


def _mass_centre(images: torch.Tensor) -> torch.Tensor:
    """[N, 2] (x, y) centre of mass in pixels; the canvas centre for a blank image."""
    n, height, width = images.shape
    mass = images.sum((1, 2)).clamp_min(1e-6)
    x = (images.sum(1) * torch.arange(width, dtype=images.dtype)).sum(1) / mass
    y = (images.sum(2) * torch.arange(height, dtype=images.dtype)).sum(1) / mass
    return torch.stack([x, y], 1)


# --- synthetic strokes ---

def _draw_segments(images: torch.Tensor, start: torch.Tensor, end: torch.Tensor, width: torch.Tensor,
                   where: torch.Tensor) -> torch.Tensor:
    """Ink a round-ended segment start->end ([N, 2] (x, y) pixels) of the given width into the images
    where `where`; only those images are computed."""
    index = torch.nonzero(where).squeeze(1)
    if len(index) == 0:
        return images
    start, end, width = start[index], end[index], width[index]
    n, height, width_px = len(index), images.shape[1], images.shape[2]
    y, x = torch.meshgrid(torch.arange(height, dtype=images.dtype), torch.arange(width_px, dtype=images.dtype),
                          indexing="ij")
    point = torch.stack([x, y], -1).view(1, height * width_px, 2)
    direction = (end - start)[:, None, :]
    length2 = (direction**2).sum(-1).clamp_min(1e-6)
    t = (((point - start[:, None, :]) * direction).sum(-1) / length2).clamp(0, 1)
    distance = (point - start[:, None, :] - t[..., None] * direction).norm(dim=-1).view(n, height, width_px)
    stroke = (width.view(n, 1, 1) / 2 + 0.5 - distance).clamp(0, 1)
    images = images.clone()
    images[index] = torch.maximum(images[index], stroke)
    return images


def add_styles(images: torch.Tensor, labels: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Continental 1s, crossed 7s and open 4s, made from some of the batch's 1s, 7s and 4s."""
    n = images.shape[0]
    top, bottom, left, right = _extent(images)
    height = (bottom - top + 1).clamp_min(1)
    pen = _stroke_width(images, top, bottom)

    # 1: from the top of the stroke, down to the left at 30-65 degrees; sometimes a base.
    flag = (labels == 1) & _chance(n, FLAG_1_PROBABILITY, generator)
    length = _uniform(n, *FLAG_LENGTH, generator) * height
    angle = _uniform(n, *FLAG_ANGLE_DEG, generator) * math.pi / 180
    summit = torch.stack([_row_centre(images, top + 1), top], 1)
    tip = summit + torch.stack([-length * torch.cos(angle), length * torch.sin(angle)], 1)
    images = _draw_segments(images, summit, tip, pen, flag)
    base = flag & _chance(n, BASE_1_PROBABILITY, generator)
    half = _uniform(n, *BASE_HALF_LENGTH, generator) * height
    foot = torch.stack([_row_centre(images, bottom - 1), bottom], 1)
    offset = torch.stack([half, torch.zeros_like(half)], 1)
    images = _draw_segments(images, foot - offset, foot + offset, pen, base)

    # 7: a bar across the stem, where the stem is at that height.
    cross = (labels == 7) & _chance(n, CROSS_7_PROBABILITY, generator)
    row = top + _uniform(n, *CROSS_HEIGHT, generator) * height
    half = _uniform(n, *CROSS_HALF_LENGTH, generator) * height
    tilt = _uniform(n, -1.0, 1.0, generator)
    centre = torch.stack([_row_centre(images, row), row], 1)
    offset = torch.stack([half, tilt], 1)
    images = _draw_segments(images, centre - offset, centre + offset, pen, cross)

    # 4: in the top rows, keep only the rightmost stroke (the stem); the left stroke then starts lower.
    opened = (labels == 4) & _chance(n, OPEN_4_PROBABILITY, generator)
    bar = images.sum(2).argmax(1).float().clamp_min(top)  # the row with most ink: a 4's bar
    depth = top + _uniform(n, *OPEN_DEPTH, generator) * (bar - top)
    index = torch.nonzero(opened).squeeze(1)
    if len(index) == 0:
        return images
    fours = images[index]
    _, rows, columns = fours.shape
    column = torch.arange(columns).view(1, 1, columns)
    rightmost = torch.where(fours >= INK, column, -1).amax(2, keepdim=True)  # [n, H, 1]
    # A row's rightmost ink is the stem's only if it lies in the right half of the digit; above the
    # stem's top, the left stroke alone reaches higher and is erased too.
    middle = ((left + right) / 2)[index].view(-1, 1, 1)
    stem = (column >= rightmost - (pen[index].view(-1, 1, 1) + 1.5)) & (rightmost >= middle)
    band = torch.arange(rows).view(1, rows, 1) <= depth[index].view(-1, 1, 1)
    images = images.clone()
    images[index] = fours.masked_fill(band & ~stem, 0.0)
    return images


# --- pen width ---

def random_stroke_width(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Blend each image towards its 3x3 dilation (thicker pen) or erosion (thinner pen)."""
    n = images.shape[0]
    amount = _uniform(n, -0.6, 0.8, generator) * (torch.rand(n, generator=generator) < STROKE_PROBABILITY)
    index = torch.nonzero(amount).squeeze(1)  # only these images are computed
    amount = amount[index].view(-1, 1, 1, 1)
    x = images[index].unsqueeze(1)
    thicker = F.max_pool2d(x, 3, stride=1, padding=1)
    thinner = -F.max_pool2d(-x, 3, stride=1, padding=1)
    target = torch.where(amount > 0, thicker, thinner)
    images = images.clone()
    images[index] = (x + amount.abs() * (target - x)).squeeze(1)
    return images


def random_marker(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """A thick marker for some images: one full 3x3 dilation, blended 0-100% into a second."""
    n = images.shape[0]
    index = torch.nonzero(_chance(n, MARKER_PROBABILITY, generator)).squeeze(1)
    second = _uniform(n, 0.0, 1.0, generator)[index].view(-1, 1, 1, 1)
    if len(index) == 0:
        return images
    once = F.max_pool2d(images[index].unsqueeze(1), 3, stride=1, padding=1)
    twice = F.max_pool2d(once, 3, stride=1, padding=1)
    images = images.clone()
    images[index] = (once + second * (twice - once)).squeeze(1)
    return images


# --- geometry: aspect, back into MNIST form, and the light affine, in one resampling ---

def _affine_theta(n: int, height: int, width: int, generator: torch.Generator) -> torch.Tensor:
    """[N, 2, 3] random rotation, scale, shear and shift, mapping output to input coordinates."""
    angle = _uniform(n, -MAX_ROTATION_DEG, MAX_ROTATION_DEG, generator) * math.pi / 180
    scale = _uniform(n, *SCALE_RANGE, generator)
    shear = _uniform(n, -MAX_SHEAR, MAX_SHEAR, generator)
    shift_x = _uniform(n, -MAX_SHIFT_PX, MAX_SHIFT_PX, generator) * 2 / width
    shift_y = _uniform(n, -MAX_SHIFT_PX, MAX_SHIFT_PX, generator) * 2 / height
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    # affine_grid maps output coordinates to input coordinates: the inverse transform.
    return torch.stack(
        [
            torch.stack([cos, -sin + shear * cos, shift_x], dim=1),
            torch.stack([sin, cos + shear * sin, shift_y], dim=1),
        ],
        dim=1,
    )


def _resample(images: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    n, height, width = images.shape
    grid = F.affine_grid(theta, [n, 1, height, width], align_corners=False)
    return F.grid_sample(images.unsqueeze(1), grid, align_corners=False, padding_mode="zeros").squeeze(1)


def random_affine(images: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """images: [N, H, W] float in [0, 1]."""
    n, height, width = images.shape
    return _resample(images, _affine_theta(n, height, width, generator))


def _to_normalised(points: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Pixel (x, y) -> affine_grid's coordinates (align_corners=False)."""
    return torch.stack([(2 * points[:, 0] + 1) / width - 1, (2 * points[:, 1] + 1) / height - 1], 1)


def reshape_and_affine(images: torch.Tensor, reference: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Scale some digits horizontally, bring every digit back to `reference`'s longest side and centre
    of mass (what the runtime does to a drawing), then the light random affine: one resampling."""
    n, height, width = images.shape
    chosen = _chance(n, ASPECT_PROBABILITY, generator)
    log_low, log_high = (math.log(v) for v in ASPECT_RANGE)
    aspect = torch.where(chosen, torch.exp(_uniform(n, log_low, log_high, generator)), torch.ones(n))
    top, bottom, left, right = _extent(images)
    reference_top, reference_bottom, reference_left, reference_right = _extent(reference)
    longest_before = torch.maximum(reference_bottom - reference_top, reference_right - reference_left) + 1
    longest_after = torch.maximum(bottom - top + 1, (right - left + 1) * aspect)
    fit = longest_before / longest_after  # the whole digit's scale, after the horizontal one
    scale_x, scale_y = fit * aspect, fit
    centre_now = _to_normalised(_mass_centre(images), height, width)
    centre_then = _to_normalised(_mass_centre(reference), height, width)
    random = _affine_theta(n, height, width, generator)
    # output -> (random affine) -> intermediate; intermediate -> images: centre_now + (p - centre_then) / scale.
    inverse = torch.stack([1 / scale_x, 1 / scale_y], 1)
    theta = torch.empty(n, 2, 3)
    theta[:, :, :2] = random[:, :, :2] * inverse[:, :, None]
    theta[:, :, 2] = centre_now + (random[:, :, 2] - centre_then) * inverse
    return _resample(images, theta)


def augment(images: torch.Tensor, generator: torch.Generator, labels: torch.Tensor | None = None) -> torch.Tensor:
    """images: [N, H, W] float in [0, 1], white on black. With `labels`, some 1s, 4s and 7s are
    redrawn in other styles; images whose label is not a digit 0-9 are only reshaped."""
    reference = images
    if labels is None:
        labels = torch.full((images.shape[0],), -1, dtype=torch.long)
    images = add_styles(images, labels, generator)
    images = random_marker(random_stroke_width(images, generator), generator)
    return reshape_and_affine(images, reference, generator).clamp_(0.0, 1.0)
