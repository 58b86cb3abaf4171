"""Issue 22, items 3 and 11: paths that are not regular files. A FIFO, a socket or a device is
named as what it is, one line, and never waited on, even when a file turns into a FIFO between
being found and being opened; the other inputs are still classified."""

import os
import socket
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from lstm_digits.runtime import DigitClassifier, ImageError
from test_classify_cli import SAMPLES, classify
from test_hostile_inputs import assert_one_line_errors

pytestmark = pytest.mark.runtime  # runs in a runtime-only install (every supported Python, .ci/run)

NOT_FILES = {  # name in the folder -> what its error says
    "pipe.png": "is a FIFO (named pipe), not a file",
    "socket.png": "is a socket, not a file",
    "null.png": "is a character device, not a file",  # a symlink to /dev/null
    "zero.png": "is a character device, not a file",  # a symlink to /dev/zero, which never ends
    "disk.png": "is a block device, not a file",
}


def make_not_files(folder: Path) -> socket.socket:
    """Each kind of NOT_FILES in `folder`; returns the socket, which must stay open while it is used."""
    os.mkfifo(folder / "pipe.png")
    listening = socket.socket(socket.AF_UNIX)
    listening.bind(str(folder / "socket.png"))
    listening.listen()
    (folder / "null.png").symlink_to("/dev/null")
    (folder / "zero.png").symlink_to("/dev/zero")
    os.mknod(folder / "disk.png", stat.S_IFBLK | 0o600, os.makedev(7, 0))  # a loop device's numbers (root)
    return listening


def test_fifos_sockets_and_devices_are_named_as_what_they_are(tmp_path):
    with make_not_files(tmp_path):
        sample = tmp_path / SAMPLES[0].name
        sample.write_bytes(SAMPLES[0].read_bytes())
        code, out, err = classify(tmp_path)  # a folder run takes them all: their suffix is .png
        assert code == 1 and [line.split("\t")[:2] for line in out.splitlines()] == [[str(sample), SAMPLES[0].stem[-1]]]
        names = sorted(NOT_FILES)
        for line, name in zip(assert_one_line_errors(err, [str(tmp_path / name) for name in names]), names):
            assert line.endswith(f": {NOT_FILES[name]}"), line
        classifier = DigitClassifier(threads=1)
        for name, problem in NOT_FILES.items():
            with pytest.raises(ImageError, match=problem.replace("(", r"\(").replace(")", r"\)")):
                classifier.predict(tmp_path / name)


# Run digit-classify with an audit hook that replaces the file named first by a FIFO the moment
# anything opens it: a file that turns into a FIFO after every check a path-based open could make.
SWAP_ON_OPEN = """
import os, sys
target, arguments = sys.argv[1], sys.argv[2:]

def swap_for_a_fifo(event, args):
    if event == "open" and isinstance(args[0], (str, bytes)) and os.fsdecode(args[0]) == target and os.path.isfile(target):
        os.mkfifo(target + ".fifo")
        os.replace(target + ".fifo", target)

sys.addaudithook(swap_for_a_fifo)
sys.argv = ["digit-classify", *arguments]
from lstm_digits.cli.classify import run
run()
"""


def test_a_file_that_turns_into_a_fifo_as_it_is_opened_does_not_freeze_the_run(tmp_path):
    target = tmp_path / "turns-into-a-fifo.png"
    target.write_bytes(SAMPLES[1].read_bytes())
    arguments = [target, SAMPLES[0], target, SAMPLES[2]]  # the second time it is a FIFO from the start
    result = subprocess.run([sys.executable, "-c", SWAP_ON_OPEN, target, *arguments], capture_output=True, timeout=60)
    assert stat.S_ISFIFO(target.lstat().st_mode)  # the hook did swap it
    code, out, err = result.returncode, result.stdout.decode(), result.stderr.decode()
    assert code == 1 and [line.split("\t")[0] for line in out.splitlines()] == [str(SAMPLES[0]), str(SAMPLES[2])]
    for line in assert_one_line_errors(err, [str(target), str(target)]):
        assert line.endswith(": is a FIFO (named pipe), not a file"), line
