#!/usr/bin/env python3
"""Writes small binary ONNX models that ONNX's text syntax cannot express:
external data (good and hostile) and inconsistent tensors.

    make_model.py CASE OUTDIR

The hostile cases set the TensorProto's fields directly and never run ONNX's
checker, so each writes exactly the bad input its test expects. Needs the
onnx package.
"""
import os
import struct
import sys

import onnx
from onnx import TensorProto, helper


def tensor(name, dims, raw=None, external=None):
    """A float initializer, with raw_data or external data as given."""
    t = TensorProto(name=name, data_type=TensorProto.FLOAT)
    t.dims.extend(dims)
    if raw is not None:
        t.raw_data = raw
    if external is not None:
        for k, v in external.items():
            entry = t.external_data.add()
            entry.key, entry.value = k, str(v)
        t.data_location = TensorProto.EXTERNAL
    return t


def model(initializer):
    """y = MatMul(x, w) with x: [1, 4] and w: [4, 2]."""
    node = helper.make_node("MatMul", ["x", "w"], ["y"], name="mm0")
    graph = helper.make_graph(
        [node], "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 4])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 2])],
        [initializer])
    return helper.make_model(graph, ir_version=8,
                             opset_imports=[helper.make_opsetid("", 17)])


WEIGHTS = struct.pack("<8f", 1, 2, 3, 4, 5, 6, 7, 8)


def main():
    case, out = sys.argv[1], sys.argv[2]
    os.makedirs(out, exist_ok=True)
    path = os.path.join(out, "model.onnx")
    ext = {"location": "weights.bin", "offset": 16, "length": 32}
    if case == "external":
        with open(os.path.join(out, "weights.bin"), "wb") as f:
            f.write(b"\0" * 16 + WEIGHTS)
        init = tensor("w", [4, 2], external=ext)
    elif case == "external-escape":
        init = tensor("w", [4, 2], external=dict(ext, location="../secret.bin"))
        with open(os.path.join(out, "..", "secret.bin"), "wb") as f:
            f.write(b"\0" * 48)
    elif case == "external-absolute":
        init = tensor("w", [4, 2], external=dict(ext, location="/etc/passwd"))
    elif case == "external-missing":
        init = tensor("w", [4, 2], external=dict(ext, location="nope.bin"))
    elif case == "external-short":
        with open(os.path.join(out, "weights.bin"), "wb") as f:
            f.write(b"\0" * 20)
        init = tensor("w", [4, 2], external=ext)
    elif case == "external-symlink":
        secret = os.path.join(out, "..", "secret.bin")
        with open(secret, "wb") as f:
            f.write(b"\0" * 48)
        link = os.path.join(out, "weights.bin")
        if os.path.lexists(link):
            os.remove(link)
        os.symlink(os.path.abspath(secret), link)
        init = tensor("w", [4, 2], external=ext)
    elif case == "raw-size-mismatch":
        init = tensor("w", [4, 2], raw=WEIGHTS[:20])
    elif case == "absurd-dims":
        init = tensor("w", [1 << 40, 1 << 30], raw=WEIGHTS)
    else:
        sys.exit("unknown case " + case)
    onnx.save(model(init), path)


if __name__ == "__main__":
    main()
