"""The style set: handwriting styles that MNIST's American writers rarely use, drawn as pen strokes.

Every digit is a hand-designed skeleton of strokes (lines, arcs and Bezier curves in a box one
unit high), jittered point by point, slanted, rotated, scaled, and drawn with a round pen on paper
at 2x resolution with Pillow, then saved as PNG: a user's drawing, not an MNIST digit. Nothing
here comes from MNIST or from training/augment.py, so the set measures whether the augmentation
generalises rather than whether it was copied. Seeded: the set is the same every time.

Styles (see docs/STYLES.md):
- plain: all digits, American forms, ordinary pen (the control);
- continental-1: a 1 with a long up-stroke from the left to the top, with a base half the time;
- crossed-7: a 7 with a bar across its stem;
- open-4: a 4 whose left stroke stops short of the right one: the top is open;
- marker: all digits, pen width 16-24% of the digit's height;
- narrow: all digits squeezed to 0.5-0.7 of their width;
- wide: all digits stretched to 1.3-1.8 of their width.

`python tests/styles.py [--model model.onnx]` prints the accuracy per style;
`--figure file.png` draws a few of each (and augmented MNIST training digits, given MNIST);
`--augment-cost` times the training augmentation per batch; `--extremes` measures marker, narrow
and wide beyond the set's ranges.
"""

import io
import math

import numpy as np
from PIL import Image, ImageDraw, ImageFilter

STYLES = ("plain", "continental-1", "crossed-7", "open-4", "marker", "narrow", "wide")
PER_STYLE = 300  # images per style: 30 of each digit, or 300 of the style's one digit
SEED = 1912
SUPERSAMPLE = 2
PLAIN_PEN = (0.06, 0.11)  # pen width as a fraction of the digit's height
MARKER_PEN = (0.16, 0.24)
NARROW = (0.5, 0.7)  # horizontal scale of the skeleton
WIDE = (1.3, 1.8)
JITTER = 0.025  # standard deviation of each control point, in digit heights
# Beyond the set's ranges, for `--extremes` only (not floors): how far the reading holds.
EXTREMES = {"marker": ("MARKER_PEN", (0.32, 0.40)), "narrow": ("NARROW", (0.35, 0.5)), "wide": ("WIDE", (1.8, 2.4))}


# --- skeletons: lists of strokes, each a list of (x, y) points; y runs down, height 1 ---

def _bezier(*points, steps: int = 24):
    p = np.array(points, dtype=np.float64)
    t = np.linspace(0, 1, steps)[:, None]
    n = len(p) - 1
    coefficients = [math.comb(n, k) * t**k * (1 - t) ** (n - k) for k in range(n + 1)]
    return sum(c * q for c, q in zip(coefficients, p))


def _ellipse(cx, cy, rx, ry, start_deg=-90, sweep_deg=370, steps: int = 40):
    angles = np.radians(start_deg + np.linspace(0, sweep_deg, steps))
    return np.stack([cx + rx * np.cos(angles), cy + ry * np.sin(angles)], axis=1)


def _line(*points):
    return np.array(points, dtype=np.float64)


