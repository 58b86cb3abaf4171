"""Procedural non-digits for outlier exposure: the model learns to answer "no idea" (all ten
probabilities equal) for ink that is not a digit, so that "largest probability below a threshold"
rejects such images at run time.

Everything is drawn from stroke skeletons with Pillow: letter-like glyphs (A, E, H, K, M, ...,
Greek capitals, #, +, *), geometric shapes (polygons, stars, crossed circles, arrows), and
scribbles (zigzags, spirals, coils, random walks). No fonts: the font-rendered non-digits of
tests/nondigits.py stay a fair held-out test. Shapes that look like a digit (a lone straight line,
a plain circle or oval, S, Z, G, b, g, q) are never drawn. Each image goes through the runtime's own
preprocessing (`to_mnist_form`), so the model sees non-digits exactly as it will at run time.

    pool = nondigit_pool(seed=0)                     # [N, 28, 28] float32 in [0, 1], white on black
    images, labels = add_outliers(images, labels, pool, augment, generator)   # label NONDIGIT
    logits = net(images)
    loss = cross_entropy(logits, labels) + weight * uniform_loss(logits[labels == NONDIGIT])
(cross_entropy ignores the NONDIGIT rows: it is its default ignore_index.)
"""

import math
import os
from collections import deque
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFilter

DRAW_SIZE = 112  # pixels of the drawing canvas; the result is scaled into MNIST form
POOL_SIZE = 20_000
OUTLIER_SHARE = 0.5  # non-digits added to a batch, as a share of its digits (64 per 128)
NONDIGIT = -100  # their label: torch's cross_entropy ignores it by default (ignore_index)


def _arc(cx, cy, rx, ry, start_deg, end_deg, steps=16):
    angles = np.radians(np.linspace(start_deg, end_deg, steps))
    return list(zip(cx + rx * np.cos(angles), cy + ry * np.sin(angles)))


