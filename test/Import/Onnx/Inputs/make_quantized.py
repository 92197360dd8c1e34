#!/usr/bin/env python3
"""Writes small quantized ONNX models the way ONNX Runtime's tools write them.

    make_quantized.py nbits OUTDIR [--bits 4] [--block 32] [--k 80] [--n 24]
                      [--zp packed|float|none] [--bias] [--scales 1d|2d]
                      [--rows 3] [--seed 1]
    make_quantized.py dq OUTDIR [--type int4|uint4|int8|uint8]
                      [--mode tensor|axis|axis0|block] [--block 16] [--k 80] [--n 24]
                      [--zp] [--rows 3] [--seed 1]
    make_quantized.py bad OUTDIR CASE
    make_quantized.py gather OUTDIR [--type uint8|int4|uint4] [--bits 4]
                      [--block 32] [--zp] [--seed 1]
    make_quantized.py float OUTDIR [--gemm] [--alpha 1.0] [--k 80] [--n 24]
                      [--rows 6] [--seed 1]

`nbits`: one com.microsoft::MatMulNBits node (Y = A · dequant(B)ᵀ + bias)
with random codes, scales and zero points. `dq`: DequantizeLinear (opset 21)
of a constant K×N weight, then MatMul. Both write OUTDIR/model.onnx and an
input OUTDIR/a.npy. `bad` writes OUTDIR/model.onnx with one defect (CASE:
k-mismatch, n-mismatch, blob-size, few-scales, g-idx, bits3, bits5,
block-size, prepacked). `gather`: com.microsoft::GatherBlockQuantized of a
40×64 embedding table quantized along its rows, at token ids ids.npy
([2, 5]). `float`: the f32 model SMQ quantizes and exports:
Y = A · W + bias (MatMul, then Add), or with --gemm
Y = alpha · A · Wᵀ + bias (Gemm, transB=1). Needs python3-onnx and
python3-numpy.
"""
import argparse
import os

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

INT4, UINT4 = 22, 21  # TensorProto types of ONNX 1.16, unknown to 1.12


def pack_stream(values, bits):
    """Little-endian bit stream of `values` (last axis), bytes per row."""
    values = np.asarray(values, dtype=np.uint32)
    rows = values.reshape(-1, values.shape[-1])
    nbytes = (rows.shape[1] * bits + 7) // 8
    out = np.zeros((rows.shape[0], nbytes), dtype=np.uint8)
    for i in range(rows.shape[1]):
        bit = i * bits
        for b in range(bits):
            out[:, (bit + b) // 8] |= (((rows[:, i] >> b) & 1) << ((bit + b) % 8)).astype(np.uint8)
    return out


def save(outdir, graph, opsets, ir=8):
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid(d, v) for d, v in opsets])
    model.ir_version = ir
    os.makedirs(outdir, exist_ok=True)
    with open(os.path.join(outdir, "model.onnx"), "wb") as f:
        f.write(model.SerializeToString())


