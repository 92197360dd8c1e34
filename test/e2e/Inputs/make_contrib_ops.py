"""Writes small models with the decoder ops of ONNX Runtime GenAI's model
builder, and their inputs, for checking SMQ against ONNX Runtime.

    make_contrib_ops.py OUTDIR

rms.onnx: SimplifiedLayerNormalization and SkipSimplifiedLayerNormalization
(with bias, all four outputs asked for but mean).
rope-half-4d.onnx, rope-inter-3d.onnx, rope-partial.onnx: RotaryEmbedding
on [batch, heads, seq, head] with half-split pairs, on [batch, seq, hidden]
with interleaved pairs, and with a rotary dim of half the head.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)
rng = np.random.RandomState(0)
opsets = [helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]


def save(graph, name):
    m = helper.make_model(graph, opset_imports=opsets)
    m.ir_version = 8
    onnx.save(m, os.path.join(out, name))


def vi(name, shape, t=TensorProto.FLOAT):
    return helper.make_tensor_value_info(name, t, shape)


# RMSNorm and its skip form.
np.save(os.path.join(out, "x.npy"), rng.randn(2, 3, 8).astype(np.float32))
np.save(os.path.join(out, "skip.npy"), rng.randn(2, 3, 8).astype(np.float32))
w = numpy_helper.from_array(np.linspace(0.5, 1.5, 8).astype(np.float32), "w")
bias = numpy_helper.from_array(np.linspace(-0.2, 0.2, 8).astype(np.float32), "bias")
nodes = [
    helper.make_node("SimplifiedLayerNormalization", ["x", "w"], ["y", "inv"],
                     axis=-1, epsilon=1e-5),
    helper.make_node("SkipSimplifiedLayerNormalization", ["x", "skip", "w", "bias"],
                     ["y2", "", "inv2", "sum"], domain="com.microsoft", epsilon=1e-5),
]
save(helper.make_graph(nodes, "rms", [vi("x", [2, 3, 8]), vi("skip", [2, 3, 8])],
                       [vi("y", [2, 3, 8]), vi("inv", [2, 3, 1]), vi("y2", [2, 3, 8]),
                        vi("inv2", [2, 3, 1]), vi("sum", [2, 3, 8])], [w, bias]),
     "rms.onnx")


def caches(positions, rot):
    inv = 1.0 / (10000 ** (np.arange(0, rot, 2, dtype=np.float64) / rot))
    angles = np.outer(np.arange(positions), inv)
    return (numpy_helper.from_array(np.cos(angles).astype(np.float32), "cos"),
            numpy_helper.from_array(np.sin(angles).astype(np.float32), "sin"))


np.save(os.path.join(out, "pos.npy"), np.array([[3, 4, 5, 6, 7]], dtype=np.int64))
np.save(os.path.join(out, "q4.npy"), rng.randn(1, 2, 5, 8).astype(np.float32))
np.save(os.path.join(out, "q3.npy"), rng.randn(1, 5, 16).astype(np.float32))
for name, shape, attrs, rot in [
        ("rope-half-4d.onnx", [1, 2, 5, 8], {}, 8),
        ("rope-inter-3d.onnx", [1, 5, 16], {"interleaved": 1, "num_heads": 2}, 8),
        ("rope-partial.onnx", [1, 2, 5, 8], {"rotary_embedding_dim": 4, "num_heads": 2}, 4)]:
    cos, sin = caches(16, rot)
    node = helper.make_node("RotaryEmbedding", ["q", "pos", "cos", "sin"], ["r"],
                            domain="com.microsoft", **attrs)
    save(helper.make_graph([node], "rope",
                           [vi("q", shape), vi("pos", [1, 5], TensorProto.INT64)],
                           [vi("r", shape)], [cos, sin]), name)
