"""A video for Chromium's fake camera: MNIST test digits written on paper, one after another, as a
hand holds a phone over them (issue 24, the live camera's test); or numbers written with them.

    python scripts/fake_camera.py OUT.y4m [--digits 4] [--data-dir DIR]   # prints the schedule, JSON
    python scripts/fake_camera.py OUT.y4m --numbers 407,2024,93            # numbers instead

Each digit (or number) stays SECONDS_PER_DIGIT seconds in the middle of the frame, shaking by a
pixel or two with fresh sensor noise in every frame; the next slides in from the right over
TRANSITION_SECONDS, blurred by its motion, while the last slides out to the left. A block in the
top-left corner, far from the page's guide box, tells the test which one the frame shows: its grey
level is MARKER_LEVELS[its index]. The schedule gives, for each, its text (the digit's label, or
the number), its first and last frame (the first is where it starts to slide in) and its box at
rest ([top, left, bottom, right] of its ink, coverage over INKED; it shakes by up to 2 px about it).
A digit is drawn DIGIT_PIXELS tall; a number's digits are the first MNIST test images of each not
used before in it, their ink columns side by side (scripts/number_samples.py), NUMBER_PIXELS tall.

The file is YUV4MPEG2 (a text header, then per frame `FRAME` and the Y, U and V planes of 4:2:0),
grey paper (U = V = 128), which Chromium plays at its frame rate and loops:
`--use-file-for-fake-video-capture=OUT.y4m`. Needs numpy and Pillow only (no torch).
"""

import argparse
import json
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from lstm_digits.training.mnist_files import ENV_VAR

sys.path.insert(0, str(Path(__file__).resolve().parent))
from mnist_pngs import test_digits  # noqa: E402  (this folder's; no torch)
from number_samples import ink_strip  # noqa: E402

WIDTH, HEIGHT, FPS = 320, 240, 15
SECONDS_PER_DIGIT = 2.5
TRANSITION_SECONDS = 0.4
DIGIT_PIXELS = 112  # the 28x28 MNIST digit drawn this tall: its ink about 80 px, in a guide box of 144
NUMBER_PIXELS = 60  # a number's 28-row strip drawn this tall: its ink about 43 px, in a guide box 96 tall
MARKER = 16  # the corner block's side, in pixels
MARKER_LEVELS = (16, 64, 112, 160, 208)  # its Y level for the 1st, 2nd, ... digit: at most 5 digits
INK, PAPER = 40.0, 215.0
INKED = 0.25  # the ink coverage a pixel of the box at rest has at least


def alpha_of(ink: np.ndarray, height: int) -> np.ndarray:
    """Ink in [0, 1] (28 rows) as ink coverage in [0, 1], enlarged to `height` rows."""
    width = round(ink.shape[1] * height / ink.shape[0])
    enlarged = Image.fromarray(ink.astype(np.float32)).resize((width, height), Image.Resampling.LANCZOS)
    return np.clip(np.asarray(enlarged, np.float32), 0.0, 1.0)


def at_rest_corner(alpha: np.ndarray) -> tuple[int, int]:
    """(x, y) of the top-left corner that puts the ink in the middle of the frame, at rest."""
    return (WIDTH - alpha.shape[1]) // 2, (HEIGHT - alpha.shape[0]) // 2


def paper(rng: np.random.Generator) -> np.ndarray:
    """Paper lit unevenly: brighter towards the top left, with sensor noise."""
    rows, columns = np.ogrid[0:HEIGHT, 0:WIDTH]
    light = PAPER - 25.0 * (rows / HEIGHT + columns / WIDTH) / 2
    return light + rng.normal(0.0, 3.0, (HEIGHT, WIDTH))


def draw(frame: np.ndarray, alpha: np.ndarray, x: int, y: int, blur: float) -> None:
    """Ink the digit's coverage into the frame with its top-left corner at (x, y), clipped to the
    frame; `blur` pixels of horizontal motion blur."""
    if blur >= 1:
        size = int(blur) | 1  # odd
        kernel = np.ones(size, np.float32) / size
        alpha = np.apply_along_axis(lambda row: np.convolve(row, kernel, mode="same"), 1, alpha)
    top, left = max(y, 0), max(x, 0)
    bottom, right = min(y + alpha.shape[0], HEIGHT), min(x + alpha.shape[1], WIDTH)
    if bottom <= top or right <= left:
        return
    a = alpha[top - y : bottom - y, left - x : right - x]
    frame[top:bottom, left:right] = frame[top:bottom, left:right] * (1 - a) + INK * a


