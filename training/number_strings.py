"""Synthetic handwritten numbers for the number reader: random digit strings written with MNIST digits.

A number is made the way a person writes one, then brought into the strip form the reader takes:
1. its length is drawn from 1-12 and each digit at random (never a fixed list of strings, the
   lesson of CVL HDS, whose 10 training strings taught CRNNs 26% accuracy);
2. each digit is one MNIST image of that digit, in a style and slant of its own (augment.py);
3. the digits are scaled against each other (people do not write every digit the same height),
   moved up or down a little, and set side by side with a spacing drawn per number, from wide gaps
   to touching and overlapping; where two overlap, the brighter pixel wins, as ink does. However
   close, a digit starts at least half the previous one's width after it, so left to right is
   still the order they were written in;
4. the number is brought into strip form: its ink scaled, aspect kept, to STRIP_INK_HEIGHT rows and
   centred in STRIP_HEIGHT rows, with a margin of blank columns either side.
Each digit's box is its first and last ink column in the strip.

Everything is drawn from an explicit generator, so a batch depends only on (seed, iteration, rank)
and a resumed run sees the same numbers.
"""

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from .augment import augment
from .contract import DIGIT_BOX, IMAGE_SIZE

STRIP_HEIGHT = IMAGE_SIZE  # rows: every column is one time step of 28 pixels, as a digit's row is
STRIP_INK_HEIGHT = DIGIT_BOX  # the number's ink, top to bottom, as MNIST's 20 px box
LENGTHS = (1, 12)  # digits in a number, uniform
RELATIVE_SIZE = (0.8, 1.0)  # each digit's scale against the number's largest
VERTICAL_SHIFT = 0.06  # each digit up or down by up to this fraction of the canvas (augment.py moves it too)
GAP = (-3.0, 12.0)  # a number's mean spacing in columns at MNIST scale: overlapping .. wide
GAP_JITTER = 2.0  # each gap's spread around the number's mean
MARGIN = (2, 10)  # blank columns either side of the strip
INK = 0.1  # a pixel at or above this counts as ink, for a digit's columns and the number's rows
BLANK = 10  # the CTC blank's class; classes 0-9 are the digits


@dataclass
class Numbers:
    strips: torch.Tensor  # [N, STRIP_HEIGHT, W] float in [0, 1], white on black, zero beyond each width
    widths: torch.Tensor  # [N] int64: each strip's columns
    digits: list[torch.Tensor]  # N int64 tensors: each number's digits, left to right
    boxes: list[torch.Tensor]  # N [L, 2] float tensors: each digit's first and last ink column in its strip

    def __len__(self) -> int:
        return len(self.digits)

    @property
    def targets(self) -> tuple[torch.Tensor, torch.Tensor]:
        """The concatenated digits and each number's length: what CTC loss takes."""
        return torch.cat(self.digits), torch.tensor([len(d) for d in self.digits])

    def part(self, start: int, stop: int) -> "Numbers":
        """Numbers start..stop-1, their strips cut to the widest of them."""
        widths = self.widths[start:stop]
        return Numbers(self.strips[start:stop, :, : int(widths.max())], widths, self.digits[start:stop],
                       self.boxes[start:stop])

    def text(self, index: int) -> str:
        return "".join(str(int(d)) for d in self.digits[index])


def _uniform(n: int, low: float, high: float, generator: torch.Generator) -> torch.Tensor:
    return torch.rand(n, generator=generator) * (high - low) + low


def _resize_and_shift(images: torch.Tensor, scale: torch.Tensor, shift: torch.Tensor) -> torch.Tensor:
    """Each digit scaled about the canvas centre and moved down by `shift` (fraction of the canvas)."""
    n = images.shape[0]
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0] = 1 / scale
    theta[:, 1, 1] = 1 / scale
    theta[:, 1, 2] = -2 * shift / scale
    grid = F.affine_grid(theta, (n, 1, *images.shape[1:]), align_corners=False)
    return F.grid_sample(images.unsqueeze(1), grid, align_corners=False).squeeze(1)


def _ink_span(ink: torch.Tensor) -> tuple[int, int]:
    """First and last True index of a 1-D mask (the whole range when there is none)."""
    where = torch.nonzero(ink).flatten()
    return (int(where[0]), int(where[-1])) if len(where) else (0, len(ink) - 1)


