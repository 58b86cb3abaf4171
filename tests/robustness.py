"""The robustness set: MNIST test digits rendered the way users' images look.

Each digit is enlarged 8-15x with smooth strokes and put, off-centre, on a larger canvas in one of
these styles (all seeded, so the set is the same every time):
- photo: dark ink on grey paper with a brightness gradient and a soft shadow, sensor noise;
- grid: the same on squared paper (faint grid lines);
- ruled: the same on lined paper;
- drawing: an RGBA export from a paint program: dark strokes on a transparent background;
- scan: dark ink on white, JPEG-compressed.
Photos, grids and ruled pages are JPEG-compressed half of the time. See docs/ROBUSTNESS.md.
"""

import io

import numpy as np
from PIL import Image, ImageFilter

STYLES = ("photo", "grid", "ruled", "drawing", "scan")
SET_SIZE = 1000  # the set the suite scores: the first 1,000 MNIST test digits (the robustness_set fixture)


def _enlarge(digit: np.ndarray, rng) -> np.ndarray:
    scale = rng.uniform(8, 15)
    size = round(28 * scale)
    big = Image.fromarray(digit).resize((size, size), Image.Resampling.BICUBIC).filter(ImageFilter.GaussianBlur(scale / 4))
    return np.clip(np.asarray(big, dtype=np.float32) / 255.0 * 1.15, 0, 1)


def _place(alpha: np.ndarray, rng) -> np.ndarray:
    """The digit somewhere off-centre on a canvas 1.3-2x its size."""
    size = alpha.shape[0]
    height, width = (round(size * rng.uniform(1.3, 2.0)) for _ in range(2))
    top, left = rng.integers(0, height - size + 1), rng.integers(0, width - size + 1)
    canvas = np.zeros((height, width), np.float32)
    canvas[top : top + size, left : left + size] = alpha
    return canvas


def _paper(shape, rng, style) -> np.ndarray:
    height, width = shape
    y, x = (axis.astype(np.float32) for axis in np.ogrid[0:height, 0:width])  # a column and a row, broadcast
    angle = rng.uniform(0, 2 * np.pi)
    ramp = (np.cos(angle) * x / width + np.sin(angle) * y / height)
    paper = rng.uniform(0.7, 0.92) - rng.uniform(0.05, 0.2) * (ramp - ramp.min()) / max(1e-6, np.ptp(ramp))
    # A soft shadow across part of the page, as from a hand or a phone.
    edge = rng.uniform(0.2, 0.8) * width + np.tan(rng.uniform(-0.5, 0.5)) * (y - height / 2)
    paper -= rng.uniform(0.05, 0.2) / (1 + np.exp(-(x - edge) / (0.05 * width)))
    spacing = rng.uniform(0.08, 0.15) * min(height, width)
    line = lambda coord: (np.mod(coord + rng.uniform(0, spacing), spacing) < rng.uniform(1.5, 3.5))
    darkness = rng.uniform(0.12, 0.25)
    if style == "grid":
        paper -= darkness * (line(x) | line(y))
    elif style == "ruled":
        paper -= darkness * line(y)
    paper += rng.normal(0, rng.uniform(0.005, 0.02), size=shape)
    return np.clip(paper, 0, 1)


def render(digit: np.ndarray, seed: int, style: str | None = None) -> tuple[bytes, str, str]:
    """(encoded image, file suffix, style) for one MNIST digit (uint8 28x28, white on black)."""
    rng = np.random.default_rng(seed)
    style = style or STYLES[rng.integers(len(STYLES))]
    return (*on_paper(_place(_enlarge(digit, rng), rng), rng, style), style)


