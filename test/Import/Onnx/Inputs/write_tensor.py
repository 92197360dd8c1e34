#!/usr/bin/env python3
"""Writes an ONNX TensorProto (.pb) by hand: write_tensor.py OUT TYPE DIMS... -- VALUES..."""
import struct
import sys


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


TYPES = {"float": (1, "<f"), "int64": (7, "<q"), "int32": (6, "<i")}

out, dtype = sys.argv[1], sys.argv[2]
sep = sys.argv.index("--")
dims = [int(d) for d in sys.argv[3:sep]]
code, fmt = TYPES[dtype]
cast = float if dtype == "float" else int
raw = b"".join(struct.pack(fmt, cast(v)) for v in sys.argv[sep + 1:])
msg = b"".join(varint(1 << 3) + varint(d) for d in dims)
msg += varint(2 << 3) + varint(code)
msg += varint(9 << 3 | 2) + varint(len(raw)) + raw
open(out, "wb").write(msg)
