"""Write MNIST test digits as 28x28 grayscale PNGs named mnist-INDEX-LABEL.png.

    python scripts/mnist_pngs.py --count 20 OUT_DIR     # archives from $LSTM_DIGITS_DATA or --data-dir
    python scripts/mnist_pngs.py --robustness --count 10 OUT_DIR   # rendered as users' images look:
        robustness-INDEX-LABEL.png/.jpg, the robustness set's first images (tests/robustness.py)

Reads the standard t10k .gz archives directly (gzip + numpy + pillow: the runtime's dependencies),
so it runs where torch is not installed, such as a runtime-only or emulated environment.
"""

import argparse
import gzip
import os
import sys
from pathlib import Path

import numpy as np
from PIL import Image

from lstm_digits.training.mnist_files import ENV_VAR, TEST_IMAGES, TEST_LABELS, find_archives


def read_idx(path: Path, magic: int, header_ints: int) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    header = np.frombuffer(data[: 4 * header_ints], dtype=">u4")
    if header[0] != magic:
        sys.exit(f"mnist_pngs: {path} is not an IDX file of this kind (magic {header[0]:#x})")
    return np.frombuffer(data, dtype=np.uint8, offset=4 * header_ints).reshape(header[1], *header[2:])


def test_digits(data_dir, who: str) -> tuple[np.ndarray, np.ndarray]:
    """MNIST's test set, (images uint8 [10000, 28, 28], labels), from the .gz archives in data_dir
    (or its MNIST/raw or raw): for this folder's scripts. Exits with one line naming `who` when the
    archives are not there."""
    folder = find_archives(Path(data_dir), (TEST_IMAGES, TEST_LABELS)) if data_dir else None
    if folder is None:
        sys.exit(f"{who}: {TEST_IMAGES} and {TEST_LABELS} not found in {data_dir} (nor in its MNIST/raw or raw): "
                 f"say where with --data-dir or {ENV_VAR}")
    return read_idx(folder / TEST_IMAGES, 0x803, 4), read_idx(folder / TEST_LABELS, 0x801, 2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", type=Path)
    parser.add_argument("--count", type=int, default=20)
    parser.add_argument("--start", type=int, default=0, help="index of the first test digit")
    parser.add_argument("--data-dir", type=Path, default=os.environ.get(ENV_VAR))
    parser.add_argument("--robustness", action="store_true", help="render as tests/robustness.py does")
    args = parser.parse_args()
    images, labels = test_digits(args.data_dir, "mnist_pngs")
    args.out_dir.mkdir(parents=True, exist_ok=True)
    if args.robustness:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
        import robustness  # numpy and pillow only

        rendered = robustness.build(images, labels, min(args.start + args.count, len(images)))
        for index in range(args.start, len(rendered)):
            data, suffix, _, label = rendered[index]
            (args.out_dir / f"robustness-{index:05d}-{label}{suffix}").write_bytes(data)
        return
    for index in range(args.start, min(args.start + args.count, len(images))):
        Image.fromarray(images[index]).save(args.out_dir / f"mnist-{index:05d}-{labels[index]}.png")


if __name__ == "__main__":
    main()