# Stroke skeletons in a unit box (x right, y down); each glyph is a list of polylines.
GLYPHS = {
    "A": [[(0, 1), (0.5, 0), (1, 1)], [(0.25, 0.55), (0.75, 0.55)]],
    "E": [[(1, 0), (0, 0), (0, 1), (1, 1)], [(0, 0.5), (0.75, 0.5)]],
    "F": [[(1, 0), (0, 0), (0, 1)], [(0, 0.5), (0.7, 0.5)]],
    "H": [[(0, 0), (0, 1)], [(1, 0), (1, 1)], [(0, 0.5), (1, 0.5)]],
    "K": [[(0, 0), (0, 1)], [(1, 0), (0, 0.6)], [(0.3, 0.4), (1, 1)]],
    "M": [[(0, 1), (0, 0), (0.5, 0.6), (1, 0), (1, 1)]],
    "N": [[(0, 1), (0, 0), (1, 1), (1, 0)]],
    "P": [[(0, 1), (0, 0)] + _arc(0.45, 0.25, 0.5, 0.25, -90, 90) + [(0, 0.5)]],
    "R": [[(0, 1), (0, 0)] + _arc(0.45, 0.25, 0.5, 0.25, -90, 90) + [(0, 0.5), (1, 1)]],
    "T": [[(0, 0), (1, 0)], [(0.5, 0), (0.5, 1)]],
    "U": [[(0, 0)] + _arc(0.5, 0.55, 0.5, 0.45, 180, 0) + [(1, 0)]],
    "V": [[(0, 0), (0.5, 1), (1, 0)]],
    "W": [[(0, 0), (0.25, 1), (0.5, 0.35), (0.75, 1), (1, 0)]],
    "X": [[(0, 0), (1, 1)], [(1, 0), (0, 1)]],
    "Y": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)]],
    "h": [[(0, 0), (0, 1)], [(0, 0.6)] + _arc(0.5, 0.65, 0.5, 0.3, 180, 360) + [(1, 1)]],
    "k": [[(0, 0), (0, 1)], [(0.9, 0.4), (0, 0.75), (1, 1)]],
    "m": [[(0, 1), (0, 0.2)] + _arc(0.25, 0.3, 0.25, 0.2, 180, 360) + [(0.5, 1)],
          [(0.5, 0.3)] + _arc(0.75, 0.3, 0.25, 0.2, 180, 360) + [(1, 1)]],
    "n": [[(0, 1), (0, 0)], [(0, 0.3)] + _arc(0.5, 0.35, 0.5, 0.35, 180, 360) + [(1, 1)]],
    "u": [[(0, 0)] + _arc(0.5, 0.65, 0.5, 0.35, 180, 0) + [(1, 0)], [(1, 0), (1, 1)]],
    "w": [[(0, 0), (0.2, 1), (0.5, 0.2), (0.8, 1), (1, 0)]],
    "Δ": [[(0.5, 0), (1, 1), (0, 1), (0.5, 0)]],
    "Π": [[(0, 1), (0, 0), (1, 0), (1, 1)]],
    "Σ": [[(1, 0), (0, 0), (0.55, 0.5), (0, 1), (1, 1)]],
    "Ω": [[(0, 1), (0.3, 1)] + _arc(0.5, 0.45, 0.45, 0.45, 120, 420, 28) + [(0.7, 1), (1, 1)]],
    "Ψ": [[(0.5, 0), (0.5, 1)], [(0, 0.1)] + _arc(0.5, 0.2, 0.5, 0.45, 180, 0) + [(1, 0.1)]],
    "λ": [[(0, 0), (1, 1)], [(0.5, 0.5), (0, 1)]],
    "#": [[(0.3, 0), (0.3, 1)], [(0.7, 0), (0.7, 1)], [(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "+": [[(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "*": [[(0.5, 0), (0.5, 1)], [(0.07, 0.25), (0.93, 0.75)], [(0.93, 0.25), (0.07, 0.75)]],
    "C": [_arc(0.55, 0.5, 0.5, 0.5, 50, 310)],
    "d": [[(1, 0), (1, 1)], _arc(0.5, 0.68, 0.5, 0.32, 0, 360, 24)],
    "e": [[(0, 0.55), (1, 0.55)] + _arc(0.5, 0.55, 0.5, 0.45, 0, -300, 24)],
    "?": [_arc(0.5, 0.27, 0.45, 0.27, 180, 450, 16) + [(0.5, 0.75)], _arc(0.5, 0.96, 0.04, 0.04, 0, 360, 8)],
    "<": [[(1, 0), (0, 0.5), (1, 1)]],
    ">": [[(0, 0), (1, 0.5), (0, 1)]],
    "=": [[(0, 0.3), (1, 0.3)], [(0, 0.7), (1, 0.7)]],
    "%": [[(1, 0), (0, 1)], _arc(0.2, 0.2, 0.17, 0.17, 0, 360, 12), _arc(0.8, 0.8, 0.17, 0.17, 0, 360, 12)],
    "@": [_arc(0.55, 0.55, 0.2, 0.25, 0, 360, 16), [(0.75, 0.3), (0.8, 0.75)] + _arc(0.5, 0.5, 0.5, 0.5, 30, -300, 28)],
    "~": [[(x, 0.5 - 0.3 * math.sin(2 * math.pi * x)) for x in np.linspace(0, 1, 16)]],
    "^": [[(0, 1), (0.5, 0), (1, 1)]],
    "¶": [[(0.6, 1), (0.6, 0), (1, 0)], [(1, 0), (1, 1)], [(0.6, 0)] + _arc(0.6, 0.25, 0.5, 0.25, 270, 90, 12)],
    "€": [_arc(0.6, 0.5, 0.45, 0.5, 45, 315, 20), [(0, 0.4), (0.7, 0.4)], [(0, 0.6), (0.7, 0.6)]],
    "¥": [[(0, 0), (0.5, 0.5), (1, 0)], [(0.5, 0.5), (0.5, 1)], [(0.15, 0.6), (0.85, 0.6)], [(0.15, 0.8), (0.85, 0.8)]],
    "Ξ": [[(0, 0), (1, 0)], [(0.15, 0.5), (0.85, 0.5)], [(0, 1), (1, 1)]],
    "Φ": [_arc(0.5, 0.5, 0.5, 0.32, 0, 360, 24), [(0.5, 0), (0.5, 1)]],
    "μ": [[(0, 1.2), (0, 0)], [(0, 0.6)] + _arc(0.5, 0.6, 0.5, 0.4, 180, 0, 12), [(1, 0), (1, 1)]],
    "π": [[(0, 0), (1, 0)], [(0.3, 0), (0.25, 1)], [(0.7, 0), (0.75, 1)]],
    "ω": [_arc(0.25, 0.5, 0.25, 0.5, 180, 0, 12) + _arc(0.75, 0.5, 0.25, 0.5, 180, 0, 12)],
    "arrow": [[(0, 0.5), (1, 0.5)], [(0.65, 0.15), (1, 0.5), (0.65, 0.85)]],
    "crossed circle": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 28), [(0.1, 0.9), (0.9, 0.1)]],
    "circled plus": [_arc(0.5, 0.5, 0.5, 0.5, 0, 360, 28), [(0.5, 0), (0.5, 1)], [(0, 0.5), (1, 0.5)]],
    "crossed box": [[(0, 0), (1, 0), (1, 1), (0, 1), (0, 0)], [(0, 0), (1, 1)], [(1, 0), (0, 1)]],
}


def _polygon(rng, sides: int, star: bool) -> list:
    turn = rng.uniform(0, 2 * math.pi)
    points = []
    for k in range(sides * (2 if star else 1)):
        radius = 0.5 if not star or k % 2 == 0 else rng.uniform(0.18, 0.3)
        angle = turn + math.pi * k / sides * (1 if star else 2)
        points.append((0.5 + radius * math.cos(angle), 0.5 + radius * math.sin(angle)))
    return [points + points[:1]]


def _scribble(rng) -> list:
    """A random walk whose heading turns smoothly: loops and tangles, as a child scribbles."""
    steps = rng.integers(25, 70)
    turn = np.cumsum(rng.normal(0, rng.uniform(0.3, 0.8), steps)) + rng.uniform(0, 2 * math.pi)
    xy = np.cumsum(np.stack([np.cos(turn), np.sin(turn)], 1), 0)
    return [list(map(tuple, xy))]


def _zigzag(rng) -> list:
    teeth = rng.integers(3, 8)
    return [[(k / teeth, float(k % 2) * rng.uniform(0.3, 1.0)) for k in range(teeth + 1)]]


def _spiral(rng) -> list:
    turns = rng.uniform(1.8, 3.5)
    angle = np.linspace(0, 2 * math.pi * turns, 80)
    radius = angle / angle[-1]
    return [list(zip(radius * np.cos(angle), radius * np.sin(angle)))]


def _coil(rng) -> list:
    """Connected loops, like a row of cursive e's or a telephone cord."""
    loops = rng.integers(3, 7)
    t = np.linspace(0, 2 * math.pi * loops, 40 * loops)
    return [list(zip(t / (2 * math.pi) * rng.uniform(0.6, 1.2) + np.cos(t), rng.uniform(0.8, 1.5) * np.sin(t)))]


def _strokes(rng) -> list:
    """A few random strokes that cross each other: nothing to read, but ink like a glyph's."""
    count = rng.integers(3, 6)
    return [[tuple(rng.random(2)) for _ in range(rng.integers(2, 4))] for _ in range(count)]


GENERATORS = {
    "glyph": lambda rng: GLYPHS[list(GLYPHS)[rng.integers(len(GLYPHS))]],
    "polygon": lambda rng: _polygon(rng, int(rng.integers(3, 6)), star=False),  # rounder ones pass for 0
    "star": lambda rng: _polygon(rng, int(rng.integers(4, 8)), star=True),
    "scribble": _scribble,
    "zigzag": _zigzag,
    "spiral": _spiral,
    "coil": _coil,
    "strokes": _strokes,
}
WEIGHTS = {"glyph": 0.45, "polygon": 0.08, "star": 0.07, "scribble": 0.12, "zigzag": 0.06, "spiral": 0.06,
           "coil": 0.06, "strokes": 0.10}


def _pen(strokes: list, rng) -> np.ndarray:
    """Strokes in any coordinates -> a drawing: random aspect, slant and rotation, jittered points,
    random pen width and blur. Returns a [DRAW_SIZE, DRAW_SIZE] float array, ink bright."""
    points = np.concatenate([np.asarray(s, np.float64) for s in strokes])
    # Each axis scaled on its own: no drawing is narrow enough to pass for a 1.
    low, span = points.min(0), np.maximum(np.ptp(points, 0), 1e-6)
    aspect = np.array([rng.uniform(0.6, 1.3), 1.0])
    angle, shear = rng.uniform(-0.3, 0.3), rng.uniform(-0.4, 0.4)
    cos, sin = math.cos(angle), math.sin(angle)
    transform = np.array([[cos, -sin], [sin, cos]]) @ np.array([[1, shear], [0, 1]])
    margin = 0.18 * DRAW_SIZE
    image = Image.new("L", (DRAW_SIZE, DRAW_SIZE), 0)
    draw = ImageDraw.Draw(image)
    width = int(rng.integers(5, 15))
    for stroke in strokes:
        xy = (np.asarray(stroke, np.float64) - low) / span * aspect - 0.5
        xy = xy + rng.normal(0, 0.02, xy.shape)  # a hand is never exact
        xy = (xy @ transform.T) * (DRAW_SIZE - 2 * margin) + DRAW_SIZE / 2
        draw.line([tuple(p) for p in xy], fill=255, width=width, joint="curve")
        for end in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse([end[0] - width / 2, end[1] - width / 2, end[0] + width / 2, end[1] + width / 2], fill=255)
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.5, 2.5)))
    return np.asarray(image, np.float32) / 255.0


