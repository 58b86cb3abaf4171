#!/usr/bin/env bash
# Prove the runtime on aarch64 (the architecture of Raspberry Pi OS 64-bit) on this x86-64 machine,
# under qemu user-mode emulation:
#   1. a Debian bookworm arm64 root filesystem with its Python 3.11, as on Raspberry Pi OS (cached);
#   2. the project's own wheel, installed for aarch64 with its runtime dependencies (no extras);
#   3. emulated: digit-classify (fp32 and --int8) on the samples and on MNIST test PNGs, and
#      test_data_set_0 through DigitClassifier against PyTorch's logits;
#   4. the same report natively on x86-64: logits within the export's tolerance, identical digits.
#
#   scripts/check_aarch64.sh            # needs $LSTM_DIGITS_DATA (the MNIST test archives)
#
# Needs qemu-user-static and debootstrap (apt-get install qemu-user-static debootstrap), python3
# with pip, and the first time a Debian mirror and the Python package index. Settings:
#   LSTM_DIGITS_AARCH64_CACHE  root filesystem and wheels (default $XDG_CACHE_HOME or ~/.cache, then lstm-digits/aarch64)
#   DEBIAN_MIRROR              default: the first Debian mirror in this machine's apt sources
#   QEMU_CPUS                  emulated cores to test (default "cortex-a76 cortex-a72": Pi 5, Pi 4)
#   ONNXRUNTIME_VERSION        default: the newest release
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"
source scripts/common.sh

need qemu-aarch64-static "install it: apt-get install qemu-user-static"
need debootstrap "install it: apt-get install debootstrap"
need python3 "install Python 3 with pip"
need git "install git: the wheel is built from the files git tracks"
[ -n "${LSTM_DIGITS_DATA:-}" ] || { echo "check_aarch64: set LSTM_DIGITS_DATA to the folder with the MNIST archives" >&2; exit 1; }
cache="${LSTM_DIGITS_AARCH64_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/lstm-digits/aarch64}"
suite=bookworm
root="$cache/rootfs-$suite"
qemu_cpus="${QEMU_CPUS:-cortex-a76 cortex-a72}"
started=$SECONDS

