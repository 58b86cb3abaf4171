"""The exported files are clean and reproducible (issue 26, point 7): no file names a path of the
machine that built it, and the same checkpoint exported twice, into different folders, gives the
same bytes in every file."""

import os
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest

from lstm_digits.models import CARD, DEFAULT_DIR, MODEL_FILES

from export_cli import run_export_cli

pytest_plugins = ["exported_checkpoint"]  # the fixtures trained and exported

ROOT = Path(__file__).resolve().parents[1]
SHIPPED = (CARD, *MODEL_FILES)
# What gives a build away: the usual homes of a checkout, a temporary folder or an installed Python
# (Linux, macOS, Windows), and the marks of a Python stack trace ('File "x.py", line 3' from
# traceback; 'x.py(3): f' from the TorchScript tracer).
ANY_MACHINE = ("/work/", "/root/", "/home/", "/tmp/", "/Users/", "/private/var/", "C:\\Users", "site-packages",
               "dist-packages", ".venv/", 'File "', '.py", line', ".py(")
# ... and the paths of this machine, which may be none of those: the repository, this Python and
# its installation, the home and temporary folders, pytest's temporary folders, where we run.
THIS_MACHINE = (ROOT, sys.prefix, sys.base_prefix, sys.exec_prefix, Path.home(), tempfile.gettempdir(), os.getcwd())


def markers(*more_paths) -> set[bytes]:
    paths = {str(Path(path).resolve()).rstrip(os.sep) + os.sep for path in (*THIS_MACHINE, *more_paths)}
    return {marker.encode() for marker in (*ANY_MACHINE, *paths) if marker != os.sep}


def contents(path: Path):
    """(where, bytes): the file itself and, for a zip archive (TorchScript, torch.export), each
    member's name and uncompressed bytes."""
    yield path.name, path.read_bytes()
    if zipfile.is_zipfile(path):
        with zipfile.ZipFile(path) as archive:
            for member in archive.namelist():
                yield f"{path.name}:{member}", member.encode() + b"\n" + archive.read(member)


def build_paths(folder: Path, names, found_in=()) -> list[str]:
    """'file: marker' for each marker of a build path found in folder/name, for each name."""
    found = markers(*found_in)
    return sorted({f"{where}: {marker.decode()}" for name in names for where, data in contents(folder / name)
                   for marker in found if marker in data})


