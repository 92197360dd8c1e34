#!/usr/bin/env python3
"""Writes an ONNX TensorProto (.pb) by hand: write_tensor.py OUT TYPE DIMS... -- VALUES..."""
import struct
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../utils"))
from onnxwire import BOOL, FLOAT, INT32, INT64, f_bytes, f_float, f_varint, varint  # noqa: E402


TYPES = {"float": (FLOAT, "<f"), "int64": (INT64, "<q"), "int32": (INT32, "<i")}

out, dtype = sys.argv[1], sys.argv[2]
sep = sys.argv.index("--")
dims = [int(d) for d in sys.argv[3:sep]]
code, fmt = TYPES[dtype]
cast = float if dtype == "float" else int
raw = b"".join(struct.pack(fmt, cast(v)) for v in sys.argv[sep + 1:])
msg = b"".join(f_varint(1, d) for d in dims) + f_varint(2, code) + f_bytes(9, raw)
open(out, "wb").write(msg)
