"""The non-digit set: images a user might send that show no digit, to measure rejection.

Two generators:
- font: a letter or symbol that looks like no digit (CHARACTERS), rendered in a font from one of
  Debian's `fonts-*` packages (FONT_PACKAGES: serif, sans, monospace, handwriting and script faces;
  scripts/install_test_fonts.sh installs them), with random size, slant, rotation, pen width and blur;
- drawn: hand-drawn-like scribbles and shapes, with a wobbling pen of random width.
Each goes onto plain or grey paper, dark ink on light or light ink on dark, as PNG or JPEG bytes.

Split: `tune` uses the fonts of TUNE_FONT_PACKAGES and the drawings of TUNE_DRAWINGS; `heldout`
uses every other font package and drawing. Choices (thresholds, methods) look at `tune` only.
Everything is seeded: the same call gives the same bytes. The training generator
(training/nondigits.py) uses no fonts and none of the held-out drawings.
"""

import functools
import io
import math
import subprocess
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFilter, ImageFont

# Characters that look like no digit. Left out as digit-like once cropped and scaled into a 20 px
# box, as the runtime does: O o Q D θ (0); I l i j J r f t | ! / \ ( ) [ ] { } (1); Z z (2);
# S s $ § (5); G b (6); Γ (7); B ß & (8); a g q y (9, 4); and marks too small or flat to be
# anything after scaling: . , : ; ' " - _
CHARACTERS = "ACEFHKMNPRTUVWXY" + "dehkmnuvwx" + "#%*+<=>?@^~€¥¶" + "ΔΛΞΠΣΦΨΩλμπψω"
EXCLUDED = "OoQDθ" + "Illij|!/\\()[]{}Jrft" + "Zz" + "Ss$§" + "Gb" + "Γ" + "Bß&" + "gqay" + ".,:;'\"-_"

FONT_PACKAGES = (
    # serif and slab
    "fonts-liberation2", "fonts-freefont-ttf", "fonts-crosextra-caladea", "fonts-linuxlibertine",
    "fonts-goudybookletter", "fonts-roboto-slab", "fonts-dejavu-core", "fonts-gfs-neohellenic",
    # sans
    "fonts-lato", "fonts-open-sans", "fonts-cantarell", "fonts-crosextra-carlito", "fonts-quicksand",
    "fonts-beteckna", "fonts-sil-andika", "fonts-go", "fonts-engadget",
    # monospace
    "fonts-inconsolata", "fonts-hack", "fonts-fantasque-sans",
    # handwriting and script
    "fonts-comic-neue", "fonts-dkg-handwriting", "fonts-breip", "fonts-femkeklaver", "fonts-humor-sans",
    "fonts-kristi", "fonts-dancingscript", "fonts-kaushanscript", "fonts-rufscript", "fonts-bwht",
    "fonts-joscelyn", "fonts-lobster", "fonts-leckerli-one", "fonts-isabella",
)
TUNE_FONT_PACKAGES = (
    "fonts-liberation2", "fonts-roboto-slab", "fonts-lato", "fonts-cantarell", "fonts-inconsolata",
    "fonts-comic-neue", "fonts-dancingscript", "fonts-femkeklaver", "fonts-breip", "fonts-leckerli-one",
)
PARTS = ("tune", "heldout")
SEEDS = {"tune": 31, "heldout": 47}
FONT_SHARE = 0.75  # of each part; the rest are drawings


class FontsMissing(Exception):
    """A font package of FONT_PACKAGES is not installed: run scripts/install_test_fonts.sh."""


@dataclass
class NonDigit:
    data: bytes  # an encoded image (PNG or JPEG)
    generator: str  # "font" or "drawn"
    source: str  # the font package, or the drawing's name
    what: str  # the character, or the drawing's name
    polarity: str  # "dark on light" or "light on dark"
    paper: str  # "plain" or "grey"


# --- fonts ---

@functools.lru_cache(maxsize=None)
def font_files(package: str) -> tuple[str, ...]:
    """The TrueType/OpenType files a Debian font package installed, sorted."""
    try:
        listing = subprocess.run(["dpkg-query", "-L", package], capture_output=True, text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError):
        raise FontsMissing(f"{package} is not installed: run scripts/install_test_fonts.sh") from None
    files = sorted(p for p in listing.splitlines() if p.lower().endswith((".ttf", ".otf")) and Path(p).is_file())
    if not files:
        raise FontsMissing(f"{package} installed no .ttf or .otf file")
    return tuple(files)


