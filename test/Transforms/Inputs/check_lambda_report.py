#!/usr/bin/env python3
"""Checks a lambda=auto report: check_lambda_report.py REPORT.json EVAL.json

- the picked λ has the lowest held-out NLL, the smaller λ on a tie;
- the λ = 0 candidate's NLL is what smq-eval measured (EVAL.json) for the
  model quantized with λ = 0 and statistics of the kept sequences alone,
  on the held-out sequences.
"""
import json
import sys

report = json.load(open(sys.argv[1]))
evaluated = json.load(open(sys.argv[2]))
lam = report["lambda"]
assert lam["mode"] == "auto", lam
cands = lam["candidates"]
best = min(cands, key=lambda c: (c["nll"], c["lambda"]))
assert lam["picked"] == best["lambda"], (lam["picked"], cands)
zero = [c for c in cands if c["lambda"] == 0][0]
assert abs(zero["nll"] - evaluated["mean_nll"]) < 1e-7, (zero, evaluated)
assert lam["held_out_tokens"] == evaluated["predictions"], lam
assert all(row["lambda"] == lam["picked"] for row in report["layers"])
print("lambda report ok: picked", lam["picked"], "of",
      [c["lambda"] for c in cands])
