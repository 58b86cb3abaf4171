"""digit-export as a user runs it: in a process of its own, with this Python."""

import subprocess
import sys


def run_export_cli(*args) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "lstm_digits.cli.export", *map(str, args)],
                          capture_output=True, text=True, timeout=600)
