#!/usr/bin/env bash
# SMQ against ONNX Runtime 1.30 (CPU), measured in the same run.
#
#   bash bench/run.sh [--quick]
#
# Forward passes of the bundled GPT at 1x128 and 1x1 tokens, and of a
# synthetic decoder (d=1024, 8 layers, ff=4096; --quick skips it), at 1 and
# 2 threads; prints median ms per pass and the ratio SMQ/ORT (< 1: SMQ is
# faster), plus SMQ's compile time. Also checks the two agree.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
bash "$root/scripts/build.sh" >/dev/null
bash "$root/scripts/install-ort.sh" "$build/ort"
work="$build/bench"
mkdir -p "$work"
reps=${SMQ_BENCH_REPS:-50}
# Compile times are of real compiles, not of the compile cache.
export SMQ_CACHE=off

python3 "$root/bench/write_tokens.py" "$work/tok128.npy" 128
python3 "$root/bench/write_tokens.py" "$work/tok1.npy" 1

median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
compile_ms() { sed -n 's/^compile \([0-9.]*\) ms.*/\1/p'; }

row() { # name model tokens threads reps
  local name=$1 model=$2 tokens=$3 threads=$4 n=$5
  local smq ort
  rm -rf "$work/smq-out" "$work/ort-out"
  smq=$("$build/bin/smq-run" "$model" --input "input_ids=$tokens" \
        --output-dir "$work/smq-out" --bench "$n" --threads "$threads")
  ort=$(cd "$build/ort" && node "$shared/tools/ort-run.mjs" "$model" \
        "input_ids=$tokens" --out "$work/ort-out" --bench "$n" --threads "$threads")
  local s o c
  s=$(echo "$smq" | median); o=$(echo "$ort" | median); c=$(echo "$smq" | compile_ms)
  local agree
  agree=$(for f in "$work"/smq-out/*.npy; do
    python3 "$root/test/e2e/compare_npy.py" "$f" "$work/ort-out/$(basename "$f")" \
      --atol 1e-3 --rtol 1e-3 | sed 's/ over.*//'; done)
  printf "%-28s %7s %10s %10s %7s %10s   %s\n" "$name" "$threads" "$s" "$o" \
    "$(python3 -c "print('%.2f' % ($s / $o))")" "$c" "$agree"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%F)"
printf "%-28s %7s %10s %10s %7s %10s   %s\n" "model" "threads" "SMQ ms" "ORT ms" \
  "SMQ/ORT" "compile ms" "agreement"
for t in 1 2; do
  row "gpt-byte 1x128" "$shared/models/gpt-byte/model.onnx" "$work/tok128.npy" $t "$reps"
  row "gpt-byte 1x1" "$shared/models/gpt-byte/model.onnx" "$work/tok1.npy" $t "$((reps * 4))"
done
if [ "${1:-}" != "--quick" ]; then
  [ -f "$work/decoder/model.onnx" ] ||
    python3 "$root/bench/make_decoder.py" "$work/decoder" >/dev/null
  for t in 1 2; do
    row "decoder d1024 L8 1x128" "$work/decoder/model.onnx" "$work/tok128.npy" $t 10
  done
fi
