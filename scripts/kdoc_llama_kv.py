#!/usr/bin/env python3
"""Builds kdoc-llama as a decoder with a key/value cache, in Hugging Face's
ONNX decoder contract (the one ../shared/models/gpt-byte-kv follows):

    input_ids        int64 [batch, seq]
    attention_mask   int64 [batch, past + seq]
    position_ids     int64 [batch, seq]       (0..127: the rotary tables)
    past_key_values.{i}.key / .value  float32 [batch, 6, past, 32], i = 0..4
 -> logits           float32 [batch, seq, 256]
    present.{i}.key / .value          float32 [batch, 6, past + seq, 32]

    kdoc_llama_kv.py MODEL.onnx OUT.onnx [--check]
                     [--greedy PROMPT_FILE N GREEDY_OUT]

The weights, the rotary tables, the RMSNorm epsilon and every op's order
are taken from the shared model.onnx (a torch.onnx export), so that with an
empty cache the new graph computes what the old one does; only positions
come from position_ids, and the causal mask from the cache's length and the
attention mask. --check runs both graphs with ONNX Runtime's Python API if
it is installed, else with a NumPy implementation of this file's graph,
and compares the logits on the shared sample (and one cached step against
the no-cache run). --greedy writes the N bytes greedy decoding gives after
the prompt's bytes, each step re-running the whole sequence without a
cache (NumPy), the reference a cached implementation must reproduce.
"""
import argparse
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

LAYERS, HEADS, HEAD, D, FF, VOCAB = 5, 6, 32, 192, 512, 256


def source_weights(model):
    """The shared model's weights by role, read from the nodes that use
    them (the export names MatMul weights onnx::MatMul_N)."""
    g = model.graph
    inits = {i.name: numpy_helper.to_array(i) for i in g.initializer}
    consts = {n.output[0]: numpy_helper.to_array(n.attribute[0].t)
              for n in g.node if n.op_type == "Constant"}
    w = {"tok": inits["tok.weight"], "nf": inits["nf.w"]}
    for n in g.node:
        if n.op_type != "MatMul" or n.input[1] not in inits:
            continue
        parts = n.name.strip("/").split("/")  # blocks.0/q/MatMul, head/MatMul
        key = "head" if parts[0] == "head" else parts[0] + "." + parts[1]
        w[key] = inits[n.input[1]]
    for i in range(LAYERS):
        w["blocks.%d.n1" % i] = inits["blocks.%d.n1.w" % i]
        w["blocks.%d.n2" % i] = inits["blocks.%d.n2.w" % i]
    # The rotary tables: the two constants block 0 slices by the sequence
    # length (cos first, as the export multiplies q by it first).
    tables = [n for n in g.node if n.name in ("/blocks.0/Slice",
                                              "/blocks.0/Slice_1")]
    w["cos"] = consts[tables[0].input[0]]
    w["sin"] = consts[tables[1].input[0]]
    eps = [consts[n.input[1]] for n in g.node
           if n.name == "/blocks.0/n1/Add"][0]
    w["eps"] = float(eps)
    missing = [k for k in ["head"] + ["blocks.%d.%s" % (i, r)
               for i in range(LAYERS)
               for r in ("q", "k", "v", "o", "gate", "up", "down")]
               if k not in w]
    if missing:
        sys.exit("kdoc_llama_kv: the model lacks " + ", ".join(missing))
    return w


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, value, dtype=np.float32):
        name = "c%d" % len(self.inits)
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype),
                                                  name))
        return name

    def weight(self, name, value):
        self.inits.append(numpy_helper.from_array(value, name))
        return name

    def op(self, op_type, inputs, name, outputs=None, **attrs):
        outputs = outputs or [name + "_out"]
        self.nodes.append(helper.make_node(op_type, inputs, outputs,
                                           name=name, **attrs))
        return outputs[0] if len(outputs) == 1 else outputs


def rms_norm(g, x, weight, eps, name):
    sq = g.op("Pow", [x, g.const(2.0)], name + "/Pow")
    mean = g.op("ReduceMean", [sq], name + "/ReduceMean", axes=[-1],
                keepdims=1)
    root = g.op("Sqrt", [g.op("Add", [mean, g.const(eps)], name + "/Add")],
                name + "/Sqrt")
    inv = g.op("Div", [g.const(1.0), root], name + "/Div")
    return g.op("Mul", [g.op("Mul", [x, inv], name + "/Mul"), weight],
                name + "/Mul_1")


