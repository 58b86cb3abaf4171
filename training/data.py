"""MNIST through torchvision, from a folder of the four standard archives, with a fixed split.

The archives may sit in a read-only folder; they are copied into a writable one, where
torchvision verifies their checksums and extracts them without downloading anything.
"""

import contextlib
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

import torch

from ..errors import first_line
from .mnist_files import ARCHIVES, ENV_VAR, find_archives
VALIDATION_SIZE = 5_000
SPLIT_SEED = 0  # fixed forever: the validation set must not move with the training seed


class MnistNotFound(Exception):
    """MNIST is neither in the data folder nor downloadable."""


@dataclass
class Split:
    images: torch.Tensor  # [N, 28, 28] uint8, white digit on black
    labels: torch.Tensor  # [N] int64

    def __len__(self) -> int:
        return len(self.labels)

    def subset(self, count: int) -> "Split":
        return Split(self.images[:count], self.labels[:count])


@dataclass
class Mnist:
    train: Split  # 55,000 images: all fitting
    val: Split  # 5,000 held out from the training set: every choice
    test: Split  # the official 10,000: reporting only


def default_data_dir() -> Path:
    return Path(os.environ.get(ENV_VAR) or "data")


def can_write_in(folder: Path) -> bool:
    """Whether we may write in folder (or create it). The mode bits count even for root, who could
    write anyway: a folder marked read-only, like a shared data mount, is left untouched."""
    while not folder.exists():
        if folder.parent == folder:
            return False
        folder = folder.parent
    return folder.is_dir() and bool(folder.stat().st_mode & 0o222) and os.access(folder, os.W_OK)


def _writable_root(data_dir: Path) -> Path:
    """data_dir itself if we may write there, else a per-user cache folder."""
    if can_write_in(data_dir / "MNIST" / "raw"):
        return data_dir
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "lstm-digits"


def torchvision_root(data_dir: Path) -> Path:
    """Return a writable torchvision root whose MNIST/raw holds the archives found in data_dir."""
    data_dir = Path(data_dir)
    root = _writable_root(data_dir)
    raw = root / "MNIST" / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    found = find_archives(data_dir)
    if found is not None and found.resolve() != raw.resolve():
        for name in ARCHIVES:
            target = raw / name
            if not target.exists() or target.stat().st_size != (found / name).stat().st_size:
                shutil.copyfile(found / name, target)
    return root


def _load_split(root: Path, train: bool, data_dir: Path) -> Split:
    from torchvision.datasets import MNIST

    try:
        # torchvision reports download progress on stdout, which belongs to results.
        with contextlib.redirect_stdout(sys.stderr):
            dataset = MNIST(str(root), train=train, download=True)
    except (RuntimeError, OSError) as error:
        raise MnistNotFound(
            f"MNIST not found in {data_dir} and it could not be downloaded ({first_line(error)}). "
            f"Put the four archives ({', '.join(ARCHIVES)}) in {data_dir}/MNIST/raw/, "
            f"or point --data-dir or ${ENV_VAR} at a folder that holds them."
        ) from None
    return Split(dataset.data, dataset.targets)


def load_mnist(data_dir: Path | str | None = None) -> Mnist:
    data_dir = Path(data_dir) if data_dir is not None else default_data_dir()
    root = torchvision_root(data_dir)
    full_train = _load_split(root, train=True, data_dir=data_dir)
    test = _load_split(root, train=False, data_dir=data_dir)
    order = torch.randperm(len(full_train), generator=torch.Generator().manual_seed(SPLIT_SEED))
    val_idx, train_idx = order[:VALIDATION_SIZE], order[VALIDATION_SIZE:]
    return Mnist(
        train=Split(full_train.images[train_idx], full_train.labels[train_idx]),
        val=Split(full_train.images[val_idx], full_train.labels[val_idx]),
        test=test,
    )


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 [N, 28, 28] -> float32 in [0, 1], the model's input."""
    return images.float().div_(255.0)