def on_paper(alpha: np.ndarray, rng, style: str, paper: np.ndarray | None = None) -> tuple[bytes, str]:
    """(encoded image, file suffix): the ink `alpha` [H, W] in [0, 1] as `style` shows it, on `paper`
    (grey levels [H, W]; default: the style's own), a dark pen's colour, JPEG-compressed as the
    style is (scans always, photos half of the time)."""
    ink = rng.uniform(0.02, 0.25)
    buffer = io.BytesIO()
    if style == "drawing":
        rgba = np.zeros(alpha.shape + (4,), np.uint8)
        rgba[..., :3] = np.array([ink * 255, ink * 200, ink * 255], np.uint8)  # a dark purple pen
        rgba[..., 3] = (alpha * 255).astype(np.uint8)
        Image.fromarray(rgba, "RGBA").save(buffer, "PNG", compress_level=1)
        return buffer.getvalue(), ".png"
    if paper is None:
        paper = np.ones(alpha.shape, np.float32) if style == "scan" else _paper(alpha.shape, rng, style)
    gray = paper * (1 - alpha) + ink * alpha
    rgb = np.stack([gray, gray, gray * rng.uniform(0.9, 1.0)], axis=-1)  # a slightly warm light
    image = Image.fromarray((np.clip(rgb, 0, 1) * 255).astype(np.uint8), "RGB")
    if style == "scan" or rng.random() < 0.5:
        image.save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
        return buffer.getvalue(), ".jpg"
    image.save(buffer, "PNG", compress_level=1)  # (zlib's fastest level: the same pixels, encoded 5x faster)
    return buffer.getvalue(), ".png"


def build(images: np.ndarray, labels: np.ndarray, count: int, seed: int = 2024):
    """[(encoded bytes, suffix, style, label)] for the first `count` test digits."""
    return [(*render(images[i], seed * 100_003 + i), int(labels[i])) for i in range(count)]


# --- tight crops: digits as datasets and apps crop them, with no margin (issue 12) ---
#
# Each variant is a clean array (float32 in [0, 1], bright ink on black) built from one MNIST test
# digit; it reaches the classifier as a PNG, bright on dark or inverted. The reference for a variant
# is the same clean array in MNIST form by a plain crop, 20 px box and centre of mass
# (`reference_form`, written here independently of the runtime's preprocessing).

TIGHT_SHAPES = ("own size", "own size x4", "16x16", "16x16 x4", "8x8", "8x8 x4",
                "bold", "thin", "one edge", "two edges")
POLARITIES = ("bright on dark", "dark on light")
TIGHT_VARIANTS = tuple((shape, polarity) for shape in TIGHT_SHAPES for polarity in POLARITIES)


def _as_float(image: Image.Image) -> np.ndarray:
    return np.clip(np.asarray(image, dtype=np.float32) / 255.0, 0, 1)


def _bounding_box(clean: np.ndarray) -> np.ndarray:
    rows, cols = np.flatnonzero(clean.any(axis=1)), np.flatnonzero(clean.any(axis=0))
    return clean[rows[0] : rows[-1] + 1, cols[0] : cols[-1] + 1]


def _resized(clean: np.ndarray, size: tuple[int, int], method) -> np.ndarray:
    return np.clip(np.asarray(Image.fromarray(clean, mode="F").resize(size, method)), 0, 1)


def _fit_square(crop: np.ndarray, side: int) -> np.ndarray:
    """Longest side scaled (area-averaged) to `side`, centred in side x side: how 16x16 postal
    digits and 8x8 bitmaps are made. The long side touches two edges."""
    height, width = crop.shape
    scale = side / max(height, width)
    small = _resized(crop, (max(1, round(width * scale)), max(1, round(height * scale))), Image.Resampling.BOX)
    out = np.zeros((side, side), np.float32)
    top, left = (side - small.shape[0]) // 2, (side - small.shape[1]) // 2
    out[top : top + small.shape[0], left : left + small.shape[1]] = small
    return out


def _stroke_width(digit: np.ndarray, filter_) -> np.ndarray:
    """Bolder (MaxFilter) or thinner (MinFilter) strokes: filtered at 4x, then area-averaged back."""
    big = Image.fromarray(digit).resize((112, 112), Image.Resampling.BICUBIC).filter(filter_)
    return _as_float(big.reduce(4))


