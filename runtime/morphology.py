"""Small image filters for the preprocessing: square minimum/maximum, box mean, horizontal run
lengths, binary reconstruction, Otsu's threshold, percentiles. Hand-written because the runtime is numpy and
Pillow only (no scipy or OpenCV), and Pillow's rank filters are O(k^2) per pixel and 8-bit only.
"""

import numpy as np


def _pad_rows(image: np.ndarray, count: int, edge: bool) -> np.ndarray:
    """count rows added above and below: copies of the edge rows, or zeros."""
    top, bottom = (image[:1], image[-1:]) if edge else (np.zeros_like(image[:1]),) * 2
    return np.concatenate([np.repeat(top, count, axis=0), image, np.repeat(bottom, count, axis=0)])


def window_rows(image: np.ndarray, size: int, reduce) -> np.ndarray:
    """reduce over a window of `size` rows centred on each row, edges replicated. The window doubles
    log2(size) times; an overlap of two power-of-two windows covers any width."""
    padded = _pad_rows(image, size // 2, edge=True)
    length = len(image)
    window, width = padded, 1
    while width * 2 <= size:
        window = reduce(window[:-width], window[width:])
        width *= 2
    return reduce(window[:length], window[size - width : size - width + length])


def square_filter(image: np.ndarray, size: int, reduce) -> np.ndarray:
    """Minimum or maximum (reduce = np.minimum or np.maximum) over a size x size square."""
    return window_rows(window_rows(image, size, reduce).T, size, reduce).T


def box_mean(image: np.ndarray, radius: int) -> np.ndarray:
    """Mean over a (2 radius + 1)^2 square, edges replicated (running sums: O(1) per pixel)."""
    size = 2 * radius + 1
    out = image
    for _ in range(2):
        padded = _pad_rows(out, radius, edge=True)
        sums = np.cumsum(padded, axis=0, dtype=np.float64)
        sums = np.concatenate([np.zeros_like(sums[:1]), sums])
        out = ((sums[size:] - sums[:-size]) / size).astype(np.float32).T
    return out


def run_lengths(mask: np.ndarray) -> np.ndarray:
    """For each True pixel, the length of the horizontal run of True pixels it belongs to."""
    height, width = mask.shape
    index = np.broadcast_to(np.arange(width, dtype=np.int32), mask.shape)  # int32: half the memory of int64
    last_gap = np.maximum.accumulate(np.where(mask, np.int32(-1), index), axis=1)
    next_gap = np.minimum.accumulate(np.where(mask, np.int32(width), index)[:, ::-1], axis=1)[:, ::-1]
    next_gap -= last_gap
    next_gap -= 1
    return np.where(mask, next_gap, np.int32(0))


def _grow(mask: np.ndarray) -> np.ndarray:
    """Binary dilation by the 3 x 3 square."""
    rows = mask.copy()
    rows[1:] |= mask[:-1]
    rows[:-1] |= mask[1:]
    out = rows.copy()
    out[:, 1:] |= rows[:, :-1]
    out[:, :-1] |= rows[:, 1:]
    return out


def reconstruct(seeds: np.ndarray, allowed: np.ndarray) -> np.ndarray:
    """The pixels of `allowed` connected (8-neighbours) to a seed: seeds grown inside `allowed`
    until they stop changing."""
    current = seeds & allowed
    count = int(np.count_nonzero(current))
    while True:
        for _ in range(4):
            current = _grow(current) & allowed
        new_count = int(np.count_nonzero(current))
        if new_count == count:
            return current
        count = new_count


def otsu_threshold(values: np.ndarray, bins: int = 64) -> float:
    """The level that best splits values in [0, 1] into two classes (Otsu 1979)."""
    counts = np.bincount((values.ravel() * (bins - 1e-3)).astype(np.int32), minlength=bins)[:bins]
    below = np.cumsum(counts)
    mass = np.cumsum(counts * np.arange(bins))
    total, total_mass = below[-1], mass[-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mass * float(total) - total_mass * below.astype(np.float64)) ** 2 / (below * (total - below))
    return float((np.nanargmax(np.where(np.isfinite(between), between, 0)) + 1) / bins)


def percentiles(values: np.ndarray, *qs: float) -> list[float]:
    """np.percentile's "nearest" values by partial sort: a fraction of its cost on small images."""
    flat = values.ravel()
    ranks = [rank(len(flat), q) for q in qs]
    part = np.partition(flat, ranks)
    return [float(part[r]) for r in ranks]


def rank(count: int, q: float) -> int:
    """The index of the q-th percentile ("nearest") among `count` sorted values."""
    return min(count - 1, round(q / 100 * (count - 1)))
