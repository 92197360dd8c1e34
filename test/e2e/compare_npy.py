#!/usr/bin/env python3
"""Compares two float32 .npy arrays (pure Python, no numpy).

    compare_npy.py ACTUAL EXPECTED [--atol A] [--rtol R] [--raw-f32]

With --raw-f32, EXPECTED is raw little-endian float32 data (what a C API
program writes), taken to have ACTUAL's shape.

Prints the max absolute difference and fails if any element is outside
atol + rtol * |expected|.
"""
import argparse
import ast
import struct
import sys


def read_npy(path):
    data = open(path, "rb").read()
    if data[:6] != b"\x93NUMPY":
        sys.exit("%s: not a .npy file" % path)
    if data[6] == 1:
        hlen, off = struct.unpack("<H", data[8:10])[0], 10
    else:
        hlen, off = struct.unpack("<I", data[8:12])[0], 12
    header = ast.literal_eval(data[off:off + hlen].decode("latin1"))
    fmt = {"<f4": "f", "<f8": "d", "<i8": "q", "<i4": "i"}[header["descr"]]
    n = 1
    for d in header["shape"]:
        n *= d
    body = data[off + hlen:]
    return header["shape"], struct.unpack("<%d%s" % (n, fmt), body[: n * struct.calcsize(fmt)])


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("actual")
    ap.add_argument("expected")
    ap.add_argument("--atol", type=float, default=1e-3)
    ap.add_argument("--rtol", type=float, default=0.0)
    ap.add_argument("--raw-f32", action="store_true")
    args = ap.parse_args()
    sa, a = read_npy(args.actual)
    if args.raw_f32:
        body = open(args.expected, "rb").read()
        se, e = sa, struct.unpack("<%df" % (len(body) // 4), body)
        if len(e) != len(a):
            print("size mismatch: %d vs %d elements" % (len(a), len(e)))
            return 1
    else:
        se, e = read_npy(args.expected)
    if tuple(sa) != tuple(se):
        print("shape mismatch: %s vs %s" % (sa, se))
        return 1
    worst, bad = 0.0, 0
    for x, y in zip(a, e):
        d = abs(x - y)
        worst = max(worst, d)
        if not d <= args.atol + args.rtol * abs(y):
            bad += 1
    print("max |actual - expected| = %.3g over %d elements; %d outside tolerance"
          % (worst, len(a), bad))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
