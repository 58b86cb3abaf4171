import shutil
import stat
import subprocess
import sys

import pytest
import torch

from lstm_digits.training.data import MnistNotFound, load_mnist
from lstm_digits.training.mnist_files import ARCHIVES, find_archives


def test_split_is_55000_5000_10000_and_fixed(mnist, data_dir):
    assert (len(mnist.train), len(mnist.val), len(mnist.test)) == (55_000, 5_000, 10_000)
    assert mnist.train.images.shape[1:] == (28, 28) and mnist.train.images.dtype == torch.uint8
    # Every label occurs in the validation set, and the split does not move between loads.
    assert set(mnist.val.labels.tolist()) == set(range(10))
    again = load_mnist(data_dir)
    assert torch.equal(again.val.images, mnist.val.images)
    assert torch.equal(again.val.labels, mnist.val.labels)


def test_validation_images_are_not_training_images(mnist):
    train_rows = {bytes(image.numpy()) for image in mnist.train.images[:55_000]}
    overlap = sum(bytes(image.numpy()) in train_rows for image in mnist.val.images)
    # MNIST has a handful of exact duplicate images; a leaking split would overlap by thousands.
    assert overlap < 10


def test_read_only_archives_are_used_without_writing_next_to_them(data_dir, tmp_path, monkeypatch, offline_env):
    source = find_archives(data_dir)
    read_only = tmp_path / "archives"
    read_only.mkdir()
    for name in ARCHIVES:
        shutil.copyfile(source / name, read_only / name)
    read_only.chmod(stat.S_IRUSR | stat.S_IXUSR)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    try:
        data = load_mnist(read_only)
    finally:
        read_only.chmod(stat.S_IRWXU)
    assert len(data.test) == 10_000
    assert sorted(p.name for p in read_only.iterdir()) == sorted(ARCHIVES)
    assert (tmp_path / "cache" / "lstm-digits" / "MNIST" / "raw" / ARCHIVES[0]).is_file()


def test_missing_data_raises_a_message_that_says_where_to_put_the_archives(tmp_path, offline_env):
    with pytest.raises(MnistNotFound) as error:
        load_mnist(tmp_path / "empty")
    message = str(error.value)
    assert "MNIST not found" in message and str(tmp_path / "empty") in message
    assert "train-images-idx3-ubyte.gz" in message and "LSTM_DIGITS_DATA" in message


def test_digit_train_without_data_prints_one_line_and_no_traceback(tmp_path, offline_env):
    result = subprocess.run(
        [sys.executable, "-m", "lstm_digits.cli.train", "--data-dir", str(tmp_path / "nothing"),
         "--output", str(tmp_path / "model.pt"), "--iterations", "5", "--quiet"],
        capture_output=True, text=True, env=offline_env, timeout=120,
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error: MNIST not found"), result.stderr
    assert not (tmp_path / "model.pt").exists()
