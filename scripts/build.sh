#!/usr/bin/env bash
# Sets up dependencies, configures (once) and builds SMQ into build/.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/setup.sh"
build="${SMQ_BUILD_DIR:-$root/build}"
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
# Two jobs: the machines SMQ is developed and tested on have two cores.
ninja -C "$build" -j "${SMQ_JOBS:-2}" "$@"