def test_build_paths_are_found_in_plain_files_and_inside_compressed_archives(tmp_path):
    (tmp_path / "card.md").write_text(f"checkpoint {ROOT / 'runs' / 'shipped.pt'}\n")
    with zipfile.ZipFile(tmp_path / "model.pt", "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("model/code.py.debug_pkl", '  File "/opt/build/lstm_digits/export/formats.py", line 32\n' * 50)
    found = build_paths(tmp_path, ["card.md", "model.pt"])
    assert f"card.md: {ROOT}{os.sep}" in found and 'model.pt:model/code.py.debug_pkl: File "' in found, found
    assert not [where for where in found if where.startswith("model.pt: ")], "compressed: seen only when unpacked"
    (tmp_path / "clean.md").write_text("model.onnx, exported with torch 2.14\n")
    assert build_paths(tmp_path, ["clean.md"]) == []


def test_no_shipped_file_names_a_path_of_the_machine_that_built_it():
    assert build_paths(DEFAULT_DIR, SHIPPED) == []


def test_an_export_names_no_path_of_the_machine_or_of_its_folders(exported, trained):
    folder = exported[0]
    names = [str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()]
    assert sorted(names) == sorted(SHIPPED)
    assert build_paths(folder, names, found_in=(folder, trained.parent)) == []


@pytest.fixture(scope="module")
def exported_again(trained, data_dir, tmp_path_factory):
    """The checkpoint of `exported`, exported by another digit-export run into a folder of another name."""
    out = tmp_path_factory.mktemp("export-again") / "elsewhere"
    result = run_export_cli(trained, "--output-dir", out, "--data-dir", data_dir)
    assert result.returncode == 0, result.stderr
    return out


def test_the_same_checkpoint_exported_twice_gives_the_same_bytes_in_every_file(exported, exported_again):
    first = exported[0]
    assert sorted(str(p.relative_to(exported_again)) for p in exported_again.rglob("*") if p.is_file()) == sorted(SHIPPED)
    assert [name for name in SHIPPED if (first / name).read_bytes() != (exported_again / name).read_bytes()] == []


def test_the_shipped_preprocessing_graph_is_the_one_the_functions_build(tmp_path):
    """preprocessing/mnist_form.onnx, what the runtime runs, is what `make preprocessing-graph` builds
    from the onnxscript functions today: a rule changed without rebuilding it fails here."""
    from lstm_digits.preprocessing import MNIST_FORM_GRAPH
    from lstm_digits.preprocessing.mnist_form import write_preprocessing_graph

    built = write_preprocessing_graph(tmp_path / MNIST_FORM_GRAPH.name)
    assert built.read_bytes() == MNIST_FORM_GRAPH.read_bytes(), "run `make preprocessing-graph`"
    assert build_paths(MNIST_FORM_GRAPH.parent, [MNIST_FORM_GRAPH.name]) == []


def test_the_runtimes_copy_of_the_preprocessing_graph_answers_as_the_graph(mnist):
    """preprocessing/mnist_form.ort, the graph in onnxruntime's format that the runtime opens, gives
    exactly the .onnx's four outputs on MNIST test digits, robustness renderings, the samples, a
    photo over 4 MP (reduced first), a transparent image and an empty one: a .onnx rebuilt without
    its .ort fails here (onnxruntime writes other bytes each time, so the bytes cannot be compared),
    and the build path is in neither."""
    import io

    import numpy as np
    import onnxruntime
    from PIL import Image

    import robustness
    from lstm_digits.preprocessing import MNIST_FORM_GRAPH, MNIST_FORM_INPUTS, MNIST_FORM_RUNTIME_GRAPH
    from lstm_digits.runtime.preprocess import rgba_pixels

    def session(path):
        options = onnxruntime.SessionOptions()
        options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_DISABLE_ALL
        return onnxruntime.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    graph, runtime_copy = session(MNIST_FORM_GRAPH), session(MNIST_FORM_RUNTIME_GRAPH)
    images, labels = mnist.test.images.numpy(), mnist.test.labels.numpy()
    inputs = [rgba_pixels(Image.fromarray(image), False) for image in images[:40]]
    inputs += [rgba_pixels(Image.open(io.BytesIO(data)), False) for data, *_ in robustness.build(images, labels, 20)]
    inputs += [rgba_pixels(Image.open(path), False) for path in sorted((ROOT / "samples").glob("*.*g"))]
    inputs += [rgba_pixels(Image.open(ROOT / "samples" / "photo-9.png").resize((2600, 2000)), False),
               np.zeros((30, 40, 4), np.uint8), np.zeros((0, 7, 4), np.uint8)]
    for pixels in inputs:
        feeds = dict(zip(MNIST_FORM_INPUTS, (pixels, np.array(28, np.int64), np.array(20, np.int64))))
        expected, got = graph.run(None, feeds), runtime_copy.run(None, feeds)
        assert all(np.array_equal(a, b) for a, b in zip(expected, got)), pixels.shape
    assert build_paths(MNIST_FORM_GRAPH.parent, [MNIST_FORM_RUNTIME_GRAPH.name]) == []


def test_the_runtime_opens_the_ort_copy_and_the_onnx_when_it_cannot(tmp_path, monkeypatch):
    """The runtime's session is the .ort copy's; when this onnxruntime cannot read that file (an older
    one than wrote it; here, a file that is no model), the .onnx's, with the same answers."""
    import numpy as np
    from PIL import Image

    from lstm_digits.preprocessing import MNIST_FORM_GRAPH, MNIST_FORM_RUNTIME_GRAPH
    from lstm_digits.runtime import preprocess

    drawing = Image.open(ROOT / "samples" / "drawing-3.png")
    assert Path(preprocess._Graph().session()._model_path) == MNIST_FORM_RUNTIME_GRAPH
    expected = preprocess.run_graph(drawing.copy())
    unreadable = tmp_path / "mnist_form.ort"
    unreadable.write_bytes(b"ORTM" + bytes(64))
    monkeypatch.setattr(preprocess, "MNIST_FORM_RUNTIME_GRAPH", unreadable)
    monkeypatch.setattr(preprocess, "GRAPH", preprocess._Graph())
    assert Path(preprocess.GRAPH.session()._model_path) == MNIST_FORM_GRAPH
    got = preprocess.run_graph(drawing.copy())
    assert np.array_equal(got.image, expected.image) and got.box == expected.box and got.no_digit is expected.no_digit is False


def test_the_shipped_graphs_carry_no_inner_value_info():
    """The types and shapes of inner values (value_info) are left out of the preprocessing graph and
    pipeline.onnx, in If and Loop bodies too: every runtime infers them again, and onnxruntime opens
    the preprocessing graph sooner without them (117 ms against 100 ms, docs/BENCHMARKS.md)."""
    import onnx

    from lstm_digits.models import PIPELINE
    from lstm_digits.preprocessing import MNIST_FORM_GRAPH

    def value_infos(graph):
        return len(graph.value_info) + sum(value_infos(body) for node in graph.node for attribute in node.attribute
                                           for body in [attribute.g, *attribute.graphs] if body.ByteSize())

    for path in (MNIST_FORM_GRAPH, DEFAULT_DIR / PIPELINE):
        assert value_infos(onnx.load(str(path)).graph) == 0, path