def nbits_model(args, defect=None):
    rng = np.random.default_rng(args.seed)
    k, n, bits, block = args.k, args.n, args.bits, args.block
    blocks = (k + block - 1) // block
    codes = rng.integers(0, 1 << bits, size=(n, blocks * block))
    codes[:, k:] = 0
    b = pack_stream(codes, bits).reshape(n, blocks, block * bits // 8)
    scales = (rng.random((n, blocks)) * 0.02 + 0.005).astype(np.float32)
    inits = [numpy_helper.from_array(b, "B_q"),
             numpy_helper.from_array(scales.reshape(-1) if args.scales == "1d" else scales, "B_scales")]
    inputs = ["A", "B_q", "B_scales"]
    if args.zp == "packed":
        zp = rng.integers(0, 1 << bits, size=(n, blocks))
        inits.append(numpy_helper.from_array(pack_stream(zp, bits).reshape(-1), "B_zp"))
        inputs.append("B_zp")
    elif args.zp == "float":
        zp = (rng.random((n, blocks)) * ((1 << bits) - 1)).astype(np.float32)
        inits.append(numpy_helper.from_array(zp.reshape(-1), "B_zp"))
        inputs.append("B_zp")
    attrs = dict(K=k, N=n, bits=bits, block_size=block, accuracy_level=0)
    if args.bias or defect == "g-idx":
        while len(inputs) < 4:
            inputs.append("")
        if defect == "g-idx":
            inits.append(numpy_helper.from_array(np.arange(k, dtype=np.int32) // block, "g_idx"))
            inputs.append("g_idx")
        else:
            inputs.append("")
    if args.bias:
        inits.append(numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "bias"))
        inputs.append("bias")
    if defect == "k-mismatch":
        attrs["K"] = k + 8
    elif defect == "n-mismatch":
        attrs["N"] = n + 1
    elif defect == "blob-size":
        inits[0] = numpy_helper.from_array(b[:, :, :-1].copy(), "B_q")
    elif defect == "few-scales":
        inits[1] = numpy_helper.from_array(scales.reshape(-1)[:-1].copy(), "B_scales")
    elif defect == "bits3":
        attrs["bits"] = 3
    elif defect == "bits5":
        attrs["bits"] = 5
    elif defect == "block-size":
        attrs["block_size"] = 24
    elif defect == "prepacked":
        attrs["weight_prepacked"] = 1
    node = helper.make_node("MatMulNBits", inputs, ["Y"], name="qmm", domain="com.microsoft", **attrs)
    graph = helper.make_graph(
        [node], "nbits",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [args.rows, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [args.rows, n])], inits)
    save(args.outdir, graph, [("", 17), ("com.microsoft", 1)])
    np.save(os.path.join(args.outdir, "a.npy"), rng.standard_normal((args.rows, k)).astype(np.float32))


def tensor4(name, values, dims, signed):
    """A 4-bit TensorProto: two values to a byte, low nibble first."""
    flat = (np.asarray(values).reshape(-1).astype(np.int64)) & 0xF
    if flat.size % 2:
        flat = np.append(flat, 0)
    t = TensorProto()
    t.name = name
    t.data_type = INT4 if signed else UINT4
    t.dims.extend(dims)
    t.raw_data = (flat[0::2] | (flat[1::2] << 4)).astype(np.uint8).tobytes()
    return t


def dq_model(args):
    rng = np.random.default_rng(args.seed)
    k, n = args.k, args.n
    signed = args.type.startswith("int")
    bits = 4 if args.type.endswith("4") else 8
    lo, hi = (-(1 << (bits - 1)), 1 << (bits - 1)) if signed else (0, 1 << bits)
    x = rng.integers(lo, hi, size=(k, n))
    if args.mode == "tensor":
        sdims, attrs = [], {}
    elif args.mode == "axis":
        sdims, attrs = [n], {"axis": 1}
    elif args.mode == "axis0":
        sdims, attrs = [k], {"axis": 0}
    else:
        sdims, attrs = [(k + args.block - 1) // args.block, n], {"axis": 0, "block_size": args.block}
    scale = (rng.random(sdims) * 0.02 + 0.005).astype(np.float32)
    zp = rng.integers(lo, hi, size=sdims) if args.zp else None
    if bits == 4:
        inits = [tensor4("W_q", x, [k, n], signed)]
    else:
        inits = [numpy_helper.from_array(x.astype(np.int8 if signed else np.uint8), "W_q")]
    inits.append(numpy_helper.from_array(scale, "W_scale"))
    inputs = ["W_q", "W_scale"]
    if zp is not None:
        if bits == 4:
            inits.append(tensor4("W_zp", zp, sdims, signed))
        else:
            inits.append(numpy_helper.from_array(np.asarray(zp).astype(np.int8 if signed else np.uint8), "W_zp"))
        inputs.append("W_zp")
    nodes = [helper.make_node("DequantizeLinear", inputs, ["W"], name="dq", **attrs),
             helper.make_node("MatMul", ["A", "W"], ["Y"], name="mm")]
    graph = helper.make_graph(
        nodes, "dq",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [args.rows, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [args.rows, n])], inits)
    save(args.outdir, graph, [("", 21)], ir=10)
    np.save(os.path.join(args.outdir, "a.npy"), rng.standard_normal((args.rows, k)).astype(np.float32))


def gather_model(args):
    rng = np.random.default_rng(args.seed)
    vocab, d, block, bits = 40, 64, args.block, args.bits
    blocks = (d + block - 1) // block
    scale = (rng.random((vocab, blocks)) * 0.02 + 0.005).astype(np.float32)
    inits = []
    if args.type == "uint8":
        codes = rng.integers(0, 1 << bits, size=(vocab, d))
        inits.append(numpy_helper.from_array(pack_stream(codes, bits), "table_q"))
        if args.zp:
            zp = rng.integers(0, 1 << bits, size=(vocab, blocks))
            inits.append(numpy_helper.from_array(pack_stream(zp, bits), "table_zp"))
    else:
        signed = args.type == "int4"
        lo, hi = (-8, 8) if signed else (0, 16)
        inits.append(tensor4("table_q", rng.integers(lo, hi, size=(vocab, d)), [vocab, d], signed))
        if args.zp:
            inits.append(tensor4("table_zp", rng.integers(lo, hi, size=(vocab, blocks)), [vocab, blocks], signed))
    inits.insert(1, numpy_helper.from_array(scale, "table_scales"))
    inputs = ["table_q", "ids", "table_scales"] + (["table_zp"] if args.zp else [])
    node = helper.make_node("GatherBlockQuantized", inputs, ["E"], name="embed", domain="com.microsoft",
                            gather_axis=0, quantize_axis=1, block_size=block, bits=bits)
    graph = helper.make_graph(
        [node], "gather",
        [helper.make_tensor_value_info("ids", TensorProto.INT64, [2, 5])],
        [helper.make_tensor_value_info("E", TensorProto.FLOAT, [2, 5, d])], inits)
    save(args.outdir, graph, [("", 17), ("com.microsoft", 1)], ir=10)
    np.save(os.path.join(args.outdir, "ids.npy"), rng.integers(0, vocab, size=(2, 5)).astype(np.int64))


def float_model(args):
    rng = np.random.default_rng(args.seed)
    k, n = args.k, args.n
    w = (rng.standard_normal((n, k) if args.gemm else (k, n)) * 0.1).astype(np.float32)
    inits = [numpy_helper.from_array(w, "W"),
             numpy_helper.from_array(rng.standard_normal(n).astype(np.float32), "bias")]
    if args.gemm:
        nodes = [helper.make_node("Gemm", ["A", "W", "bias"], ["Y"], name="gemm",
                                  alpha=args.alpha, transB=1)]
    else:
        nodes = [helper.make_node("MatMul", ["A", "W"], ["T"], name="mm"),
                 helper.make_node("Add", ["T", "bias"], ["Y"], name="add")]
    graph = helper.make_graph(
        nodes, "float",
        [helper.make_tensor_value_info("A", TensorProto.FLOAT, [args.rows, k])],
        [helper.make_tensor_value_info("Y", TensorProto.FLOAT, [args.rows, n])], inits)
    save(args.outdir, graph, [("", 17)])
    np.save(os.path.join(args.outdir, "a.npy"), rng.standard_normal((args.rows, k)).astype(np.float32))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("kind", choices=["nbits", "dq", "bad", "gather", "float"])
    p.add_argument("outdir")
    p.add_argument("case", nargs="?")
    p.add_argument("--bits", type=int, default=4)
    p.add_argument("--block", type=int, default=32)
    p.add_argument("--k", type=int, default=80)
    p.add_argument("--n", type=int, default=24)
    p.add_argument("--rows", type=int, default=3)
    p.add_argument("--zp", nargs="?", const="packed", default=None)
    p.add_argument("--bias", action="store_true")
    p.add_argument("--scales", default="1d")
    p.add_argument("--type", default="uint4")
    p.add_argument("--mode", default="block")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--gemm", action="store_true")
    p.add_argument("--alpha", type=float, default=1.0)
    args = p.parse_args()
    if args.kind == "nbits":
        args.zp = args.zp or "none"
        nbits_model(args)
    elif args.kind == "dq":
        dq_model(args)
    elif args.kind == "gather":
        args.zp = bool(args.zp)
        gather_model(args)
    elif args.kind == "float":
        args.rows = args.rows if args.rows != 3 else 6
        float_model(args)
    else:
        args.zp = "packed"
        nbits_model(args, defect=args.case)


if __name__ == "__main__":
    main()
