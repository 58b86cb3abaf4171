"""What the installed lstm-digits runtime computes on this machine, to compare two platforms.

    python platform_report.py report OUT.json IMAGE...   # run here, write logits, digits, latency
    python platform_report.py compare ARM.json X86.json  # same digits, logits within tolerance?

scripts/check_aarch64.sh runs `report` under aarch64 emulation and natively on x86-64, then
`compare`. Uses only the runtime (no torch, no onnx): test_data_set_0's TensorProtos are read here.
"""

import json
import platform
import sys
from pathlib import Path

import numpy as np
import onnxruntime

from lstm_digits.models import DEFAULT_DIR, PARITY, TEST_DATA_FILES
from lstm_digits.runtime import DigitClassifier, ImageError

# The benchmarks' timing loop (standard library only): from the checkout, which is not installed.
sys.path.append(str(Path(__file__).resolve().parents[1]))
from benchmarks.measure import latency_us  # noqa: E402

LATENCY_CALLS, LATENCY_WARMUP = 200, 20


def _varint(data: bytes, at: int) -> tuple[int, int]:
    value = shift = 0
    while True:
        byte = data[at]
        value |= (byte & 0x7F) << shift
        at, shift = at + 1, shift + 7
        if byte < 0x80:
            return value, at


def read_float_tensor(path: Path) -> np.ndarray:
    """A float32 TensorProto, as numpy_helper.from_array writes it: dims (field 1), data_type (2),
    raw_data (9, little-endian); other fields (the name) are skipped."""
    data, at, dims, dtype, raw = path.read_bytes(), 0, [], None, None
    while at < len(data):
        key, at = _varint(data, at)
        field, wire = key >> 3, key & 7
        if wire == 0:
            value, at = _varint(data, at)
            if field == 1:
                dims.append(value)
            elif field == 2:
                dtype = value
        elif wire == 2:
            length, at = _varint(data, at)
            payload, at = data[at : at + length], at + length
            if field == 1:  # dims, packed
                inner = 0
                while inner < len(payload):
                    value, inner = _varint(payload, inner)
                    dims.append(value)
            elif field == 9:
                raw = payload
        else:
            raise ValueError(f"{path}: unexpected protobuf wire type {wire}")
    if dtype != 1 or raw is None:
        raise ValueError(f"{path}: not a float32 tensor with raw_data")
    return np.frombuffer(raw, dtype="<f4").reshape(dims)


def _preprocess(classifier: DigitClassifier, image: str) -> np.ndarray:
    try:
        return classifier.model_input(image)
    except ImageError as error:
        sys.exit(f"{image}: {error}")


def report(out: Path, images: list[str]) -> int:
    tolerance = json.loads((DEFAULT_DIR / PARITY).read_text())["tolerance"]["max_abs_logit_diff"]
    inputs_file, logits_file = TEST_DATA_FILES[:2]
    with DigitClassifier() as classifier:
        test_inputs = read_float_tensor(DEFAULT_DIR / inputs_file)
        test_logits = classifier.logits(test_inputs)
        pytorch_diff = float(np.abs(test_logits - read_float_tensor(DEFAULT_DIR / logits_file)).max())
        image_inputs = np.stack([_preprocess(classifier, image) for image in images])
        image_logits = classifier.logits(image_inputs)
        one = image_inputs[:1]
        latency = latency_us(lambda: classifier.probabilities(one), LATENCY_CALLS, LATENCY_WARMUP)
        labels = classifier.labels
    result = {
        "machine": platform.machine(), "python": platform.python_version(),
        "onnxruntime": onnxruntime.__version__, "numpy": np.__version__,
        "tolerance": tolerance, "test_data_set_0_vs_pytorch": pytorch_diff,
        "latency_batch1_us": {"median": latency["median"], "calls": LATENCY_CALLS},
        "logits": {"test_data_set_0": test_logits.tolist(),
                   **{Path(image).name: [row.tolist()] for image, row in zip(images, image_logits)}},
    }
    result["digits"] = {name: "".join(labels[i] for i in np.argmax(rows, axis=1))
                        for name, rows in result["logits"].items()}
    out.write_text(json.dumps(result))
    print(f"{result['machine']}: Python {result['python']}, onnxruntime {result['onnxruntime']}, "
          f"numpy {result['numpy']}; test_data_set_0 logits vs PyTorch: max |difference| {pytorch_diff:.2e} "
          f"(tolerance {tolerance}); batch-1 latency {result['latency_batch1_us']['median']:.0f} us "
          f"(median of {LATENCY_CALLS} calls)")
    return 0 if pytorch_diff <= tolerance else 1


def compare(first_path: Path, second_path: Path) -> int:
    first, second = (json.loads(Path(p).read_text()) for p in (first_path, second_path))
    if first["logits"].keys() != second["logits"].keys():
        print("compare: the two reports cover different inputs", file=sys.stderr)
        return 1
    largest = max(float(np.abs(np.subtract(first["logits"][name], second["logits"][name])).max())
                  for name in first["logits"])
    differing = [name for name in first["digits"] if first["digits"][name] != second["digits"][name]]
    count = sum(len(rows) for rows in first["logits"].values())
    print(f"{first['machine']} vs {second['machine']}: {count} inputs, largest logit difference {largest:.2e} "
          f"(tolerance {first['tolerance']}); predicted digits "
          + ("identical" if not differing else f"DIFFER for {', '.join(differing)}"))
    return 0 if largest <= first["tolerance"] and not differing else 1


if __name__ == "__main__":
    command, *rest = sys.argv[1:] or [""]
    if command == "report" and len(rest) >= 2:
        sys.exit(report(Path(rest[0]), rest[1:]))
    if command == "compare" and len(rest) == 2:
        sys.exit(compare(*rest))
    sys.exit(__doc__)
