"""digit-train under torchrun with two processes, and in one process, with the same arguments: the
tests that DDP takes the same steps as one process (digits and numbers) share this."""

import os
import shutil
import subprocess
import sys

import torch

from lstm_digits.training.checkpoint import load_checkpoint


def assert_two_processes_train_as_one(tmp_path, untrained: dict, *args) -> None:
    """Two halves of each batch, gradients averaged: the same steps as one process, up to rounding;
    and steps were taken (the head moved away from the `untrained` state dict's)."""
    ddp, single = two_processes_and_one(tmp_path, *args)
    for key, value in single["state_dict"].items():
        torch.testing.assert_close(ddp["state_dict"][key], value, atol=1e-5, rtol=1e-4)
    assert not torch.allclose(untrained["head.weight"], ddp["state_dict"]["head.weight"], atol=1e-3)


def two_processes_and_one(tmp_path, *args) -> tuple[dict, dict]:
    """(the two-process run's checkpoint, the one-process run's), both run with `args`."""
    torchrun = shutil.which("torchrun", path=os.path.dirname(sys.executable))
    assert torchrun, "torchrun is installed with torch"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    two = subprocess.run([torchrun, "--standalone", "--nproc-per-node", "2", "-m", "lstm_digits.cli.train",
                          *args, "--output", str(tmp_path / "ddp.pt")], capture_output=True, text=True, timeout=600, env=env)
    assert two.returncode == 0, two.stderr[-3000:]
    one = subprocess.run([sys.executable, "-m", "lstm_digits.cli.train", *args, "--output", str(tmp_path / "one.pt")],
                         capture_output=True, text=True, timeout=600, env=env)
    assert one.returncode == 0, one.stderr[-3000:]
    return load_checkpoint(tmp_path / "ddp.pt"), load_checkpoint(tmp_path / "one.pt")
