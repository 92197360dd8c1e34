"""The protobuf wire format, enough to write ONNX models and tensors by hand.

SMQ's test and benchmark generators write ONNX files without the Python
onnx package (Debian's python3-onnx is not needed for anything else).
Field numbers come from onnx.proto.
"""
import struct


def varint(n):
    out = bytearray()
    n &= (1 << 64) - 1
    while True:
        b = n & 0x7F
        n >>= 7
        out.append(b | (0x80 if n else 0))
        if not n:
            return bytes(out)


def key(field, wire):
    return varint(field << 3 | wire)


def f_varint(field, n):
    """A varint field (wire type 0)."""
    return key(field, 0) + varint(n)


def f_bytes(field, data):
    """A length-delimited field (wire type 2): bytes, a string or a message."""
    if isinstance(data, str):
        data = data.encode()
    return key(field, 2) + varint(len(data)) + data


def f_float(field, x):
    """A 32-bit float field (wire type 5)."""
    return key(field, 5) + struct.pack("<f", x)


# TensorProto.DataType values.
FLOAT, INT32, INT64, BOOL = 1, 6, 7, 9
