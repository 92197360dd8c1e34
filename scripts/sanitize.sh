#!/usr/bin/env bash
# Builds the unit tests (runtime kernels on every CPU level this machine
# has, quantizer, statistics, evaluation, support) and smq-translate with
# AddressSanitizer and UndefinedBehaviorSanitizer in build-sanitize/, and
# runs the unit tests and the lit tests that use no other SMQ tool (the
# importer's: every bad model it must refuse, and the mutation test). Any
# report fails the run. `SMQ_SANITIZE=1 bash scripts/test.sh` runs this
# after the lit suite. -O1 with line tables, the sanitizers' usual setting;
# the instrumented kernels (five CPU levels) still take minutes each.
#
#   bash scripts/sanitize.sh
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_SANITIZE_BUILD_DIR:-$root/build-sanitize}"
tests=(SMQSupportTests SMQEvalTests SMQQuantTests SMQRuntimeTests)
if [ ! -f "$build/build.ninja" ]; then
  cmake -G Ninja -S "$root" -B "$build" \
    -DCMAKE_BUILD_TYPE=None -DCMAKE_CXX_FLAGS="-O1 -g1" \
    -DCMAKE_C_FLAGS="-O1 -g1" -DSMQ_SANITIZE=ON \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir >/dev/null
fi
ninja -C "$build" -j "${SMQ_JOBS:-2}" "${tests[@]}" smq-translate
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:halt_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
status=0
for t in "${tests[@]}"; do
  if "$build/bin/$t" --gtest_brief=1 >"$build/$t.log" 2>&1; then
    echo "sanitize: $t clean ($(sed -n 's/^\[  PASSED  \] \([0-9]*\) tests\{0,1\}\.$/\1/p' "$build/$t.log") tests)"
  else
    echo "sanitize: $t FAILED; its output:" >&2
    tail -60 "$build/$t.log" >&2
    status=1
  fi
done
# The lit tests whose tools are all built here. A sanitizer report aborts
# the tool (abort_on_error), so that a `not smq-translate ...` test, which
# expects a failure, still fails on a crash.
lit_tests=("$build/test/Import/Onnx" "$build/test/e2e/robustness-import.test")
log="$build/lit-sanitized.log"
if ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
   UBSAN_OPTIONS=halt_on_error=1:abort_on_error=1:print_stacktrace=1 \
   /usr/lib/llvm-22/bin/lit -sv "${lit_tests[@]}" >"$log" 2>&1; then
  echo "sanitize: lit (smq-translate: test/Import/Onnx," \
       "e2e/robustness-import.test) clean:" \
       "$(sed -n 's/^ *Passed *: *\([0-9]*\).*/\1/p' "$log") passed," \
       "$(sed -n 's/^ *Unsupported *: *\([0-9]*\).*/\1/p' "$log") unsupported"
else
  echo "sanitize: lit tests FAILED under the sanitizers; failures:" >&2
  grep -E '^(FAIL|UNRESOLVED|XPASS)|ERROR: AddressSanitizer|runtime error|LeakSanitizer' "$log" | head -40 >&2
  status=1
fi
exit "$status"
