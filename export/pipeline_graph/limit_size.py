"""Step 1b of runtime/preprocess.py (_limit_size): images over MAX_WORK_PIXELS are area-averaged
down by an integer factor first, as Pillow's Image.reduce does it: colour premultiplied by alpha
(RGBa), each block's 8-bit mean rounded with Pillow's fixed-point multiplier (libImaging/Reduce.c),
the last, shorter blocks averaged over the pixels they have, and alpha divided out again.
The pixels leave as float32 planes [4, h, w] (R, G, B, A, 0-255): what grayscale reads.

A large input is reduced one tile at a time (a Loop over tiles of about TILE_PIXELS pixels, whole
blocks each), so that no full-size float copy of it is ever made: the run's memory beyond the
input is the reduced image's, not the input's (tests/pipeline_memory.py)."""

import numpy as np

from ...runtime.preprocess import MAX_WORK_PIXELS
from .builder import BOOL, DOUBLE, FLOAT, INT64, UINT8, Builder
from .ops import block_sums, dims

MULTIPLIER_BITS = 24  # Reduce.c: v = ((sum + n / 2) * (2^32 / (256 n))) >> 24
TILE_SIDE = 512  # a large input is reduced in tiles of about TILE_SIDE x TILE_SIDE pixels (whole blocks) ...
TILE_PIXELS = TILE_SIDE * TILE_SIDE  # ... and no more pixels than this in a tile of a very wide one


def planes(g: Builder, pixels: str) -> str:
    """uint8 [h, w, 4] -> float32 [4, h, w]: cast first, as float32 transposes about twice as fast as
    uint8 (and Split along the last axis is slower still)."""
    return g.op("Transpose", g.cast(pixels, FLOAT), perm=[2, 0, 1])


def _reduce(g: Builder, pixels: str, factor: str) -> str:
    """uint8 [h, w, 4] -> float32 [4, ceil(h / factor), ceil(w / factor)], Image.reduce(factor) on RGBA."""
    red, green, blue, alpha = (g.op("Squeeze", c, g.ints(0)) for c in
                               g.op("Split", planes(g, pixels), axis=0, num_outputs=4, outputs=4))

    def premultiplied(c):  # MULDIV255(c, alpha): tmp = c a + 128; ((tmp >> 8) + tmp) >> 8
        tmp = g.op("Add", g.op("Mul", c, alpha), g.scalar(128.0))
        return g.op("Floor", g.op("Div", g.op("Add", g.op("Floor", g.op("Div", tmp, g.scalar(256.0))), tmp), g.scalar(256.0)))
    ones = g.op("Expand", g.scalar(1.0), g.op("Shape", alpha))
    count = g.cast(block_sums(g, ones, factor), DOUBLE)
    multiplier = g.cast(g.op("Floor", g.op("Div", g.scalar(float(2**32)), g.op("Mul", g.cast(count, FLOAT), g.scalar(256.0)))), DOUBLE)
    amend = g.op("Floor", g.op("Div", count, g.scalar(2.0, np.float64)))

    def mean(c):
        total = g.cast(block_sums(g, c, factor), DOUBLE)
        value = g.op("Floor", g.op("Div", g.op("Mul", g.op("Add", total, amend), multiplier), g.scalar(float(2**MULTIPLIER_BITS), np.float64)))
        return g.cast(g.op("Min", value, g.scalar(255.0, np.float64)), FLOAT)
    a = mean(alpha)
    safe = g.op("Where", g.op("Equal", a, g.scalar(0.0)), g.scalar(1.0), a)
    keep = g.op("Or", g.op("Equal", a, g.scalar(0.0)), g.op("Equal", a, g.scalar(255.0)))

    def unpremultiplied(c):  # alpha 0 or 255: as is; else CLIP8(255 c / alpha)
        divided = g.op("Min", g.op("Floor", g.op("Div", g.op("Mul", c, g.scalar(255.0)), safe)), g.scalar(255.0))
        return g.op("Where", keep, c, divided)
    channels = [g.op("Unsqueeze", unpremultiplied(mean(premultiplied(c))), g.ints(0)) for c in (red, green, blue)]
    return g.op("Concat", *channels, g.op("Unsqueeze", a, g.ints(0)), axis=0)  # whole numbers 0-255, as Pillow's 8 bits


def _ceil_div(g: Builder, a: str, b: str) -> str:
    return g.op("Div", g.op("Sub", g.op("Add", a, b), g.scalar(1, np.int64)), b)


def _vector(g: Builder, scalar: str) -> str:
    """A scalar as a tensor [1], to Concat into shapes, starts and pads."""
    return g.op("Reshape", scalar, g.ints(1))


