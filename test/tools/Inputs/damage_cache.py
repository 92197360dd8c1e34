"""Damages the one entry of a compile cache folder: damage_cache.py DIR MODE.

flip: one byte of the object code; truncate: drop the last 100 bytes;
rekey: write the entry under another model's key (its name keeps the key)."""
import os
import sys

folder, mode = sys.argv[1], sys.argv[2]
(name,) = [n for n in os.listdir(folder) if n.endswith(".smqobj")]
path = os.path.join(folder, name)
data = bytearray(open(path, "rb").read())
header = 8 + 64 + 8 + 32
if mode == "flip":
    data[header + len(data[header:]) // 2] ^= 0x40
elif mode == "truncate":
    data = data[:-100]
elif mode == "rekey":
    key = data[8:72]
    data[8:72] = bytes(reversed(key))
else:
    sys.exit("unknown mode " + mode)
open(path, "wb").write(bytes(data))
