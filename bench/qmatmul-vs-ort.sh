#!/usr/bin/env bash
# SMQ's quantized decode kernel against ONNX Runtime 1.30's MatMulNBits on
# the same shape, in the same run: Y[1, 4096] = A[1, 11008] · Ŵᵀ, W2 and W4,
# blocks of 128 and 32, one thread. ORT runs at accuracy_level 0 (f32
# activations) and 4 (int8 activations, integer dot products); SMQ with f32
# and int8 activations on every CPU level this machine has. ORT times one
# weight over and over, so SMQ is shown the same way (--hot: the weight may
# sit in the last-level cache), and cold (copies rotated past 4x the LLC).
#
#   bash bench/qmatmul-vs-ort.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
source "$root/bench/onnx-python.sh"
bash "$root/scripts/build.sh" smq-bench-qmatmul >/dev/null
py=$(onnx_python)  # after build.sh: its setup installs python3-onnx
bash "$root/scripts/install-ort.sh" "$build/ort"
work="$build/bench/matmulnbits"
mkdir -p "$work"
reps=${SMQ_BENCH_REPS:-100}

echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1); $(date -u +%F)"
echo "== ONNX Runtime MatMulNBits, N=4096 K=11008 M=1, 1 thread (median ms)"
for bits in 4 2; do
  for block in 128 32; do
    for level in 0 4; do
      d="$work/b${bits}g${block}a${level}"
      [ -f "$d/model.onnx" ] || "$py" "$root/bench/make_matmulnbits.py" "$d" \
        --n 4096 --k 11008 --bits "$bits" --block "$block" --accuracy "$level"
      ms=$(cd "$build/ort" && node "$shared/tools/ort-run.mjs" "$d/model.onnx" \
             "A=$d/A.npy" --bench "$reps" --threads 1 |
           sed -n 's/.*median \([0-9.]*\).*/\1/p')
      printf "ORT W%s g%-4s accuracy_level %s  %8s ms\n" "$bits" "$block" "$level" "$ms"
    done
  done
done
echo "== SMQ, hot"
"$build/bin/smq-bench-qmatmul" --quick --hot | grep -E "level|  1 "
echo "== SMQ, cold"
"$build/bin/smq-bench-qmatmul" --quick | grep -E "level|  1 |memcpy"
