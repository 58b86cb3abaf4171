#!/usr/bin/env bash
# Install the Debian font packages that tests/nondigits.py renders its non-digit letters and symbols
# in (serif, sans, monospace, handwriting and script faces), if any is missing. Needs root (CI runs
# as root); `apt-get update` runs once first. The list is FONT_PACKAGES in tests/nondigits.py.
#
#   scripts/install_test_fonts.sh
set -euo pipefail
cd "$(dirname "$0")/.."
# The list is read from the source without importing it (python3's standard library only).
packages="$(python3 -c '
import ast
tree = ast.parse(open("tests/nondigits.py", encoding="utf-8").read())
value = next(node.value for node in tree.body if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "FONT_PACKAGES")
print(" ".join(ast.literal_eval(value)))')"
missing=""
for package in $packages; do
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed" || missing="$missing $package"
done
if [ -n "$missing" ]; then
  echo "install_test_fonts: installing$missing" >&2
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq > /dev/null
  # shellcheck disable=SC2086
  apt-get install -y -qq --no-install-recommends $missing > /dev/null
fi
echo "install_test_fonts: $(echo $packages | wc -w) font packages present"
