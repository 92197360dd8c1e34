#!/usr/bin/env python3
"""Quantized matmuls over every bits x group x zero-point form, in one module.

  qmatmul_grid.py gen OUT.mlir X.npy REF  writes the module, its input,
                                         and in REF/ each output computed
                                         here from the op's definition
  qmatmul_grid.py compare A B            compares outputs y*.npy of two runs

Each smq.quantized_matmul has an odd N and a K of two groups and 5 (odd),
or of four groups (a multiple of 32 with at least four steps per lane:
the GPU splits such a decode's K into lanes), codes, scales and zero points
drawn from a fixed seed, and is computed for 3 rows (a prompt) and for 1 row
(a decode step) of the input. Symmetric forms have
the zero point 2^(bits-1) everywhere; asymmetric ones draw it per group.
"""
import sys

import numpy as np

BITS = (2, 3, 4, 8)
GROUPS = (32, 64, 128)
KMAX = 4 * 128


def pack(codes, bits):
    """Row-wise little-endian bit streams of `bits`-bit codes."""
    n, k = codes.shape
    nbytes = (k * bits + 7) // 8
    out = np.zeros((n, nbytes), dtype=np.uint8)
    for r in range(n):
        acc, filled, at = 0, 0, 0
        for c in codes[r]:
            acc |= int(c) << filled
            filled += bits
            while filled >= 8:
                out[r, at] = acc & 0xFF
                acc >>= 8
                filled -= 8
                at += 1
        if filled:
            out[r, at] = acc & 0xFF
    return out


def dense(a, elt):
    return 'dense<"0x%s">' % a.tobytes().hex().upper()


def gen(mlir_path, x_path, ref_dir):
    import os
    os.makedirs(ref_dir, exist_ok=True)
    rng = np.random.default_rng(7)
    x = rng.standard_normal((1, 3, KMAX)).astype(np.float32)
    np.save(x_path, x)
    lines, results, types = [], [], []
    i = 0

    def const(name, a, shape, elt):
        lines.append('  %%%s = smq.constant %s : tensor<%s%s>' %
                     (name, dense(a, elt), shape, elt))

    def i64s(name, vals):
        lines.append('  %%%s = smq.constant dense<[%s]> : tensor<%dxi64>' %
                     (name, ", ".join(map(str, vals)), len(vals)))

    i64s("s0", [0, 0])
    i64s("s1", [1, 1])
    i64s("ax", [1, 2])
    for bits in BITS:
        for group in GROUPS:
            for sym, k in [(s, k) for s in (True, False)
                           for k in (2 * group + 5, 4 * group)]:
                n = 7 + 2 * (i % 4)
                groups = -(-k // group)
                codes = rng.integers(0, 1 << bits, size=(n, k))
                scales = rng.uniform(0.01, 0.1, size=(n, groups)).astype(np.float32)
                if sym:
                    zeros = np.full((n, groups), float(1 << (bits - 1)), np.float32)
                else:
                    zeros = rng.integers(0, 1 << bits, size=(n, groups)).astype(np.float32)
                packed = pack(codes, bits)
                const("c%d" % i, packed, "%dx%dx" % packed.shape, "ui8")
                const("sc%d" % i, scales, "%dx%dx" % scales.shape, "f32")
                const("z%d" % i, zeros, "%dx%dx" % zeros.shape, "f32")
                for rows in (3, 1):
                    tag = "%d_%d" % (i, rows)
                    i64s("e" + tag, [rows, k])
                    lines.append(
                        '  %%x%s = smq.slice %%x[%%s0, %%e%s, %%ax, %%s1] : '
                        '(tensor<1x3x%dxf32>, tensor<2xi64>, tensor<2xi64>, '
                        'tensor<2xi64>, tensor<2xi64>) -> tensor<1x%dx%dxf32>'
                        % (tag, tag, KMAX, rows, k))
                    out = "tensor<1x%dx%dxf32>" % (rows, n)
                    lines.append(
                        '  %%y%s = smq.quantized_matmul %%x%s, %%c%d, %%sc%d, '
                        '%%z%d {bits = %d : i64, group_size = %d : i64} : '
                        '(tensor<1x%dx%dxf32>, tensor<%dx%dxui8>, '
                        'tensor<%dx%dxf32>, tensor<%dx%dxf32>) -> %s'
                        % (tag, tag, i, i, i, bits, group, rows, k,
                           packed.shape[0], packed.shape[1], n, groups, n,
                           groups, out))
                    # W[n, k] = scale[n, k / group] * (code[n, k] - zero)
                    w = scales.repeat(group, axis=1)[:, :k] * (
                        codes - zeros.repeat(group, axis=1)[:, :k])
                    ref = x[:, :rows, :k].astype(np.float64) @ w.T
                    np.save("%s/y%d.npy" % (ref_dir, len(results)),
                            ref.astype(np.float32))
                    results.append("%y" + tag)
                    types.append(out)
                i += 1
    sig = ", ".join('%s {smq.name = "y%d"}' % (t, j) for j, t in enumerate(types))
    with open(mlir_path, "w") as f:
        f.write('func.func @main(%%x: tensor<1x3x%dxf32> {smq.name = "x"}) '
                '-> (%s) {\n' % (KMAX, sig))
        f.write("\n".join(lines) + "\n")
        f.write("  return %s : %s\n}\n" % (", ".join(results), ", ".join(types)))


def compare(a, b):
    """|a - b| <= 1e-4 + 1e-5 |b| everywhere (b: the reference)."""
    worst, count = 0.0, 0
    j = 0
    while True:
        try:
            x = np.load("%s/y%d.npy" % (a, j))
        except FileNotFoundError:
            break
        y = np.load("%s/y%d.npy" % (b, j))
        if x.shape != y.shape:
            print("y%d: shapes %s and %s" % (j, x.shape, y.shape))
            return 1
        excess = np.abs(x - y) - (1e-4 + 1e-5 * np.abs(y))
        worst = max(worst, float(excess.max()))
        count += 1
        j += 1
    ok = count > 0 and worst <= 0
    print("%d outputs %s" % (count, "match" if ok else "differ (by %.3g over "
                             "the tolerance)" % worst))
    return 0 if ok else 1


if __name__ == "__main__":
    if sys.argv[1] == "gen":
        gen(sys.argv[2], sys.argv[3], sys.argv[4])
    else:
        sys.exit(compare(sys.argv[2], sys.argv[3]))
