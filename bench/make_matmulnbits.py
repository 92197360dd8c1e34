#!/usr/bin/env python3
"""Writes a one-node ONNX model: Y[M, N] = A[M, K] · dequant(B)ᵀ with
com.microsoft::MatMulNBits (ONNX Runtime's low-bit weight-only MatMul), and
a random A as .npy, for benchmarking ONNX Runtime's kernels against SMQ's.

  make_matmulnbits.py OUT_DIR --n N --k K --m M --bits B --block G --accuracy L

Codes are random; scales are 1-D [N·K/G], as ORT's quantizer writes them, and
there are no zero points (the default, 2^(bits-1)).
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    p = argparse.ArgumentParser()
    p.add_argument("out")
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--m", type=int, default=1)
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--block", type=int, default=128)
    p.add_argument("--accuracy", type=int, default=0)
    a = p.parse_args()
    if a.k % a.block:
        raise SystemExit("K must be a multiple of the block")
    rng = np.random.default_rng(1)
    blocks = a.k // a.block
    blob = a.block * a.bits // 8
    b = rng.integers(0, 256, size=(a.n, blocks, blob), dtype=np.uint8)
    scales = (rng.random(a.n * blocks, dtype=np.float32) * 0.01).astype(np.float32)
    node = helper.make_node(
        "MatMulNBits", ["A", "B", "scales"], ["Y"], domain="com.microsoft",
        K=a.k, N=a.n, bits=a.bits, block_size=a.block,
        accuracy_level=a.accuracy)
    graph = helper.make_graph(
        [node], "matmulnbits",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [a.m, a.k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [a.m, a.n])],
        [numpy_helper.from_array(b, "B"), numpy_helper.from_array(scales, "scales")])
    model = helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)])
    os.makedirs(a.out, exist_ok=True)
    onnx.save(model, os.path.join(a.out, "model.onnx"))
    np.save(os.path.join(a.out, "A.npy"),
            rng.standard_normal((a.m, a.k), dtype=np.float32))


if __name__ == "__main__":
    main()
