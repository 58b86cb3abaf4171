"""python -m benchmarks [--quick]: the runtime against PyTorch on the same model and inputs.

Latency at batch 1, throughput at batch 256, one-image CLI runs (wall time and peak memory),
a folder of MNIST test PNGs, install footprint, and a dynamically quantized int8 model.
Prints markdown and writes it into docs/BENCHMARKS.md between the `measured` markers.
--quick runs every code path with tiny counts, for the test that keeps this script alive.
"""

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime
import torch

from lstm_digits.export.quantize import MAX_ACCURACY_DROP, MAX_SIZE_FRACTION
from lstm_digits.models import INT8, ONNX, PROGRAM, TORCHSCRIPT

from . import measure, number_speed, pipeline, preprocessing

ROOT = Path(__file__).resolve().parents[1]
START, END = "<!-- measured:start -->", "<!-- measured:end -->"
FULL = dict(calls=1000, warmup=200, repeats=30, cli_runs=10, folder_images=10_000, folder_runs=3, footprint=True,
            preprocess_digits=2000, preprocess_photos=100, preprocess_repeats=5, pipeline_repeats=50, number_repeats=50)
QUICK = dict(calls=20, warmup=5, repeats=3, cli_runs=2, folder_images=300, folder_runs=1, footprint=False,
             preprocess_digits=20, preprocess_photos=3, preprocess_repeats=1, pipeline_repeats=2, number_repeats=2)
GOALS = {"latency_vs_eager": 3.0, "cli_vs_torch": 10.0, "cli_wall_s": 0.2, "cli_rss_mb": 80.0,
         "folder_images_per_s": 5000.0, "int8_size_fraction": MAX_SIZE_FRACTION, "int8_accuracy_drop_pt": 100 * MAX_ACCURACY_DROP}


def machine() -> dict:
    cpu = "unknown CPU"
    if Path("/proc/cpuinfo").exists():
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {"cpu": cpu, "cores": os.cpu_count(), "machine": platform.machine(), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "torch": str(torch.__version__), "torch_threads": torch.get_num_threads()}


def backends(model_dir: Path):
    """name -> (function of a float32 batch, description), all from the same exported model."""
    from lstm_digits.export.formats import load_program, load_torchscript
    from lstm_digits.export.parity import torch_logits
    from lstm_digits.runtime import DigitClassifier
    from lstm_digits.training.model import DigitRNN, ModelConfig

    classifier = DigitClassifier(model_dir / ONNX)
    torchscript = load_torchscript(model_dir / TORCHSCRIPT)
    program = load_program(model_dir / PROGRAM)
    # Eager: the model class with the exported weights (the TorchScript module holds them as model.*).
    eager = DigitRNN(ModelConfig(**json.loads(classifier.metadata["model_config"]))).eval()
    eager.load_state_dict({k.removeprefix("model."): v for k, v in torchscript.state_dict().items()})
    return classifier, {
        "onnxruntime (lstm_digits.runtime)": classifier.probabilities,
        "PyTorch eager": torch_logits(eager),
        "TorchScript": torch_logits(torchscript),
        "ExportedProgram": torch_logits(program),
    }


def model_speed(runners: dict, images: np.ndarray, settings: dict) -> dict:
    one, batch = images[:1].copy(), images[:256].copy()
    return {name: {"latency_us": measure.latency_us(lambda: run(one), settings["calls"], settings["warmup"]),
                   "throughput": measure.throughput(lambda: run(batch), len(batch), settings["repeats"], 3)}
            for name, run in runners.items()}


def cli_runs(model_dir: Path, image: Path, settings: dict, bin_dir: Path) -> dict:
    runtime = [str(bin_dir / "digit-classify"), "--model", str(model_dir / ONNX), str(image)]
    pytorch = [sys.executable, str(ROOT / "benchmarks" / "torch_classify.py"), str(model_dir / TORCHSCRIPT), str(image)]
    return {"digit-classify": measure.process(runtime, settings["cli_runs"]),
            "PyTorch script (torch_classify.py)": measure.process(pytorch, settings["cli_runs"])}


def folder_run(model_dir: Path, mnist_images: np.ndarray, settings: dict, bin_dir: Path) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        count = measure.write_pngs(mnist_images[: settings["folder_images"]], folder)
        command = [str(bin_dir / "digit-classify"), "--model", str(model_dir / ONNX), folder]
        result = measure.process(command, settings["folder_runs"])
    return {"images": count, "images_per_s": count / result["wall_s"]["median"], **result}


def runtime_env(folder: Path) -> Path:
    """A fresh virtual environment with a plain `pip install .`: what users run. Its bin folder."""
    subprocess.run([sys.executable, "-m", "venv", str(folder / "venv")], check=True)
    subprocess.run([str(folder / "venv" / "bin" / "pip"), "install", "--quiet", str(ROOT)], check=True)
    return folder / "venv" / "bin"


def footprint(model_dir: Path, runtime_bin: Path | None) -> dict:
    sizes = {name: (model_dir / name).stat().st_size / 1e6
             for name in (ONNX, INT8, TORCHSCRIPT, PROGRAM) if (model_dir / name).exists()}
    result = {"model_files_mb": sizes, "training_env_mb": measure.folder_size_mb(sys.prefix)}
    if runtime_bin is not None:
        result["runtime_env_mb"] = measure.folder_size_mb(runtime_bin.parent)
    return result


