"""--save-preprocessed: the 28x28 image the model saw for each input, as a PNG in a folder.

Each PNG is written whole or not at all: into a new temporary file in the folder (created, never
opened through a name that exists, so never through a symlink planted there), then renamed over
its name, which replaces whatever is there (a symlink is replaced, its target untouched). On any
error, a full disk included, the temporary file is removed: no partial PNG is left behind.
"""

import io
import os
from pathlib import Path

CREATE_NEW = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0)


def check_writable(folder: Path) -> str | None:
    """None if PNGs can be written into `folder` (made if missing), else the reason why not."""
    import tempfile

    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as error:
        return error.strerror or str(error)
    return None


def save(folder: Path, name: str, image, used: set) -> None:
    """Write `image` ([canvas, canvas] floats in [0, 1]) as FOLDER/STEM.png, STEM from the input's
    name (`stdin` for -), numbered STEM-2.png, ... when names repeat in a run; OSError if it cannot."""
    from PIL import Image

    stem = "stdin" if name == "-" else Path(name).stem
    candidate, n = f"{stem}.png", 1
    while candidate in used:
        n += 1
        candidate = f"{stem}-{n}.png"
    used.add(candidate)
    encoded = io.BytesIO()
    Image.fromarray((image * 255 + 0.5).astype("uint8"), mode="L").save(encoded, "PNG")
    _write_whole(folder / candidate, encoded.getbuffer())


def _write_whole(path: Path, data) -> None:
    temporary = path.with_name(f".{path.name}.{os.urandom(6).hex()}.tmp")
    descriptor = os.open(temporary, CREATE_NEW, 0o666)  # O_EXCL: a new file, never a symlink's target
    try:
        with open(descriptor, "wb") as file:
            file.write(data)
        os.replace(temporary, path)
    except BaseException:
        try:
            os.unlink(temporary)
        except OSError:
            pass
        raise