def _plain(digit: int, rng) -> list:
    """The ordinary (American, MNIST-like) form of each digit; control points take the jitter."""
    u = lambda: rng.uniform(-1, 1)
    if digit == 0:
        return [_ellipse(0.3, 0.5, 0.27 + 0.03 * u(), 0.48, start_deg=-100 + 20 * u())]
    if digit == 1:
        return [_line((0.3 + 0.04 * u(), 0.0), (0.3, 1.0))]
    if digit == 2:
        return [_bezier((0.05, 0.25), (0.1, -0.07), (0.62, -0.07), (0.55, 0.3)),
                _bezier((0.55, 0.3), (0.5, 0.55 + 0.05 * u()), (0.05, 1.0)),
                _line((0.05, 1.0), (0.62 + 0.05 * u(), 0.98))]
    if digit == 3:
        return [_bezier((0.05, 0.12), (0.45, -0.12), (0.65, 0.4), (0.22, 0.47)),
                _bezier((0.22, 0.47), (0.75, 0.5), (0.68, 1.08), (0.03, 0.9))]
    if digit == 4:  # closed top: the diagonal meets the stem
        return [_line((0.45, 0.0), (0.0, 0.64), (0.62, 0.64)), _line((0.45, 0.0), (0.45 + 0.03 * u(), 1.0))]
    if digit == 5:
        return [_line((0.58, 0.0), (0.1, 0.02), (0.07, 0.45)),
                _bezier((0.07, 0.45), (0.62, 0.28), (0.72, 1.02), (0.03, 0.92))]
    if digit == 6:
        return [_bezier((0.52, 0.02), (0.12, 0.1), (0.0, 0.55), (0.06, 0.75)),
                _ellipse(0.3, 0.73, 0.25, 0.26, start_deg=180, sweep_deg=365)]
    if digit == 7:
        return [_line((0.0, 0.02), (0.62, 0.0), (0.22 + 0.08 * u(), 1.0))]
    if digit == 8:
        return [_ellipse(0.3, 0.24, 0.21, 0.23, start_deg=90), _ellipse(0.3, 0.72, 0.27, 0.27, start_deg=-90)]
    if digit == 9:
        return [_ellipse(0.3, 0.27, 0.26, 0.26, start_deg=0, sweep_deg=370),
                _bezier((0.56, 0.27), (0.56, 0.6), (0.5 + 0.04 * u(), 1.0))]
    raise ValueError(digit)


def _continental_1(rng) -> list:
    """A long up-stroke from low on the left to the top of the stem; a base half the time."""
    top_x = 0.45
    flag = _line((top_x - rng.uniform(0.3, 0.45), rng.uniform(0.25, 0.45)), (top_x, 0.0), (top_x, 1.0))
    if rng.random() < 0.5:
        return [flag]
    half = rng.uniform(0.22, 0.32)
    return [flag, _line((top_x - half, 1.0), (top_x + half, 1.0))]


def _crossed_7(rng) -> list:
    strokes = _plain(7, rng)
    top, bottom = strokes[0][1], strokes[0][2]
    y = rng.uniform(0.42, 0.6)
    x = top[0] + (bottom[0] - top[0]) * (y - top[1]) / (bottom[1] - top[1])
    half = rng.uniform(0.15, 0.25)
    return strokes + [_line((x - half, y + 0.02 * rng.uniform(-1, 1)), (x + half, y))]


def _open_4(rng) -> list:
    """The left stroke comes down from the top-left, turns into the bar; the stem does not touch it."""
    left_top = rng.uniform(0.0, 0.15)
    bar = rng.uniform(0.55, 0.68)
    stem_x = rng.uniform(0.45, 0.55)
    return [_line((left_top, rng.uniform(0.0, 0.08)), (0.0, bar), (stem_x + rng.uniform(0.12, 0.22), bar)),
            _line((stem_x, 0.0), (stem_x + 0.03 * rng.uniform(-1, 1), 1.0))]


def skeleton(style: str, digit: int, rng) -> list:
    if style == "continental-1":
        return _continental_1(rng)
    if style == "crossed-7":
        return _crossed_7(rng)
    if style == "open-4":
        return _open_4(rng)
    return _plain(digit, rng)


def style_digit(style: str, index: int) -> int:
    """The digit drawn for item `index` of a style."""
    single = {"continental-1": 1, "crossed-7": 7, "open-4": 4}
    return single.get(style, index % 10)


# --- drawing ---

def _shape(strokes: list, style: str, rng) -> list:
    """Jitter, aspect, slant and rotation, in digit heights."""
    aspect = rng.uniform(*NARROW) if style == "narrow" else rng.uniform(*WIDE) if style == "wide" else rng.uniform(0.9, 1.1)
    slant = rng.uniform(-0.1, 0.3)  # positive leans right, as most writers do
    angle = math.radians(rng.uniform(-6, 6))
    cos, sin = math.cos(angle), math.sin(angle)
    shaped = []
    for stroke in strokes:
        points = stroke + rng.normal(0, JITTER, size=(1, 2)) + rng.normal(0, JITTER / 3, size=stroke.shape)
        x = points[:, 0] * aspect + slant * (0.5 - points[:, 1])
        y = points[:, 1]
        shaped.append(np.stack([cos * x - sin * y, sin * x + cos * y], axis=1))
    return shaped


