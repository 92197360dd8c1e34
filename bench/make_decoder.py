#!/usr/bin/env python3
"""Writes a synthetic GPT-style decoder as an ONNX model with external data.

    make_decoder.py OUTDIR [--d 1024] [--layers 8] [--ff 4096] [--heads 16]
                    [--vocab 256] [--seq 128] [--seed 1]
                    [--kv [--kv-heads N] [--positions P]]

The graph is what torch.onnx.export makes of a pre-LayerNorm decoder at
opset 17, with static shapes: token and position embeddings, per layer
q/k/v/o and up/down MatMuls with biases, causal attention (Where on a
constant mask), erf GELU; a final LayerNorm and head. Weights are small
seeded random values in OUTDIR/model.onnx.data, so model.onnx stays small.

With --kv the decoder has a KV cache in the contract of ONNX Runtime
GenAI's model builder: input_ids [batch, seq], attention_mask [batch,
total] and past_key_values.{i}.key/value [batch, kv heads, past, head] in,
logits and present.{i}.key/value out, all dims but the heads dynamic.
Attention is com.microsoft::GroupQueryAttention with --kv-heads kv heads and
rotary positions (cos and sin caches of --positions rows) in place of the
position embedding; seqlens_k and total_sequence_length come from
attention_mask, as the model builder writes them.

Needs the onnx package and numpy (Debian's python3-onnx, python3-numpy).
"""
import argparse
import math
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Graph:
    def __init__(self, outdir):
        self.nodes, self.inits = [], []
        self.data = open(os.path.join(outdir, "model.onnx.data"), "wb")
        self.offset = 0
        self.count = 0

    def name(self, stem):
        self.count += 1
        return "%s_%d" % (stem, self.count)

    def external(self, name, array):
        """A float initializer whose data goes to model.onnx.data, 64-aligned."""
        pad = (-self.offset) % 64
        self.data.write(b"\0" * pad)
        self.offset += pad
        t = TensorProto(name=name, data_type=TensorProto.FLOAT,
                        data_location=TensorProto.EXTERNAL)
        t.dims.extend(array.shape)
        for k, v in (("location", "model.onnx.data"),
                     ("offset", self.offset), ("length", array.nbytes)):
            entry = t.external_data.add()
            entry.key, entry.value = k, str(v)
        self.data.write(memoryview(array))
        self.offset += array.nbytes
        self.inits.append(t)
        return name

    def inline(self, name, array):
        self.inits.append(numpy_helper.from_array(array, name))
        return name

    def weight(self, stem, dims, rng, scale):
        """Uniform in [-scale, scale), seeded."""
        x = rng.random(dims, dtype=np.float32)
        x *= 2 * scale
        x -= scale
        return self.external(self.name(stem), x)

    def ints(self, values):
        return self.inline(self.name("c"), np.array(values, dtype=np.int64))

    def scalar(self, x):
        return self.inline(self.name("s"), np.array(x, dtype=np.float32))

    def op(self, op_type, inputs, outputs=1, **attrs):
        outs = [self.name(op_type.lower()) for _ in range(outputs)]
        self.nodes.append(helper.make_node(op_type, inputs, outs, name=outs[0], **attrs))
        return outs[0] if outputs == 1 else outs


def output_and_mlp(g, x, ctx, w, b, ln, d, ff):
    """A layer's output projection and erf-GELU MLP, each with its residual."""
    x = g.op("Add", [x, g.op("Add", [g.op("MatMul", [ctx, w("o", [d, d])]), b("o_b", d)])])
    up = g.op("Add", [g.op("MatMul", [ln(x), w("up", [d, ff])]), b("up_b", ff)])
    gelu = g.op("Mul", [g.op("Mul", [up, g.op("Add", [
        g.op("Erf", [g.op("Div", [up, g.scalar(math.sqrt(2.0))])]), g.scalar(1.0)])]),
        g.scalar(0.5)])
    down = g.op("Add", [g.op("MatMul", [gelu, w("down", [ff, d])]), b("down_b", d)])
    return g.op("Add", [x, down])


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
    ap.add_argument("--kv", action="store_true")
    ap.add_argument("--kv-heads", type=int, default=0)
    ap.add_argument("--positions", type=int, default=1024)
    a = ap.parse_args()
    if a.kv:
        return main_kv(a)
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    g = Graph(a.outdir)
    d, s, h = a.d, a.seq, a.heads
    hd = d // h
    w = lambda stem, dims: g.weight(stem, dims, rng, 1.0 / math.sqrt(dims[0]))
    b = lambda stem, n: g.weight(stem, [n], rng, 0.02)

    tok = g.op("Gather", [w("tok", [a.vocab, d]), "input_ids"])
    x = g.op("Add", [tok, w("pos", [s, d])])
    mask = g.inline("causal_mask", np.triu(np.ones((s, s), dtype=bool), k=1))
    neg = g.scalar(-1e9)
    scale = g.scalar(math.sqrt(hd))
    heads_shape = g.ints([1, s, h, hd])
    merged_shape = g.ints([1, s, d])
    ln = lambda t: g.op("LayerNormalization", [t, g.weight("ln_w", [d], rng, 0.1),
                                              b("ln_b", d)],
                        axis=-1, epsilon=1e-5)
    for _ in range(a.layers):
        n1 = ln(x)
        q, k, v = (g.op("Add", [g.op("MatMul", [n1, w(nm, [d, d])]), b(nm + "_b", d)])
                   for nm in ("q", "k", "v"))
        split = lambda t, perm: g.op(
            "Transpose", [g.op("Reshape", [t, heads_shape])], perm=perm)
        qh, kh, vh = split(q, [0, 2, 1, 3]), split(k, [0, 2, 3, 1]), split(v, [0, 2, 1, 3])
        scores = g.op("Div", [g.op("MatMul", [qh, kh]), scale])
        scores = g.op("Where", [mask, neg, scores])
        probs = g.op("Softmax", [scores], axis=-1)
        ctx = g.op("Transpose", [g.op("MatMul", [probs, vh])], perm=[0, 2, 1, 3])
        ctx = g.op("Reshape", [ctx, merged_shape])
        x = output_and_mlp(g, x, ctx, w, b, ln, d, a.ff)
    logits = g.op("MatMul", [ln(x), w("head", [d, a.vocab])])
    g.data.close()

    graph = helper.make_graph(
        g.nodes, "decoder",
        [helper.make_tensor_value_info("input_ids", TensorProto.INT64, [1, s])],
        [helper.make_tensor_value_info(logits, TensorProto.FLOAT, [1, s, a.vocab])],
        g.inits)
    model = helper.make_model(graph, ir_version=8, producer_name="smq-bench",
                              opset_imports=[helper.make_opsetid("", 17)])
    onnx.save(model, os.path.join(a.outdir, "model.onnx"))
    params = g.offset // 4
    print("wrote %s: d=%d layers=%d ff=%d heads=%d, about %.1fM parameters, output '%s'"
          % (a.outdir, d, a.layers, a.ff, h, params / 1e6, logits))


