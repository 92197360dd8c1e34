"""Prints each integer .npy given, one line each (stdlib only)."""
import ast
import struct
import sys

for path in sys.argv[1:]:
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY", path
    (length,) = struct.unpack("<H", data[8:10])
    header = ast.literal_eval(data[10:10 + length].decode())
    code = {"<i4": "i", "<i8": "q"}[header["descr"]]
    count = 1
    for d in header["shape"]:
        count *= d
    values = struct.unpack("<%d%s" % (count, code), data[10 + length:])
    print(" ".join(str(v) for v in values))
