#!/usr/bin/env bash
# Ahead-of-time libraries against the JIT, in the same run:
#
#   bash bench/aot.sh [--quick]
#
# For the bundled GPT (float and W4/W3/W2 g64, rtn) and the synthetic
# decoder (float and W4 g128; --quick skips it), at 1x128 tokens, 1 thread:
# smq-compile time, library and weights-file sizes, the C API's load and
# first-run times (load-to-first-result), and the median run time, against
# the JIT's compile time (no compile cache) and median run time. The
# library's generated code targets the host (--target-cpu native), as the
# JIT's does.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
source "$root/bench/onnx-python.sh"
bash "$root/scripts/build.sh" >/dev/null
ninja -C "$build" smq-bench-aot >/dev/null
work="$build/bench/aot"
mkdir -p "$work"
export SMQ_CACHE=off
python3 "$root/bench/write_tokens.py" "$work/tok128.npy" 128
python3 "$root/test/capi/Inputs/npy_raw.py" to-raw "$work/tok128.npy" "$work/tok128.raw"

median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
row() { # name mlir reps
  local name=$1 mlir=$2 reps=$3
  local t0 t1 jit aot
  t0=$(date +%s.%N)
  "$build/bin/smq-compile" "$mlir" -o "$work/lib$name.so" --target-cpu native 2>/dev/null
  t1=$(date +%s.%N)
  jit=$("$build/bin/smq-run" "$mlir" --input "input_ids=$work/tok128.npy" --bench "$reps")
  aot=$("$build/bin/smq-bench-aot" "$work/lib$name.so" "$work/$name.weights" "$work/tok128.raw" "$reps")
  printf "%-16s %9.0f %9s %10s %10s %9s %9s %9s %7s\n" "$name" \
    "$(python3 -c "print(($t1 - $t0) * 1e3)")" \
    "$(echo "$jit" | sed -n 's/^compile \([0-9.]*\) ms.*/\1/p')" \
    "$(stat -c %s "$work/lib$name.so")" "$(stat -c %s "$work/$name.weights")" \
    "$(echo "$aot" | sed -n 's/^load \([0-9.]*\) ms.*/\1/p')" \
    "$(echo "$aot" | sed -n 's/.*first \([0-9.]*\) ms.*/\1/p')" \
    "$(echo "$aot" | median)" "$(echo "$jit" | median)"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); kernels at the CPU's best level; 1 thread; $(date -u +%F)"
printf "%-16s %9s %9s %10s %10s %9s %9s %9s %7s\n" model "aot-c ms" "jit-c ms" \
  "lib bytes" "wts bytes" "load ms" "first ms" "AOT ms" "JIT ms"
"$build/bin/smq-translate" --import-onnx "$shared/models/gpt-byte/model.onnx" \
  --input-shape input_ids=1x128 -o "$work/gpt.mlir"
row gpt_f32 "$work/gpt.mlir" 100
for bits in 4 3 2; do
  "$build/bin/smq-opt" "$work/gpt.mlir" -o "$work/gpt_w$bits.mlir" \
    --smq-quantize-weights="method=rtn bits=$bits group-size=64 quiet=true"
  row "gpt_w$bits" "$work/gpt_w$bits.mlir" 100
done
if [ "${1:-}" != "--quick" ]; then
  py=$(onnx_python)
  [ -f "$build/bench/decoder/model.onnx" ] ||
    "$py" "$root/bench/make_decoder.py" "$build/bench/decoder" >/dev/null
  "$build/bin/smq-translate" --import-onnx "$build/bench/decoder/model.onnx" \
    --input-shape input_ids=1x128 -o "$work/decoder.mlir"
  row decoder_f32 "$work/decoder.mlir" 10
  "$build/bin/smq-opt" "$work/decoder.mlir" -o "$work/decoder_w4.mlir" \
    --smq-quantize-weights="method=rtn bits=4 group-size=128 quiet=true"
  row decoder_w4 "$work/decoder_w4.mlir" 10
fi
