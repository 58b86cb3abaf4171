#!/usr/bin/env bash
# Prove examples/node: install onnxruntime-node from the lock file, check the shipped model's
# test_data_set_0 against PyTorch's outputs, and classify 28x28 PNGs: the samples as the Python
# runtime preprocessed them, and MNIST test digits.
#
#   scripts/check_node.sh [PYTHON]   # a Python with lstm-digits installed (default .venv/bin/python);
#                                    # needs $LSTM_DIGITS_DATA (the MNIST test archives)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
python="${1:-.venv/bin/python}"

need node "install Node.js 18 or newer with npm"
need npm "install Node.js 18 or newer with npm"
[ -x "$python" ] || need "$python" "pass a Python with lstm-digits installed"
[ -n "${LSTM_DIGITS_DATA:-}" ] || { echo "check_node: set LSTM_DIGITS_DATA to the folder with the MNIST archives" >&2; exit 1; }

# onnxruntime-node's install script only fetches optional GPU parts; the CPU binaries are in the package.
(cd examples/node && npm ci --ignore-scripts --no-audit --no-fund --silent)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m lstm_digits.cli.classify samples/*.png samples/*.jpg --save-preprocessed "$work/png" > /dev/null
"$python" scripts/mnist_pngs.py --count 20 "$work/png"
node examples/node/classify.js --check "$work"/png/*.png > "$work/results.txt"
grep '^test_data_set_0' "$work/results.txt"
grep -v '^test_data_set_0' "$work/results.txt" > "$work/results.tsv"
expect_digits "$work/results.tsv" 25 "examples/node/classify.js"
echo "check_node: test_data_set_0 within tolerance; 25 PNGs (5 preprocessed samples, 20 MNIST) classified right"
