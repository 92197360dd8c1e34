#!/usr/bin/env bash
# A synthetic decoder of about a billion parameters' class (d = 2048, 16
# layers, ff = 5632: 0.64B with a GELU MLP), weights in external data,
# calibrated and quantized to W4 g64 end to end in one process through the
# compiler C API (sequential gptq, lambda = 0, 64 windows of 128 bytes):
#
#   bash bench/scale.sh [NUM_SEQS]
#
# Prints the wall time of each step and the peak anonymous memory
# (RssAnon, so the memory-mapped f32 weights do not count) against the f32
# weight bytes; issue 13's goal is at most 25%. Takes 13-17 minutes on 2
# cores and 2.6 GB of disk under build/bench/scale.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
seqs="${1:-64}"
source "$root/bench/onnx-python.sh"
python="$(onnx_python)"
bash "$root/scripts/build.sh" >/dev/null
ninja -C "$build" smq-bench-scale >/dev/null
work="$build/bench/scale"
mkdir -p "$work/out"
if [ ! -f "$work/model/model.onnx.data" ]; then
  mkdir -p "$work/model"
  "$python" "$root/bench/make_decoder.py" "$work/model" --d 2048 --layers 16 \
    --ff 5632 --heads 16
fi
weights=$(stat -c %s "$work/model/model.onnx.data")
grep -m1 "model name" /proc/cpuinfo
result=$("$build/bin/smq-bench-scale" "$work/model/model.onnx" \
  "$shared/models/gpt-byte/calib.txt" "$seqs" "$work/out/q.onnx" \
  2>"$work/progress.log")
echo "$result"
peak=$(echo "$result" | sed -n 's/^peak RssAnon \([0-9]*\) MB/\1/p')
"$python" - "$peak" "$weights" "$(stat -c %s "$work/out/q.onnx.data")" <<'PY'
import sys
peak, weights, out = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])
print(f"f32 weights {weights / 2**20:.0f} MB; peak RssAnon {peak} MB = "
      f"{100 * peak * 2**20 / weights:.0f}% of them (goal: 25%); "
      f"W4 output {out / 2**20:.0f} MB")
PY
