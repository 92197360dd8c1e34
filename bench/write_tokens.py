#!/usr/bin/env python3
"""Writes int64 token ids [1, N] as .npy: write_tokens.py OUT.npy N [SEED]"""
import random
import struct
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, %d), }" % n
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%dq" % n, *[rng.randrange(256) for _ in range(n)]))