def tight_variant(digit: np.ndarray, shape: str, seed: int) -> np.ndarray:
    """One MNIST digit (uint8 28x28, white on black) as the clean array of a tight-crop variant."""
    clean = _as_float(Image.fromarray(digit))
    if shape == "bold":
        return _bounding_box(_stroke_width(digit, ImageFilter.MaxFilter(5)))
    if shape == "thin":
        return _bounding_box(_stroke_width(digit, ImageFilter.MinFilter(3)))
    crop = _bounding_box(clean)
    if shape.endswith("edge") or shape.endswith("edges"):
        # A margin of 10-30% of the digit's height on the sides that do not touch.
        rng = np.random.default_rng(seed)
        touching = rng.permutation(4)[: 1 if shape == "one edge" else 2]
        if shape == "two edges" and set(touching) in ({0, 1}, {2, 3}):
            touching = np.array([touching[0], (touching[0] + 2) % 4])  # adjacent: a corner
        pads = [0 if side in touching else round(crop.shape[0] * rng.uniform(0.1, 0.3)) for side in range(4)]
        top, bottom, left, right = pads
        return np.pad(crop, ((top, bottom), (left, right)))
    size, _, factor = shape.partition(" x")
    if size in ("16x16", "8x8"):
        crop = _fit_square(crop, int(size.split("x")[0]))
    if factor:
        crop = _resized(crop, (crop.shape[1] * int(factor), crop.shape[0] * int(factor)), Image.Resampling.BICUBIC)
    return crop


def encode_png(clean: np.ndarray, polarity: str) -> bytes:
    pixels = (np.clip(clean, 0, 1) * 255 + 0.5).astype(np.uint8)
    if polarity == "dark on light":
        pixels = 255 - pixels
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def reference_form(clean: np.ndarray, canvas: int = 28, box: int = 20) -> np.ndarray:
    """The clean array in MNIST form the plain way: crop to the bounding box of its ink, longest side
    to `box` px (Lanczos), placed in canvas x canvas by centre of mass. No cleaning at all."""
    crop = _bounding_box(np.where(clean > 0, clean, 0).astype(np.float32))
    height, width = crop.shape
    scale = box / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    digit = _resized(crop, size, Image.Resampling.LANCZOS) if size != (width, height) else crop
    rows, cols = np.mgrid[0 : digit.shape[0], 0 : digit.shape[1]]
    total = digit.sum()
    top = int(np.clip(round(canvas / 2 - (rows * digit).sum() / total), 0, canvas - digit.shape[0]))
    left = int(np.clip(round(canvas / 2 - (cols * digit).sum() / total), 0, canvas - digit.shape[1]))
    out = np.zeros((canvas, canvas), np.float32)
    out[top : top + digit.shape[0], left : left + digit.shape[1]] = digit
    return out


def in_both_polarities(cleans: dict) -> dict:
    """{(variant, polarity): [(png bytes, clean array)]} from {variant: [clean arrays]}."""
    return {(variant, polarity): [(encode_png(clean, polarity), clean) for clean in arrays]
            for variant, arrays in cleans.items() for polarity in POLARITIES}


def build_tight(images: np.ndarray, count: int, seed: int = 12):
    """{(shape, polarity): [(png bytes, clean array)]} for the first `count` test digits."""
    return in_both_polarities({shape: [tight_variant(images[i], shape, seed * 100_003 + i) for i in range(count)]
                               for shape in TIGHT_SHAPES})


