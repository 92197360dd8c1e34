#!/usr/bin/env bash
# SMQ on its quantized model against ONNX Runtime 1.30 on the same model
# exported by `smq-translate --export-onnx` (com.microsoft::MatMulNBits with
# SMQ's codes, scales and zero points), measured in the same run.
#
#   bash bench/export-vs-ort.sh [--quick]
#
# The bundled GPT (groups of 64) and the synthetic decoder (d=1024, 8
# layers, ff=4096, groups of 128; --quick skips it), every MatMul weight
# quantized with rtn at W4 and W2, at 1x1 and 1x128 tokens, 1 thread, the
# CPU's best level. ORT runs the export at accuracy_level 0 (f32
# activations) and 4 (int8 activations). SMQ decodes (1x1) with f32
# activations (exact, as ORT's level 0) and int8 ones (its default, as
# level 4); prompts use f32 activations. Prints median ms, the ratios, and
# the largest difference between SMQ's and ORT's level-0 outputs.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
source "$root/bench/onnx-python.sh"
bash "$root/scripts/build.sh" >/dev/null
bash "$root/scripts/install-ort.sh" "$build/ort"
work="$build/bench/export"
mkdir -p "$work"
reps=${SMQ_BENCH_REPS:-50}
quick=${1:-}

python3 "$root/bench/write_tokens.py" "$work/tok128.npy" 128
python3 "$root/bench/write_tokens.py" "$work/tok1.npy" 1
median() { sed -n 's/.*median \([0-9.]*\).*/\1/p'; }
ratio() { python3 -c "print('%.2f' % ($1 / $2))"; }
ort_ms() { # model tokens reps
  (cd "$build/ort" && node "$shared/tools/ort-run.mjs" "$1" "input_ids=$2" \
     --out "$work/ort-out" --bench "$3" --threads 1) | median
}
smq_ms() { # model tokens reps activations
  "$build/bin/smq-run" "$1" --input "input_ids=$2" --output-dir "$work/smq-out" \
    --bench "$3" --quantized-activations "$4" | median
}

row() { # name onnx tokens shape group reps
  local name=$1 onnx=$2 tokens=$3 shape=$4 g=$5 n=$6
  local f="$work/$name-$shape.mlir"
  "$build/bin/smq-translate" --import-onnx "$onnx" --input-shape "input_ids=$shape" -o "$f"
  for bits in 4 2; do
    local q="$work/$name-$shape-w$bits.mlir"
    "$build/bin/smq-opt" "$f" -o "$q" \
      --smq-quantize-weights="method=rtn bits=$bits group-size=$g quiet=true"
    "$build/bin/smq-translate" --export-onnx "$q" -o "$work/$name-$shape-w$bits-l0.onnx" \
      --external-data always
    "$build/bin/smq-translate" --export-onnx "$q" -o "$work/$name-$shape-w$bits-l4.onnx" \
      --external-data always --accuracy-level 4
    local s32 s8 o0 o4 diff
    s32=$(smq_ms "$q" "$tokens" "$n" f32)
    s8=-
    [ "$shape" = 1x1 ] && s8=$(smq_ms "$q" "$tokens" "$n" int8)
    o4=$(ort_ms "$work/$name-$shape-w$bits-l4.onnx" "$tokens" "$n")
    o0=$(ort_ms "$work/$name-$shape-w$bits-l0.onnx" "$tokens" "$n")
    # Agreement: SMQ with f32 activations against ORT's level 0, output by
    # output.
    rm -rf "$work/smq-out" "$work/ort-out"
    smq_ms "$q" "$tokens" 1 f32 >/dev/null
    ort_ms "$work/$name-$shape-w$bits-l0.onnx" "$tokens" 1 >/dev/null
    diff=$(for out in "$work"/smq-out/*.npy; do
      python3 "$root/test/e2e/compare_npy.py" "$out" "$work/ort-out/$(basename "$out")" \
        --atol 1e-3 | sed -n 's/max |actual - expected| = \([^ ]*\).*/\1/p'; done)
    local best=$s32 r8=-
    [ "$s8" != - ] && { best=$(python3 -c "print(min($s32, $s8))"); r8=$(ratio "$s8" "$o4"); }
    printf "%-9s %-6s W%s g%-4s %9s %9s %9s %9s %9s %9s %9s %9s\n" "$name" "$shape" \
      "$bits" "$g" "$s32" "$s8" "$o0" "$o4" "$(ratio "$s32" "$o0")" "$r8" \
      "$(ratio "$best" "$(python3 -c "print(min($o0, $o4))")")" "$diff"
  done
}

level=$("$build/bin/smq-run" "$shared/models/gpt-byte/model.onnx" \
  --input "input_ids=$work/tok1.npy" --bench 1 | sed -n 's/.*cpu \([a-z0-9]*\)).*/\1/p')
echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); SMQ level: $level; $(date -u +%F)"
echo "1 thread, median ms; SMQ on its quantized module, ORT on the exported MatMulNBits model"
printf "%-9s %-6s %-7s %9s %9s %9s %9s %9s %9s %9s %9s\n" model shape format \
  "SMQ f32a" "SMQ int8a" "ORT L0" "ORT L4" "f32a/L0" "int8a/L4" "best/best" "max|diff|"
row gpt "$shared/models/gpt-byte/model.onnx" "$work/tok1.npy" 1x1 64 "$((reps * 4))"
row gpt "$shared/models/gpt-byte/model.onnx" "$work/tok128.npy" 1x128 64 "$reps"
if [ "$quick" != "--quick" ]; then
  py=$(onnx_python)
  dec="$build/bench"
  [ -f "$dec/decoder/model.onnx" ] ||
    "$py" "$root/bench/make_decoder.py" "$dec/decoder" >/dev/null
  [ -f "$dec/decoder1/model.onnx" ] ||
    "$py" "$root/bench/make_decoder.py" "$dec/decoder1" --seq 1 >/dev/null
  row decoder "$dec/decoder1/model.onnx" "$work/tok1.npy" 1x1 128 50
  row decoder "$dec/decoder/model.onnx" "$work/tok128.npy" 1x128 128 10
fi
