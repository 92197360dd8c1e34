#!/usr/bin/env bash
# The main job on the bundled model: import the shared byte-level GPT,
# calibrate it, quantize it to 4 bits (GPTQ, groups of 64, lambda=auto),
# compile the float and the quantized model for this CPU, export the
# quantized one to ONNX for ONNX Runtime, and print them side by side:
# perplexity on valid.txt, weight bytes, ms per generated token (1x1) and
# ms per 128-token prompt.
#
#   bash scripts/demo.sh [MODEL.onnx]
#
# SMQ_DEMO_TOKENS sets how much of valid.txt is scored (default 65536, the
# model's reference setting).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh" >/dev/null
build="${SMQ_BUILD_DIR:-$root/build}"
bin="$build/bin"
models="${SMQ_SHARED_DIR:-$root/../shared}/models/gpt-byte"
model="${1:-$models/model.onnx}"
tokens="${SMQ_DEMO_TOKENS:-65536}"
out="$build/demo"
rm -rf "$out" && mkdir -p "$out"
start=$(date +%s)
step() { echo "== $* ($(($(date +%s) - start)) s)"; }

step "import $model (1x128 and 1x1)"
"$bin/smq-translate" --import-onnx "$model" --input-shape input_ids=1x128 \
  --report-time -o "$out/float-128.mlir"
"$bin/smq-translate" --import-onnx "$model" --input-shape input_ids=1x1 \
  -o "$out/float-1.mlir"

step "check: compiled logits against PyTorch's (sample_input_ids.npy)"
"$bin/smq-run" "$model" --input "input_ids=$models/sample_input_ids.npy" \
  --output-dir "$out/sample"
python3 "$root/test/e2e/compare_npy.py" "$out/sample/logits.npy" \
  "$models/sample_logits.npy" --atol 1e-3

step "calibrate on calib.txt (64 sequences of 128 bytes)"
"$bin/smq-calibrate" "$model" --text "$models/calib.txt" --byte-tokens \
  --seq-len 128 --num-seqs 64 --threads 2 --quiet -o "$out/gpt.stats"

step "quantize: W4, groups of 64, GPTQ, lambda chosen on held-out sequences"
"$bin/smq-opt" "$out/float-128.mlir" -o "$out/w4-128.mlir" \
  --smq-quantize-weights="stats=$out/gpt.stats bits=4 group-size=64 method=gptq report=$out/report.json quiet=true"
lambda=$(python3 -c "import json; print(json.load(open('$out/report.json'))['lambda']['picked'])")
echo "lambda=auto picked $lambda"

step "export W4 for ONNX Runtime (MatMulNBits, same codes and scales)"
"$bin/smq-translate" --export-onnx "$out/w4-128.mlir" -o "$out/w4.onnx"
echo "$out/w4.onnx: $(stat -c %s "$out/w4.onnx") bytes (float: $(stat -c %s "$model") bytes)"
# The same weights for one token at a time: the export imported at 1x1.
# (Quantizing float-1.mlir instead cannot replay 128-byte calibration
# windows through a one-token model.)
"$bin/smq-translate" --import-onnx "$out/w4.onnx" --input-shape input_ids=1x1 \
  -o "$out/w4-1.mlir"

step "score both on the first $tokens bytes of valid.txt"
"$bin/smq-eval" "$out/w4-128.mlir" --text "$models/valid.txt" --byte-tokens \
  --max-tokens "$tokens" --threads 2 --reference "$out/float-128.mlir" \
  --json "$out/eval.json" >/dev/null

step "time both (1 thread): one token, and a 128-token prompt"
python3 "$root/bench/write_tokens.py" "$out/tok1.npy" 1
for m in float w4; do
  "$bin/smq-run" "$out/$m-1.mlir" --input "input_ids=$out/tok1.npy" \
    --bench 400 >"$out/$m-1.time"
  "$bin/smq-run" "$out/$m-128.mlir" \
    --input "input_ids=$models/sample_input_ids.npy" --bench 40 >"$out/$m-128.time"
done

step "float against W4"
python3 - "$out" <<'EOF'
import json, re, sys
out = sys.argv[1]

def weight_bytes(path):
    # The weights are the module's resource blobs (4 bytes of alignment, then
    # the data).
    text = open(path).read()
    blobs = re.findall(r'^\s+[\w.\-]+: "0x([0-9A-Fa-f]+)"', text, re.M)
    return sum(len(h) // 2 - 4 for h in blobs)

def median_ms(path):
    return float(re.search(r"median ([0-9.]+)", open(path).read()).group(1))

def level(path):
    return re.search(r"cpu (\w+)", open(path).read()).group(1)

e = json.load(open(f"{out}/eval.json"))
rows = [
    ("perplexity (valid.txt)", f"{e['reference_perplexity']:.4f}",
     f"{e['perplexity']:.4f}"),
    ("weight bytes", f"{weight_bytes(out + '/float-128.mlir'):,}",
     f"{weight_bytes(out + '/w4-128.mlir'):,}"),
    ("ms per token (1x1)", f"{median_ms(out + '/float-1.time'):.3f}",
     f"{median_ms(out + '/w4-1.time'):.3f}"),
    ("ms per 128-token prompt", f"{median_ms(out + '/float-128.time'):.2f}",
     f"{median_ms(out + '/w4-128.time'):.2f}"),
]
print(f"{'':26} {'float':>12} {'W4 g64':>12}")
for name, f, q in rows:
    print(f"{name:26} {f:>12} {q:>12}")
print(f"KL(float || W4) {e['kl']:.4f} nats, top-1 agreement "
      f"{100 * e['top1_agreement']:.1f}%; CPU level {level(out + '/w4-1.time')}")
EOF
step "done"