def scores_against_reference(classifier, labels, sets: dict) -> dict:
    """{variant: (share right through digit-classify's path, share right on the plain reference
    form, images answered "no digit found")} for {variant: [(png bytes, clean array)]} as
    build_tight and build_usps_like give them, by a DigitClassifier; the table printed."""
    scores = {}
    for variant, items in sets.items():
        predictions = classifier.predict([data for data, _ in items])
        through_cli = np.array([p.ok and p.digit == str(label) for p, label in zip(predictions, labels)])
        reference = classifier.probabilities(np.stack([reference_form(clean) for _, clean in items]))
        scores[variant] = (float(through_cli.mean()), float((reference.argmax(1) == labels).mean()),
                           sum(not p.ok for p in predictions))
    print("| variant | polarity | digit-classify | reference | difference | no digit found |")
    print("|---|---|---:|---:|---:|---:|")
    for (shape, polarity), (ours, ref, failed) in scores.items():
        print(f"| {shape} | {polarity} | {ours:.1%} | {ref:.1%} | {100 * (ours - ref):+.1f} pt | {failed} |")
    return scores


# --- USPS-like scans (issue 25) ---
#
# The USPS digits were binary scans of about 40x60 px, deslanted, then fitted into 16x16 by a linear
# transformation that keeps the aspect ratio, which makes grey levels; each image's levels were
# stretched to the full range (LeCun et al. 1989, section 2.2). Here an MNIST test digit is enlarged
# 2x and thresholded (a binary scan), sheared upright by its second moments, fitted into 16x16 or
# 8x8 (_fit_square: area-averaged, centred) and stretched so that its brightest pixel is full scale.

USPS_SIDES = (16, 8)


def _binary_scan(digit: np.ndarray) -> np.ndarray:
    big = np.asarray(Image.fromarray(digit).resize((56, 56), Image.Resampling.BICUBIC), np.float32) / 255
    return (big >= 0.5).astype(np.float32)


def _deslanted(ink: np.ndarray) -> np.ndarray:
    """The ink sheared along its rows so that its second moments show no slant (the mixed moment
    over the vertical one: the columns' shift per row), widened so that nothing is cut off."""
    height, width = ink.shape
    rows, columns = np.mgrid[0:height, 0:width]
    total = ink.sum()
    row_mean, column_mean = (rows * ink).sum() / total, (columns * ink).sum() / total
    spread = (((rows - row_mean) ** 2) * ink).sum()
    slant = ((columns - column_mean) * (rows - row_mean) * ink).sum() / spread if spread > 0 else 0.0  # (one row: upright)
    margin = int(np.ceil(abs(slant) * height)) + 1
    wide = np.pad(ink, ((0, 0), (margin, margin)))
    # Each output pixel (x, y) takes the input's (x + slant (y - row_mean), y).
    sheared = Image.fromarray(wide, mode="F").transform(wide.shape[::-1], Image.Transform.AFFINE,
                                                        (1, slant, -slant * row_mean, 0, 1, 0), Image.Resampling.NEAREST)
    return np.asarray(sheared)


def usps_like(digit: np.ndarray, side: int) -> np.ndarray:
    """One MNIST digit (uint8 28x28, white on black) as a USPS-like scan: float32 [side, side]."""
    fitted = _fit_square(_bounding_box(_deslanted(_binary_scan(digit))), side)
    return fitted / max(float(fitted.max()), 1e-6)


def build_usps_like(images: np.ndarray, count: int):
    """{(side, polarity): [(png bytes, clean array)]} for the first `count` test digits."""
    return in_both_polarities({side: [usps_like(images[i], side) for i in range(count)] for side in USPS_SIDES})


# --- blur and low contrast: the ink drawn against the ink the cleaning keeps (issue 12) ---

BLUR_FRACTIONS = (0.0, 0.005, 0.01, 0.015)  # Gaussian sigma as a fraction of the image width
CONTRASTS = ("100%", "50%", "20%", "100% to 20%")  # the last fades across the digit: a faint half


