#!/usr/bin/env python3
"""Feeds randomly truncated and byte-mutated copies of a model to the
importer and checks that every run ends cleanly.

    fuzz_import.py SMQ_TRANSLATE MODEL WORKDIR [--count N] [--seed S]

A clean end is exit 0 with a complete output file, or exit 1 with an
"error:" diagnostic and no output file. A signal (crash), any other exit
code, a hang, or a leftover partial file fails the test.
"""
import argparse
import concurrent.futures
import os
import random
import subprocess
import sys


def mutate(data, rng, kind):
    n = len(data)
    # Structure (graph, node and tensor headers) sits around the weights'
    # raw bytes; aim half the mutations at the first and last 64 KiB.
    def offset():
        if rng.random() < 0.5:
            return rng.randrange(n)
        edge = min(n, 65536)
        o = rng.randrange(edge)
        return o if rng.random() < 0.5 else n - 1 - o

    if kind == "truncate":
        return data[: offset()]
    out = bytearray(data)
    for _ in range(rng.randint(1, 16)):
        i = offset()
        op = rng.random()
        if op < 0.4:
            out[i] = rng.randrange(256)
        elif op < 0.7:
            out[i] ^= 1 << rng.randrange(8)
        else:
            # Varint-looking bytes make lengths and dims absurd.
            out[i : i + 5] = bytes([0xFF, 0xFF, 0xFF, 0xFF, 0x0F])
    return bytes(out)


def run_one(args, k, data):
    path = os.path.join(args.workdir, "m%d.onnx" % k)
    out = os.path.join(args.workdir, "m%d.mlir" % k)
    with open(path, "wb") as f:
        f.write(data)
    try:
        p = subprocess.run(
            [args.tool, "--import-onnx", path, "--input-shape", "input_ids=1x128",
             "-o", out],
            capture_output=True, text=True, errors="replace", timeout=60)
    except subprocess.TimeoutExpired:
        return "hang"
    finally:
        os.remove(path)
    exists = os.path.exists(out)
    if exists:
        os.remove(out)
    if p.returncode < 0:
        return "crash (signal %d): %s" % (-p.returncode, p.stderr[-300:])
    if p.returncode == 0:
        return "imported" if exists else "exit 0 without an output file"
    if p.returncode != 1:
        return "exit %d: %s" % (p.returncode, p.stderr[-300:])
    if exists:
        return "failed but left an output file"
    if "error:" not in p.stderr:
        return "failed without a diagnostic: %r" % p.stderr[-300:]
    return "diagnosed"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("tool")
    ap.add_argument("model")
    ap.add_argument("workdir")
    ap.add_argument("--count", type=int, default=300)
    ap.add_argument("--seed", type=int, default=1)
    args = ap.parse_args()
    os.makedirs(args.workdir, exist_ok=True)
    data = open(args.model, "rb").read()
    rng = random.Random(args.seed)
    cases = []
    for k in range(args.count):
        kind = "truncate" if k % 3 == 0 else "mutate"
        cases.append((k, kind, mutate(data, rng, kind)))
    problems, outcomes = [], {"imported": 0, "diagnosed": 0}
    with concurrent.futures.ThreadPoolExecutor(max_workers=2) as pool:
        futures = {pool.submit(run_one, args, k, d): (k, kind)
                   for k, kind, d in cases}
        for fut in concurrent.futures.as_completed(futures):
            k, kind = futures[fut]
            result = fut.result()
            if result in outcomes:
                outcomes[result] += 1
            else:
                problems.append("mutant %d (%s): %s" % (k, kind, result))
    for p in sorted(problems):
        print("PROBLEM", p)
    print("robustness: %d mutants, %d ended cleanly, %d did not"
          % (args.count, sum(outcomes.values()), len(problems)))
    print("  %(imported)d imported, %(diagnosed)d refused with a diagnostic"
          % outcomes)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