@functools.lru_cache(maxsize=None)
def covered(font_file: str) -> str:
    """The characters of CHARACTERS that the font has a glyph for (no tofu boxes)."""
    from fontTools.ttLib import TTFont

    with TTFont(font_file, lazy=True, fontNumber=0) as font:
        cmap = font.getBestCmap() or {}
    return "".join(c for c in CHARACTERS if ord(c) in cmap)


def _glyph(font_file: str, character: str, rng) -> np.ndarray:
    """The character as ink coverage in [0, 1], large, slanted, rotated, of random weight and blur."""
    size = int(rng.integers(110, 220))
    font = ImageFont.truetype(font_file, size)
    canvas = Image.new("L", (size * 3, size * 3), 0)
    stroke = int(rng.integers(0, max(1, size // 28) + 1))  # a broader pen than the font's own
    ImageDraw.Draw(canvas).text((size, size), character, fill=255, font=font, stroke_width=stroke, stroke_fill=255)
    if rng.random() < 0.3:  # a thinner pen
        canvas = canvas.filter(ImageFilter.MinFilter(3))
    shear, angle = rng.uniform(-0.35, 0.35), rng.uniform(-12, 12)
    canvas = canvas.transform(canvas.size, Image.Transform.AFFINE, (1, shear, -shear * size * 1.5, 0, 1, 0),
                              resample=Image.Resampling.BILINEAR)
    canvas = canvas.rotate(angle, resample=Image.Resampling.BILINEAR)
    canvas = canvas.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 3.0)))
    box = canvas.getbbox()
    return np.asarray(canvas.crop(box) if box else canvas, np.float32) / 255.0


# --- drawings ---

def _wobble(points: np.ndarray, rng, amount: float = 0.015) -> np.ndarray:
    """A hand's path: the points displaced by a smooth random offset."""
    t = np.linspace(0, 1, len(points))[:, None]
    phase, frequency = rng.uniform(0, 2 * math.pi, (1, 2)), rng.uniform(1, 4, (1, 2))
    return points + amount * np.sin(2 * math.pi * frequency * t + phase) + rng.normal(0, amount / 4, points.shape)


def _ellipse(cx, cy, rx, ry, start=0.0, end=2 * math.pi, n=48) -> np.ndarray:
    a = np.linspace(start, end, n)
    return np.stack([cx + rx * np.cos(a), cy + ry * np.sin(a)], 1)


def _house(rng):
    return [np.array([(0.1, 0.45), (0.5, 0.05), (0.9, 0.45), (0.1, 0.45), (0.1, 0.95), (0.9, 0.95), (0.9, 0.45)]),
            np.array([(0.4, 0.95), (0.4, 0.7), (0.6, 0.7), (0.6, 0.95)])]


def _smiley(rng):
    return [_ellipse(0.5, 0.5, 0.45, 0.45), _ellipse(0.35, 0.38, 0.04, 0.05), _ellipse(0.65, 0.38, 0.04, 0.05),
            _ellipse(0.5, 0.55, 0.25, 0.2, 0.2, math.pi - 0.2, 16)]


def _heart(rng):
    t = np.linspace(0, 2 * math.pi, 64)
    x, y = 16 * np.sin(t) ** 3, -(13 * np.cos(t) - 5 * np.cos(2 * t) - 2 * np.cos(3 * t) - np.cos(4 * t))
    return [np.stack([x, y], 1)]


def _sun(rng):
    rays = int(rng.integers(6, 11))
    angles = np.linspace(0, 2 * math.pi, rays, endpoint=False) + rng.uniform(0, math.pi)
    return [_ellipse(0.5, 0.5, 0.22, 0.22)] + [
        np.array([(0.5 + 0.3 * math.cos(a), 0.5 + 0.3 * math.sin(a)), (0.5 + 0.5 * math.cos(a), 0.5 + 0.5 * math.sin(a))])
        for a in angles]


def _cloud(rng):
    bumps = int(rng.integers(4, 7))
    t = np.linspace(0, 2 * math.pi, 40 * bumps)
    radius = 0.35 + 0.15 * np.abs(np.sin(bumps * t / 2))  # deep bumps: an oval would pass for 0
    return [np.stack([0.5 + 1.3 * radius * np.cos(t), 0.5 + radius * np.sin(t)], 1)]


