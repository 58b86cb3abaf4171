"""Pictures for docs/PREPROCESSING.md: for each kind of input, the image as given, the cleaned ink
(`clean_ink`, in the image's own frame) and the 28x28 the model saw, with its answer.

    LSTM_DIGITS_DATA=../shared/data .venv/bin/python scripts/preprocessing_figures.py [--output docs/preprocessing]

Photos, grid and ruled paper, drawings and scans are the files in samples/; the tight crops, small,
upscaled and blurred inputs are made from MNIST test digits by tests/robustness.py (the dev
install and MNIST are needed).
"""

import argparse
import io
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw

ROOT = Path(__file__).resolve().parents[1]
TILE = 168  # px: every picture is scaled to this height (nearest neighbour, so pixels stay visible)
LABEL = 18


def kinds(images: np.ndarray) -> dict:
    """kind -> (description, encoded image bytes)."""
    sys.path.insert(0, str(ROOT / "tests"))
    import robustness

    def tight(index, shape, polarity="bright on dark"):
        return robustness.encode_png(robustness.tight_variant(images[index], shape, index), polarity)

    sample = lambda name: (ROOT / "samples" / name).read_bytes()
    return {
        "tight-crop": ("clean digit cropped tight, no margin (MNIST test 0, a 7)", tight(0, "own size")),
        "tight-crop-one": ("a 1 cropped tight: its bar spans the whole image (MNIST test 2)", tight(2, "own size")),
        "low-res-16": ("16x16, dark on light, long side touching the edges (MNIST test 1)", tight(1, "16x16", "dark on light")),
        "low-res-8": ("8x8, like the 43-writer bitmaps (MNIST test 3)", tight(3, "8x8")),
        "upscaled": ("8x8 upscaled 4x, bicubic (MNIST test 4)", tight(4, "8x8 x4")),
        "bold": ("bold strokes, tight (MNIST test 5)", tight(5, "bold")),
        "photo": ("photo: grey paper, gradient, shadow (samples/photo-9.png)", sample("photo-9.png")),
        "grid": ("squared paper, JPEG (samples/grid-7.jpg)", sample("grid-7.jpg")),
        "ruled": ("ruled paper, shadow (samples/ruled-2.png)", sample("ruled-2.png")),
        "drawing": ("RGBA drawing on a transparent background (samples/drawing-3.png)", sample("drawing-3.png")),
        "scan": ("scan, JPEG (samples/scan-4.jpg)", sample("scan-4.jpg")),
        "blurred-faint": ("blur sigma 1.5% of the width, contrast fading 100% to 20% (MNIST test 12)",
                          robustness.render_blurred(images[12], 7_012, 0.015, "100% to 20%")[0]),
        "low-contrast": ("contrast 20%, blur sigma 1% of the width (MNIST test 7)",
                         robustness.render_blurred(images[7], 7_007, 0.01, "20%")[0]),
    }


def tile(image: Image.Image, caption: str) -> Image.Image:
    width = max(1, round(image.width * TILE / image.height))
    picture = image.convert("RGB").resize((width, TILE), Image.Resampling.NEAREST)
    out = Image.new("RGB", (max(width, 150), TILE + LABEL), "white")
    out.paste(picture, (0, LABEL))
    ImageDraw.Draw(out).text((2, 2), caption, fill="black")
    return out


def figure(description: str, data: bytes, classifier) -> Image.Image:
    from lstm_digits.runtime.images import open_image
    from lstm_digits.runtime.preprocess import run_graph

    image = open_image(data)
    shown = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA"):  # transparency shown over a checkerboard
        board = np.indices(shown.size[::-1]).sum(axis=0) // 8 % 2
        back = Image.fromarray(np.where(board, 200, 255).astype(np.uint8)).convert("RGBA")
        shown = Image.alpha_composite(back, shown)
    seen, _, ink, _ = run_graph(image, classifier.form)
    prediction = classifier.predict(seen)
    as_image = lambda array: Image.fromarray((np.clip(array, 0, 1) * 255).astype(np.uint8))
    tiles = [tile(shown, f"input {image.width}x{image.height}"), tile(as_image(ink), "after cleaning"),
             tile(as_image(seen), f"model saw: {prediction.digit} ({prediction.probability:.2f})")]
    width = sum(t.width for t in tiles) + 8 * (len(tiles) - 1)
    out = Image.new("RGB", (width, TILE + 2 * LABEL), "white")
    ImageDraw.Draw(out).text((2, 2), description, fill="black")
    left = 0
    for part in tiles:
        out.paste(part, (left, LABEL))
        left += part.width + 8
    return out


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "preprocessing")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST archives (default $LSTM_DIGITS_DATA)")
    args = parser.parse_args(argv)

    from lstm_digits.runtime import DigitClassifier
    from lstm_digits.training.data import load_mnist

    classifier = DigitClassifier()
    images = load_mnist(args.data_dir).test.images.numpy()
    args.output.mkdir(parents=True, exist_ok=True)
    for name, (description, data) in kinds(images).items():
        buffer = io.BytesIO()
        figure(description, data, classifier).save(buffer, "PNG", optimize=True)
        (args.output / f"{name}.png").write_bytes(buffer.getvalue())
        print(args.output / f"{name}.png")


if __name__ == "__main__":
    main()