def _write(digit_images: list[torch.Tensor], gaps: torch.Tensor, margin: tuple[int, int]):
    """Set cropped digits side by side (brighter pixel wins) on a canvas; (canvas, boxes)."""
    crops, widths = [], []
    for image in digit_images:
        first, last = _ink_span((image >= INK).any(0))
        crops.append(image[:, first : last + 1])
        widths.append(last - first + 1)
    starts, x = [], float(margin[0])
    for index, width in enumerate(widths):
        if starts:  # however close, a digit starts at least half the previous one's width after it
            x = max(x, starts[-1] + (widths[index - 1] + 1) // 2)
        starts.append(int(round(x)))
        x = starts[-1] + width + (float(gaps[index]) if index < len(gaps) else 0.0)
    width = max(start + w for start, w in zip(starts, widths)) + margin[1]
    canvas = torch.zeros(crops[0].shape[0], width)
    for start, crop in zip(starts, crops):
        region = canvas[:, start : start + crop.shape[1]]
        torch.maximum(region, crop, out=region)
    boxes = torch.tensor([[start, start + w - 1] for start, w in zip(starts, widths)], dtype=torch.float32)
    return canvas, boxes


def to_strip(canvas: torch.Tensor, boxes: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """A number's canvas in strip form: ink rows scaled, aspect kept, to STRIP_INK_HEIGHT and centred
    in STRIP_HEIGHT rows. Returns the strip and the boxes in its columns."""
    top, bottom = _ink_span((canvas >= INK).any(1))
    ink = canvas[top : bottom + 1]
    scale = STRIP_INK_HEIGHT / ink.shape[0]
    width = max(1, round(canvas.shape[1] * scale))
    resized = F.interpolate(ink[None, None], size=(STRIP_INK_HEIGHT, width), mode="bilinear",
                            antialias=True, align_corners=False)[0, 0]
    strip = torch.zeros(STRIP_HEIGHT, width)
    row = (STRIP_HEIGHT - STRIP_INK_HEIGHT) // 2
    strip[row : row + STRIP_INK_HEIGHT] = resized.clamp(0.0, 1.0)
    return strip, ((boxes + 0.5) * scale - 0.5).clamp(0, width - 1)


def write_numbers(images: torch.Tensor, labels: torch.Tensor, count: int, generator: torch.Generator,
                  styles: bool = True, lengths: tuple[int, int] = LENGTHS) -> Numbers:
    """`count` random numbers written with digits drawn from `images` ([N, 28, 28] float in [0, 1])
    and their `labels`, each of lengths[0] to lengths[1] digits. With `styles`, each digit is
    augmented (styles, stroke width, slant)."""
    lengths = torch.randint(lengths[0], lengths[1] + 1, (count,), generator=generator)
    total = int(lengths.sum())
    digits = torch.randint(0, 10, (total,), generator=generator)
    picks = _pick_images(labels, digits, generator)
    chosen = images[picks]
    if styles:
        chosen = augment(chosen, generator, labels[picks])
    chosen = _resize_and_shift(chosen, _uniform(total, *RELATIVE_SIZE, generator),
                               _uniform(total, -VERTICAL_SHIFT, VERTICAL_SHIFT, generator))
    mean_gaps = _uniform(count, *GAP, generator)
    gap_noise = _uniform(total, -GAP_JITTER, GAP_JITTER, generator)
    margins = torch.randint(MARGIN[0], MARGIN[1] + 1, (count, 2), generator=generator)
    strips, boxes, numbers, start = [], [], [], 0
    for index, length in enumerate(lengths.tolist()):
        span = slice(start, start + length)
        canvas, digit_boxes = _write(list(chosen[span]), mean_gaps[index] + gap_noise[span][:-1],
                                     tuple(margins[index].tolist()))
        strip, digit_boxes = to_strip(canvas, digit_boxes)
        strips.append(strip)
        boxes.append(digit_boxes)
        numbers.append(digits[span].clone())
        start += length
    widths = torch.tensor([s.shape[1] for s in strips])
    batch = torch.zeros(count, STRIP_HEIGHT, int(widths.max()))
    for index, strip in enumerate(strips):
        batch[index, :, : strip.shape[1]] = strip
    return Numbers(batch, widths, numbers, boxes)


def _pick_images(labels: torch.Tensor, digits: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """For each wanted digit, the index of a random image of it."""
    picks = torch.empty_like(digits)
    for digit in range(10):
        wanted = digits == digit
        pool = torch.nonzero(labels == digit).flatten()
        picks[wanted] = pool[torch.randint(0, len(pool), (int(wanted.sum()),), generator=generator)]
    return picks
