#!/usr/bin/env python3
"""Writes int64 token ids [1, N] in [0, VOCAB) as .npy:
    write_tokens.py OUT.npy N [SEED] [VOCAB]   (VOCAB: 256 by default)"""
import random
import struct
import sys

out, n = sys.argv[1], int(sys.argv[2])
rng = random.Random(int(sys.argv[3]) if len(sys.argv) > 3 else 1)
vocab = int(sys.argv[4]) if len(sys.argv) > 4 else 256
header = "{'descr': '<i8', 'fortran_order': False, 'shape': (1, %d), }" % n
header += " " * ((64 - (10 + len(header) + 1) % 64) % 64) + "\n"
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode())
    f.write(struct.pack("<%dq" % n, *[rng.randrange(vocab) for _ in range(n)]))