def _tangle(rng):
    """A knot of loops drawn without lifting the pen."""
    t = np.linspace(0, 2 * math.pi, 200)
    a, b = rng.permutation([3, 4, 5])[:2]  # a dense knot: equal ones draw an oval (0), 1:2 an 8
    return [np.stack([np.sin(a * t + rng.uniform(0, math.pi)), np.sin(b * t)], 1)]


def _scribble(rng):
    steps = int(rng.integers(30, 80))
    heading = np.cumsum(rng.normal(0, 0.6, steps))
    return [np.cumsum(np.stack([np.cos(heading), np.sin(heading)], 1), 0)]


def _star(rng):
    k = int(rng.integers(5, 8))
    a = np.linspace(0, 2 * math.pi, 2 * k + 1) + rng.uniform(0, math.pi)
    r = np.where(np.arange(2 * k + 1) % 2 == 0, 0.5, 0.22)
    return [np.stack([r * np.cos(a), r * np.sin(a)], 1)]


def _crossed_circle(rng):
    return [_ellipse(0.5, 0.5, 0.45, 0.45), np.array([(0.05, 0.95), (0.95, 0.05)])]


def _arrow(rng):
    return [np.array([(0.0, 0.5), (1.0, 0.5)]), np.array([(0.7, 0.25), (1.0, 0.5), (0.7, 0.75)])]


def _triangle(rng):
    return [np.array([(0.5, 0.0), (1.0, 0.9), (0.0, 0.9), (0.5, 0.0)])]


DRAWINGS = {"house": _house, "smiley": _smiley, "heart": _heart, "sun": _sun, "cloud": _cloud,
            "tangle": _tangle, "scribble": _scribble, "star": _star, "crossed circle": _crossed_circle,
            "arrow": _arrow, "triangle": _triangle}
TUNE_DRAWINGS = ("scribble", "star", "crossed circle", "arrow", "triangle")


def _drawing(name: str, rng) -> np.ndarray:
    strokes = DRAWINGS[name](rng)
    points = np.concatenate(strokes)
    low, span = points.min(0), max(np.ptp(points, 0).max(), 1e-6)
    size = int(rng.integers(150, 400))
    width = max(3, int(size * rng.uniform(0.04, 0.09)))
    slant = rng.uniform(-0.3, 0.3)
    image = Image.new("L", (size + 2 * width, size + 2 * width), 0)
    draw = ImageDraw.Draw(image)
    for stroke in strokes:
        xy = _wobble((stroke - low) / span, rng)
        xy[:, 0] += slant * (0.5 - xy[:, 1])
        xy = xy * size * 0.8 + size * 0.1 + width
        draw.line([tuple(p) for p in xy], fill=255, width=width, joint="curve")
    image = image.filter(ImageFilter.GaussianBlur(rng.uniform(0.3, 2.5)))
    return np.asarray(image, np.float32) / 255.0


# --- onto paper ---

def _on_paper(ink: np.ndarray, rng) -> tuple[bytes, str, str]:
    """Ink coverage -> (encoded image, polarity, paper), the ink off-centre on a larger sheet."""
    height, width = (round(s * rng.uniform(1.2, 1.8)) + 8 for s in ink.shape)
    top, left = rng.integers(0, height - ink.shape[0] + 1), rng.integers(0, width - ink.shape[1] + 1)
    alpha = np.zeros((height, width), np.float32)
    alpha[top : top + ink.shape[0], left : left + ink.shape[1]] = ink
    paper_kind = "grey" if rng.random() < 0.5 else "plain"
    if paper_kind == "plain":
        paper = np.full(alpha.shape, rng.uniform(0.93, 1.0), np.float32)
    else:  # grey paper lit unevenly, with sensor noise
        y, x = (axis.astype(np.float32) for axis in np.ogrid[0:height, 0:width])  # a column and a row, broadcast
        angle = rng.uniform(0, 2 * math.pi)
        ramp = (math.cos(angle) * x / width + math.sin(angle) * y / height)
        paper = rng.uniform(0.65, 0.9) - rng.uniform(0.05, 0.2) * (ramp - ramp.min()) / max(1e-6, np.ptp(ramp))
        paper += rng.normal(0, rng.uniform(0.005, 0.02), alpha.shape)
    ink_level = rng.uniform(0.0, 0.25)
    gray = paper * (1 - alpha) + ink_level * alpha
    polarity = "dark on light"
    if rng.random() < 0.5:  # chalk on a blackboard, a light pen on a dark screen
        gray, polarity = 1 - gray, "light on dark"
    image = Image.fromarray((np.clip(gray, 0, 1) * 255).astype(np.uint8), "L")
    buffer = io.BytesIO()
    if rng.random() < 0.4:
        image.convert("RGB").save(buffer, "JPEG", quality=int(rng.integers(60, 92)))
    else:
        image.save(buffer, "PNG", compress_level=1)
    return buffer.getvalue(), polarity, paper_kind