def nondigit_drawing(rng: np.random.Generator) -> tuple[np.ndarray, str]:
    """One non-digit as drawn ([DRAW_SIZE, DRAW_SIZE] float, ink bright) and its generator's name."""
    kinds = list(WEIGHTS)
    kind = kinds[rng.choice(len(kinds), p=np.array(list(WEIGHTS.values())) / sum(WEIGHTS.values()))]
    return _pen(GENERATORS[kind](rng), rng), kind


def drawn_pool(count: int, seed: int) -> torch.Tensor:
    """[count, 28, 28] float32 non-digits in MNIST form, drawn one after another from the seed's
    generator: the first `count` of the seed's sequence."""
    return _drawn(np.random.default_rng(seed), count)


DRAWINGS_AHEAD = 64  # drawings waiting for the preprocessing at most (50 KB each)


def _drawn(rng: np.random.Generator, count: int) -> torch.Tensor:
    """The next `count` drawings of `rng` in MNIST form. They are drawn here, in the generator's
    order, while threads (one per core) pass them through the preprocessing graph, the same every
    runtime runs: its runs take the larger part of a drawing's 2 ms and release the GIL."""
    from ..runtime.preprocess import to_mnist_form

    forms, waiting = np.empty((count, 28, 28), np.float32), deque()
    with ThreadPoolExecutor(len(os.sched_getaffinity(0))) as threads:
        for index in range(count):
            waiting.append((index, threads.submit(to_mnist_form, nondigit_drawing(rng)[0])))
            if len(waiting) > DRAWINGS_AHEAD:
                done, form = waiting.popleft()
                forms[done] = form.result()
        for done, form in waiting:
            forms[done] = form.result()
    return torch.from_numpy(forms)