def rotate(g, t, cos, sin, name):
    """t·cos + rotate_half(t)·sin, rotate_half(t) = [−t₂, t₁] (halves of
    the head dim), as the export computes it."""
    first = g.op("Slice", [t, g.const([0], np.int64),
                           g.const([HEAD // 2], np.int64),
                           g.const([-1], np.int64)], name + "/Slice")
    second = g.op("Slice", [t, g.const([HEAD // 2], np.int64),
                            g.const([HEAD], np.int64),
                            g.const([-1], np.int64)], name + "/Slice_1")
    half = g.op("Concat", [g.op("Neg", [second], name + "/Neg"), first],
                name + "/Concat", axis=-1)
    return g.op("Add", [g.op("Mul", [t, cos], name + "/Mul"),
                        g.op("Mul", [half, sin], name + "/Mul_1")],
                name + "/Add")


def build(w):
    g = Graph()
    heads_shape = g.const([0, 0, HEADS, HEAD], np.int64)
    x = g.op("Gather", [g.weight("tok.weight", w["tok"]), "input_ids"],
             "/tok/Gather")
    # Rotary factors of each new token's position: [batch, 1, seq, 32].
    axis1 = g.const([1], np.int64)
    cos = g.op("Unsqueeze", [g.op("Gather", [g.const(w["cos"]),
                                             "position_ids"], "/cos/Gather"),
                             axis1], "/cos/Unsqueeze")
    sin = g.op("Unsqueeze", [g.op("Gather", [g.const(w["sin"]),
                                             "position_ids"], "/sin/Gather"),
                             axis1], "/sin/Unsqueeze")
    # Query i (position past + i) sees key j where j <= past + i and the
    # attention mask holds 1 at j: [batch, 1, seq, past + seq].
    zero = g.const(0, np.int64)
    one = g.const(1, np.int64)
    past = g.op("Gather", [g.op("Shape", ["past_key_values.0.key"],
                                "/past/Shape"), g.const(2, np.int64)],
                "/past/Gather", axis=0)
    seq = g.op("Gather", [g.op("Shape", ["input_ids"], "/seq/Shape"), one],
               "/seq/Gather", axis=0)
    total = g.op("Add", [past, seq], "/total/Add")
    rows = g.op("Add", [g.op("Unsqueeze", [g.op("Range", [zero, seq, one],
                                                "/rows/Range"), axis1],
                             "/rows/Unsqueeze"), past], "/rows/Add")
    cols = g.op("Unsqueeze", [g.op("Range", [zero, total, one],
                                   "/cols/Range"), g.const([0], np.int64)],
                "/cols/Unsqueeze")
    causal = g.op("LessOrEqual", [cols, rows], "/causal/LessOrEqual")
    keep = g.op("Unsqueeze", [g.op("Cast", ["attention_mask"],
                                   "/mask/Cast", to=TensorProto.BOOL),
                              g.const([1, 2], np.int64)], "/mask/Unsqueeze")
    allowed = g.op("And", [causal, keep], "/mask/And")
    # The most negative float, not -inf: a row with nothing to attend to
    # (a padding query) stays finite instead of turning the batch to NaN.
    lowest = g.const(np.finfo(np.float32).min)
    scale = g.const(np.float32(np.sqrt(HEAD)))
    merge_shape = g.const([0, 0, D], np.int64)
    for i in range(LAYERS):
        b = "/blocks.%d" % i
        h = rms_norm(g, x, g.weight("blocks.%d.n1.w" % i,
                                    w["blocks.%d.n1" % i]), w["eps"],
                     b + "/n1")

        def project(role):
            m = g.op("MatMul", [h, g.weight("blocks.%d.%s.weight" % (i, role),
                                            w["blocks.%d.%s" % (i, role)])],
                     b + "/%s/MatMul" % role)
            r = g.op("Reshape", [m, heads_shape], b + "/%s/Reshape" % role)
            return g.op("Transpose", [r], b + "/%s/Transpose" % role,
                        perm=[0, 2, 1, 3])
        q = rotate(g, project("q"), cos, sin, b + "/q/rotary")
        k = rotate(g, project("k"), cos, sin, b + "/k/rotary")
        v = project("v")
        keys = g.op("Concat", ["past_key_values.%d.key" % i, k],
                    b + "/present_key", ["present.%d.key" % i], axis=2)
        values = g.op("Concat", ["past_key_values.%d.value" % i, v],
                      b + "/present_value", ["present.%d.value" % i], axis=2)
        kt = g.op("Transpose", [keys], b + "/Transpose", perm=[0, 1, 3, 2])
        scores = g.op("Div", [g.op("MatMul", [q, kt], b + "/MatMul"), scale],
                      b + "/Div")
        masked = g.op("Where", [allowed, scores, lowest], b + "/Where")
        p = g.op("Softmax", [masked], b + "/Softmax", axis=-1)
        att = g.op("MatMul", [p, values], b + "/MatMul_1")
        att = g.op("Reshape", [g.op("Transpose", [att], b + "/Transpose_1",
                                    perm=[0, 2, 1, 3]), merge_shape],
                   b + "/Reshape")
        o = g.op("MatMul", [att, g.weight("blocks.%d.o.weight" % i,
                                          w["blocks.%d.o" % i])],
                 b + "/o/MatMul")
        x = g.op("Add", [x, o], b + "/Add")
        h = rms_norm(g, x, g.weight("blocks.%d.n2.w" % i,
                                    w["blocks.%d.n2" % i]), w["eps"],
                     b + "/n2")
        gate = g.op("MatMul", [h, g.weight("blocks.%d.gate.weight" % i,
                                           w["blocks.%d.gate" % i])],
                    b + "/gate/MatMul")
        silu = g.op("Mul", [gate, g.op("Sigmoid", [gate], b + "/Sigmoid")],
                    b + "/Mul")
        up = g.op("MatMul", [h, g.weight("blocks.%d.up.weight" % i,
                                         w["blocks.%d.up" % i])],
                  b + "/up/MatMul")
        down = g.op("MatMul", [g.op("Mul", [silu, up], b + "/Mul_1"),
                               g.weight("blocks.%d.down.weight" % i,
                                        w["blocks.%d.down" % i])],
                    b + "/down/MatMul")
        x = g.op("Add", [x, down], b + "/Add_1")
    h = rms_norm(g, x, g.weight("nf.w", w["nf"]), w["eps"], "/nf")
    g.op("MatMul", [h, g.weight("head.weight", w["head"])], "/head/MatMul",
         ["logits"])

    def tensor(name, dtype, dims):
        return helper.make_tensor_value_info(name, dtype, dims)
    cache = ["batch", HEADS, "past_seq", HEAD]
    present = ["batch", HEADS, "total_seq", HEAD]
    inputs = [tensor("input_ids", TensorProto.INT64, ["batch", "seq"]),
              tensor("attention_mask", TensorProto.INT64,
                     ["batch", "total_seq"]),
              tensor("position_ids", TensorProto.INT64, ["batch", "seq"])]
    outputs = [tensor("logits", TensorProto.FLOAT, ["batch", "seq", VOCAB])]
    for i in range(LAYERS):
        for kind in ("key", "value"):
            inputs.append(tensor("past_key_values.%d.%s" % (i, kind),
                                 TensorProto.FLOAT, cache))
            outputs.append(tensor("present.%d.%s" % (i, kind),
                                  TensorProto.FLOAT, present))
    graph = helper.make_graph(g.nodes, "kdoc-llama-kv", inputs, outputs,
                              g.inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("",
                                                                        17)],
                              producer_name="smq scripts/kdoc_llama_kv.py")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


def numpy_forward(w, ids, past=None):
    """This file's graph in NumPy, float32: logits and the new cache."""
    f = np.float32
    b, s = ids.shape
    p = 0 if past is None else past[0][0].shape[2]
    pos = np.arange(p, p + s)[None, :].repeat(b, 0)

    def norm(x, wt):
        inv = f(1.0) / np.sqrt((x * x).mean(-1, keepdims=True) + f(w["eps"]))
        return x * inv * wt

    def rot(t):
        half = np.concatenate([-t[..., HEAD // 2:], t[..., :HEAD // 2]], -1)
        return t * w["cos"][pos][:, None] + half * w["sin"][pos][:, None]
    allowed = np.arange(p + s)[None, :] <= (np.arange(s)[:, None] + p)
    x = w["tok"][ids]
    present = []
    for i in range(LAYERS):
        h = norm(x, w["blocks.%d.n1" % i])

        def proj(r):
            return (h @ w["blocks.%d.%s" % (i, r)]).reshape(
                b, s, HEADS, HEAD).transpose(0, 2, 1, 3)
        q, k, v = rot(proj("q")), rot(proj("k")), proj("v")
        if past is not None:
            k = np.concatenate([past[i][0], k], 2)
            v = np.concatenate([past[i][1], v], 2)
        present.append((k, v))
        sc = np.where(allowed, (q @ k.transpose(0, 1, 3, 2)) / f(np.sqrt(HEAD)),
                      np.finfo(f).min)
        e = np.exp(sc - sc.max(-1, keepdims=True))
        a = ((e / e.sum(-1, keepdims=True)) @ v).transpose(0, 2, 1, 3)
        x = x + a.reshape(b, s, D) @ w["blocks.%d.o" % i]
        h = norm(x, w["blocks.%d.n2" % i])
        gate = h @ w["blocks.%d.gate" % i]
        silu = gate / (f(1.0) + np.exp(-gate))
        x = x + (silu * (h @ w["blocks.%d.up" % i])) @ w["blocks.%d.down" % i]
    return norm(x, w["nf"]) @ w["head"], present


def check(w, source_path, out_path):
    folder = source_path.rsplit("/", 1)[0]
    ids = np.load(folder + "/sample_input_ids.npy")
    want = np.load(folder + "/sample_logits.npy")
    got, _ = numpy_forward(w, ids)
    err = float(np.abs(got - want).max())
    print("no cache, 128 tokens: max |logits - PyTorch's| = %.2e" % err)
    # 100 tokens, then 28 more through the cache, against the full run.
    first, cache = numpy_forward(w, ids[:, :100])
    rest, _ = numpy_forward(w, ids[:, 100:], cache)
    step = float(np.abs(np.concatenate([first, rest], 1) - got).max())
    print("100 tokens, then 28 through the cache: max |difference| = %.2e"
          % step)
    try:
        import onnxruntime as ort
    except ImportError:
        print("onnxruntime (Python) is not installed: the graph itself is "
              "checked by the tests with ONNX Runtime for Node")
        return err < 1e-4 and step < 1e-4
    sess = ort.InferenceSession(out_path)
    feeds = {"input_ids": ids, "attention_mask": np.ones_like(ids),
             "position_ids": np.arange(128)[None, :]}
    for i in range(LAYERS):
        for kind in ("key", "value"):
            feeds["past_key_values.%d.%s" % (i, kind)] = np.zeros(
                (1, HEADS, 0, HEAD), np.float32)
    ort_err = float(np.abs(sess.run(["logits"], feeds)[0] - want).max())
    print("ONNX Runtime, no cache: max |logits - PyTorch's| = %.2e" % ort_err)
    return err < 1e-4 and step < 1e-4 and ort_err < 1e-4


def greedy(w, prompt, n):
    """n greedy bytes after `prompt`, without a cache."""
    ids = list(prompt)
    for _ in range(n):
        logits, _ = numpy_forward(w, np.array([ids], np.int64))
        ids.append(int(np.argmax(logits[0, -1])))
    return bytes(ids[len(prompt):])


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model")
    ap.add_argument("out")
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--greedy", nargs=3, metavar=("PROMPT_FILE", "N", "OUT"))
    a = ap.parse_args()
    w = source_weights(onnx.load(a.model))
    onnx.save(build(w), a.out)
    if a.check and not check(w, a.model, a.out):
        sys.exit("kdoc_llama_kv: the KV graph does not match the model")
    if a.greedy:
        prompt = open(a.greedy[0], "rb").read()
        if len(prompt) + int(a.greedy[1]) > w["cos"].shape[0]:
            sys.exit("kdoc_llama_kv: the model has %d positions"
                     % w["cos"].shape[0])
        with open(a.greedy[2], "wb") as f:
            f.write(greedy(w, prompt, int(a.greedy[1])))


if __name__ == "__main__":
    main()
