#!/usr/bin/env bash
# The main job on the bundled model: import the shared byte-level GPT into
# the smq dialect, compile it for this CPU and run it, and score it.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh" >/dev/null
build="${SMQ_BUILD_DIR:-$root/build}"
models="${SMQ_SHARED_DIR:-$root/../shared}/models/gpt-byte"
model="${1:-$models/model.onnx}"
out="$build/demo"
mkdir -p "$out"

echo "== import $model"
/usr/bin/time -f "wall %e s, peak RSS %M KB" \
  "$build/bin/smq-translate" --import-onnx "$model" \
  --input-shape input_ids=1x128 --report-time -o "$out/gpt-byte.mlir" 2>&1
echo "== verify and count ops ($out/gpt-byte.mlir)"
"$build/bin/smq-opt" "$out/gpt-byte.mlir" --print-op-stats -o /dev/null 2>&1 |
  sed -n '/smq\./p'
echo "== compile and run on sample_input_ids.npy (1x128), 2 threads"
"$build/bin/smq-run" "$model" --input "input_ids=$models/sample_input_ids.npy" \
  --output-dir "$out" --bench 20 --threads 2
python3 "$root/test/e2e/compare_npy.py" "$out/logits.npy" \
  "$models/sample_logits.npy" --atol 1e-3 | sed 's/^/logits vs PyTorch: /'
echo "== perplexity on the first 16 KiB of valid.txt"
"$build/bin/smq-eval" "$model" --text "$models/valid.txt" --byte-tokens \
  --seq-len 128 --max-tokens 16384 --threads 2
