#!/usr/bin/env bash
# Prove examples/node: install it from its lock file; run the shipped pipeline's test data (and
# model.onnx's) in onnxruntime-node within the export's tolerances; then decode and classify, in
# JavaScript, the samples, robustness renderings of MNIST test digits, the same photo with EXIF
# orientations, and a blank page, and require digit-classify's answers for every one of them, with
# nothing written into a fresh home folder (onnxruntime's telemetry stays off). Last, the same
# 28x28 images (issue 21): a few hundred images of each set decoded once in Python
# (scripts/same_images.py) and handed as raw RGBA to examples/node/same_images.js, whose images
# must be within float rounding of the Python runtime's and whose answers must be the same. And
# numbers (classify.js --number, number.onnx): its test data, and random numbers of MNIST test digits
# on paper (scripts/number_samples.py), each read as `digit-classify --number --json` reads it. And
# the npm package (js/) packed and installed outside the repository: examples/node copied out runs
# with it, and its TypeScript types hold for js/test/usage.ts under tsc --strict.
#
#   scripts/check_node.sh [PYTHON]   # a Python with lstm-digits installed (default .venv/bin/python;
#                                    # the runtime alone is enough); needs $LSTM_DIGITS_DATA (MNIST)
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
python="${1:-.venv/bin/python}"

need_js_tools "$python"
need_mnist

# onnxruntime-node's install script only fetches optional GPU parts; the CPU binaries are in the package.
(cd examples/node && npm ci --ignore-scripts --no-audit --no-fund --silent)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" scripts/pipeline_facts.py > "$work/facts.json"
fact() { node -e 'const f = require(process.argv[1])[process.argv[2]]; console.log(Array.isArray(f) ? f.join("\n") : typeof f === "object" ? JSON.stringify(f) : f)' "$work/facts.json" "$1"; }
pipeline="$(fact pipeline)"
# The npm package's (js/) names for the pipeline's file, input and outputs, and its version, are the Python package's.
node --input-type=module - "$work/facts.json" <<'EOF'
import fs from 'node:fs';
import path from 'node:path';
import { INPUT, OUTPUTS, PIPELINE_FILE } from './js/pipeline.js';
import { NUMBER_FILE, NUMBER_INPUT, NUMBER_OUTPUTS } from './js/number_reader.js';
const facts = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
const problems = [];
if (path.basename(facts.pipeline) !== PIPELINE_FILE) problems.push(`file ${PIPELINE_FILE}, not ${path.basename(facts.pipeline)}`);
if (INPUT !== facts.input) problems.push(`input ${INPUT}, not ${facts.input}`);
for (const name of Object.values(OUTPUTS)) if (!facts.outputs.includes(name)) problems.push(`no output ${name} in ${facts.outputs}`);
if (path.basename(facts.number) !== NUMBER_FILE) problems.push(`file ${NUMBER_FILE}, not ${path.basename(facts.number)}`);
if (NUMBER_INPUT !== facts.number_input) problems.push(`number input ${NUMBER_INPUT}, not ${facts.number_input}`);
for (const name of NUMBER_OUTPUTS) if (!facts.number_outputs.includes(name)) problems.push(`no number output ${name} in ${facts.number_outputs}`);
const { version } = JSON.parse(fs.readFileSync('js/package.json', 'utf8'));
if (version !== facts.version) problems.push(`version ${version}, not ${facts.version}`);
if (problems.length) {
  console.error(`check_node: js/ (the lstm-digits npm package) disagrees with the Python package: ${problems.join('; ')}`);
  process.exit(1);
}
EOF
classify=(node examples/node/classify.js --model "$pipeline")

# The export's own test data, in onnxruntime-node.
checks=()
while read -r folder; do checks+=(--check "$folder"); done < <(fact pipeline_test_data)
"${classify[@]}" "${checks[@]}" --tolerance "$(fact tolerance)" 2> "$work/check.err" \
  || { cat "$work/check.err" >&2; exit 1; }
node examples/node/classify.js --model "$(fact model)" --check "$(fact model_test_data)" --tolerance "$(fact model_tolerance)"
node examples/node/classify.js --model "$(fact number)" --check "$(fact number_test_data)" --tolerance "$(fact number_tolerance)"

