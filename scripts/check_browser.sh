#!/usr/bin/env bash
# Prove the web app (web/) in a real browser: headless Chromium from Debian's package, driven by
# puppeteer-core from web/package-lock.json (no browser download). web/test/browser.js builds the
# site with the shipped pipeline.onnx, serves it on 127.0.0.1 only and checks the pipeline's test
# data in WebAssembly, digits and non-digits drawn with the mouse, the samples uploaded through the
# file input (against digit-classify's answers), no page or console errors and no request beyond
# 127.0.0.1; it prints the page's ready time, pen-up-to-answer time and download size.
#
#   scripts/check_browser.sh [PYTHON]   # a Python with lstm-digits installed (default .venv/bin/python;
#                                       # the runtime alone is enough)
# The screenshot it takes is left at ${TMPDIR:-/tmp}/lstm-digits-page.png, to look at.
set -euo pipefail
cd "$(dirname "$0")/.."
source scripts/common.sh
python="${1:-.venv/bin/python}"

need_js_tools "$python"
if ! command -v chromium > /dev/null; then
  (export DEBIAN_FRONTEND=noninteractive; apt-get update -qq && apt-get install -y -qq --no-install-recommends chromium) > /dev/null
fi

# puppeteer-core never downloads a browser; no package here needs its install script.
(cd web && npm ci --ignore-scripts --no-audit --no-fund --silent)

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" scripts/pipeline_facts.py > "$work/facts.json"
"$python" -m lstm_digits.cli.classify "$PWD"/samples/*.png "$PWD"/samples/*.jpg > "$work/answers.tsv"
node web/test/browser.js --chromium "$(command -v chromium)" --facts "$work/facts.json" --expected "$work/answers.tsv" \
  --screenshot "${TMPDIR:-/tmp}/lstm-digits-page.png"
