"""Writes a 1-D integer .npy (stdlib only): write_int_npy.py OUT i4|i8 V..."""
import struct
import sys

out, kind, values = sys.argv[1], sys.argv[2], [int(v) for v in sys.argv[3:]]
header = "{'descr': '<%s', 'fortran_order': False, 'shape': (%d,), }" % (
    kind, len(values))
header += " " * ((64 - (11 + len(header)) % 64) % 64) + "\n"
fmt = "<%d%s" % (len(values), "i" if kind == "i4" else "q")
with open(out, "wb") as f:
    f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)))
    f.write(header.encode() + struct.pack(fmt, *values))
