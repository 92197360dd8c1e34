#!/usr/bin/env bash
# GPU timings through a device backend (docs/Gpu.md): the bundled GPT's
# forward pass (128 tokens) in float and at W4, and a quantized decode GEMV
# (Y[1, 4096] = A[1, 11008] · Ŵᵀ, W4 and W2, blocks of 128, ONNX Runtime's
# MatMulNBits imported) reported as GB/s of codes and scales read, against
# the device's bandwidth when PEAK_GBPS is given. On lavapipe (Mesa's Vulkan
# on the CPU) the numbers are a functional check only, not GPU speed.
#
#   bash bench/gpu.sh [vulkan|cuda]        PEAK_GBPS=4800 bash bench/gpu.sh cuda
set -euo pipefail
device="${1:-vulkan}"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
source "$root/bench/onnx-python.sh"
bash "$root/scripts/build.sh" smq-run smq-translate smq-calibrate smq-opt >/dev/null
py=$(onnx_python)
work="$build/bench/gpu"
mkdir -p "$work"
reps=${SMQ_BENCH_REPS:-20}
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%F)"
if command -v nvidia-smi >/dev/null; then
  echo "gpu: $(nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader | head -1)"
fi

m="$shared/models/gpt-byte"
[ -f "$work/w4.mlir" ] || {
  "$build/bin/smq-translate" --import-onnx "$m/model.onnx" --input-shape input_ids=1x128 -o "$work/f.mlir"
  "$build/bin/smq-calibrate" "$m/model.onnx" --text "$m/calib.txt" --byte-tokens --seq-len 128 --num-seqs 16 -o "$work/s.stats" --quiet
  "$build/bin/smq-opt" "$work/f.mlir" --smq-quantize-weights="stats=$work/s.stats bits=4 group-size=64 method=rtn lambda=0 quiet=true" -o "$work/w4.mlir"
}
echo "== GPT forward, 128 tokens ($device; CPU for comparison)"
for model in "$m/model.onnx" "$work/w4.mlir"; do
  for d in "$device" cpu; do
    line=$("$build/bin/smq-run" "$model" --input input_ids="$m/sample_input_ids.npy" --device "$d" --bench "$reps")
    printf "%-10s %-7s %s\n" "$(basename "$model")" "$d" "$line"
  done
done

echo "== quantized decode GEMV, N=4096 K=11008 M=1"
for bits in 4 2; do
  d="$work/gemv-w$bits"
  [ -f "$d/model.onnx" ] || "$py" "$root/bench/make_matmulnbits.py" "$d" \
    --n 4096 --k 11008 --bits "$bits" --block 128 --accuracy 0
  ms=$("$build/bin/smq-run" "$d/model.onnx" --input "A=$d/A.npy" --device "$device" --bench "$reps" |
       sed -n 's/.*median \([0-9.]*\).*/\1/p')
  bytes=$(( 4096 * 11008 * bits / 8 + 4096 * (11008 / 128) * 4 ))
  gbps=$(awk -v b="$bytes" -v ms="$ms" 'BEGIN { printf "%.1f", b / (ms * 1e6) }')
  peak=""
  [ -n "${PEAK_GBPS:-}" ] && peak=$(awk -v g="$gbps" -v p="$PEAK_GBPS" 'BEGIN { printf " (%.1f%% of %s GB/s)", 100 * g / p, p }')
  echo "W$bits g128: $ms ms per call (median; includes staging A and Y), $gbps GB/s of codes and scales$peak"
done
