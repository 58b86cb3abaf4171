"""Steps 3-6 of the preprocessing (mnist_form.py), as suppress_background runs them, and step 6
itself: subtract the paper (step 3, background.py), smooth strong noise (step 4, noise.py), scale
the ink to 1, drop printed lines (step 5, printed_lines.py), keep the strokes and the faint ink
connected to them (step 6). Gives the cleaned ink and whether no ink stood out at all. The rules
and a picture of each kind of input: docs/PREPROCESSING.md, rules 3-6."""

import numpy as np
from onnxscript import BOOL, DOUBLE, FLOAT, INT64, script
from onnxscript import opset18 as op

from .polarity import WORK_SIZE
from .background import background, odd
from .common import block_counts, box_mean, count, dilate_mask_5, dims
from .filters import opening, reconstruct
from .noise import contrast, noise
from .printed_lines import printed_lines

MIN_CONTRAST = 0.05  # ink must stand out from the background by this much (of full scale) ...
NOISE_CONTRAST = 8  # ... and by this many times the pixel noise
NOISE_TARGET = 0.04  # noise above this fraction of the contrast is averaged out (box filter)
INK_THRESHOLD = 0.45  # after scaling the ink to 1: a clear stroke; paper texture and grid lines are fainter
FAINT_INK = 0.08  # fainter ink is kept where it is connected to clear strokes ...
NOISE_FAINT = 5  # ... if it is also this many times the noise
WIDE_FAINT = 2  # ... unless it lies in a faint area wider than this many stroke widths (shading)


@script()
def _safe(level: DOUBLE) -> DOUBLE:
    """The level, or 1 where it is not positive (to divide by)."""
    return op.Where(op.Greater(level, op.Constant(value=np.float64(0.0))), level, op.Constant(value=np.float64(1.0)))


@script()
def _scaled(ink: FLOAT[None, None], level: DOUBLE) -> FLOAT[None, None]:
    """The ink over its level (1 where it is not positive), clipped to [0, 1]."""
    return op.Clip(op.Div(ink, op.Cast(_safe(level), to=FLOAT.dtype)), 0.0, 1.0)


@script()
def _smoothed(ink: FLOAT[None, None], sigma: DOUBLE, level: DOUBLE,
              stroke_width: DOUBLE) -> tuple[FLOAT[None, None], DOUBLE, DOUBLE]:
    """(the ink scaled to its level, the noise, the level). Noise above NOISE_TARGET of the level is
    too strong for per-pixel decisions: it is averaged out by a box mean of radius
    ceil((sigma / (NOISE_TARGET level) - 1) / 2), at most max(1, stroke_width // 3), which divides
    the noise by its side; the level is measured again. (Each branch scales its own ink: no copy
    of the image on the way out.)"""
    target = op.Mul(level, op.Constant(value=np.float64(NOISE_TARGET)))
    if op.And(op.Greater(sigma, target), op.Greater(target, op.Constant(value=np.float64(0.0)))):
        ratio = op.Div(sigma, op.Mul(level, op.Constant(value=np.float64(NOISE_TARGET))))
        wanted = op.Ceil(op.Div(op.Sub(ratio, op.Constant(value=np.float64(1.0))), op.Constant(value=np.float64(2.0))))
        cap = op.Max(op.Constant(value=np.float64(1.0)), op.Floor(op.Div(stroke_width, op.Constant(value=np.float64(3.0)))))
        radius = op.Cast(op.Min(wanted, cap), to=INT64.dtype)
        smooth = box_mean(ink, radius)
        smooth_level = contrast(smooth)
        scaled = _scaled(smooth, smooth_level)
        side = op.Add(op.Mul(radius, 2), 1)
        out_sigma = op.Div(sigma, op.Cast(side, to=DOUBLE.dtype))
        out_level = smooth_level
    else:
        scaled = _scaled(ink, level)
        out_sigma = sigma
        out_level = level
    return scaled, out_sigma, out_level


@script()
def _unblocked(blocks: BOOL[None, None], factor: INT64, like: BOOL[None, None]) -> BOOL[None, None]:
    """Each block's value on its factor x factor pixels, cropped to the shape of `like`: each block
    column repeated factor times (on the transposed blocks), then each row factor times. Expand
    copies whole rows at a time so (far faster than Gather, or Expand with factor-long runs)."""
    blocks_h, blocks_w = dims(blocks)
    down, across = op.Reshape(blocks_h, [1]), op.Reshape(blocks_w, [1])
    f = op.Reshape(factor, [1])
    wide = op.Reshape(op.Mul(blocks_w, factor), [1])
    columns = op.Expand(op.Unsqueeze(op.Transpose(blocks, perm=[1, 0]), [1]), op.Concat(across, f, down, axis=0))
    rows = op.Transpose(op.Reshape(columns, op.Concat(wide, down, axis=0)), perm=[1, 0])
    pixels = op.Reshape(op.Expand(op.Unsqueeze(rows, [1]), op.Concat(down, f, wide, axis=0)),
                        op.Concat(op.Reshape(op.Mul(blocks_h, factor), [1]), wide, axis=0))
    return op.Slice(pixels, op.Constant(value_ints=[0, 0]), op.Shape(like), op.Constant(value_ints=[0, 1]))