def int8(model_dir: Path, test_images: np.ndarray, test_labels: np.ndarray, settings: dict, fp32_accuracy: float) -> dict:
    """The int8 model the export ships beside model.onnx (what `digit-classify --int8` runs)."""
    from lstm_digits.runtime import DigitClassifier

    path = model_dir / INT8
    classifier = DigitClassifier(path)
    accuracy = float((classifier.probabilities(test_images).argmax(1) == test_labels).mean())
    one = test_images[:1].copy()
    latency = measure.latency_us(lambda: classifier.probabilities(one), settings["calls"], settings["warmup"])
    size = path.stat().st_size / 1e6
    fp32_size = (model_dir / ONNX).stat().st_size / 1e6
    return {"size_mb": size, "fp32_size_mb": fp32_size, "size_fraction": size / fp32_size, "accuracy": accuracy,
            "fp32_accuracy": fp32_accuracy, "accuracy_drop_pt": 100 * (fp32_accuracy - accuracy), "latency_us": latency}


def flops_per_image(config: dict) -> float:
    """Multiply-adds of the recurrent matmuls and the head, x2; element-wise gate maths left out."""
    from lstm_digits.training.cells import GATES
    from lstm_digits.training.contract import IMAGE_SIZE, LABELS

    gates = GATES[config["cell"]]
    directions, hidden = (2 if config["bidirectional"] else 1), config["hidden"]
    total, inputs = 0, IMAGE_SIZE
    for _ in range(config["layers"]):
        total += directions * IMAGE_SIZE * 2 * gates * hidden * (inputs + hidden)
        inputs = directions * hidden
    return total + 2 * inputs * len(LABELS)


def peak_flops(cores: int) -> tuple[float, str]:
    """The vector units' FP32 peak at the clock the kernel reports (turbo may be higher)."""
    text = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    mhz = next((float(line.split(":")[1]) for line in text.splitlines() if line.startswith("cpu MHz")), 0.0)
    flags = next((line.split(":")[1].split() for line in text.splitlines() if line.startswith("flags")), [])
    per_cycle = 64 if "avx512f" in flags else 32 if "fma" in flags else 8  # two FMA units of 16 or 8 lanes
    return cores * mhz * 1e6 * per_cycle, f"{cores} cores x {mhz / 1000:.2f} GHz x {per_cycle} FP32 FLOPs/cycle"


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="tiny counts: exercise every path, measure nothing")
    parser.add_argument("--model-dir", type=Path, default=ROOT / "models" / "default")
    parser.add_argument("--data-dir", type=Path, default=None, help="MNIST archives (default $LSTM_DIGITS_DATA)")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "BENCHMARKS.md", help="'-' to only print")
    args = parser.parse_args(argv)
    settings = QUICK if args.quick else FULL

    from lstm_digits.training.data import load_mnist

    test = load_mnist(args.data_dir).test
    test_u8, labels = test.images.numpy(), test.labels.numpy()
    test_f32 = test_u8.astype(np.float32) / 255
    classifier, runners = backends(args.model_dir)
    fp32_accuracy = float((classifier.probabilities(test_f32).argmax(1) == labels).mean())
    config = json.loads(classifier.metadata["model_config"])
    with tempfile.TemporaryDirectory() as folder:
        # Full runs time the commands as users install them; --quick uses this environment.
        fresh = runtime_env(Path(folder)) if settings["footprint"] else None
        bin_dir = fresh or Path(sys.executable).parent
        image = Path(folder) / "digit.jpg"
        shutil.copyfile(ROOT / "samples" / "scan-4.jpg", image)
        results = {
            "machine": machine(),
            "quick": args.quick,
            "model": config,
            "speed": model_speed(runners, test_f32, settings),
            "cli": cli_runs(args.model_dir, image, settings, bin_dir),
            "folder": folder_run(args.model_dir, test_u8, settings, bin_dir),
            "preprocessing": preprocessing.speed(args.data_dir, settings["preprocess_digits"],
                                                 settings["preprocess_photos"], settings["preprocess_repeats"]),
            "pipeline_photo_ms": pipeline.photo_time(args.model_dir, settings["pipeline_repeats"]),
            "numbers_ms": number_speed.speed(None, settings["number_repeats"]),
            "footprint": footprint(args.model_dir, fresh),
            "int8": int8(args.model_dir, test_f32, labels, settings, fp32_accuracy),
            "flops_per_image": flops_per_image(config),
        }
    results["peak_flops"], results["peak_description"] = peak_flops(os.cpu_count() or 1)
    results["gemm_gflops"] = measure.gemm_gflops(512 if args.quick else 2048)

    from .report import markdown

    text = markdown(results, GOALS)
    print(text)
    if str(args.output) != "-":
        write_between_markers(args.output, text)
    return results


def write_between_markers(path: Path, text: str) -> None:
    old = path.read_text() if path.exists() else f"# Benchmarks\n\n{START}\n{END}\n"
    if START not in old or END not in old:
        old = old.rstrip() + f"\n\n{START}\n{END}\n"
    before, rest = old.split(START, 1)
    after = rest.split(END, 1)[1]
    path.write_text(f"{before}{START}\n{text}\n{END}{after}")
