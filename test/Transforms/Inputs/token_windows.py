#!/usr/bin/env python3
"""Writes int64 token windows [N, T] as .npy from a seeded Markov chain over
a vocabulary of V tokens (each token mostly followed by the next one):

    token_windows.py OUT.npy N T V [--rows all|held-out|kept] [--every 8]

--rows picks the windows calibration holds out (index % every == every-1)
or keeps, so a test can score exactly the sequences smq-calibrate held out.
"""
import argparse
import random
import struct

p = argparse.ArgumentParser()
p.add_argument("out")
p.add_argument("n", type=int)
p.add_argument("t", type=int)
p.add_argument("v", type=int)
p.add_argument("--rows", default="all", choices=["all", "held-out", "kept"])
p.add_argument("--every", type=int, default=8)
a = p.parse_args()
rng = random.Random(7)
windows = []
for _ in range(a.n):
    tok = rng.randrange(a.v)
    w = []
    for _ in range(a.t):
        w.append(tok)
        tok = (tok + 1) % a.v if rng.random() < 0.7 else rng.randrange(a.v)
    windows.append(w)
held = [i % a.every == a.every - 1 for i in range(a.n)]
if a.rows == "held-out":
    windows = [w for w, h in zip(windows, held) if h]
elif a.rows == "kept":
    windows = [w for w, h in zip(windows, held) if not h]
header = "{'descr': '<i8', 'fortran_order': False, 'shape': (%d, %d), }" % (
    len(windows), a.t)
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(a.out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    for w in windows:
        f.write(struct.pack("<%dq" % a.t, *w))
