# Sourced by the benchmarks: sets `levels` (the CPU levels this machine
# runs, lowest first; smq-run refuses a level the CPU lacks before it looks
# at the model), `best` (the last), and `main_levels` (avx2 and the best).
# Needs $build.
levels=()
for l in baseline avx2 avxvnni avx512 avx512vnni; do
  if ! SMQ_CPU_ISA=$l "$build/bin/smq-run" /nonexistent/no-such-model.mlir 2>&1 |
       grep -q "cannot run the"; then
    levels+=("$l")
  fi
done
best=${levels[${#levels[@]}-1]}
main_levels=(avx2 "$best")
if [ "$best" = avx2 ]; then main_levels=(avx2); fi
