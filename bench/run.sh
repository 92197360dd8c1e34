#!/usr/bin/env bash
# SMQ against ONNX Runtime 1.30 (CPU), measured in the same run.
#
#   bash bench/run.sh [--quick]
#
# Float: forward passes of the bundled GPT at 1x128 and 1x1 tokens, and of a
# synthetic decoder (d=1024, 8 layers, ff=4096; --quick skips it), at 1 and
# 2 threads, on every CPU level this machine has (SMQ_CPU_ISA; the decoder
# on avx2 and the best level only); prints median ms per pass, the ratio
# SMQ/ORT (< 1: SMQ is faster), SMQ's compile time, and checks that the two
# agree.
# Quantized: the same models with every MatMul weight quantized by SMQ (rtn;
# W4, W3 and W2, groups of 64 and 128), 1 thread, avx2 and the best level,
# against SMQ float and ORT float in the same run.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
source "$root/bench/onnx-python.sh"
bash "$root/scripts/build.sh" >/dev/null
bash "$root/scripts/install-ort.sh" "$build/ort"
work="$build/bench"
mkdir -p "$work"
reps=${SMQ_BENCH_REPS:-50}
# Compile times are of real compiles, not of the compile cache.
export SMQ_CACHE=off
quick=${1:-}

python3 "$root/bench/write_tokens.py" "$work/tok128.npy" 128
python3 "$root/bench/write_tokens.py" "$work/tok1.npy" 1

median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
compile_ms() { sed -n 's/^compile \([0-9.]*\) ms.*/\1/p'; }
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }

source "$root/bench/cpu-levels.sh"

ort_ms() { # model tokens threads reps
  (cd "$build/ort" && node "$shared/tools/ort-run.mjs" "$1" "input_ids=$2" \
     --out "$work/ort-out" --bench "$4" --threads "$3") | median
}

row() { # name model tokens threads reps level
  local name=$1 model=$2 tokens=$3 threads=$4 n=$5 level=$6
  local smq ort
  rm -rf "$work/smq-out" "$work/ort-out"
  smq=$(SMQ_CPU_ISA=$level "$build/bin/smq-run" "$model" --input "input_ids=$tokens" \
        --output-dir "$work/smq-out" --bench "$n" --threads "$threads")
  ort=$(ort_ms "$model" "$tokens" "$threads" "$n")
  local s c agree
  s=$(echo "$smq" | median); c=$(echo "$smq" | compile_ms)
  agree=$(for f in "$work"/smq-out/*.npy; do
    python3 "$root/test/e2e/compare_npy.py" "$f" "$work/ort-out/$(basename "$f")" \
      --atol 1e-3 --rtol 1e-3 | sed 's/ over.*//'; done)
  printf "%-26s %-11s %7s %10s %10s %7s %10s   %s\n" "$name" "$level" "$threads" \
    "$s" "$ort" "$(ratio "$s" "$ort")" "$c" "$agree"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); levels: ${levels[*]}; $(date -u +%F)"
echo "== float"
printf "%-26s %-11s %7s %10s %10s %7s %10s   %s\n" "model" "level" "threads" \
  "SMQ ms" "ORT ms" "SMQ/ORT" "compile ms" "agreement"
for level in "${levels[@]}"; do
  for t in 1 2; do
    row "gpt-byte 1x128" "$shared/models/gpt-byte/model.onnx" "$work/tok128.npy" $t "$reps" "$level"
    row "gpt-byte 1x1" "$shared/models/gpt-byte/model.onnx" "$work/tok1.npy" $t "$((reps * 4))" "$level"
  done
done
if [ "$quick" != "--quick" ]; then
  py=$(onnx_python)
  [ -f "$work/decoder/model.onnx" ] ||
    "$py" "$root/bench/make_decoder.py" "$work/decoder" >/dev/null
  [ -f "$work/decoder1/model.onnx" ] ||
    "$py" "$root/bench/make_decoder.py" "$work/decoder1" --seq 1 >/dev/null
  for level in "${main_levels[@]}"; do
    for t in 1 2; do
      row "decoder d1024 L8 1x128" "$work/decoder/model.onnx" "$work/tok128.npy" $t 10 "$level"
      row "decoder d1024 L8 1x1" "$work/decoder1/model.onnx" "$work/tok1.npy" $t 50 "$level"
    done
  done
fi

# Quantized: SMQ W{4,3,2} g{64,128} against SMQ float and ORT float.
qrow() { # name onnx tokens shape reps
  local name=$1 onnx=$2 tokens=$3 shape=$4 n=$5
  local f="$work/q/$name-$shape.mlir"
  mkdir -p "$work/q"
  "$build/bin/smq-translate" --import-onnx "$onnx" --input-shape "input_ids=$shape" -o "$f"
  local ort
  ort=$(ort_ms "$onnx" "$tokens" 1 "$n")
  for level in "${main_levels[@]}"; do
    local fl
    fl=$(SMQ_CPU_ISA=$level "$build/bin/smq-run" "$f" --input "input_ids=$tokens" \
           --bench "$n" | median)
    for bits in 4 3 2; do
      for g in 64 128; do
        local q="$work/q/$name-$shape-w$bits-g$g.mlir"
        [ -f "$q" ] || "$build/bin/smq-opt" "$f" -o "$q" \
          --smq-quantize-weights="method=rtn bits=$bits group-size=$g quiet=true"
        local qm
        qm=$(SMQ_CPU_ISA=$level "$build/bin/smq-run" "$q" --input "input_ids=$tokens" \
               --bench "$n" | median)
        printf "%-14s %-7s %-11s W%s g%-4s %9s %9s %9s %8s %8s\n" "$name" "$shape" \
          "$level" "$bits" "$g" "$qm" "$fl" "$ort" "$(ratio "$qm" "$fl")" \
          "$(ratio "$qm" "$ort")"
      done
    done
  done
}
echo "== quantized (rtn, every MatMul weight), 1 thread, median ms"
printf "%-14s %-7s %-11s %-8s %9s %9s %9s %8s %8s\n" "model" "shape" "level" \
  "format" "SMQ q" "SMQ f32" "ORT f32" "q/f32" "q/ORT"
qrow gpt-byte "$shared/models/gpt-byte/model.onnx" "$work/tok1.npy" 1x1 "$((reps * 4))"
qrow gpt-byte "$shared/models/gpt-byte/model.onnx" "$work/tok128.npy" 1x128 "$reps"
if [ "$quick" != "--quick" ]; then
  qrow decoder "$work/decoder1/model.onnx" "$work/tok1.npy" 1x1 50
  qrow decoder "$work/decoder/model.onnx" "$work/tok128.npy" 1x128 10
fi