def reduce_by_tiles(g: Builder, pixels: str, factor: str, tile_side: int = TILE_SIDE, tile_pixels: int = TILE_PIXELS) -> str:
    """_reduce of the whole input, made tile by tile: tiles of whole factor x factor blocks, about
    tile_side pixels high and tile_pixels in all, each reduced alone (a block never straddles two
    tiles, so each is averaged exactly as in the whole image) and kept as uint8, then put together."""
    height, width = dims(g, pixels)  # (the first two of its three)
    one = g.scalar(1, np.int64)
    blocks_h, blocks_w = _ceil_div(g, height, factor), _ceil_div(g, width, factor)
    tile_blocks_h = g.op("Min", blocks_h, g.op("Max", one, g.op("Div", g.scalar(tile_side, np.int64), factor)))
    tile_rows = g.op("Mul", tile_blocks_h, factor)
    rows_in_tile = g.op("Min", height, tile_rows)
    tile_blocks_w = g.op("Min", blocks_w, g.op("Max", one, g.op("Div", g.scalar(tile_pixels, np.int64),
                                                                    g.op("Mul", rows_in_tile, factor))))
    tile_cols = g.op("Mul", tile_blocks_w, factor)
    tiles_down, tiles_across = _ceil_div(g, blocks_h, tile_blocks_h), _ceil_div(g, blocks_w, tile_blocks_w)

    body = g.sub("tile")
    index, condition = body.name("index"), body.name("condition")
    at = lambda v: _vector(body, v)  # noqa: E731
    top = body.op("Mul", body.op("Div", index, tiles_across), tile_rows)
    left = body.op("Mul", body.op("Mod", index, tiles_across), tile_cols)
    tile = body.op("Slice", pixels, body.op("Concat", at(top), at(left), axis=0),
                   body.op("Concat", at(body.op("Add", top, tile_rows)), at(body.op("Add", left, tile_cols)), axis=0),
                   body.ints(0, 1))
    reduced = body.cast(_reduce(body, tile, factor), UINT8)  # [4, th, tw], th <= tile_blocks_h, tw <= tile_blocks_w
    shape = body.op("Shape", reduced)
    short_h, short_w = (body.op("Sub", full, body.op("Slice", shape, body.ints(i), body.ints(i + 1)))
                        for i, full in ((1, at(tile_blocks_h)), (2, at(tile_blocks_w))))
    padded = body.op("Pad", reduced, body.op("Concat", body.ints(0, 0, 0, 0), short_h, short_w, axis=0))
    kept = body.op("Identity", condition)
    loop = body.graph(body.prefix, [(index, INT64, []), (condition, BOOL, [])], [(kept, BOOL, []), (padded, UINT8)])
    # [tiles, 4, tile_blocks_h, tile_blocks_w], tiles in rows first, then back into one image:
    tiles = g.op("Loop", g.op("Mul", tiles_down, tiles_across), g.scalar(True, np.bool_), body=loop)

    at = lambda v: _vector(g, v)  # noqa: E731
    grid = g.op("Reshape", tiles, g.op("Concat", at(tiles_down), at(tiles_across), g.ints(4), at(tile_blocks_h), at(tile_blocks_w), axis=0))
    joined = g.op("Reshape", g.op("Transpose", grid, perm=[2, 0, 3, 1, 4]),
                  g.op("Concat", g.ints(4), at(g.op("Mul", tiles_down, tile_blocks_h)), at(g.op("Mul", tiles_across, tile_blocks_w)), axis=0))
    whole = g.op("Slice", joined, g.ints(0, 0), g.op("Concat", at(blocks_h), at(blocks_w), axis=0), g.ints(1, 2))
    return g.cast(whole, FLOAT)


def limit_size(g: Builder, pixels: str) -> str:
    """pixels uint8 [h, w, 4], reduced by ceil(sqrt(h w / MAX_WORK_PIXELS)) when that is over 1, as
    float32 planes [4, h, w]."""
    shape = g.cast(g.op("Shape", pixels, start=0, end=2), DOUBLE)
    area = g.op("ReduceProd", shape, keepdims=0)
    factor = g.cast(g.op("Ceil", g.op("Sqrt", g.op("Div", area, g.scalar(float(MAX_WORK_PIXELS), np.float64)))), INT64)
    small, large = g.sub("small_enough"), g.sub("reduce")
    return g.if_(g.op("Greater", factor, g.scalar(1, np.int64)), large, [reduce_by_tiles(large, pixels, factor)],
                 small, [planes(small, pixels)], [FLOAT])[0]
