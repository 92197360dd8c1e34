#!/usr/bin/env bash
# Text generation with a KV cache: smq-generate against ONNX Runtime 1.30
# driven step by step from Node (test/e2e/ort_generate.mjs, a cache that
# grows by one position per token), on the shared GPT with a KV cache.
# Greedy, the 32-byte reference prompt, 96 new tokens (context 128, the
# model's positions); median of 5 runs of prompt and decode tokens/s.
# SMQ float and W4/W3/W2 (rtn, g64) on avx2 and the best level, ORT float and
# ORT on SMQ's MatMulNBits export of W4/W2 (accuracy level 4); 1 and 2 threads.
#
# Then a synthetic KV decoder of about 100M parameters in ONNX Runtime
# GenAI's contract (bench/make_decoder.py --kv: d 768, 16 layers, ff 3072,
# 12 query heads on 4 kv heads, GroupQueryAttention with rotary), where the
# weights, not per-op overhead, set a decode step's time: a 64-byte prompt,
# 128 new tokens, a context of 256, 1 thread, median of 3 runs. SMQ f32
# and rtn g128 W4/W3/W2; ORT f32, and ORT on SMQ's MatMulNBits export of
# W4 and W2 (accuracy level 4), each checked to give SMQ's greedy bytes.
# Decode GB/s is the weight bytes (the ONNX data file) times tokens/s, also
# as a share of one thread's copy bandwidth (smq-bench-qmatmul).
#
#   bash bench/generate.sh [--gpt-only | --decoder-only]
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
for b in 4 3 2; do
  "$build/bin/smq-opt" "$work/kv.mlir" -o "$work/kv-w$b.mlir" \
    --smq-quantize-weights="bits=$b group-size=64 method=rtn quiet=true"
  # ORT on the same codes: MatMulNBits (accuracy level 4); no 3-bit form.
  [ $b = 3 ] || "$build/bin/smq-translate" --export-onnx "$work/kv-w$b.mlir" \
    -o "$work/kv-w$b.onnx" --accuracy-level 4
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
if [ "${1:-}" != --decoder-only ]; then
printf "%-10s %-11s %7s %14s %14s\n" model level threads "prompt tok/s" "decode tok/s"
for threads in 1 2; do
  for m in f32 w4 w2; do
    model="$kv/model.onnx"
    [ "$m" != f32 ] && model="$work/kv-$m.onnx"
    ort=$(for i in $(seq $runs); do
            NODE_PATH="$build/ort/node_modules" node "$root/test/e2e/ort_generate.mjs" \
              "$model" "$prompt" 96 --threads "$threads" 2>&1 >/dev/null
          done | medians)
    printf "%-10s %-11s %7s %14s %14s\n" "ORT $m" "(its own)" "$threads" $ort
  done
  for level in "${main_levels[@]}"; do
    for m in f32 w4 w3 w2; do
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
fi
[ "${1:-}" = --gpt-only ] && exit 0

# The synthetic KV decoder.
dec="$work/decoder-kv"
if [ ! -f "$dec/m/model.onnx" ]; then
  /usr/bin/python3 "$root/bench/make_decoder.py" "$dec/m" --kv --d 768 --layers 16 \
    --ff 3072 --heads 12 --kv-heads 4 --positions 1024
fi
"$build/bin/smq-translate" --import-onnx "$dec/m/model.onnx" -o "$dec/f32.mlirbc"
for b in 4 3 2; do
  "$build/bin/smq-opt" "$dec/f32.mlirbc" -o "$dec/w$b.mlirbc" \
    --smq-quantize-weights="bits=$b group-size=128 method=rtn quiet=true"
  [ $b = 3 ] && continue # ONNX has no 3-bit MatMulNBits
  "$build/bin/smq-translate" --export-onnx "$dec/w$b.mlirbc" -o "$dec/w$b.onnx" \
    --external-data always --accuracy-level 4
done
# W3's bytes: halfway between W2's and W4's (codes and zero points grow
# linearly with the bits; scales and float weights are the same).
w3bytes=$(( ($(stat -c %s "$dec/w2.onnx.data") + $(stat -c %s "$dec/w4.onnx.data")) / 2 ))
head -c 64 "$shared/models/gpt-byte/valid.txt" > "$dec/prompt.txt"
copy=$("$build/bin/smq-bench-qmatmul" --copy-bandwidth)
gen=(--prompt-file "$dec/prompt.txt" --byte-tokens --max-new-tokens 128 --max-context 256)
# "name tok/s_prompt tok/s_decode bytes" -> a row with GB/s and % of copy.
drow() {
  python3 -c "
import sys
name, level, p, d, b = sys.argv[1:6]
gbs = float(d) * int(b) / 1e9
print('%-9s %-11s %10s %10s %9.1f %8.1f %6.0f%%' % (name, level, p, d, int(b) / 1e6, gbs, 100 * gbs / float(sys.argv[6])))
" "$@" "$copy"
}
echo
echo "synthetic KV decoder, $(python3 -c "print('%.1fM' % ($(stat -c %s "$dec/m/model.onnx.data") / 4e6))") parameters; copy bandwidth $copy GB/s (1 thread)"
printf "%-9s %-11s %10s %10s %9s %8s %7s\n" model level "prompt/s" "decode/s" "MB" "GB/s" "% copy"
for m in f32 w4 w2; do
  model="$dec/m/model.onnx" data="$dec/m/model.onnx.data"
  [ "$m" != f32 ] && model="$dec/$m.onnx" data="$dec/$m.onnx.data"
  ort=$(for i in 1 2 3; do
          NODE_PATH="$build/ort/node_modules" node "$root/test/e2e/ort_generate.mjs" \
            "$model" "$dec/prompt.txt" 128 2>&1 >"$dec/ort-$m.bin"
        done | medians)
  drow "ORT $m" "(its own)" $ort "$(stat -c %s "$data")"
done
for level in "${main_levels[@]}"; do
  for m in f32 w4 w3 w2; do
    model="$dec/$m.mlirbc" data="$dec/$m.onnx.data"
    [ "$m" = f32 ] && data="$dec/m/model.onnx.data"
    bytes=$w3bytes
    [ "$m" != w3 ] && bytes=$(stat -c %s "$data")
    SMQ_CPU_ISA=$level "$build/bin/smq-generate" "$model" "${gen[@]}" >"$dec/smq-$m.bin" 2>/dev/null
    if [ -f "$dec/ort-$m.bin" ] && ! cmp -s "$dec/ort-$m.bin" "$dec/smq-$m.bin"; then
      echo "note: SMQ $m ($level) and ORT greedy bytes differ" >&2
    fi
    smq=$(for i in 1 2 3; do
            SMQ_CPU_ISA=$level "$build/bin/smq-generate" "$model" "${gen[@]}" 2>&1 >/dev/null
          done | medians)
    drow "SMQ $m" "$level" $smq "$bytes"
  done
done
