"""The four MNIST archives: their names, the variable that says where they are, and the folders
searched for them. Standard library only, so the scripts that run without torch use it too:

    python3 training/mnist_files.py DIR   # exits 1, naming what is missing, unless DIR holds them
"""

import sys
from pathlib import Path

ENV_VAR = "LSTM_DIGITS_DATA"
TRAIN_IMAGES, TRAIN_LABELS = "train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"
TEST_IMAGES, TEST_LABELS = "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"
ARCHIVES = (TRAIN_IMAGES, TRAIN_LABELS, TEST_IMAGES, TEST_LABELS)


def find_archives(data_dir: Path, names=ARCHIVES) -> Path | None:
    """The folder holding all of `names`: data_dir itself, its MNIST/raw (torchvision's layout) or its raw."""
    data_dir = Path(data_dir)
    for folder in (data_dir, data_dir / "MNIST" / "raw", data_dir / "raw"):
        if all((folder / name).is_file() for name in names):
            return folder
    return None


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python3 training/mnist_files.py DIR")
    if find_archives(Path(sys.argv[1])) is None:
        sys.exit(f"MNIST archives ({', '.join(ARCHIVES)}) not found in {sys.argv[1]} (nor in its MNIST/raw or raw)")
