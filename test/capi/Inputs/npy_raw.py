"""Raw bytes in and out of .npy files, without numpy:
  npy_raw.py to-raw IN.npy OUT.raw        the array's data bytes
  npy_raw.py same NPY RAW                 exits 0 iff the data bytes are equal
  npy_raw.py damage FILE OFFSET           flips one byte (negative: from the end)
  npy_raw.py truncate FILE BYTES          keeps the first BYTES bytes
"""
import sys


def npy_data(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit(path + ": not a .npy file")
    major = data[6]
    if major == 1:
        header_len = int.from_bytes(data[8:10], "little")
        start = 10 + header_len
    else:
        header_len = int.from_bytes(data[8:12], "little")
        start = 12 + header_len
    return data[start:]


mode = sys.argv[1]
if mode == "to-raw":
    open(sys.argv[3], "wb").write(npy_data(sys.argv[2]))
elif mode == "same":
    a, b = npy_data(sys.argv[2]), open(sys.argv[3], "rb").read()
    if a != b:
        diff = next((i for i in range(min(len(a), len(b))) if a[i] != b[i]), None)
        sys.exit("differ: %d vs %d bytes, first difference at byte %s"
                 % (len(a), len(b), diff))
    print("bit-identical, %d bytes" % len(a))
elif mode == "damage":
    data = bytearray(open(sys.argv[2], "rb").read())
    data[int(sys.argv[3])] ^= 0x10
    open(sys.argv[2], "wb").write(bytes(data))
elif mode == "truncate":
    data = open(sys.argv[2], "rb").read()
    open(sys.argv[2], "wb").write(data[: int(sys.argv[3])])
else:
    sys.exit("unknown mode " + mode)
