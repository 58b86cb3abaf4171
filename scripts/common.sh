# Shell helpers shared by .ci/run and the scripts in this folder (source it; it defines functions only).

# need COMMAND HINT: fail with one line saying what to install when COMMAND is missing.
need() {
  command -v "$1" > /dev/null || { echo "$(basename "$0"): $1 not found; $2" >&2; exit 1; }
}

# expect_digits RESULTS COUNT WHO: RESULTS has COUNT lines "path<TAB>digit<TAB>probability", and
# each image's file name ends with the digit it shows (samples/grid-7.jpg, mnist-00000-7.png).
expect_digits() {
  local results="$1" count="$2" who="$3" path digit rest expected
  while IFS=$'\t' read -r path digit rest; do
    expected="$(basename "${path%.*}")"
    expected="${expected: -1}"
    if [ "$digit" != "$expected" ]; then
      echo "$who classified $path as $digit, expected $expected" >&2
      return 1
    fi
  done < "$results"
  if [ "$(wc -l < "$results")" -ne "$count" ]; then
    echo "$who: expected $count results, got $(wc -l < "$results")" >&2
    return 1
  fi
}

# need_js_tools PYTHON: node and npm, and PYTHON a Python with lstm-digits installed (the Node.js
# and browser checks run both).
need_js_tools() {
  need node "install Node.js 18 or newer with npm"
  need npm "install Node.js 18 or newer with npm"
  [ -x "$1" ] || need "$1" "pass a Python with lstm-digits installed"
}

# need_mnist: fail with one line when $LSTM_DIGITS_DATA (the folder with the MNIST archives) is not set.
need_mnist() {
  [ -n "${LSTM_DIGITS_DATA:-}" ] || { echo "$(basename "$0" .sh): set LSTM_DIGITS_DATA to the folder with the MNIST archives" >&2; exit 1; }
}

# build_wheel FOLDER: the project's wheel, built from a copy of the files git tracks in FOLDER/src,
# so that a check never writes into the tree (setuptools' egg-info and build/) and can run beside
# another install of it (.ci/run does); prints the wheel's path. pip's output goes to FOLDER/pip.log.
build_wheel() {
  local folder="$1"
  mkdir "$folder/src"
  git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$folder/src"
  python3 -m pip wheel --quiet --disable-pip-version-check --no-deps -w "$folder/dist" "$folder/src" > "$folder/pip.log" 2>&1 \
    || { cat "$folder/pip.log" >&2; echo "$(basename "$0"): building the wheel failed" >&2; return 1; }
  ls "$folder"/dist/lstm_digits-*.whl
}