def fonts(part: str) -> list[tuple[str, str]]:
    """(package, font file) of every font in this part."""
    packages = [p for p in FONT_PACKAGES if (p in TUNE_FONT_PACKAGES) == (part == "tune")]
    return [(package, file) for package in packages for file in font_files(package) if covered(file)]


def build(part: str, count: int) -> list[NonDigit]:
    """`count` non-digits of one part ("tune" or "heldout"): FONT_SHARE rendered in that part's fonts
    (each package equally likely), the rest drawn by that part's drawings."""
    if part not in PARTS:
        raise ValueError(f"part must be one of {PARTS}, not {part!r}")
    by_package: dict[str, list[str]] = {}
    for package, file in fonts(part):
        by_package.setdefault(package, []).append(file)
    packages = sorted(by_package)
    drawings = [name for name in DRAWINGS if (name in TUNE_DRAWINGS) == (part == "tune")]
    items = []
    for index in range(count):
        rng = np.random.default_rng([SEEDS[part], index])
        if index < round(count * FONT_SHARE):
            package = packages[index % len(packages)]
            file = by_package[package][rng.integers(len(by_package[package]))]
            character = covered(file)[rng.integers(len(covered(file)))]
            ink, generator, source, what = _glyph(file, character, rng), "font", package, character
        else:
            name = drawings[index % len(drawings)]
            ink, generator, source, what = _drawing(name, rng), "drawn", name, name
        data, polarity, paper = _on_paper(ink, rng)
        items.append(NonDigit(data, generator, source, what, polarity, paper))
    return items


def model_inputs(classifier, images: list[bytes]) -> tuple[np.ndarray, np.ndarray]:
    """Each encoded image as `digit-classify` sees it, through `classifier.predict`: seen_by_model
    of its predictions."""
    return seen_by_model(classifier.predict(list(images)))


def seen_by_model(predictions: list) -> tuple[np.ndarray, np.ndarray]:
    """([N, canvas, canvas] what the model saw, [N] bool: refused, e.g. "no digit found"; those get
    all zeros) for the predictions of `DigitClassifier.predict`."""
    canvas = next((p.image.shape for p in predictions if p.ok), (28, 28))
    inputs = [p.image if p.ok else np.zeros(canvas, np.float32) for p in predictions]
    return np.stack(inputs).astype(np.float32), np.array([not p.ok for p in predictions])


# --- what the rejection targets are measured on (tests/test_confidence.py, scripts/confidence_figures.py) ---

HELDOUT_COUNT, TUNE_COUNT = 400, 400
SAMPLES = Path(__file__).resolve().parents[1] / "samples"


def measurement_sets(classifier, mnist, parts=("heldout",), nondigit_count: int = HELDOUT_COUNT,
                     robustness_set: list | None = None, robustness_predictions: list | None = None) -> dict:
    """name -> (model inputs [N, canvas, canvas], refused [N] bool, labels [N] or None) for MNIST test
    (already in MNIST form), the robustness set, samples/ and the non-digit parts, each image through
    `classifier.predict` as digit-classify does. robustness_set: the set already rendered (the
    suite's fixture), else it is rendered here; robustness_predictions: its predictions by a model
    of the classifier's preprocessing form (the suite's fixture), else they are made here."""
    import robustness

    test = mnist.test.images.numpy().astype(np.float32) / 255
    sets = {"mnist test": (test, np.zeros(len(test), bool), mnist.test.labels.numpy())}
    rendered = robustness_set if robustness_set is not None else robustness.build(
        mnist.test.images.numpy(), mnist.test.labels.numpy(), robustness.SET_SIZE)
    if robustness_predictions is None:
        robustness_predictions = classifier.predict([data for data, *_ in rendered])
    sets["robustness"] = (*seen_by_model(robustness_predictions), np.array([r[-1] for r in rendered]))
    files = sorted(p for p in SAMPLES.iterdir() if p.suffix.lower() in (".png", ".jpg"))
    sets["samples"] = (*model_inputs(classifier, [p.read_bytes() for p in files]), np.array([int(p.stem[-1]) for p in files]))
    for part in parts:
        sets[part] = (*model_inputs(classifier, [item.data for item in build(part, nondigit_count)]), None)
    return sets
