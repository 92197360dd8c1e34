#!/usr/bin/env bash
# Builds SMQ's libFuzzer targets (fuzz/) with clang-22, AddressSanitizer and
# UBSan into build-fuzz/, makes their seed corpora from the repo's test data,
# replays every input under fuzz/regressions/ (each once a crash), then
# fuzzes each target for SECONDS (default 60) with a fixed seed.
#
#   bash scripts/fuzz.sh [SECONDS] [TARGET...]
#
# TARGET: onnx-import, tensor-readers, statistics, aot-weights (default:
# all). Seeds and the AOT library come from SMQ's tools in build/ (made by
# scripts/build.sh), so run that first. A crash, leak, timeout or
# sanitizer report fails the run; the input that caused it is kept in
# build-fuzz/crashes/, and `build-fuzz/bin/smq-fuzz-TARGET FILE` replays
# it. Add it to fuzz/regressions/TARGET/ once it is fixed.
#
# -seed=1 fixes the mutations' random choices, but what a run covers in a
# given time depends on the machine's speed. SMQ_FUZZ_RUNS=N runs N inputs
# per target instead of SECONDS: scripts/test.sh (and so CI) runs that way.
# The statistics reader's runs are then the same everywhere; where
# coverage feedback depends on memory addresses (MLIR and protobuf hash
# pointers), the inputs of two runs can part ways after a few thousand.
# Any failing input is kept, so a failure always replays.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_FUZZ_BUILD_DIR:-$root/build-fuzz}"
tools="${SMQ_BUILD_DIR:-$root/build}/bin"
seconds="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] ||
  targets=(onnx-import tensor-readers statistics aot-weights)

if ! command -v clang++-22 >/dev/null; then
  echo "fuzz: clang++-22 is missing (apt-get install clang-22" \
       "libclang-rt-22-dev, or bash scripts/setup.sh)" >&2
  exit 1
fi
for t in smq-translate smq-calibrate smq-compile; do
  if [ ! -x "$tools/$t" ]; then
    echo "fuzz: $tools/$t is missing; run bash scripts/build.sh first" >&2
    exit 1
  fi
done

if [ ! -f "$build/build.ninja" ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -gline-tables-only" \
    -DCMAKE_C_FLAGS="-O1 -gline-tables-only" -DSMQ_FUZZ=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
ninja -C "$build" -j "${SMQ_JOBS:-2}" smq-fuzzers

# Seeds: the repo's test models and tensors (make_seeds.py), statistics
# files of every kind and a small AOT model from SMQ's own tools.
work="$build/fuzz-work"
rm -rf "$work"
mkdir -p "$work/seeds/statistics" "$work/seeds/aot-weights" "$build/crashes"
python3=/usr/bin/python3
"$python3" "$root/fuzz/make_seeds.py" "$work/seeds"
model="$root/test/tools/Inputs/onehot-linear.onnxtxt"
"$python3" -c "import numpy as np; np.save('$work/ids.npy', np.array([[0, 1, 1, 2], [3, 3, 3, 3]], dtype=np.int64))"
for mode in full diag windows; do
  "$tools/smq-calibrate" "$model" --tokens "$work/ids.npy" --seq-len 4 \
    --stats "$mode" -o "$work/seeds/statistics/$mode.stats" --quiet
done
"$tools/smq-calibrate" "$model" --tokens "$work/ids.npy" --seq-len 4 \
  --holdout 2 -o "$work/seeds/statistics/holdout.stats" --quiet
"$tools/smq-translate" --import-onnx "$model" --input-shape ids=1x4 \
  -o "$work/onehot.mlir"
"$tools/smq-compile" "$work/onehot.mlir" -o "$work/libonehot.so" \
  >"$work/compile.log" 2>&1 || { cat "$work/compile.log" >&2; exit 1; }
cp "$work/onehot.weights" "$work/seeds/aot-weights/"
export SMQ_FUZZ_LIBRARY="$work/libonehot.so"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1}"

status=0
for t in "${targets[@]}"; do
  bin="$build/bin/smq-fuzz-$t"
  if [ ! -x "$bin" ]; then
    echo "fuzz: no target '$t'" >&2
    exit 2
  fi
  log="$build/fuzz-$t.log"
  regressions=("$root/fuzz/regressions/$t"/*)
  if [ -e "${regressions[0]}" ] &&
     ! "$bin" "${regressions[@]}" >"$log" 2>&1; then
    echo "fuzz: $t FAILED on a regression input; its log:" >&2
    tail -40 "$log" >&2
    status=1
    continue
  fi
  export SMQ_FUZZ_DIR="$work/files-$t"
  corpus="$work/corpus-$t"
  cp -r "$work/seeds/$t" "$corpus"
  limit=(-max_total_time="$seconds")
  [ -z "${SMQ_FUZZ_RUNS:-}" ] || limit=(-runs="$SMQ_FUZZ_RUNS")
  if "$bin" -seed=1 "${limit[@]}" -rss_limit_mb=2048 -timeout=20 \
       -print_final_stats=1 -artifact_prefix="$build/crashes/$t-" \
       "$corpus" >"$log" 2>&1; then
    runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
    echo "fuzz: $t clean: $runs inputs, $(ls "$corpus" | wc -l) in the" \
         "corpus from $(ls "$work/seeds/$t" | wc -l) seeds;" \
         "$(ls "$root/fuzz/regressions/$t" 2>/dev/null | wc -l) regression" \
         "inputs replayed"
  else
    echo "fuzz: $t FAILED; the end of its log ($log):" >&2
    tail -40 "$log" >&2
    status=1
  fi
done
exit "$status"
