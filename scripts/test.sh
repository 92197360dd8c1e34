#!/usr/bin/env bash
# Sets up, builds, and runs the whole test suite (lit: FileCheck tests,
# ONNX conformance, robustness, end to end, and the gtest unit tests), then
# the libFuzzer targets for SMQ_FUZZ_RUNS inputs each (30,000 by default;
# 0 skips them), after replaying every input that once crashed one, and the
# unit tests under ASan and UBSan in the fuzzers' clang tree; with
# SMQ_SANITIZE=1, then the unit tests under ASan and UBSan too.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$root/scripts/build.sh"
build="${SMQ_BUILD_DIR:-$root/build}"
# ONNX Runtime is a second oracle; without it those tests report UNSUPPORTED.
bash "$root/scripts/install-ort.sh" "$build/ort" ||
  echo "test: continuing without ONNX Runtime" >&2
# Compiled models are cached inside the build folder, never in ~/.cache.
export SMQ_CACHE_DIR="$build/test-cache"
log="$build/test-results.txt"
set +e
/usr/lib/llvm-22/bin/lit -sv "$build/test" "$build/test/Unit" "$@" 2>&1 | tee "$log"
status=${PIPESTATUS[0]}
set -e
passed=$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
failed=$(sed -n 's/^ *Failed *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
skipped=$(sed -n 's/^ *Unsupported *: *\([0-9]*\).*/\1/p' "$log" | tail -1)
echo "${passed:-0} passed, ${failed:-0} failed, ${skipped:-0} skipped"
# The fuzz targets: a second, clang-built tree (build-fuzz/, 3-4 minutes
# on two cores), then each target from a fixed seed for a fixed number of
# inputs, so that every machine runs the same ones (about 30 s for the
# slowest target, the importer).
runs="${SMQ_FUZZ_RUNS:-30000}"
if [ "$runs" != 0 ]; then
  SMQ_FUZZ_RUNS="$runs" bash "$root/scripts/fuzz.sh" || status=1
  # The unit tests and the importer's lit tests (smq-translate) in that
  # same tree, under ASan and UBSan (about a minute to build and run
  # there). Its runtime kernels are built plain; SMQ_SANITIZE=1 (below)
  # instruments them too, in a tree of their own.
  SMQ_SANITIZE_BUILD_DIR="$root/build-fuzz" bash "$root/scripts/sanitize.sh" ||
    status=1
fi
# The unit tests again, under AddressSanitizer and UBSan, with
# SMQ_SANITIZE=1: a second build (build-sanitize/) that takes 11 minutes
# on two cores, so not by default yet.
if [ "${SMQ_SANITIZE:-0}" = 1 ]; then
  bash "$root/scripts/sanitize.sh" || status=1
fi
exit "$status"
