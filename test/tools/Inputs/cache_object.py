"""Writes the ELF object of the one entry of a compile cache folder to OUT:
cache_object.py DIR OUT (the entry's header is dropped)."""
import os
import sys

folder, out = sys.argv[1], sys.argv[2]
(name,) = [n for n in os.listdir(folder) if n.endswith(".smqobj")]
data = open(os.path.join(folder, name), "rb").read()
start = data.find(b"\x7fELF")
if start < 0:
    sys.exit("no ELF object in " + name)
open(out, "wb").write(data[start:])
