#!/usr/bin/env bash
# On a machine with an NVIDIA GPU and its driver: build, run the CUDA test
# subset (test/e2e/gpu-cuda.test and the GPU pipeline's FileCheck tests),
# then the GPU benchmarks. CI never runs this (docs/Gpu.md).
#
#   bash scripts/gpu-cuda.sh            PEAK_GBPS=4800 bash scripts/gpu-cuda.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
if ! python3 -c 'import ctypes; ctypes.CDLL("libcuda.so.1")' 2>/dev/null; then
  echo "gpu-cuda: no CUDA driver (libcuda.so.1) on this machine" >&2
  exit 1
fi
bash "$root/scripts/build.sh"
lit="$(command -v lit || echo /usr/lib/llvm-22/bin/lit)"
"$lit" -v "$build/test/e2e/gpu-cuda.test" "$build/test/Conversion/Pipelines/gpu-pipeline.mlir" \
  "$build/test/Conversion/Gpu"
bash "$root/bench/gpu.sh" cuda
