#!/usr/bin/env python3
"""Writes small binary ONNX models that ONNX's text syntax cannot express:
external data (good and hostile) and inconsistent tensors.

    make_model.py CASE OUTDIR

Encodes the protobuf wire format by hand (field numbers from onnx.proto), so
the tests need no Python onnx package.
"""
import struct
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "../../../../utils"))
from onnxwire import BOOL, FLOAT, INT32, INT64, f_bytes, f_float, f_varint, varint  # noqa: E402


def value_info(name, dims):
    shape = b"".join(f_bytes(1, f_varint(1, d)) for d in dims)
    tensor_type = f_varint(1, FLOAT) + f_bytes(2, shape)
    return f_bytes(1, name) + f_bytes(2, f_bytes(1, tensor_type))


def tensor(name, dims, raw=None, external=None):
    t = b"".join(f_varint(1, d) for d in dims) + f_varint(2, FLOAT)
    t += f_bytes(8, name)
    if raw is not None:
        t += f_bytes(9, raw)
    if external is not None:
        for k, v in external.items():
            t += f_bytes(13, f_bytes(1, k) + f_bytes(2, str(v)))
        t += f_varint(14, 1)  # data_location = EXTERNAL
    return t


def model(initializer):
    """y = MatMul(x, w) with x: [1, 4] and w: [4, 2]."""
    node = f_bytes(1, "x") + f_bytes(1, "w") + f_bytes(2, "y")
    node += f_bytes(3, "mm0") + f_bytes(4, "MatMul")
    graph = f_bytes(1, node) + f_bytes(2, "g") + f_bytes(5, initializer)
    graph += f_bytes(11, value_info("x", [1, 4]))
    graph += f_bytes(12, value_info("y", [1, 2]))
    opset = f_bytes(1, "") + f_varint(2, 17)
    return f_varint(1, 8) + f_bytes(8, opset) + f_bytes(7, graph)


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
    with open(path, "wb") as f:
        f.write(model(init))


if __name__ == "__main__":
    main()
