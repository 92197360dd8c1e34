"""Models with If, for the importer.

    make_if_models.py OUTDIR [KV_MODEL]

if.onnx: y = If(c) then x + 1 else x * 2, the branches reading the outer x,
with the condition as an input, and c_true.pb / c_false.pb to bind it.
With KV_MODEL (a decoder with a KV cache): merged.onnx, the shape of a
merged decoder: the same inputs plus use_cache_branch, and an If whose two
branches each hold the whole decoder.
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1]
os.makedirs(out, exist_ok=True)

x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [3])
c = helper.make_tensor_value_info("c", TensorProto.BOOL, [1])
y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [3])
one = numpy_helper.from_array(np.array(1.0, np.float32), "one")
two = numpy_helper.from_array(np.array(2.0, np.float32), "two")
then_g = helper.make_graph([helper.make_node("Add", ["x", "one"], ["t"])], "then",
                           [], [helper.make_tensor_value_info("t", TensorProto.FLOAT, [3])],
                           [one])
else_g = helper.make_graph([helper.make_node("Mul", ["x", "two"], ["e"])], "else",
                           [], [helper.make_tensor_value_info("e", TensorProto.FLOAT, [3])],
                           [two])
node = helper.make_node("If", ["c"], ["y"], then_branch=then_g, else_branch=else_g)
m = helper.make_model(helper.make_graph([node], "g", [x, c], [y]),
                      opset_imports=[helper.make_opsetid("", 17)])
m.ir_version = 8
onnx.save(m, os.path.join(out, "if.onnx"))
for v in (True, False):
    t = numpy_helper.from_array(np.array([v]), "c")
    open(os.path.join(out, "c_%s.pb" % str(v).lower()), "wb").write(t.SerializeToString())
np.save(os.path.join(out, "x.npy"), np.array([1, 2, 3], np.float32))

if len(sys.argv) > 2:
    kv = onnx.load(sys.argv[2])
    g = kv.graph
    outer = {i.name for i in g.input} | {t.name for t in g.initializer}

    def branch(prefix):
        nodes = []
        for n in g.node:
            copy = onnx.NodeProto()
            copy.CopyFrom(n)
            del copy.input[:]
            copy.input.extend(i if (i in outer or not i) else prefix + i for i in n.input)
            del copy.output[:]
            copy.output.extend(prefix + o if o else o for o in n.output)
            copy.name = prefix + n.name
            nodes.append(copy)
        outs = []
        for o in g.output:
            v = onnx.ValueInfoProto()
            v.CopyFrom(o)
            v.name = prefix + o.name
            outs.append(v)
        return helper.make_graph(nodes, prefix + "branch", [], outs)

    use = helper.make_tensor_value_info("use_cache_branch", TensorProto.BOOL, [1])
    node = helper.make_node("If", ["use_cache_branch"], [o.name for o in g.output],
                            then_branch=branch("with_past/"),
                            else_branch=branch("no_past/"))
    merged = helper.make_graph([node], "merged", list(g.input) + [use], list(g.output),
                               list(g.initializer))
    mm = helper.make_model(merged, opset_imports=kv.opset_import)
    mm.ir_version = kv.ir_version
    onnx.save(mm, os.path.join(out, "merged.onnx"))
