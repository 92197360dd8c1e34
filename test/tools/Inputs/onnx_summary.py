#!/usr/bin/env python3
"""Prints an ONNX model's opsets, nodes and initializers, one per line.

    onnx_summary.py MODEL.onnx...

For FileCheck: `node NAME: [domain.]OpType(inputs) -> outputs {attrs}` and
`initializer NAME TYPE [dims]` (with its external data, if any). Reads the
model without its external data. Needs python3-onnx.
"""
import os
import sys

import onnx

TYPES = {1: "float", 2: "uint8", 3: "int8", 6: "int32", 7: "int64", 10: "float16", 21: "uint4", 22: "int4"}


def main():
    for path in sys.argv[1:]:
        m = onnx.load(path, load_external_data=False)
        ops = ", ".join("%s %d" % (o.domain or "ai.onnx", o.version) for o in m.opset_import)
        print("%s: opsets %s" % (os.path.basename(path), ops))
        for n in m.graph.node:
            op = (n.domain + "." if n.domain else "") + n.op_type
            attrs = ", ".join("%s=%s" % (a.name, onnx.helper.get_attribute_value(a))
                              for a in sorted(n.attribute, key=lambda a: a.name))
            print("node %s: %s(%s) -> %s%s" % (n.name, op, ", ".join(n.input), ", ".join(n.output),
                                               " {%s}" % attrs if attrs else ""))
        for t in sorted(m.graph.initializer, key=lambda t: t.name):
            line = "initializer %s %s %s" % (t.name, TYPES.get(t.data_type, t.data_type), list(t.dims))
            if t.data_location == onnx.TensorProto.EXTERNAL:
                kv = {e.key: e.value for e in t.external_data}
                line += " external %s offset %s length %s" % (kv["location"], kv.get("offset", "0"), kv.get("length", "?"))
            print(line)


if __name__ == "__main__":
    main()