# Images: samples, robustness renderings (photo, grid, ruled, drawing, scan; PNG and JPEG), one
# sample stored turned with EXIF orientations 3, 6 and 8, and a blank page (nothing to classify).
mkdir "$work/images"
cp samples/*.png samples/*.jpg "$work/images/"
"$python" scripts/mnist_pngs.py --robustness --count 12 "$work/images"
"$python" - "$work/images" <<'EOF'
import sys
from PIL import Image
folder = sys.argv[1]
upright = Image.open("samples/scan-4.jpg").convert("RGB")
# Stored turned so that the EXIF orientation turns it back: 3 is 180 degrees, 6 and 8 a quarter turn.
for orientation, turn in ((3, Image.Transpose.ROTATE_180), (6, Image.Transpose.ROTATE_90), (8, Image.Transpose.ROTATE_270)):
    exif = Image.Exif()
    exif[0x0112] = orientation
    upright.transpose(turn).save(f"{folder}/exif{orientation}-4.jpg", quality=90, exif=exif)
Image.new("RGB", (64, 48), "white").save(f"{folder}/blank.png")
EOF
images=("$work"/images/*)

status=0
"$python" -m lstm_digits.cli.classify "${images[@]}" > "$work/python.tsv" 2> "$work/python.err" || status=$?
[ "$status" -eq 1 ] && grep -q "blank.png: no digit found" "$work/python.err" \
  || { echo "check_node: digit-classify should fail on blank.png alone (exit $status):" >&2; cat "$work/python.err" >&2; exit 1; }
status=0
mkdir "$work/home"  # a fresh home folder: onnxruntime-node's telemetry must write nothing there (README, "Privacy")
# (without CI, TF_BUILD or GITHUB_ACTIONS: onnxruntime writes no telemetry where they say CI, so with
# them this check would pass without no-telemetry.js)
env -u ORT_DISABLE_TELEMETRY -u CI -u TF_BUILD -u GITHUB_ACTIONS HOME="$work/home" "${classify[@]}" "${images[@]}" > "$work/node.tsv" 2> "$work/node.err" || status=$?
if [ -n "$(find "$work/home" -type f)" ]; then
  echo "check_node: classify.js wrote into the home folder (onnxruntime telemetry?):" >&2; find "$work/home" -type f >&2; exit 1
fi
[ "$status" -eq 1 ] && grep -q "blank.png: no digit found" "$work/node.err" && [ "$(grep -c '^classify.js: ' "$work/node.err")" -eq 1 ] \
  || { echo "check_node: classify.js should fail on blank.png alone (exit $status):" >&2; cat "$work/node.err" >&2; exit 1; }
if ! diff <(cut -f1,2 "$work/python.tsv") <(cut -f1,2 "$work/node.tsv") > "$work/diff.txt"; then
  echo "check_node: examples/node's answers differ from digit-classify's (< digit-classify, > node):" >&2
  cat "$work/diff.txt" >&2
  exit 1
fi
expect_digits "$work/node.tsv" $((${#images[@]} - 1)) "examples/node/classify.js"
# examples/node taken out of the repository, as an embedder copies it: the lstm-digits package
# packed (it carries the shipped pipeline.onnx) and installed from its tarball; no --model given.
(cd js && npm pack --silent --pack-destination "$work") > /dev/null
mkdir "$work/outside"
cp examples/node/*.js examples/node/package.json examples/node/package-lock.json "$work/outside/"
(cd "$work/outside" && npm install --ignore-scripts --no-audit --no-fund --silent "$work"/lstm-digits-*.tgz)
status=0
(cd "$work/outside" && node classify.js "${images[@]}") > "$work/outside.tsv" 2> "$work/outside.err" || status=$?
if [ "$status" -ne 1 ] || ! diff -q "$work/node.tsv" "$work/outside.tsv" > /dev/null; then
  echo "check_node: examples/node outside the repository, with the packed lstm-digits package, answered otherwise (exit $status):" >&2
  cat "$work/outside.err" >&2; diff "$work/node.tsv" "$work/outside.tsv" >&2; exit 1
fi
repository="$PWD"
(cd "$work/outside" && node classify.js --number "$repository"/samples/numbers/*.png) > "$work/outside_numbers.tsv" 2> "$work/outside.err" \
  && diff <(cut -f2 "$work/outside_numbers.tsv") <(ls samples/numbers/*.png | sed 's/.*-//; s/[.]png$//') > /dev/null \
  || { echo "check_node: examples/node outside the repository did not read samples/numbers with the packed number.onnx:" >&2
       cat "$work/outside.err" "$work/outside_numbers.tsv" >&2; exit 1; }
echo "check_node: examples/node copied out of the repository runs with the packed lstm-digits package ($(basename "$work"/lstm-digits-*.tgz)) and its models"
# The package's TypeScript types: js/test/usage.ts type-checked with tsc --strict against the packed
# package, then run (it also holds index.d.ts to index.js's exports). Pinned, in the scratch project only.
cp js/test/usage.ts "$work/outside/"
(cd "$work/outside" && npm install --no-save --ignore-scripts --no-audit --no-fund --silent typescript@5.9.3 @types/node@20.19.43 \
  && npx tsc --strict --noEmitOnError --module nodenext --moduleResolution nodenext --target es2022 --types node usage.ts \
  && node usage.js) > "$work/typed.log" 2>&1 \
  && tail -n 1 "$work/typed.log" | grep -q "^digit 1 box .*; blank noDigit true; number blank noNumber true digits 0; threshold true; .* exports typed$" \
  || { echo "check_node: the package's types (js/index.d.ts) fail js/test/usage.ts:" >&2; cat "$work/typed.log" >&2; exit 1; }
echo "check_node: js/index.d.ts types the packed package: $(tail -n 1 "$work/typed.log")"
# Numbers: samples/numbers and 40 random numbers of 1-10 MNIST test digits on paper (PNG, so that both
# sides decode the same pixels), read by classify.js --number --json as digit-classify --number --json
# reads them: the same number or rejection, digits and boxes, probabilities within number.onnx's tolerance.
mkdir "$work/numbers"
cp samples/numbers/*.png "$work/numbers/"
"$python" scripts/number_samples.py --random 40 "$work/numbers" > /dev/null
"$python" -m lstm_digits.cli.classify --number --json "$work"/numbers/* > "$work/numbers_python.jsonl"
node examples/node/classify.js --number --json "$work"/numbers/* > "$work/numbers_node.jsonl" 2> "$work/numbers_node.err" \
  || { echo "check_node: classify.js --number failed:" >&2; cat "$work/numbers_node.err" >&2; exit 1; }
node - "$work/numbers_python.jsonl" "$work/numbers_node.jsonl" "$(fact number_tolerance)" <<'EOF'
const fs = require('fs');
const [python, node] = process.argv.slice(2, 4).map((file) => fs.readFileSync(file, 'utf8').trim().split('\n').map(JSON.parse));
const tolerance = Number(process.argv[4]);
const same = (a, b) => a.path === b.path && a.number === b.number && Boolean(a.rejected) === Boolean(b.rejected)
  && Math.abs(a.probability - b.probability) <= tolerance && a.digits.length === b.digits.length
  && a.digits.every((d, i) => d.digit === b.digits[i].digit && d.box.join() === b.digits[i].box.join()
                              && Math.abs(d.probability - b.digits[i].probability) <= tolerance);
const differ = python.filter((record, i) => !node[i] || !same(record, node[i]));
if (python.length !== node.length || differ.length) {
  console.error(`check_node: classify.js --number reads ${differ.length} of ${python.length} numbers otherwise than digit-classify --number:`);
  differ.slice(0, 5).forEach((record) => console.error(JSON.stringify(record)));
  process.exit(1);
}
const read = python.filter((record) => record.number !== null);
console.log(`check_node: classify.js --number reads ${python.length} numbers as digit-classify --number does ` +
            `(${read.length} read, ${python.length - read.length} rejected; digits, boxes, probabilities within ${tolerance})`);
EOF
largest="$(paste "$work/python.tsv" "$work/node.tsv" | awk -F'\t' '{d = $3 - $6; d = d < 0 ? -d : d; if (d > m) m = d} END {printf "%.4f", m}')"
echo "check_node: pipeline.onnx's test data within tolerance in onnxruntime-node; $((${#images[@]} - 1)) images" \
     "(samples, robustness renderings, EXIF-turned JPEGs) decoded in JavaScript and classified as digit-classify" \
     "classifies them (largest probability difference $largest), and the blank page is nothing to classify in both"

# The same 28x28 images and answers as the Python runtime, from the same RGBA pixels (issue 21): 200
# MNIST test PNGs, 40 robustness renderings, 5 digits in each of the 20 tight crops, 10 drawings of
# each of the 7 styles, and samples/.
started=$SECONDS
"$python" scripts/same_images.py write "$work/same" --mnist 200 --robustness 40 --tight 5 --styles 10 > "$work/same.log"
node examples/node/same_images.js --model "$pipeline" "$work/same" >> "$work/same.log"
if ! "$python" scripts/same_images.py compare "$work/same" node > "$work/same.md" 2> "$work/same.err"; then
  echo "check_node: examples/node is not the Python runtime: $(tail -n 1 "$work/same.err")" >&2
  exit 1
fi
head -n -1 "$work/same.md"
echo "check_node: examples/node/same_images.js, $(tail -n 1 "$work/same.md" | sed 's/^same_images: //') ($((SECONDS - started)) s)"