def render(style: str, digit: int, seed: int) -> bytes:
    """PNG bytes of one digit in one style: dark ink on light paper."""
    rng = np.random.default_rng(seed)
    strokes = _shape(skeleton(style, digit, rng), style, rng)
    height_px = rng.uniform(90, 220)
    pen = rng.uniform(*(MARKER_PEN if style == "marker" else PLAIN_PEN)) * height_px
    points = np.concatenate(strokes)
    low, high = points.min(0), points.max(0)
    margin = pen + rng.uniform(0.2, 0.6) * height_px
    size = np.ceil((high - low) * height_px + 2 * margin).astype(int)
    scale = SUPERSAMPLE
    canvas = Image.new("L", tuple(size * scale), 0)
    draw = ImageDraw.Draw(canvas)
    width = max(1, round(pen * scale))
    for stroke in strokes:
        xy = [tuple(p) for p in ((stroke - low) * height_px + margin) * scale]
        draw.line(xy, fill=255, width=width, joint="curve")
        for end in (xy[0], xy[-1]):  # round pen ends
            draw.ellipse([end[0] - width / 2, end[1] - width / 2, end[0] + width / 2, end[1] + width / 2], fill=255)
    alpha = np.asarray(canvas.resize(tuple(size), Image.Resampling.LANCZOS).filter(ImageFilter.GaussianBlur(0.6)),
                       dtype=np.float32) / 255
    paper = rng.uniform(0.8, 0.98) + rng.normal(0, 0.01, size=alpha.shape)
    ink = rng.uniform(0.05, 0.3)
    gray = np.clip(paper * (1 - alpha) + ink * alpha, 0, 1)
    buffer = io.BytesIO()
    Image.fromarray((gray * 255).astype(np.uint8), "L").save(buffer, "PNG", compress_level=1)
    return buffer.getvalue()


def build(per_style: int = PER_STYLE, seed: int = SEED, styles=STYLES) -> list:
    """[(png bytes, style, label)] for every style."""
    return [(render(style, style_digit(style, i), seed * 1_000_003 + s * 10_007 + i), style, style_digit(style, i))
            for s, style in enumerate(STYLES) if style in styles for i in range(per_style)]


def accuracy_by_style(classifier, items) -> dict:
    """{style: fraction read as its label} through DigitClassifier, PNG bytes as digit-classify reads them."""
    predictions = classifier.predict([data for data, _, _ in items])
    right, total = {}, {}
    for (_, style, label), prediction in zip(items, predictions):
        total[style] = total.get(style, 0) + 1
        right[style] = right.get(style, 0) + (prediction.ok and prediction.digit == str(label))
    return {style: right[style] / total[style] for style in total}


