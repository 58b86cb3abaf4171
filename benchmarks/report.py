"""The benchmark results as markdown: tables, goals, and the physical limit."""

import datetime

from .number_speed import GOALS_MS as NUMBER_GOALS_MS
from .pipeline import PHOTO_GOAL_MS
from .preprocessing import GOALS_US as PREPROCESSING_GOALS_US


def _us(s: dict) -> str:
    return f"{s['median']:,.0f} µs ({s['p10']:,.0f}-{s['p90']:,.0f})"


def _rate(s: dict) -> str:
    return f"{s['median']:,.0f}/s ({s['p10']:,.0f}-{s['p90']:,.0f})"


def _check(ok: bool | None) -> str:
    return "retired" if ok is None else "met" if ok else "**not met**"


def markdown(r: dict, goals: dict) -> str:
    m, speed, cli, folder, foot, q = r["machine"], r["speed"], r["cli"], r["folder"], r["footprint"], r["int8"]
    runtime_name = next(iter(speed))
    lines = [
        f"Measured {datetime.date.today().isoformat()} with `python -m benchmarks{' --quick' if r['quick'] else ''}` on "
        f"{m['cpu']} ({m['cores']} cores, {m['machine']}), Python {m['python']}, onnxruntime {m['onnxruntime']}, "
        f"torch {m['torch']} ({m['torch_threads']} threads). Model: {r['model']}. Figures are medians, "
        "with the 10th-90th percentile range in brackets.",
    ]
    if r["quick"]:
        lines.append("\n**--quick run: tiny counts, for checking the script only; these numbers mean nothing.**")
    lines += ["", "## The model alone", "| backend | latency, batch 1 | throughput, batch 256 (images) |", "|---|---:|---:|"]
    for name, s in speed.items():
        lines.append(f"| {name} | {_us(s['latency_us'])} | {_rate(s['throughput'])} |")

    where = ("a fresh virtual environment with a plain `pip install .`" if "runtime_env_mb" in foot
             else "the current environment")
    lines += ["", "## Whole process: one image", f"`digit-classify` runs from {where}; the PyTorch script from "
              "the training environment. Both classify `samples/scan-4.jpg` (513x507 JPEG).", "",
              "| command | wall time | peak RSS |", "|---|---:|---:|"]
    for name, s in cli.items():
        lines.append(f"| `{name}` | {s['wall_s']['median']:.3f} s ({s['wall_s']['p10']:.3f}-{s['wall_s']['p90']:.3f}) "
                     f"| {s['peak_rss_mb']['median']:.0f} MB |")
    (ours, ours_s), (theirs, theirs_s) = cli.items()
    wall_ratio = theirs_s["wall_s"]["median"] / ours_s["wall_s"]["median"]
    rss_ratio = theirs_s["peak_rss_mb"]["median"] / ours_s["peak_rss_mb"]["median"]
    lines.append(f"\n`{ours}` is {wall_ratio:.1f}x faster and uses {rss_ratio:.1f}x less memory.")

    lines += ["", "## A folder of MNIST test PNGs",
              f"`digit-classify FOLDER` on {folder['images']:,} PNGs, decode and preprocessing included: "
              f"{folder['images_per_s']:,.0f} images/s ({folder['wall_s']['median']:.2f} s, peak {folder['peak_rss_mb']['median']:.0f} MB)."]

    lines += ["", "## Preprocessing", "`to_mnist_form` on decoded images (decoding left out), one process, one core "
              "(`python -m benchmarks.preprocessing` prints the same table).", "",
              "| input | images | time per image |", "|---|---:|---:|"]
    lines += [f"| {name} | {s['images']:,} | {_us(s)} |" for name, s in r["preprocessing"].items()]

    photo = r["pipeline_photo_ms"]
    lines += ["", "## pipeline.onnx", "The whole preprocessing and the classifier as one ONNX file, in onnxruntime on one "
              f"thread: a 640x480 photo (`samples/photo-9.png` resized) takes {photo['median']:.1f} ms "
              f"({photo['p10']:.1f}-{photo['p90']:.1f}). The same answers and images as the Python runtime, which runs the same preprocessing graph: `python -m benchmarks.pipeline`."]

    lines += ["", "## Footprint", "| what | size |", "|---|---:|"]
    if "runtime_env_mb" in foot:
        lines.append(f"| fresh virtual environment, `pip install .` (runtime) | {foot['runtime_env_mb']:,.0f} MB |")
    lines.append(f"| the training environment (`.[dev]`, torch included) | {foot['training_env_mb']:,.0f} MB |")
    for name, size in foot["model_files_mb"].items():
        lines.append(f"| `{name}` | {size:.2f} MB |")

    lines += ["", "## int8 (dynamic quantization)", "| model | size | latency, batch 1 | MNIST test accuracy |", "|---|---:|---:|---:|",
              f"| fp32 `model.onnx` | {q['fp32_size_mb']:.3f} MB | {_us(speed[runtime_name]['latency_us'])} | {q['fp32_accuracy']:.2%} |",
              f"| int8 | {q['size_mb']:.3f} MB ({q['size_fraction']:.0%}) | {_us(q['latency_us'])} | {q['accuracy']:.2%} |"]

    flops, peak, gemm = r["flops_per_image"], r["peak_flops"], r["gemm_gflops"] * 1e9
    achieved = flops * speed[runtime_name]["throughput"]["median"]
    lines += ["", "## Physical limit",
              f"{flops / 1e6:.2f} MFLOPs per image (the recurrent and head matrix products; element-wise gate "
              f"maths left out). At batch 256 onnxruntime does {achieved / 1e9:.0f} GFLOP/s: {achieved / gemm:.0%} "
              f"of the {gemm / 1e9:.0f} GFLOP/s this machine reaches on a large float32 matrix product (numpy, all "
              f"cores), and {achieved / peak:.0%} of the vector units' nominal peak of {peak / 1e9:.0f} GFLOP/s "
              f"({r['peak_description']}; the clock is the one the kernel reports, turbo may be higher). At "
              "this batch size each step's matrix products are large enough to keep the vector units busy, so little headroom is left; at batch 1 the same steps are "
              "matrix-vector products that wait on memory and on each other (28 dependent steps per layer), "
              f"and the model reaches {flops / speed[runtime_name]['latency_us']['median'] / 1e3:.0f} GFLOP/s."]

    eager = speed["PyTorch eager"]["latency_us"]["median"] / speed[runtime_name]["latency_us"]["median"]
    rows = [
        ("onnxruntime batch-1 latency vs PyTorch eager", f"{goals['latency_vs_eager']:.0f}x faster, retired: onnxruntime's "
         "LSTM kernel bounds it (below)", f"{eager:.1f}x", None),
        ("one-image CLI vs the PyTorch script", f">= {goals['cli_vs_torch']:.0f}x faster", f"{wall_ratio:.1f}x", wall_ratio >= goals["cli_vs_torch"]),
        ("one-image CLI wall time", f"< {goals['cli_wall_s']} s", f"{ours_s['wall_s']['median']:.3f} s", ours_s["wall_s"]["median"] < goals["cli_wall_s"]),
        ("one-image CLI peak RSS", f"<= {goals['cli_rss_mb']:.0f} MB", f"{ours_s['peak_rss_mb']['median']:.0f} MB", ours_s["peak_rss_mb"]["median"] <= goals["cli_rss_mb"]),
        ("folder of MNIST PNGs", f">= {goals['folder_images_per_s']:,.0f} images/s", f"{folder['images_per_s']:,.0f}/s", folder["images_per_s"] >= goals["folder_images_per_s"]),
        *((f"preprocessing, {name}", f"<= {PREPROCESSING_GOALS_US[name]:,.0f} µs", f"{s['median']:,.0f} µs",
           s["median"] <= PREPROCESSING_GOALS_US[name]) for name, s in r["preprocessing"].items()),
        ("pipeline.onnx, 640x480 photo, 1 thread", f"<= {PHOTO_GOAL_MS:.0f} ms", f"{photo['median']:.1f} ms", photo["median"] <= PHOTO_GOAL_MS),
        *((f"number.onnx, {name}, 1 thread", f"<= {NUMBER_GOALS_MS[name]:.0f} ms", f"{s['median']:.2f} ms",
           s["median"] <= NUMBER_GOALS_MS[name]) for name, s in r["numbers_ms"].items()),
        ("int8 size", f"<= {goals['int8_size_fraction']:.0%} of fp32", f"{q['size_fraction']:.0%}", q["size_fraction"] <= goals["int8_size_fraction"]),
        ("int8 accuracy drop", f"<= {goals['int8_accuracy_drop_pt']} pt", f"{q['accuracy_drop_pt']:.2f} pt", q["accuracy_drop_pt"] <= goals["int8_accuracy_drop_pt"]),
    ]
    lines += ["", "## number.onnx", "The number reader, raw pixels to number (docs/NUMBERS.md), in onnxruntime on one thread "
              "(`python -m benchmarks.number_speed`), on `samples/numbers/scan-90210.png`:", "",
              "| input | size | time | read |", "|---|---|---:|---|"]
    lines += [f"| {name} | {s['size']} | {s['median']:.2f} ms ({s['p10']:.2f}-{s['p90']:.2f}) | {s['read']} |"
              for name, s in r["numbers_ms"].items()]

    lines += ["", "## Goals", "| goal | target | measured | |", "|---|---|---:|---|"]
    lines += [f"| {name} | {target} | {value} | {_check(ok)} |" for name, target, value, ok in rows]
    return "\n".join(lines)
