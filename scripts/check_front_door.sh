#!/usr/bin/env bash
# The README's first command, exactly as a newcomer pastes it, in a fresh copy of the tracked files:
# it must print exactly what the README shows under it (the block after the "Try it" command).
#
#   scripts/check_front_door.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The first ```sh block under "## Try it", and the plain ``` block that follows it.
python3 - README.md "$work" <<'PY'
import re, sys
from pathlib import Path
text = Path(sys.argv[1]).read_text(encoding="utf-8")
section = text[text.index("## Try it"):]
match = re.search(r"```sh\n(.*?)```\n```\n(.*?)```", section, re.S)
if not match:
    sys.exit("check_front_door: no ```sh block followed by its output under '## Try it' in README.md")
Path(sys.argv[2], "command.sh").write_text(match.group(1))
Path(sys.argv[2], "shown.txt").write_text(match.group(2))
PY
mkdir "$work/checkout"
git ls-files -z | tar --null -T - -cf - | tar -xf - -C "$work/checkout"
(cd "$work/checkout" && bash "$work/command.sh") > "$work/printed.txt" 2> "$work/stderr.txt" \
  || { cat "$work/stderr.txt" >&2; echo "check_front_door: the README's first command failed: $(cat "$work/command.sh")" >&2; exit 1; }
if ! diff -u "$work/shown.txt" "$work/printed.txt" >&2; then
  echo "check_front_door: the README's first command printed something else than the README shows (diff above)" >&2
  exit 1
fi
echo "check_front_door: the README's first command printed exactly what the README shows: $(cat "$work/printed.txt")"
