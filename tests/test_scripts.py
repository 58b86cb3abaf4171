"""The helper scripts that the aarch64 and Node.js checks use (scripts/check_aarch64.sh,
scripts/check_node.sh): they must read the same tensors and digits as the main code."""

import importlib.util
import subprocess
import sys
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from PIL import Image

from lstm_digits.models import DEFAULT_DIR

SCRIPTS = Path(__file__).resolve().parents[1] / "scripts"


def _load(name: str):
    spec = importlib.util.spec_from_file_location(name, SCRIPTS / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_platform_report_reads_test_data_set_0_as_onnx_does(tmp_path):
    read_float_tensor = _load("platform_report").read_float_tensor
    for name in ("input_0.pb", "output_0.pb", "output_1.pb"):
        path = DEFAULT_DIR / "test_data_set_0" / name
        expected = numpy_helper.to_array(onnx.load_tensor(str(path)))
        actual = read_float_tensor(path)
        assert actual.shape == expected.shape and np.array_equal(actual, expected), name
    # onnx writes dims unpacked (proto2); other writers pack them: field 1, length 2, dims 2 and 3,
    # then data_type FLOAT (field 2) and raw_data (field 9, 24 bytes). A non-float tensor is refused.
    packed = bytes([0x0A, 2, 2, 3, 0x10, 1, 0x4A, 24]) + np.arange(6, dtype="<f4").tobytes()
    (tmp_path / "x.pb").write_bytes(packed)
    assert read_float_tensor(tmp_path / "x.pb").tolist() == [[0, 1, 2], [3, 4, 5]]
    (tmp_path / "i.pb").write_bytes(numpy_helper.from_array(np.zeros(3, np.int64)).SerializeToString())
    try:
        read_float_tensor(tmp_path / "i.pb")
        raise AssertionError("an int64 tensor was read as float32")
    except ValueError as error:
        assert "not a float32 tensor" in str(error)


def test_mnist_pngs_writes_the_test_digits_with_their_labels(mnist, data_dir, tmp_path):
    subprocess.run([sys.executable, SCRIPTS / "mnist_pngs.py", "--count", "12", "--start", "100",
                    "--data-dir", data_dir, tmp_path], check=True)
    files = sorted(tmp_path.glob("*.png"))
    assert [f.name for f in files][:2] == [f"mnist-00100-{int(mnist.test.labels[100])}.png",
                                           f"mnist-00101-{int(mnist.test.labels[101])}.png"]
    assert len(files) == 12
    for index, file in enumerate(files, start=100):
        assert np.array_equal(np.asarray(Image.open(file)), mnist.test.images[index].numpy())


def test_number_samples_are_what_the_script_writes(data_dir, tmp_path):
    """samples/numbers/ is scripts/number_samples.py's output, byte for byte."""
    subprocess.run([sys.executable, SCRIPTS / "number_samples.py", "--data-dir", data_dir, tmp_path], check=True)
    shipped = SCRIPTS.parent / "samples" / "numbers"
    written = sorted(path.name for path in tmp_path.glob("*.png"))
    assert written == sorted(path.name for path in shipped.glob("*.png")) and written
    for name in written:
        assert (tmp_path / name).read_bytes() == (shipped / name).read_bytes(), name


def test_random_numbers_are_seeded_and_read_as_their_names_say(data_dir, tmp_path):
    """--random N (scripts/check_node.sh's numbers): N numbers of 1-10 digits, the same for a seed,
    each named after its number; the shipped reader reads most of those it accepts as named."""
    from lstm_digits.runtime import NumberReader

    for folder, seed in (("a", 0), ("b", 0), ("c", 1)):
        subprocess.run([sys.executable, SCRIPTS / "number_samples.py", "--data-dir", data_dir, "--random", "12",
                        "--seed", str(seed), tmp_path / folder], check=True, capture_output=True)
    files = sorted((tmp_path / "a").iterdir())
    assert [f.name for f in files] == sorted(f.name for f in (tmp_path / "b").iterdir())
    assert all((tmp_path / "b" / f.name).read_bytes() == f.read_bytes() for f in files)
    assert [f.name for f in files] != sorted(f.name for f in (tmp_path / "c").iterdir())
    named = [f.stem.split("-")[-1] for f in files]
    assert len(files) == 12 and all(1 <= len(number) <= 10 and number.isdigit() for number in named)
    readings = list(NumberReader().read_all(files))
    accepted = [(reading.number, number) for reading, number in zip(readings, named) if not reading.rejected]
    assert accepted and all(read == number for read, number in accepted), accepted
