#!/usr/bin/env bash
# Text generation with a KV cache: smq-generate against ONNX Runtime 1.30
# driven step by step from Node (test/e2e/ort_generate.mjs, a cache that
# grows by one position per token), on the shared GPT with a KV cache.
# Greedy, the 32-byte reference prompt, 96 new tokens (context 128, the
# model's positions); median of 5 runs of prompt and decode tokens/s.
# SMQ float and W4/W2 (rtn, g64) on avx2 and the best level; 1 and 2 threads.
#
#   bash bench/generate.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
bash "$root/scripts/build.sh" >/dev/null
bash "$root/scripts/install-ort.sh" "$build/ort"
work="$build/bench/generate"
mkdir -p "$work"
kv="$shared/models/gpt-byte-kv"
prompt="$kv/reference/prompt.txt"
runs=5

source "$root/bench/cpu-levels.sh"

"$build/bin/smq-translate" --import-onnx "$kv/model.onnx" -o "$work/kv.mlir"
for b in 4 2; do
  "$build/bin/smq-opt" "$work/kv.mlir" -o "$work/kv-w$b.mlir" \
    --smq-quantize-weights="bits=$b group-size=64 method=rtn quiet=true"
done

# "prompt: P tok/s, decode: D tok/s" lines on stdin -> "P_median D_median"
medians() {
  sed -n 's/^prompt: \([0-9.]*\) tok\/s, decode: \([0-9.]*\) tok\/s.*/\1 \2/p' |
    python3 -c "
import sys, statistics
rows = [tuple(map(float, l.split())) for l in sys.stdin]
print('%.0f %.0f' % (statistics.median(r[0] for r in rows), statistics.median(r[1] for r in rows)))"
}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%F)"
printf "%-10s %-11s %7s %14s %14s\n" model level threads "prompt tok/s" "decode tok/s"
for threads in 1 2; do
  ort=$(for i in $(seq $runs); do
          NODE_PATH="$build/ort/node_modules" node "$root/test/e2e/ort_generate.mjs" \
            "$kv/model.onnx" "$prompt" 96 --threads "$threads" 2>&1 >/dev/null
        done | medians)
  printf "%-10s %-11s %7s %14s %14s\n" "ORT f32" "(its own)" "$threads" $ort
  for level in "${main_levels[@]}"; do
    for m in f32 w4 w2; do
      model="$kv/model.onnx"
      [ "$m" != f32 ] && model="$work/kv-$m.mlir"
      # One run to fill the compile cache, then the timed ones.
      SMQ_CPU_ISA=$level "$build/bin/smq-generate" "$model" --prompt-file "$prompt" \
        --byte-tokens --max-new-tokens 96 --max-context 128 --threads "$threads" \
        >/dev/null 2>&1
      smq=$(for i in $(seq $runs); do
              SMQ_CPU_ISA=$level "$build/bin/smq-generate" "$model" --prompt-file "$prompt" \
                --byte-tokens --max-new-tokens 96 --max-context 128 --threads "$threads" \
                2>&1 >/dev/null
            done | medians)
      printf "%-10s %-11s %7s %14s %14s\n" "SMQ $m" "$level" "$threads" $smq
    done
  done
done
