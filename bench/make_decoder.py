#!/usr/bin/env python3
"""Writes a synthetic GPT-style decoder as an ONNX model with external data.

    make_decoder.py OUTDIR [--d 1024] [--layers 8] [--ff 4096] [--heads 16]
                    [--vocab 256] [--seq 128] [--seed 1]

The graph is what torch.onnx.export makes of a pre-LayerNorm decoder at
opset 17, with static shapes: token and position embeddings, per layer
q/k/v/o and up/down MatMuls with biases, causal attention (Where on a
constant mask), erf GELU; a final LayerNorm and head. Weights are small
seeded random values in OUTDIR/model.onnx.data, so model.onnx stays small.

The protobuf wire format is written by hand (field numbers from onnx.proto)
so no Python onnx package is needed.
"""
import argparse
import array
import math
import random
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../utils"))
from onnxwire import BOOL, FLOAT, INT32, INT64, f_bytes, f_float, f_varint, varint  # noqa: E402


fv, fb, ff32 = f_varint, f_bytes, f_float


class Graph:
    def __init__(self, outdir):
        self.nodes, self.inits = [], []
        self.data = open(os.path.join(outdir, "model.onnx.data"), "wb")
        self.offset = 0
        self.count = 0

    def name(self, stem):
        self.count += 1
        return "%s_%d" % (stem, self.count)

    def external(self, name, dims, raw, dtype=FLOAT):
        pad = (-self.offset) % 64
        self.data.write(b"\0" * pad)
        self.offset += pad
        t = b"".join(fv(1, d) for d in dims) + fv(2, dtype) + fb(8, name)
        for k, v in (("location", "model.onnx.data"),
                     ("offset", str(self.offset)), ("length", str(len(raw)))):
            t += fb(13, fb(1, k) + fb(2, v))
        t += fv(14, 1)
        self.data.write(raw)
        self.offset += len(raw)
        self.inits.append(t)
        return name

    def inline(self, name, dims, raw, dtype):
        t = b"".join(fv(1, d) for d in dims) + fv(2, dtype) + fb(8, name)
        self.inits.append(t + fb(9, raw))
        return name

    def weight(self, stem, dims, rng, scale):
        n = 1
        for d in dims:
            n *= d
        # A seeded random block, tiled: fast to write, not degenerate.
        block = array.array("f", (rng.uniform(-scale, scale) for _ in range(4099)))
        reps = n // len(block) + 1
        raw = (block * reps)[:n].tobytes()
        return self.external(self.name(stem), dims, raw)

    def ints(self, values):
        return self.inline(self.name("c"), [len(values)],
                           array.array("q", values).tobytes(), INT64)

    def scalar(self, x):
        return self.inline(self.name("s"), [], array.array("f", [x]).tobytes(),
                           FLOAT)

    def op(self, op_type, inputs, attrs=b"", outputs=1):
        outs = [self.name(op_type.lower()) for _ in range(outputs)]
        node = b"".join(fb(1, i) for i in inputs) + b"".join(fb(2, o) for o in outs)
        node += fb(3, outs[0]) + fb(4, op_type) + attrs
        self.nodes.append(node)
        return outs[0] if outputs == 1 else outs


def attr_int(name, v):
    return fb(5, fb(1, name) + fv(3, v) + fv(20, 2))


def attr_float(name, v):
    return fb(5, fb(1, name) + ff32(2, v) + fv(20, 1))


def attr_ints(name, vs):
    return fb(5, fb(1, name) + b"".join(fv(8, v) for v in vs) + fv(20, 7))


def value_info(name, elem, dims):
    shape = b"".join(fb(1, fv(1, d)) for d in dims)
    return fb(1, name) + fb(2, fb(1, fv(1, elem) + fb(2, shape)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("outdir")
    ap.add_argument("--d", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--ff", type=int, default=4096)
    ap.add_argument("--heads", type=int, default=16)
    ap.add_argument("--vocab", type=int, default=256)
    ap.add_argument("--seq", type=int, default=128)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    rng = random.Random(a.seed)
    g = Graph(a.outdir)
    d, s, h = a.d, a.seq, a.heads
    hd = d // h
    w = lambda stem, dims: g.weight(stem, dims, rng, 1.0 / math.sqrt(dims[0]))
    b = lambda stem, n: g.weight(stem, [n], rng, 0.02)

    tok = g.op("Gather", [w("tok", [a.vocab, d]), "input_ids"])
    x = g.op("Add", [tok, w("pos", [s, d])])
    mask = g.inline("causal_mask", [s, s],
                    bytes(1 if j > i else 0 for i in range(s) for j in range(s)),
                    BOOL)
    neg = g.scalar(-1e9)
    scale = g.scalar(math.sqrt(hd))
    heads_shape = g.ints([1, s, h, hd])
    merged_shape = g.ints([1, s, d])
    ln = lambda t: g.op("LayerNormalization", [t, g.weight("ln_w", [d], rng, 0.1),
                                              b("ln_b", d)],
                        attr_int("axis", -1) + attr_float("epsilon", 1e-5))
    for _ in range(a.layers):
        n1 = ln(x)
        q, k, v = (g.op("Add", [g.op("MatMul", [n1, w(nm, [d, d])]), b(nm + "_b", d)])
                   for nm in ("q", "k", "v"))
        split = lambda t, perm: g.op(
            "Transpose", [g.op("Reshape", [t, heads_shape])], attr_ints("perm", perm))
        qh, kh, vh = split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1]), split(v, [0, 2, 1, 3])
        scores = g.op("Div", [g.op("MatMul", [qh, kh]), scale])
        scores = g.op("Where", [mask, neg, scores])
        probs = g.op("Softmax", [scores], attr_int("axis", -1))
        ctx = g.op("Transpose", [g.op("MatMul", [probs, vh])], attr_ints("perm", [0, 2, 1, 3]))
        ctx = g.op("Reshape", [ctx, merged_shape])
        x = g.op("Add", [x, g.op("Add", [g.op("MatMul", [ctx, w("o", [d, d])]), b("o_b", d)])])
        n2 = ln(x)
        up = g.op("Add", [g.op("MatMul", [n2, w("up", [d, a.ff])]), b("up_b", a.ff)])
        gelu = g.op("Mul", [g.op("Mul", [up, g.op("Add", [
            g.op("Erf", [g.op("Div", [up, g.scalar(math.sqrt(2.0))])]), g.scalar(1.0)])]),
            g.scalar(0.5)])
        down = g.op("Add", [g.op("MatMul", [gelu, w("down", [a.ff, d])]), b("down_b", d)])
        x = g.op("Add", [x, down])
    logits = g.op("MatMul", [ln(x), w("head", [d, a.vocab])])
    g.data.close()

    graph = b"".join(fb(1, n) for n in g.nodes) + fb(2, "decoder")
    graph += b"".join(fb(5, t) for t in g.inits)
    graph += fb(11, value_info("input_ids", INT64, [1, s]))
    graph += fb(12, value_info(logits, FLOAT, [1, s, a.vocab]))
    model = fv(1, 8) + fb(2, "smq-bench") + fb(8, fb(1, "") + fv(2, 17)) + fb(7, graph)
    with open(os.path.join(a.outdir, "model.onnx"), "wb") as f:
        f.write(model)
    params = g.offset // 4
    print("wrote %s: d=%d layers=%d ff=%d heads=%d, about %.1fM parameters, output '%s'"
          % (a.outdir, d, a.layers, a.ff, h, params / 1e6, logits))


if __name__ == "__main__":
    main()