def render_blurred(digit: np.ndarray, seed: int, blur: float, contrast: str) -> tuple[bytes, np.ndarray]:
    """(PNG of a photo-like rendering, the drawn ink's mask in the same frame). Dark ink on paper
    with a gradient and sensor noise, the ink's darkness scaled by `contrast`, then blurred."""
    rng = np.random.default_rng(seed)
    alpha = _place(_enlarge(digit, rng), rng)
    drawn = alpha >= 0.5
    height, width = alpha.shape
    if contrast == "100% to 20%":
        angle = rng.uniform(0, 2 * np.pi)
        y, x = (axis.astype(np.float32) for axis in np.ogrid[0:height, 0:width])
        ramp = np.cos(angle) * x + np.sin(angle) * y
        inked = ramp[drawn]
        strength = 1.0 - 0.8 * np.clip((ramp - inked.min()) / max(1e-6, np.ptp(inked)), 0, 1)
    else:
        strength = float(contrast.rstrip("%")) / 100
    paper = _paper(alpha.shape, rng, "photo")
    gray = paper - strength * alpha * (paper - rng.uniform(0.02, 0.25))
    image = Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8))
    if blur:
        image = image.filter(ImageFilter.GaussianBlur(blur * width))
    buffer = io.BytesIO()
    image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue(), drawn


# --- `python tests/robustness.py`: the set's accuracy for one or more models ---

def model_inputs(encoded: list[bytes], form) -> tuple[np.ndarray, np.ndarray]:
    """(the encoded images in this model form, whether each could be made): an image with no digit
    found is a zero image and a miss. For the measuring scripts (here and tests/squared_paper.py)."""
    from lstm_digits.runtime.classifier import model_input
    from lstm_digits.runtime.images import ImageError

    inputs, readable = [], []
    for data in encoded:
        try:
            inputs.append(model_input(data, form))
            readable.append(True)
        except ImageError:  # "no digit found": a miss
            inputs.append(np.zeros((form.canvas,) * 2, np.float32))
            readable.append(False)
    return np.stack(inputs), np.array(readable)


def main() -> None:
    """The first `--split` digits (the tests' set) and the rest, per style, rejection off; and how
    many of the misread renderings the model also misreads as raw MNIST tensors."""
    import argparse
    import functools

    from lstm_digits.runtime import DigitClassifier
    from lstm_digits.training.data import load_mnist

    parser = argparse.ArgumentParser(description=main.__doc__.split(";")[0])
    parser.add_argument("models", nargs="*", help="model.onnx files (default: the shipped model)")
    parser.add_argument("--data-dir", help="MNIST archives (default $LSTM_DIGITS_DATA)")
    parser.add_argument("--count", type=int, default=4000, help="test digits rendered")
    parser.add_argument("--split", type=int, default=1000, help="the tests use the first this many")
    args = parser.parse_args()
    test = load_mnist(args.data_dir).test
    images, labels = test.images.numpy()[: args.count], test.labels.numpy()[: args.count]
    items = build(images, labels, args.count)
    styles = np.array([style for _, _, style, _ in items])

    @functools.cache
    def inputs_in(form) -> tuple[np.ndarray, np.ndarray]:
        """model_inputs of the renderings: once per form, not per model."""
        return model_inputs([data for data, *_ in items], form)

    print("| model | digits | all | " + " | ".join(STYLES) + " | misread | of them misread as raw MNIST too |")
    print("|---|---|---:|" + "---:|" * len(STYLES) + "---:|---:|")
    for model in args.models or [None]:
        classifier = DigitClassifier(model, min_confidence=0)
        inputs, readable = inputs_in(classifier.form)
        right = (classifier.probabilities(inputs).argmax(1) == labels) & readable
        raw_wrong = classifier.probabilities(images.astype(np.float32) / 255).argmax(1) != labels
        for part in (slice(0, args.split), slice(args.split, args.count)):
            ok, style = right[part], styles[part]
            cells = " | ".join(f"{ok[style == s].mean():.1%}" for s in STYLES)
            print(f"| {model or 'shipped'} | {part.start:,}-{part.stop - 1:,} | {ok.mean():.2%} | {cells} "
                  f"| {(~ok).sum()} | {(~ok & raw_wrong[part]).sum()} |", flush=True)


if __name__ == "__main__":
    main()