@script()
def _connected(strong: BOOL[None, None], faint: BOOL[None, None]) -> BOOL[None, None]:
    """The faint pixels 8-connected to strong ones. Followed on blocks of factor x factor pixels,
    factor = ceil(longest side / 2 WORK_SIZE) (1 up to 2 WORK_SIZE px): a block is a seed if it
    holds a strong pixel, and faint if a line's worth of its pixels (`factor`) are: scattered
    noise does not bridge paper."""
    height, width = dims(faint)
    longest = op.Cast(op.Max(height, width), to=DOUBLE.dtype)
    factor = op.Cast(op.Ceil(op.Div(longest, op.Constant(value=np.float64(2.0 * WORK_SIZE)))), to=INT64.dtype)
    seeds = op.GreaterOrEqual(block_counts(strong, factor), op.Constant(value_float=1.0))
    allowed = op.GreaterOrEqual(block_counts(faint, factor), op.Cast(factor, to=FLOAT.dtype))
    return op.And(_unblocked(reconstruct(seeds, allowed), factor, faint), faint)


@script()
def _wide_faint(faint: BOOL[None, None], stroke_width: DOUBLE) -> BOOL[None, None]:
    """Faint areas wider than WIDE_FAINT stroke widths (an opening removes the narrower ones): the
    shading the paper's estimate missed (the edge of a shadow), not ink, however they touch the
    strokes. Found on blocks a quarter of a stroke wide, a block being faint where half its pixels
    are: speckled areas (noise around the threshold) count whole."""
    factor = op.Max(op.Constant(value_int=1), op.Cast(op.Floor(op.Div(stroke_width, op.Constant(value=np.float64(4.0)))), to=INT64.dtype))
    area = op.Cast(op.Mul(factor, factor), to=FLOAT.dtype)
    blocks = op.Cast(op.GreaterOrEqual(op.Mul(block_counts(faint, factor), op.Constant(value_float=2.0)), area), to=FLOAT.dtype)
    wide = op.Mul(op.Constant(value=np.float64(WIDE_FAINT)), stroke_width)
    side = odd(op.Div(wide, op.Cast(factor, to=DOUBLE.dtype)))
    return _unblocked(op.Cast(opening(blocks, side), to=BOOL.dtype), factor, faint)


@script()
def suppress_background(ink: FLOAT[None, None], border_level: FLOAT, flat_border: BOOL) -> tuple[FLOAT[None, None], BOOL]:
    """(the cleaned ink in [0, 1], no_digit: True when no ink stands out). Subtract the paper,
    smooth if the noise calls for it, scale the ink to 1, and keep only strokes: pixels at
    INK_THRESHOLD or above that are not on printed lines (except where strokes cross them), with
    the fainter ink (FAINT_INK, and NOISE_FAINT times the noise) connected to them (a faint half of
    a loop; not where the paper follows shading and the faint area is wide), grown by EDGE_PX to
    keep the anti-aliased edges, but not over the printed lines. Texture, grid lines and shadows
    away from the strokes become 0.
    No ink stands out when the level is below MIN_CONTRAST or NOISE_CONTRAST times the noise.
    border_level, flat_border: the median of the ink's border and whether it is flat (make_ink_bright)."""
    ink, stroke_width, shaded = background(ink, border_level, flat_border)
    sigma = noise(ink)
    ink, sigma, level = _smoothed(ink, sigma, contrast(ink), stroke_width)
    needed = op.Max(op.Constant(value=np.float64(MIN_CONTRAST)),
                    op.Mul(op.Constant(value=np.float64(NOISE_CONTRAST)), sigma))
    no_digit = op.Less(level, needed)
    strong = op.GreaterOrEqual(ink, op.Constant(value_float=INK_THRESHOLD))
    faint_level = op.Max(op.Constant(value=np.float64(FAINT_INK)),
                         op.Div(op.Mul(op.Constant(value=np.float64(NOISE_FAINT)), sigma), _safe(level)))
    faint = op.GreaterOrEqual(ink, op.Cast(faint_level, to=FLOAT.dtype))
    lines, ruled = printed_lines(ink, strong, stroke_width, faint_level)  # (strokes crossing them stay ink)
    not_lines = op.Not(lines)
    strong = op.And(strong, not_lines)
    near_strokes = dilate_mask_5(strong)  # the 2 EDGE_PX + 1 square
    if op.Greater(count(op.And(faint, op.Not(near_strokes))), 0):  # faint ink beyond the strokes' edges
        faint = op.And(faint, not_lines)
        if shaded:  # where the paper follows shading, what it missed is wide and faint
            faint = op.And(faint, op.Not(_wide_faint(op.And(faint, op.Not(strong)), stroke_width)))
        near_strokes = dilate_mask_5(_connected(strong, faint))
    # On ruled or squared paper (LINE_REPEATS parallel lines or more), never the printed lines' own
    # pixels, even beside the strokes: the margin that keeps the strokes' edges brought back the
    # grid's pieces inside and around the digit (issue 25). Elsewhere the margin keeps them: a line
    # found in a tight crop can be a stroke (the bar of a 7 across the whole crop).
    kept = op.And(near_strokes, op.Or(not_lines, op.Not(ruled)))
    return op.Mul(ink, op.Cast(kept, to=FLOAT.dtype)), no_digit  # (ink is in [0, 1]: as Where, and faster)
