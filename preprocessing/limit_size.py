"""Step 1 of the preprocessing (mnist_form.py), first: images over MAX_WORK_PIXELS are area-averaged
down by the integer factor ceil(sqrt(h w / MAX_WORK_PIXELS)) before anything else, exactly as
Pillow's Image.reduce does it: colour premultiplied by alpha (RGBa), each block's 8-bit mean
rounded with Pillow's fixed-point multiplier (libImaging/Reduce.c), the last, shorter blocks
averaged over the pixels they have, and alpha divided out again. The pixels leave as float32
planes [4, h, w] (R, G, B, A, 0-255): what grayscale reads.

A large input is reduced one tile at a time (a Loop over tiles of about TILE_PIXELS pixels, whole
blocks each), so that no full-size float copy of it is ever made: the run's memory beyond the
input is the reduced image's, not the input's (tests/pipeline_memory.py)."""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, UINT8, graph, script
from onnxscript import opset18 as op

from . import MAX_WORK_PIXELS
from .common import block_sums, dims

MULTIPLIER_BITS = 24  # Reduce.c: v = ((sum + n / 2) * (2^32 / (256 n))) >> 24
TWO_TO_32 = float(2**32)  # (the multiplier's numerator: float32, exact)
TILE_SIDE = 512  # a large input is reduced in tiles of about TILE_SIDE x TILE_SIDE pixels (whole blocks) ...
TILE_PIXELS = TILE_SIDE * TILE_SIDE  # ... and no more pixels than this in a tile of a very wide one

# As double constants (a Python float in an op call is a float32 one; the literals below, 128, 256,
# 255 and 2, are exact in float32).
SHIFT = np.array(float(2**MULTIPLIER_BITS), np.float64)
MAX_PIXELS = np.array(float(MAX_WORK_PIXELS), np.float64)


@script()
def planes(pixels: UINT8[None, None, 4]) -> FLOAT[4, None, None]:
    """uint8 [h, w, 4] -> float32 [4, h, w]: cast first, as float32 transposes about twice as fast as
    uint8 (and Split along the last axis is slower still)."""
    return op.Transpose(op.Cast(pixels, to=FLOAT.dtype), perm=[2, 0, 1])


@script()
def _premultiplied(c: FLOAT[None, None], alpha: FLOAT[None, None]) -> FLOAT[None, None]:
    """RGBA -> RGBa, Pillow's MULDIV255(c, alpha): tmp = c a + 128; ((tmp >> 8) + tmp) >> 8."""
    tmp = op.Add(op.Mul(c, alpha), 128.0)
    return op.Floor(op.Div(op.Add(op.Floor(op.Div(tmp, 256.0)), tmp), 256.0))


@script()
def _block_mean(c: FLOAT[None, None], factor: INT64, amend: DOUBLE[None, None], multiplier: DOUBLE[None, None]) -> FLOAT[None, None]:
    """Reduce.c's mean of each factor x factor block of a channel (whole numbers 0-255):
    ((sum + amend) multiplier) >> MULTIPLIER_BITS, at most 255."""
    total = op.Cast(block_sums(c, factor), to=DOUBLE.dtype)
    value = op.Floor(op.Div(op.Mul(op.Add(total, amend), multiplier), SHIFT))
    return op.Cast(op.Min(value, 255.0), to=FLOAT.dtype)


@script()
def _unpremultiplied(c: FLOAT[None, None], safe_alpha: FLOAT[None, None], keep: BOOL[None, None]) -> FLOAT[None, None]:
    """RGBa -> RGBA: where alpha is 0 or 255 (keep), c as it is; else CLIP8(255 c / alpha)."""
    divided = op.Min(op.Floor(op.Div(op.Mul(c, 255.0), safe_alpha)), 255.0)
    return op.Where(keep, c, divided)


@script()
def reduce_rgba(pixels: UINT8[None, None, 4], factor: INT64) -> FLOAT[4, None, None]:
    """uint8 [h, w, 4] -> float32 [4, ceil(h / factor), ceil(w / factor)]: Image.reduce(factor) on
    RGBA, in whole numbers 0-255 as Pillow's 8 bits."""
    red, green, blue, alpha = op.Split(planes(pixels), axis=0, num_outputs=4)
    red = op.Squeeze(red, [0])
    green = op.Squeeze(green, [0])
    blue = op.Squeeze(blue, [0])
    alpha = op.Squeeze(alpha, [0])
    ones = op.Expand(op.Constant(value_float=1.0), op.Shape(alpha))
    count = op.Cast(block_sums(ones, factor), to=DOUBLE.dtype)  # the pixels in each block
    multiplier = op.Cast(op.Floor(op.Div(TWO_TO_32, op.Mul(op.Cast(count, to=FLOAT.dtype), 256.0))), to=DOUBLE.dtype)
    amend = op.Floor(op.Div(count, 2.0))
    a = _block_mean(alpha, factor, amend, multiplier)
    safe_alpha = op.Where(op.Equal(a, 0.0), 1.0, a)
    keep = op.Or(op.Equal(a, 0.0), op.Equal(a, 255.0))
    # R, G and B alike (written out: a Python loop over them would become an ONNX Loop):
    r = _unpremultiplied(_block_mean(_premultiplied(red, alpha), factor, amend, multiplier), safe_alpha, keep)
    g = _unpremultiplied(_block_mean(_premultiplied(green, alpha), factor, amend, multiplier), safe_alpha, keep)
    b = _unpremultiplied(_block_mean(_premultiplied(blue, alpha), factor, amend, multiplier), safe_alpha, keep)
    return op.Concat(op.Unsqueeze(r, [0]), op.Unsqueeze(g, [0]), op.Unsqueeze(b, [0]), op.Unsqueeze(a, [0]), axis=0)


