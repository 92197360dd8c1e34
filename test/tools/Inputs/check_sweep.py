#!/usr/bin/env python3
"""Checks smq-sweep's results against what the tools measure on their own:

    check_sweep.py SWEEP.json SWEEP.svg ALONE.json BITS METHOD LAMBDA

ALONE.json is smq-eval --reference FLOAT --json for the model smq-opt made
by hand with the same options as the sweep's (BITS, METHOD, LAMBDA) run.
Its perplexity and ratios must be the sweep's; every run must carry every
field; gap_recovered must follow from the perplexities; and the SVG must
parse, with one panel per measure and, in the perplexity panel, a marker
per run whose tooltip is the run's perplexity.
"""
import json
import math
import sys
import xml.etree.ElementTree as ET

sweep = json.load(open(sys.argv[1]))
svg = ET.parse(sys.argv[2]).getroot()
alone = json.load(open(sys.argv[3]))
bits, method, lam = int(sys.argv[4]), sys.argv[5], float(sys.argv[6])
failures = []


def close(a, b, rel, what):
    if abs(a - b) > rel * abs(b) + 1e-12:
        failures.append("%s: %r != %r" % (what, a, b))


runs = sweep["runs"]
fl = sweep["float"]
for key in ["perplexity", "mean_nll", "exp_entropy", "candidates_p01",
            "breadth", "swap_kl", "smoothness_proxy"]:
    if key not in fl:
        failures.append("float lacks " + key)
for r in runs:
    for key in ["bits", "method", "lambda", "label", "perplexity", "mean_nll",
                "exp_entropy", "exp_entropy_ratio", "candidates_p01_ratio",
                "breadth_ratio", "swap_kl", "swap_kl_ratio",
                "smoothness_proxy", "smoothness_proxy_ratio",
                "quantize_seconds", "evaluate_seconds"]:
        if key not in r:
            failures.append("%s lacks %s" % (r.get("label"), key))
    close(r["smoothness_proxy_ratio"],
          r["smoothness_proxy"] / fl["smoothness_proxy"], 1e-12,
          r["label"] + " proxy ratio")
    if r["method"] in ("rtn", "wmse"):
        if r["lambda"] is not None:
            failures.append(r["label"] + ": rtn and wmse take no lambda")
    elif r["lambda"] == "auto":
        grid = [float(x) for x in sweep["calibration"]["lambda_grid"].split(",")]
        if r.get("lambda_picked") not in grid:
            failures.append(r["label"] + ": picked lambda outside the grid")
    elif r["lambda_picked"] != r["lambda"]:
        failures.append(r["label"] + ": fixed lambda reported differently")
    zero = [z for z in runs if z["bits"] == r["bits"] and
            z["method"] == r["method"] and z["lambda"] == 0]
    if zero and r["lambda"] not in (None, 0):
        p0, p, pf = zero[0]["perplexity"], r["perplexity"], fl["perplexity"]
        if p0 > pf:
            close(r["gap_recovered"], (p0 - p) / (p0 - pf), 1e-9,
                  r["label"] + " gap_recovered")
        elif "gap_recovered" in r:
            failures.append(r["label"] + ": no gap to recover")

mine = [r for r in runs if r["bits"] == bits and r["method"] == method and
        r["lambda"] == lam]
if len(mine) != 1:
    failures.append("no single run %d %s %g" % (bits, method, lam))
else:
    r = mine[0]
    close(r["perplexity"], alone["perplexity"], 1e-6, "perplexity")
    for key in ["exp_entropy", "candidates_p01", "breadth", "swap_kl",
                "smoothness_proxy"]:
        close(r[key + "_ratio"], alone[key + "_ratio"], 2e-5, key + "_ratio")

ns = {"s": "http://www.w3.org/2000/svg"}
panels = [g for g in svg.iter("{http://www.w3.org/2000/svg}g")
          if g.get("class") == "panel"]
titles = [p.find("s:text", ns).text for p in panels]
if titles != ["Perplexity", "Perplexity above float", "Smoothness proxy",
              "Effective candidates", "Tokens with p \u2265 0.01",
              "Neighbourhood breadth"]:
    failures.append("panels: %r" % titles)
else:
    tips = [t.text for t in panels[0].iter("{http://www.w3.org/2000/svg}title")]
    want = sorted("%s: %d" % (r["label"], r["bits"]) for r in runs)
    have = sorted(t.rsplit(",", 1)[0] for t in tips)
    if have != want:
        failures.append("perplexity markers: %r" % have)
    for t in tips:
        head, value = t.rsplit(", ", 1)
        label, b = head.rsplit(": ", 1)
        r = [r for r in runs if r["label"] == label and r["bits"] == int(b)][0]
        close(float(value), r["perplexity"], 1e-5, "marker " + head)
legend = [g for g in svg.iter("{http://www.w3.org/2000/svg}g")
          if g.get("class") == "legend"]
labels = sorted({r["label"] for r in runs})
if len(legend) != 1 or sorted(
        t.text for t in legend[0].iter("{http://www.w3.org/2000/svg}text")) != labels:
    failures.append("legend does not list %r" % labels)

for f in failures:
    print("FAIL " + f)
print("sweep ok: %d runs, %d panels" % (len(runs), len(panels)) if not failures
      else "sweep WRONG")
sys.exit(1 if failures else 0)