KEPT_DRAWINGS = 2 * POOL_SIZE  # at most this many drawings are kept, over all seeds (63 MB per POOL_SIZE)
_KEPT: dict[int, tuple[np.random.Generator, torch.Tensor]] = {}  # seed -> (its generator, what it drew)


def nondigit_pool(count: int = POOL_SIZE, seed: int = 0) -> torch.Tensor:
    """drawn_pool(count, seed), its drawings kept for the process: digit-compare (and the test
    suite) trains several models in one process, and a pool of another length for the same seed
    starts with the same drawings, so only those no earlier pool drew are drawn (a view of them)."""
    rng, kept = _KEPT.pop(seed, None) or (np.random.default_rng(seed), torch.empty(0, 28, 28, dtype=torch.float32))
    if len(kept) < count:  # (out of _KEPT meanwhile: a draw that fails leaves no generator ahead of its pool)
        kept = torch.cat([kept, _drawn(rng, count - len(kept))])
    _KEPT[seed] = (rng, kept)
    while sum(len(pool) for _, pool in _KEPT.values()) > KEPT_DRAWINGS:  # the seeds used least recently go
        del _KEPT[next(iter(_KEPT))]
    return kept[:count]


def uniform_loss(logits: torch.Tensor) -> torch.Tensor:
    """Outlier exposure's term (Hendrycks et al., 2019): cross-entropy from the uniform distribution,
    smallest (ln K) when every class is equally likely."""
    return -logits.log_softmax(dim=1).mean()


def pool_for(iterations: int, batch_size: int, seed: int) -> torch.Tensor:
    """The pool a run draws from: POOL_SIZE non-digits, or fewer if a short run needs fewer."""
    return nondigit_pool(min(POOL_SIZE, iterations * max(1, round(batch_size * OUTLIER_SHARE))), seed)


def add_outliers(images: torch.Tensor, labels: torch.Tensor, pool: torch.Tensor, augment, generator: torch.Generator):
    """The batch with OUTLIER_SHARE as many non-digits from the pool appended, passed through
    `augment(images, generator)` like the digits, labelled NONDIGIT."""
    count = max(1, round(len(images) * OUTLIER_SHARE))
    outliers = pool[torch.randint(len(pool), (count,), generator=generator)]
    return (torch.cat([images, augment(outliers, generator)]),
            torch.cat([labels, torch.full((count,), NONDIGIT, dtype=labels.dtype)]))
