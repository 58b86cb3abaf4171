#!/usr/bin/env bash
# The runtime on every Python that pyproject.toml's requires-python claims: for each, a fresh virtual
# environment with the project's wheel and its `test` extra (no torch), and the tests marked
# `runtime` run against that install.
#
#   scripts/check_pythons.sh              # needs $LSTM_DIGITS_DATA (the MNIST archives)
#
# The interpreters come from pyenv (`pyenv versions`; $(pyenv root)/versions/X.Y.Z) or, failing
# that, pythonX.Y on the PATH. A missing one fails the check, naming it: a version we claim and do
# not test is a claim we cannot keep. Settings:
#   PYTHON_VERSIONS   the versions to check (default: "3.10 3.11 3.12 3.13", the ones requires-python claims)
#   TESTED_ELSEWHERE  versions among them whose runtime tests run elsewhere, left out here, saying so
#                     (.ci/run: the suite's own Python, whose runtime-only install its first step checks)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/common.sh
need python3 "install Python 3 with pip"
[ -n "${LSTM_DIGITS_DATA:-}" ] || { echo "check_pythons: set LSTM_DIGITS_DATA to the folder with the MNIST archives" >&2; exit 1; }
versions="${PYTHON_VERSIONS:-3.10 3.11 3.12 3.13}"

# interpreter X.Y: the newest pyenv install of X.Y, else pythonX.Y on the PATH, else nothing.
interpreter() {
  local root candidate
  if root="$(pyenv root 2> /dev/null)"; then
    candidate="$(ls -d "$root"/versions/"$1".* 2> /dev/null | sort -V | tail -n 1)"
    [ -n "$candidate" ] && [ -x "$candidate/bin/python3" ] && { echo "$candidate/bin/python3"; return; }
  fi
  command -v "python$1" || true
}

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
wheel="$(build_wheel "$work")"

# Left out here, run in the development suite (Python 3.11): tests marked `unprivileged` run
# digit-classify as user nobody, who cannot enter /root, where pyenv keeps these interpreters; tests
# marked `corpus` classify Pillow's 1,067 test images several times over (70 s a Python, most of
# this check's time), which exercises Pillow's decoders, the same wheel on every Python. The test modules that mark themselves `runtime` (only those are imported: the others need torch).
mapfile -t runtime_tests < <(grep -l "pytest.mark.runtime" tests/test_*.py)
failed=()
for version in $versions; do
  if [[ " ${TESTED_ELSEWHERE:-} " == *" $version "* ]]; then
    echo "check_pythons: Python $version: left out (TESTED_ELSEWHERE)"
    continue
  fi
  python="$(interpreter "$version")"
  if [ -z "$python" ]; then
    echo "check_pythons: Python $version not found (pyenv install $version, or put python$version on the PATH)" >&2
    failed+=("$version (missing)")
    continue
  fi
  started=$SECONDS
  "$python" -m venv "$work/venv-$version"
  "$work/venv-$version/bin/pip" install --quiet --disable-pip-version-check "$wheel[test]" > "$work/pip-$version.log" 2>&1 \
    || { cat "$work/pip-$version.log" >&2; failed+=("$version (install)"); continue; }
  if "$work/venv-$version/bin/python" -c "import torch" 2> /dev/null; then
    echo "check_pythons: Python $version: the runtime install brought torch" >&2; failed+=("$version (torch)"); continue
  fi
  # From the tests' folder's parent, so `lstm_digits` is the installed wheel, never the source tree.
  if (cd "$repo" && "$work/venv-$version/bin/python" -m pytest -m "runtime and not unprivileged and not corpus" -q -p no:cacheprovider -n 0 "${runtime_tests[@]}" \
        -W error::pytest.PytestUnknownMarkWarning > "$work/pytest-$version.log" 2>&1); then
    echo "check_pythons: Python $("$python" -c 'import platform; print(platform.python_version())'): $(tail -n 1 "$work/pytest-$version.log") ($((SECONDS - started)) s)"
  else
    cat "$work/pytest-$version.log" >&2
    failed+=("$version (tests)")
  fi
done
if [ "${#failed[@]}" -gt 0 ]; then
  echo "check_pythons: failed on Python ${failed[*]}" >&2
  exit 1
fi
