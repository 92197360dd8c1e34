#!/usr/bin/env bash
# The main job on the bundled model: import the shared byte-level GPT into
# the smq dialect with a static input shape, verify the IR, and show what it
# holds and what the import cost.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh" >/dev/null
build="${SMQ_BUILD_DIR:-$root/build}"
model="${1:-$root/../shared/models/gpt-byte/model.onnx}"
out="$build/demo"
mkdir -p "$out"

echo "== import $model"
/usr/bin/time -f "wall %e s, peak RSS %M KB" \
  "$build/bin/smq-translate" --import-onnx "$model" \
  --input-shape input_ids=1x128 --report-time -o "$out/gpt-byte.mlir" 2>&1
echo "== verify and count ops ($out/gpt-byte.mlir)"
"$build/bin/smq-opt" "$out/gpt-byte.mlir" --print-op-stats -o /dev/null 2>&1 |
  sed -n '/smq\./p;/func\./p'
echo "== first ops of the entry function"
grep -v 'smq.constant' "$out/gpt-byte.mlir" | sed -n '2,8p' | cut -c1-160