def at_rest(alpha: np.ndarray, x: int, y: int) -> list[int]:
    """[top, left, bottom, right] (exclusive) of the digit's inked pixels drawn at (x, y)."""
    rows, columns = np.nonzero(alpha > INKED)
    return [int(y + rows.min()), int(x + columns.min()), int(y + rows.max() + 1), int(x + columns.max() + 1)]


def frames(alphas: list[np.ndarray], seed: int = 5):
    """The Y planes, frame by frame, and the index of the digit each shows."""
    rng = np.random.default_rng(seed)
    per_digit, sliding = round(SECONDS_PER_DIGIT * FPS), round(TRANSITION_SECONDS * FPS)
    for index, alpha in enumerate(alphas):
        centre_x, centre_y = at_rest_corner(alpha)
        for step in range(per_digit):
            frame = paper(rng)
            shake_x, shake_y = rng.integers(-2, 3, size=2)
            if index and step < sliding:  # the last digit leaves to the left as this one comes in
                travel = (1 - (step + 1) / sliding) * WIDTH * 0.75
                speed = WIDTH * 0.75 / sliding
                last_x, last_y = at_rest_corner(alphas[index - 1])
                draw(frame, alphas[index - 1], int(last_x - (WIDTH * 0.75 - travel)), last_y, speed / 3)
                draw(frame, alpha, int(centre_x + travel), centre_y, speed / 3)
            else:
                draw(frame, alpha, centre_x + shake_x, centre_y + shake_y, 0)
            frame[:MARKER, :MARKER] = MARKER_LEVELS[index]
            yield np.clip(np.rint(frame), 0, 255).astype(np.uint8), index


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out", type=Path)
    parser.add_argument("--digits", type=int, default=4, help=f"how many digits, one after another (at most {len(MARKER_LEVELS)})")
    parser.add_argument("--numbers", help=f"numbers instead, comma-separated (at most {len(MARKER_LEVELS)}), e.g. 407,2024")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(ENV_VAR))
    args = parser.parse_args()
    numbers = args.numbers.split(",") if args.numbers else None
    if numbers is not None and not (len(numbers) <= len(MARKER_LEVELS) and all(n.isdigit() and n.isascii() for n in numbers)):
        sys.exit(f"fake_camera: --numbers must be 1 to {len(MARKER_LEVELS)} numbers of digits 0-9, comma-separated")
    if numbers is None and not 1 <= args.digits <= len(MARKER_LEVELS):
        sys.exit(f"fake_camera: --digits must be 1 to {len(MARKER_LEVELS)}")
    images, labels = test_digits(args.data_dir, "fake_camera")
    if numbers is None:
        # The first test digits whose label differs from the one before, so that each change shows.
        chosen = [0]
        while len(chosen) < args.digits:
            chosen.append(next(i for i in range(chosen[-1] + 1, len(labels)) if labels[i] != labels[chosen[-1]]))
        alphas = [alpha_of(images[i] / 255.0, DIGIT_PIXELS) for i in chosen]
        segments = [{"text": str(labels[i]), "mnist_test_index": i} for i in chosen]
    else:
        alphas = [alpha_of(ink_strip(number, images, labels), NUMBER_PIXELS) for number in numbers]
        if too_wide := [n for n, alpha in zip(numbers, alphas) if alpha.shape[1] > 0.85 * WIDTH]:
            sys.exit(f"fake_camera: {too_wide[0]} is wider than the page's guide box ({NUMBER_PIXELS} px high digits in a {WIDTH} px frame)")
        segments = [{"text": number} for number in numbers]
    for segment, alpha in zip(segments, alphas):
        segment.update(first=None, last=None, box=at_rest(alpha, *at_rest_corner(alpha)))
    chroma = np.full((HEIGHT // 2) * (WIDTH // 2) * 2, 128, np.uint8).tobytes()
    count = 0
    with open(args.out, "wb") as out:
        out.write(f"YUV4MPEG2 W{WIDTH} H{HEIGHT} F{FPS}:1 Ip A1:1 C420jpeg\n".encode())
        for count, (luma, index) in enumerate(frames(alphas), 1):
            out.write(b"FRAME\n" + luma.tobytes() + chroma)
            segments[index]["first"] = segments[index]["first"] if segments[index]["first"] is not None else count - 1
            segments[index]["last"] = count - 1
    print(json.dumps({"fps": FPS, "width": WIDTH, "height": HEIGHT, "frames": count, "marker": MARKER,
                      "marker_levels": list(MARKER_LEVELS[: len(segments)]), "segments": segments}))


if __name__ == "__main__":
    main()