@script()
def _ceil_div(a: INT64, b: INT64) -> INT64:
    return op.Div(op.Sub(op.Add(a, b), 1), b)


@script()
def _vector(scalar: INT64) -> INT64[1]:
    """A scalar as a tensor [1], to Concat into shapes, starts and pads."""
    return op.Reshape(scalar, [1])


@script()
def reduce_by_tiles(pixels: UINT8[None, None, 4], factor: INT64, tile_side: int = TILE_SIDE,
                    tile_pixels: int = TILE_PIXELS) -> FLOAT[4, None, None]:
    """reduce_rgba of the whole input, made tile by tile: tiles of whole factor x factor blocks,
    about tile_side pixels high and tile_pixels in all, each reduced alone (a block never straddles
    two tiles, so each is averaged exactly as in the whole image) and kept as uint8, then put together.

    The tiles are a Loop whose body (reduce_tile, a @graph) makes one tile each, collected as the
    Loop's scan output: onnxscript's `for` has no scan outputs, and carrying the tiles as state
    would copy them all again at every step. (Eager mode cannot run it: onnxscript 0.7.2 runs the
    Loop node alone, without the functions its body calls. Build the model and run that.)"""
    height, width = dims(pixels)  # (the first two of its three)
    one = op.Constant(value_int=1)
    blocks_h = _ceil_div(height, factor)
    blocks_w = _ceil_div(width, factor)
    tile_blocks_h = op.Min(blocks_h, op.Max(one, op.Div(op.Constant(value_int=tile_side), factor)))
    tile_rows = op.Mul(tile_blocks_h, factor)
    rows_in_tile = op.Min(height, tile_rows)
    tile_blocks_w = op.Min(blocks_w, op.Max(one, op.Div(op.Constant(value_int=tile_pixels), op.Mul(rows_in_tile, factor))))
    tile_cols = op.Mul(tile_blocks_w, factor)
    tiles_down = _ceil_div(blocks_h, tile_blocks_h)
    tiles_across = _ceil_div(blocks_w, tile_blocks_w)

    @graph()
    def reduce_tile(index: INT64, condition: BOOL):
        """The Loop's body: tile `index` (tiles in rows first) reduced, padded to tile_blocks_h x tile_blocks_w."""
        top = op.Mul(op.Div(index, tiles_across), tile_rows)
        left = op.Mul(op.Mod(index, tiles_across), tile_cols)
        starts = op.Concat(_vector(top), _vector(left), axis=0)
        ends = op.Concat(_vector(op.Add(top, tile_rows)), _vector(op.Add(left, tile_cols)), axis=0)
        tile = op.Slice(pixels, starts, ends, op.Constant(value_ints=[0, 1]))
        reduced = op.Cast(reduce_rgba(tile, factor), to=UINT8.dtype)  # [4, th, tw], th <= tile_blocks_h, tw <= tile_blocks_w
        shape = op.Shape(reduced)
        short_h = op.Sub(_vector(tile_blocks_h), op.Slice(shape, op.Constant(value_ints=[1]), op.Constant(value_ints=[2])))
        short_w = op.Sub(_vector(tile_blocks_w), op.Slice(shape, op.Constant(value_ints=[2]), op.Constant(value_ints=[3])))
        padded = op.Pad(reduced, op.Concat(op.Constant(value_ints=[0, 0, 0, 0]), short_h, short_w, axis=0))
        kept = op.Identity(condition)
        return kept, padded

    # [tiles, 4, tile_blocks_h, tile_blocks_w], tiles in rows first, then back into one image:
    tiles = op.Loop(op.Mul(tiles_down, tiles_across), True, body=reduce_tile)
    grid = op.Reshape(tiles, op.Concat(_vector(tiles_down), _vector(tiles_across), [4], _vector(tile_blocks_h),
                                       _vector(tile_blocks_w), axis=0))
    joined = op.Reshape(op.Transpose(grid, perm=[2, 0, 3, 1, 4]),
                        op.Concat([4], _vector(op.Mul(tiles_down, tile_blocks_h)), _vector(op.Mul(tiles_across, tile_blocks_w)), axis=0))
    whole = op.Slice(joined, [0, 0], op.Concat(_vector(blocks_h), _vector(blocks_w), axis=0), [1, 2])
    return op.Cast(whole, to=FLOAT.dtype)


@script()
def limit_size(pixels: UINT8[None, None, 4]) -> FLOAT[4, None, None]:
    """pixels uint8 [h, w, 4] as float32 planes [4, h, w], reduced by ceil(sqrt(h w / MAX_WORK_PIXELS))
    when that is over 1, which is when h w is over MAX_WORK_PIXELS (a whole number of pixels over it
    makes the ratio at least 1 + 1 / MAX_WORK_PIXELS, whose square root is over 1 in double): the
    factor is worked out only then."""
    area = op.ReduceProd(op.Cast(op.Shape(pixels, start=0, end=2), to=DOUBLE.dtype), keepdims=0)
    if op.Greater(area, MAX_PIXELS):
        factor = op.Cast(op.Ceil(op.Sqrt(op.Div(area, MAX_PIXELS))), to=INT64.dtype)
        # (the tile sizes given, not left to the defaults: onnx.inliner does not fill in attribute defaults)
        result = reduce_by_tiles(pixels, factor, tile_side=TILE_SIDE, tile_pixels=TILE_PIXELS)
    else:
        result = planes(pixels)
    return result
