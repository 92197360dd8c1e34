"""Writes small models with com.microsoft::GroupQueryAttention, and their
inputs, for checking SMQ against ONNX Runtime.

    make_gqa.py OUTDIR

As ONNX Runtime GenAI's decoders do, seqlens_k and total_sequence_length
come from attention_mask inside the graph. Each model NAME.onnx has inputs
NAME.*.npy (as arguments of smq-run in NAME.smq and of ort-run.mjs in
NAME.ort, one per line) and outputs
out, present_key and present_value:

prompt:  a first prompt (no past), 2 rows, 4 query heads on 2 kv heads.
decode:  one token after a past of 6 slots, 2 rows, the second with 4 valid
         past positions (a ragged cache), half-split rotary over the head.
packed:  a packed QKV query, a later prompt of 3 tokens after 4, partial
         interleaved rotary, a local window of 3, softcap and scale.
bigpast: a past buffer longer than the total (8 slots, 7 used).
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(7)
opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]


def caches(positions, rot):
    inv = 1.0 / (10000 ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
    angles = np.outer(np.arange(positions), inv)
    return (numpy_helper.from_array(np.cos(angles).astype(np.float32), "cos"),
            numpy_helper.from_array(np.sin(angles).astype(np.float32), "sin"))


def model(name, B, S, P, N, Nk, H, mask, packed=False, rot=0, **attrs):
    f = TensorProto.FLOAT
    vi = helper.make_tensor_value_info
    T = mask.shape[1]
    feeds = {}
    if packed:
        feeds["qkv"] = rng.randn(B, S, (N + 2 * Nk) * H)
        names = ["qkv", "", ""]
    else:
        feeds["q"] = rng.randn(B, S, N * H)
        feeds["k"] = rng.randn(B, S, Nk * H)
        feeds["v"] = rng.randn(B, S, Nk * H)
        names = ["q", "k", "v"]
    feeds["past_key"] = rng.randn(B, Nk, P, H)
    feeds["past_value"] = rng.randn(B, Nk, P, H)
    inputs = [vi(k, f, list(v.shape)) for k, v in feeds.items()]
    feeds = {k: v.astype(np.float32) for k, v in feeds.items()}
    feeds["attention_mask"] = mask.astype(np.int64)
    inputs.append(vi("attention_mask", TensorProto.INT64, list(mask.shape)))
    inits = [numpy_helper.from_array(np.array([1], np.int64), "axis1"),
             numpy_helper.from_array(np.array(1, np.int64), "one"),
             numpy_helper.from_array(np.array(1, np.int64), "dim1")]
    nodes = [
        helper.make_node("ReduceSum", ["attention_mask", "axis1"], ["sum"], keepdims=0),
        helper.make_node("Sub", ["sum", "one"], ["sum1"]),
        helper.make_node("Cast", ["sum1"], ["seqlens_k"], to=TensorProto.INT32),
        helper.make_node("Shape", ["attention_mask"], ["mshape"]),
        helper.make_node("Gather", ["mshape", "dim1"], ["tlen"], axis=0),
        helper.make_node("Cast", ["tlen"], ["total"], to=TensorProto.INT32),
    ]
    gqa_inputs = names + ["past_key", "past_value", "seqlens_k", "total"]
    if rot:
        inits += list(caches(32, rot))
        gqa_inputs += ["cos", "sin"]
        attrs["do_rotary"] = 1
    nodes.append(helper.make_node(
        "GroupQueryAttention", gqa_inputs, ["out", "present_key", "present_value"],
        name="gqa", domain="com.microsoft", num_heads=N, kv_num_heads=Nk, **attrs))
    present = [B, Nk, max(P, T), H]
    graph = helper.make_graph(nodes, name, inputs,
                              [vi("out", f, [B, S, N * H]), vi("present_key", f, present),
                               vi("present_value", f, present)], inits)
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name + ".onnx"))
    # NAME.smq and NAME.ort: the inputs as arguments of smq-run and of
    # ort-run.mjs, one per line (for xargs).
    with open(os.path.join(out, name + ".smq"), "w") as smq, \
            open(os.path.join(out, name + ".ort"), "w") as ort:
        for k, v in feeds.items():
            path = os.path.join(out, "%s.%s.npy" % (name, k))
            np.save(path, v)
            smq.write("--input\n%s=%s\n" % (k, path))
            ort.write("%s=%s\n" % (k, path))


model("prompt", B=2, S=5, P=0, N=4, Nk=2, H=16, mask=np.ones((2, 5)))
ragged = np.ones((2, 7))
ragged[1, 5:] = 0
model("decode", B=2, S=1, P=6, N=4, Nk=2, H=16, mask=ragged, rot=16)
model("packed", B=1, S=3, P=4, N=2, Nk=1, H=32, mask=np.ones((1, 7)), packed=True,
      rot=16, rotary_interleaved=1, local_window_size=3, softcap=2.0, scale=0.3)
model("bigpast", B=1, S=1, P=8, N=2, Nk=2, H=16, mask=np.ones((1, 7)))