# --- 1. The root filesystem: debootstrap's first stage, then the packages unpacked by hand (the
# second stage would need to run aarch64 maintainer scripts; unpacking is all Python needs).
debian_mirror() {
  [ -n "${DEBIAN_MIRROR:-}" ] && { echo "$DEBIAN_MIRROR"; return; }
  { grep -shE '^[[:space:]]*(deb|URIs:)[[:space:]]' /etc/apt/sources.list /etc/apt/sources.list.d/* || true; } \
    | grep -oE 'https?://[^ ]+' | grep -v -- '-security' | head -n 1 || true
}
if [ ! -f "$root/.complete" ]; then
  mirror="$(debian_mirror)"
  [ -n "$mirror" ] || { echo "check_aarch64: no Debian mirror in the apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
  [ "$(id -u)" = 0 ] || { echo "check_aarch64: debootstrap needs root to build $root (run once as root, or under fakeroot)" >&2; exit 1; }
  echo "check_aarch64: building the $suite arm64 root filesystem in $root (once)"
  rm -rf "$root.partial" && mkdir -p "$cache"
  debootstrap --arch=arm64 --foreign --variant=minbase --include=python3 "$suite" "$root.partial" "$mirror" \
    > "$cache/debootstrap.log" 2>&1 || { echo "check_aarch64: debootstrap failed; see $cache/debootstrap.log" >&2; exit 1; }
  for deb in "$root.partial"/var/cache/apt/archives/*.deb; do dpkg -x "$deb" "$root.partial"; done
  rm -f "$root.partial"/var/cache/apt/archives/*.deb
  rm -rf "$root" && mv "$root.partial" "$root" && touch "$root/.complete"
fi
python_arm="$root/usr/bin/python3.11"

# onnxruntime's CPU detection (pytorch/cpuinfo) parses /proc/cpuinfo. qemu-user passes the host's
# x86 file through, in which it finds no ARM core, and onnxruntime segfaults at import. With -L,
# qemu looks for every path inside the root filesystem first, so a cpuinfo describing the emulated
# core, with as many processors as the host has, fixes it without pinning an old onnxruntime.
write_cpuinfo() {
  local part variant revision features processor
  case "$1" in
    cortex-a76) part=0xd0b variant=0x4 revision=1
                features="fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm lrcpc dcpop asimddp" ;;
    cortex-a72) part=0xd08 variant=0x0 revision=3 features="fp asimd evtstrm crc32 cpuid" ;;
    *) echo "check_aarch64: no cpuinfo for QEMU CPU $1 (cortex-a76 or cortex-a72)" >&2; exit 1 ;;
  esac
  mkdir -p "$root/proc"
  for ((processor = 0; processor < $(getconf _NPROCESSORS_CONF); processor++)); do
    printf 'processor\t: %d\nBogoMIPS\t: 108.00\nFeatures\t: %s\nCPU implementer\t: 0x41\n' "$processor" "$features"
    printf 'CPU architecture: 8\nCPU variant\t: %s\nCPU part\t: %s\nCPU revision\t: %s\n\n' "$variant" "$part" "$revision"
  done > "$root/proc/cpuinfo"
}

# --- 2. The project's wheel and its runtime dependencies, for aarch64 and for this machine.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
pip_quiet=(--quiet --disable-pip-version-check)
# pip_or_fail WHAT ARGS...: pip quietly; if it fails, its log and "WHAT failed", then exit.
pip_or_fail() {
  local what="$1"; shift
  python3 -m pip "$@" "${pip_quiet[@]}" > "$work/pip.log" 2>&1 \
    || { cat "$work/pip.log" >&2; echo "check_aarch64: $what failed" >&2; exit 1; }
}
wheel="$(build_wheel "$work")"
aarch64=(--only-binary=:all: --python-version 3.11 --implementation cp
         --platform manylinux_2_28_aarch64 --platform manylinux_2_17_aarch64 --platform manylinux2014_aarch64)
onnxruntime="onnxruntime${ONNXRUNTIME_VERSION:+==$ONNXRUNTIME_VERSION}"
# Offline, the cached wheels are used; the install below fails, naming the package, if one is missing.
python3 -m pip download "${pip_quiet[@]}" "${aarch64[@]}" -d "$cache/wheels" "$wheel" "$onnxruntime" > "$work/pip.log" 2>&1 \
  || echo "check_aarch64: could not download aarch64 wheels (offline?); using those cached in $cache/wheels" >&2
pip_or_fail "installing for aarch64" install "${aarch64[@]}" --no-index --find-links "$cache/wheels" \
  --no-warn-script-location --target "$work/site-aarch64" "$wheel" "$onnxruntime"
ort_version="$(ls -d "$work"/site-aarch64/onnxruntime-*.dist-info | sed -E 's/.*onnxruntime-(.*)\.dist-info/\1/')"
pip_or_fail "installing for this machine" install --no-warn-script-location --target "$work/site-x86_64" \
  "$wheel" "onnxruntime==$ort_version"
native() { PYTHONPATH="$work/site-x86_64" PYTHONNOUSERSITE=1 python3 "$@"; }
emulated() { PYTHONPATH="$work/site-aarch64" PYTHONNOUSERSITE=1 qemu-aarch64-static -L "$root" "$python_arm" "$@"; }

native scripts/mnist_pngs.py --count 40 "$work/mnist"
images=("$repo"/samples/*.png "$repo"/samples/*.jpg "$work"/mnist/*.png)
echo "check_aarch64: ready after $((SECONDS - started)) s; onnxruntime $ort_version; ${#images[@]} images"

# --- 3 and 4. Under emulation, on each core; then the same natively, and the comparison.
native scripts/platform_report.py report "$work/x86_64.json" "${images[@]}"
for cpu in $qemu_cpus; do
  write_cpuinfo "$cpu"
  export QEMU_CPU="$cpu"
  echo "emulated core: $cpu"
  emulated scripts/platform_report.py report "$work/aarch64.json" "${images[@]}"
  native scripts/platform_report.py compare "$work/aarch64.json" "$work/x86_64.json"
  for model in fp32 int8; do
    flags=(); [ "$model" = int8 ] && flags=(--int8)
    emulated "$work/site-aarch64/bin/digit-classify" "${flags[@]}" "${images[@]}" > "$work/results.tsv"
    expect_digits "$work/results.tsv" "${#images[@]}" "emulated digit-classify ($cpu, $model)"
    echo "emulated digit-classify ($model): ${#images[@]} images, every digit right"
  done
done
unset QEMU_CPU
echo "check_aarch64: passed in $((SECONDS - started)) s"
