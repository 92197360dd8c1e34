#!/usr/bin/env bash
# Issue 13, item 5: the smoothness term against its controls, at one bit
# width and one lambda, on both shared models, scored on their validation
# text and on two texts far from it (Debian's GPL-3 and node.js's README):
#
#   bash bench/controls.sh [BITS] [LAMBDA]     (default: 2 0.25)
#
# Every setting is the default flow (sequential gptq, float target, refit,
# g64, 64 windows of 128 bytes) with, in place of the token-swap D:
#   lambda 0      no smoothness term;
#   ridge         (a) lambda * I, of the same trace as lambda * D;
#   128 windows   (b) lambda 0, H from 64 more calibration windows, as many
#                 as D's neighbours add;
#   gaussian s    (c) D from Gaussian perturbations with D's covariance;
#   D s           (d) the token-swap D;
# with calibration seeds 1, 2 and 3 for (c) and (d) (the seed draws the
# neighbours; H, lambda 0 and the ridge do not depend on it). Prints one
# row of perplexities per setting, then each model's mean and standard
# deviation over the seeds and the paired differences D - gaussian.
# Takes about 15 minutes on 2 cores.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
build="${SMQ_BUILD_DIR:-$root/build}"
shared="${SMQ_SHARED_DIR:-$root/../shared}"
bits="${1:-2}"
lam="${2:-0.25}"
bin="$build/bin"
bash "$root/scripts/build.sh" >/dev/null
work="$build/bench/controls"
rm -rf "$work" && mkdir -p "$work"
texts=(valid "/usr/share/common-licenses/GPL-3" "/usr/share/doc/nodejs/README.md")
for t in "${texts[@]:1}"; do
  [ -f "$t" ] || { echo "controls.sh: $t is missing (Debian's base-files, nodejs)" >&2; exit 1; }
done
grep -m1 "model name" /proc/cpuinfo
echo "W$bits g64 gptq, lambda $lam; perplexity on valid.txt, GPL-3, node.js README"
for model in gpt-byte kdoc-llama; do
  dir="$shared/models/$model"
  out="$work/$model"
  mkdir -p "$out"
  "$bin/smq-translate" --import-onnx "$dir/model.onnx" \
    --input-shape input_ids=1x128 -o "$out/f.mlir"
  cal() { # NAME SEED SEQS
    "$bin/smq-calibrate" "$dir/model.onnx" --text "$dir/calib.txt" \
      --byte-tokens --seq-len 128 --num-seqs "$3" --holdout 0 --seed "$2" \
      --threads 2 --quiet -o "$out/$1.stats"
  }
  cal s1 1 64; cal s2 2 64; cal s3 3 64; cal more 1 128
  score() { # NAME: the perplexities of $out/NAME.mlir on the three texts
    local row="" t file
    for t in "${texts[@]}"; do
      file="$t"; [ "$t" = valid ] && file="$dir/valid.txt"
      "$bin/smq-eval" "$out/$1.mlir" --text "$file" --byte-tokens \
        --max-tokens 65536 --threads 2 --smoothness-dirs 0 --neighbours 0 \
        --json "$out/$1.json" >/dev/null 2>&1
      row+=" $(sed -n 's/.*"perplexity": \([0-9.]*\).*/\1/p' "$out/$1.json")"
    done
    echo "$row"
  }
  run() { # NAME STATS OPTIONS...
    local name=$1 stats=$2; shift 2
    "$bin/smq-opt" "$out/f.mlir" -o "$out/$name.mlir" \
      --smq-quantize-weights="stats=$out/$stats.stats bits=$bits group-size=64 method=gptq quiet=true $*"
    echo "$model $name$(score "$name")" | tee -a "$work/rows.txt"
    rm -f "$out/$name.mlir"
  }
  cp "$out/f.mlir" "$out/float.mlir"
  echo "$model float$(score float)" | tee -a "$work/rows.txt"
  run lambda0 s1 lambda=0
  run ridge s1 "lambda=$lam smoothness-control=ridge"
  run windows128 more lambda=0
  for s in 1 2 3; do
    run "D$s" "s$s" "lambda=$lam"
    run "gaussian$s" "s$s" "lambda=$lam smoothness-control=gaussian"
  done
done
python3 - "$work/rows.txt" <<'PY'
import statistics, sys
rows = {}
for line in open(sys.argv[1]):
    model, name, *ppl = line.split()
    rows[(model, name)] = [float(p) for p in ppl]
texts = ["valid", "GPL-3", "README"]
for model in ("gpt-byte", "kdoc-llama"):
    for kind in ("D", "gaussian"):
        runs = [rows[(model, f"{kind}{s}")] for s in (1, 2, 3)]
        print(model, kind, "mean ± std:", "  ".join(
            f"{t} {statistics.mean(c):.4f} ± {statistics.stdev(c):.4f}"
            for t, c in zip(texts, zip(*runs))))
    diffs = [[d - g for d, g in zip(rows[(model, f"D{s}")],
                                    rows[(model, f"gaussian{s}")])]
             for s in (1, 2, 3)]
    print(model, "paired D - gaussian:", "  ".join(
        f"{t} {statistics.mean(c):+.4f} ± {statistics.stdev(c):.4f}"
        for t, c in zip(texts, zip(*diffs))))
PY
