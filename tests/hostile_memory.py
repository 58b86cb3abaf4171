"""Peak memory of digit-classify on images at the decode limit (README, "What digit-classify promises").

    python tests/hostile_memory.py FOLDER

writes one digit image per format and mode just under runtime.images.MAX_DECODED_BYTES (WebP under
its share, DECODER_COPIES; JPEG and JPEG 2000 files four times over it, which are decoded reduced) into FOLDER, classifies each alone with
--workers 1, then a folder of 40 copies of the worst one with --workers 1 and with the default
workers, and prints the peak resident memory of the largest process (ru_maxrss from wait4) for each.
A measurement, not a test: memory goals are checked by scripts, never by timed unit tests."""

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from lstm_digits.runtime.images import BYTES_PER_PIXEL, DECODER_COPIES, MAX_DECODED_BYTES

ROOT = Path(__file__).resolve().parents[1]
COMMAND = [sys.executable, "-m", "lstm_digits.cli.classify"]


def make_images(folder: Path) -> list[Path]:
    width = 5000
    height = MAX_DECODED_BYTES // BYTES_PER_PIXEL // width  # just under the limit
    page = Image.open(ROOT / "samples" / "scan-4.jpg").convert("L").resize((width, height))
    rgb, rgba = page.convert("RGB"), page.convert("RGBA")
    rotated = Image.Exif()
    rotated[0x0112] = 6  # EXIF orientation: rotate 90 degrees to display
    jobs = {
        "rgba.png": (rgba, {"compress_level": 1}),
        "rgba-rotated.png": (rgba, {"compress_level": 1, "exif": rotated}),
        "rgb.png": (rgb, {"compress_level": 1}),
        "la.png": (page.convert("LA"), {"compress_level": 1}),
        "p-transparent.png": (page.convert("P"), {"transparency": 0, "compress_level": 1}),
        "i16.png": (Image.fromarray(np.asarray(page).astype(np.uint16) * 257), {"compress_level": 1}),
        "bilevel.png": (page.convert("1"), {}),
        "cmyk.tif": (page.convert("CMYK"), {"compression": "tiff_deflate"}),
        "rgba-rotated.tif": (rgba, {"compression": "tiff_deflate", "exif": rotated}),
        "float.tif": (page.convert("F"), {"compression": "tiff_deflate"}),
        "rgb.bmp": (rgb, {}),
        "rgb.ppm": (rgb, {}),
        "rgba.tga": (rgba, {"compression": "tga_rle"}),
        "rgba.webp": (rgba.resize((width, height // DECODER_COPIES["WEBP"])), {"lossless": True, "quality": 0}),
        "rgb-4x.jpg": (rgb.resize((width * 2, height * 2)), {"quality": 80, "exif": rotated}),
        "rgb-4x.jp2": (rgb.resize((width * 2, height * 2)), {"quality_mode": "rates", "quality_layers": [100]}),
    }
    for name, (image, options) in jobs.items():
        image.save(folder / name, **options)
    return [folder / name for name in jobs]


def peak_mb(*args) -> tuple[float, int, str]:
    """(peak RSS of the largest process in MB, exit code, first stdout line) of one digit-classify run."""
    with tempfile.TemporaryFile() as out:
        process = subprocess.Popen([*COMMAND, *map(str, args)], stdout=out, stderr=subprocess.DEVNULL)
        _, status, usage = os.wait4(process.pid, 0)
        out.seek(0)
        first = out.read().decode().split("\n")[0]
    return usage.ru_maxrss / 1024, os.waitstatus_to_exitcode(status), first


def main() -> None:
    folder = Path(sys.argv[1])
    folder.mkdir(parents=True, exist_ok=True)
    if "--make" in sys.argv:
        make_images(folder)
        return
    # Made in another process: Linux keeps ru_maxrss across fork and exec, so the measured runs
    # must be started from a small process.
    subprocess.run([sys.executable, __file__, str(folder), "--make"], check=True)
    print(f"limit {MAX_DECODED_BYTES / 2**20:.0f} MB decoded; images in {folder}")
    print(f"baseline (samples/scan-4.jpg): {peak_mb('--workers', 1, ROOT / 'samples' / 'scan-4.jpg')[0]:.0f} MB")
    results = []
    for path in sorted(p for p in folder.iterdir() if p.is_file()):
        with Image.open(path) as image:
            size = f"{image.width}x{image.height} {image.mode}"
        mb, code, first = peak_mb("--workers", 1, path)
        results.append((mb, path))
        print(f"{path.name:20s} {size:22s} {mb:6.0f} MB  exit {code}  {first.split(chr(9), 1)[-1]}")
    worst = max(results)[1]
    copies = folder / "copies"
    copies.mkdir(exist_ok=True)
    for i in range(40):
        shutil.copy(worst, copies / f"{i:02d}{worst.suffix}")
    for workers in (["--workers", 1], []):
        mb, code, _ = peak_mb(*workers, copies)
        print(f"40 x {worst.name}, {' '.join(map(str, workers)) or 'default workers'}: {mb:.0f} MB per process at most, exit {code}")


if __name__ == "__main__":
    main()