def _figure(path: str, per_style: int = 10) -> None:
    """A grid of rendered styles (one row per style), plus augmented training digits if MNIST is at hand."""
    import os

    rows = [[Image.open(io.BytesIO(render(style, style_digit(style, i), SEED * 1_000_003 + s * 10_007 + i))).convert("L")
             for i in range(per_style)] for s, style in enumerate(STYLES)]
    labels = list(STYLES)
    if os.environ.get("LSTM_DIGITS_DATA"):
        rows_aug, labels_aug = _augmented_rows(per_style)
        rows += rows_aug
        labels += labels_aug
    cell, label_width = 72, 150
    sheet = Image.new("L", (label_width + cell * per_style, cell * len(rows)), 255)
    draw = ImageDraw.Draw(sheet)
    for r, (row, label) in enumerate(zip(rows, labels)):
        draw.text((4, r * cell + cell // 2 - 6), label, fill=0)
        for c, image in enumerate(row):
            image.thumbnail((cell - 6, cell - 6))
            sheet.paste(image, (label_width + c * cell + (cell - image.width) // 2, r * cell + (cell - image.height) // 2))
    sheet.save(path)


def _augmented_rows(per_row: int):
    """MNIST training 1s, 7s and 4s before and after their style (forced on), and mixed digits through
    the whole augmentation as training sees it; inverted to ink on paper."""
    import torch

    from lstm_digits.training import augment
    from lstm_digits.training.data import load_mnist, to_float

    train = load_mnist().train
    picture = lambda images: [Image.fromarray(((1 - image.numpy()) * 255).astype(np.uint8)).resize((66, 66))
                              for image in images]
    rows, labels = [], []
    for digit, forced in ((1, "FLAG_1_PROBABILITY"), (7, "CROSS_7_PROBABILITY"), (4, "OPEN_4_PROBABILITY")):
        index = torch.nonzero(train.labels == digit).squeeze(1)[:per_row]
        images = to_float(train.images[index])
        saved = getattr(augment, forced)
        setattr(augment, forced, 1.0)
        styled = augment.add_styles(images, train.labels[index], torch.Generator().manual_seed(digit))
        setattr(augment, forced, saved)
        rows += [picture(images), picture(styled)]
        labels += [f"MNIST {digit}s", f"  + {digit} style"]
    index = torch.arange(per_row)
    rows.append(picture(augment.augment(to_float(train.images[index]), torch.Generator().manual_seed(0), train.labels[index])))
    labels.append("augment(), any")
    return rows, labels


def _augment_cost(batch_size: int = 128, repeats: int = 200) -> None:
    """Median milliseconds per training batch for each augmentation step (one thread, as measured in docs/STYLES.md)."""
    import time

    import torch

    from lstm_digits.training import augment
    from lstm_digits.training.data import load_mnist, to_float

    torch.set_num_threads(1)
    train = load_mnist().train
    images, labels = to_float(train.images[:batch_size]), train.labels[:batch_size]
    steps = {
        "stroke width + affine only (the light steps)": lambda g: augment.random_affine(augment.random_stroke_width(images, g), g),
        "styles (1, 7, 4)": lambda g: augment.add_styles(images, labels, g),
        "marker": lambda g: augment.random_marker(images, g),
        "aspect + back to MNIST form + affine": lambda g: augment.reshape_and_affine(images, images, g),
        "augment(images, generator, labels), all": lambda g: augment.augment(images, g, labels),
    }
    print(f"| step, batch of {batch_size} | median ms |\n|---|---:|")
    for name, step in steps.items():
        times = []
        for seed in range(repeats):
            generator = torch.Generator().manual_seed(seed)
            start = time.perf_counter()
            step(generator)
            times.append(time.perf_counter() - start)
        print(f"| {name} | {1000 * sorted(times)[repeats // 2]:.2f} |")


def main() -> None:
    import argparse

    from lstm_digits.runtime import DigitClassifier

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", help="model.onnx (default: the shipped model)")
    parser.add_argument("--per-style", type=int, default=PER_STYLE)
    parser.add_argument("--figure", help="write a picture of the styles here instead of measuring")
    parser.add_argument("--augment-cost", action="store_true", help="time the training augmentation instead (needs MNIST)")
    parser.add_argument("--extremes", action="store_true", help="marker, narrow and wide beyond the set's ranges")
    args = parser.parse_args()
    if args.figure:
        _figure(args.figure)
        return
    if args.augment_cost:
        _augment_cost()
        return
    classifier = DigitClassifier(args.model)
    if args.extremes:
        print("| style, beyond the set | accuracy |\n|---|---:|")
        for style, (name, extreme) in EXTREMES.items():
            globals()[name], usual = extreme, globals()[name]
            accuracy = accuracy_by_style(classifier, build(args.per_style, styles=(style,)))
            globals()[name] = usual
            print(f"| {style}: {name.lower().replace('_', ' ')} {extreme[0]}-{extreme[1]} | {accuracy[style]:.1%} |")
        return
    accuracy = accuracy_by_style(classifier, build(args.per_style))
    print("| style | accuracy |\n|---|---:|")
    for style in STYLES:
        print(f"| {style} | {accuracy[style]:.1%} |")


if __name__ == "__main__":
    main()