def main_kv(a):
    os.makedirs(a.outdir, exist_ok=True)
    rng = np.random.default_rng(a.seed)
    g = Graph(a.outdir)
    d, h = a.d, a.heads
    kvh = a.kv_heads or h
    hd = d // h
    w = lambda stem, dims: g.weight(stem, dims, rng, 1.0 / math.sqrt(dims[0]))
    b = lambda stem, n: g.weight(stem, [n], rng, 0.02)
    ln = lambda t: g.op("LayerNormalization", [t, g.weight("ln_w", [d], rng, 0.1),
                                              b("ln_b", d)],
                        axis=-1, epsilon=1e-5)
    inv = 1.0 / (10000 ** (np.arange(0, hd, 2, dtype=np.float64) / hd))
    angles = np.outer(np.arange(a.positions), inv)
    cos = g.inline("cos_cache", np.cos(angles).astype(np.float32))
    sin = g.inline("sin_cache", np.sin(angles).astype(np.float32))
    # seqlens_k = sum(mask) - 1 and total_sequence_length = mask's length.
    total_len = g.op("Gather", [g.op("Shape", ["attention_mask"]),
                                g.inline("one", np.array(1, np.int64))], axis=0)
    total = g.op("Cast", [total_len], to=TensorProto.INT32)
    seqlens = g.op("Cast", [g.op("Sub", [
        g.op("ReduceSum", ["attention_mask", g.ints([1])], keepdims=0),
        g.inline("one64", np.array(1, np.int64))])], to=TensorProto.INT32)
    x = g.op("Gather", [w("tok", [a.vocab, d]), "input_ids"])
    inputs = [helper.make_tensor_value_info("input_ids", TensorProto.INT64, ["batch", "seq"]),
              helper.make_tensor_value_info("attention_mask", TensorProto.INT64,
                                            ["batch", "total"])]
    outputs = []
    cache = lambda name, length: helper.make_tensor_value_info(
        name, TensorProto.FLOAT, ["batch", kvh, length, hd])
    for layer in range(a.layers):
        n1 = ln(x)
        q = g.op("Add", [g.op("MatMul", [n1, w("q", [d, d])]), b("q_b", d)])
        k = g.op("Add", [g.op("MatMul", [n1, w("k", [d, kvh * hd])]), b("k_b", kvh * hd)])
        v = g.op("Add", [g.op("MatMul", [n1, w("v", [d, kvh * hd])]), b("v_b", kvh * hd)])
        past = ["past_key_values.%d.%s" % (layer, kind) for kind in ("key", "value")]
        present = ["present.%d.%s" % (layer, kind) for kind in ("key", "value")]
        inputs += [cache(name, "past") for name in past]
        outputs += [cache(name, "total") for name in present]
        ctx = g.name("attn")
        g.nodes.append(helper.make_node(
            "GroupQueryAttention", [q, k, v] + past + [seqlens, total, cos, sin],
            [ctx] + present, name=ctx, domain="com.microsoft", num_heads=h,
            kv_num_heads=kvh, do_rotary=1))
        x = output_and_mlp(g, x, ctx, w, b, ln, d, a.ff)
    g.nodes.append(helper.make_node("MatMul", [ln(x), w("head", [d, a.vocab])], ["logits"],
                                    name="head"))
    g.data.close()
    outputs.insert(0, helper.make_tensor_value_info("logits", TensorProto.FLOAT,
                                                    ["batch", "seq", a.vocab]))
    graph = helper.make_graph(g.nodes, "decoder_kv", inputs, outputs, g.inits)
    model = helper.make_model(graph, ir_version=8, producer_name="smq-bench",
                              opset_imports=[helper.make_opsetid("", 17),
                                             helper.make_opsetid("com.microsoft", 1)])
    onnx.save(model, os.path.join(a.outdir, "model.onnx"))
    params = g.offset // 4
    print("wrote %s: d=%d layers=%d ff=%d heads=%d kv heads=%d, a KV cache of %d "
          "positions, about %.1fM parameters" % (a.outdir, d, a.layers, a.ff, h, kvh,
                                                  a.positions, params / 1e6))


if __name__ == "__main__":
    main()
