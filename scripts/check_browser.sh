#!/usr/bin/env bash
# Prove the web app (web/) in a real browser: headless Chromium from Debian's package, driven by
# puppeteer-core from web/package-lock.json (no browser download). web/test/browser.js builds the
# site with the shipped pipeline.onnx, serves it on 127.0.0.1 only and checks the pipeline's test
# data in WebAssembly, digits and non-digits drawn with the mouse, the samples uploaded through the
# file input (against digit-classify's answers), no page or console errors and no request beyond
# 127.0.0.1; it prints the page's ready time, pen-up-to-answer time and download size. It also runs
# the page's pipeline on raw RGBA pixels decoded once in Python (scripts/same_images.py: 100 MNIST
# test PNGs, 30 robustness renderings, 20 tight crops, 14 style drawings, samples/), whose 28x28
# images must be within float rounding of the Python runtime's and whose answers the same (issue 21),
# and the problems a new user met (web/test/page_problems.js): a digit drawn while the model loads,
# Clear with a stroke queued, an unreadable file, the bars, the page on a phone; and offline
# (web/test/offline.js): each file sent once and compressed, installable, a reload with the network
# off that reads a digit; number mode (web/test/numbers.js): a number written on the wide pad, and
# numbers uploaded, read as digit-classify --number reads them; and live camera mode (web/test/live.js) with Chromium's fake camera playing
# MNIST test digits on paper (scripts/fake_camera.py), a denied camera and none, and in number mode
# playing numbers written with MNIST test digits. Before the browser,
# web/test/server.js sends web/serve.js requests that once stopped it.
#
#   scripts/check_browser.sh [PYTHON]   # a Python with lstm-digits installed (default .venv/bin/python;
#                                       # the runtime alone is enough); needs $LSTM_DIGITS_DATA (MNIST)
# The screenshots it takes are left at ${TMPDIR:-/tmp}/lstm-digits-page.png, -page-phone.png,
# -page-number.png, -page-live.png and -page-live-number.png, to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
python="${1:-.venv/bin/python}"

need_js_tools "$python"
need_mnist
if ! command -v chromium > /dev/null; then
  (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) > /dev/null
fi

# puppeteer-core never downloads a browser; no package here needs its install script.
(cd web && npm ci --ignore-scripts --no-audit --no-fund --silent)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" scripts/pipeline_facts.py > "$work/facts.json"
"$python" -m lstm_digits.cli.classify "$PWD"/samples/*.png "$PWD"/samples/*.jpg > "$work/answers.tsv"
mkdir "$work/numbers"  # number mode: samples/numbers and 10 random numbers of MNIST test digits
cp samples/numbers/*.png "$work/numbers/"
"$python" scripts/number_samples.py --random 10 "$work/numbers" > /dev/null
"$python" -m lstm_digits.cli.classify --number "$work"/numbers/*.png > "$work/numbers.tsv"
"$python" scripts/same_images.py write "$work/same" --mnist 100 --robustness 30 --tight 1 --styles 2 > "$work/same.log"
node web/test/server.js  # web/serve.js: hostile requests, unreadable files, its headers, --host and https
"$python" scripts/fake_camera.py "$work/camera.y4m" > "$work/camera.json"  # MNIST test digits on paper, for the fake camera
"$python" scripts/fake_camera.py "$work/numbers.y4m" --numbers 407,2024,93,5816 > "$work/numbers.json"  # and numbers
node web/test/browser.js --chromium "$(command -v chromium)" --facts "$work/facts.json" --expected "$work/answers.tsv" \
  --expected-numbers "$work/numbers.tsv" \
  --screenshot "${TMPDIR:-/tmp}/lstm-digits-page.png" --same-images "$work/same" \
  --camera "$work/camera.y4m" --camera-schedule "$work/camera.json" \
  --number-camera "$work/numbers.y4m" --number-camera-schedule "$work/numbers.json"
if ! "$python" scripts/same_images.py compare "$work/same" browser > "$work/same.md" 2> "$work/same.err"; then
  echo "check_browser: the page is not the Python runtime: $(tail -n 1 "$work/same.err")" >&2
  exit 1
fi
cat "$work/same.md"
