#!/usr/bin/env python3
"""Seed corpora for the fuzz targets, from the repo's test data.

    make_seeds.py OUT_DIR

writes OUT_DIR/onnx-import (the repo's .onnxtxt test models in binary form,
and every 8th of Debian's ONNX node-test models), OUT_DIR/tensor-readers
(.npy arrays of every dtype SMQ reads, and node-test TensorProto files).
The statistics and AOT weights seeds come from SMQ's own tools
(scripts/fuzz.sh).
"""
import glob
import os
import sys

import numpy as np
import onnx
import onnx.parser

root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
out = sys.argv[1]
node_tests = "/usr/share/libonnx-testdata/data/node"

onnx_dir = os.path.join(out, "onnx-import")
os.makedirs(onnx_dir, exist_ok=True)
for path in sorted(glob.glob(os.path.join(root, "test", "**", "*.onnxtxt"),
                             recursive=True)):
    try:
        model = onnx.parser.parse_model(open(path).read())
    except Exception:  # a test of the importer's own errors
        continue
    name = os.path.relpath(path, root).replace("/", "_")
    with open(os.path.join(onnx_dir, name + ".onnx"), "wb") as f:
        f.write(model.SerializeToString())
tests = sorted(glob.glob(os.path.join(node_tests, "*", "model.onnx")))
for path in tests[::8]:
    name = os.path.basename(os.path.dirname(path))
    with open(path, "rb") as src, \
            open(os.path.join(onnx_dir, name + ".onnx"), "wb") as dst:
        dst.write(src.read())

tensor_dir = os.path.join(out, "tensor-readers")
os.makedirs(tensor_dir, exist_ok=True)
rng = np.random.default_rng(1)
for dtype in ["<f4", "<f8", "<f2", "<i8", "<i4", "<i2", "i1", "u1", "?"]:
    for shape in [(), (3,), (2, 5), (1, 2, 3)]:
        a = (rng.standard_normal(shape) * 10).astype(dtype)
        np.save(os.path.join(tensor_dir, "%s-%s.npy" % (
            dtype.strip("<").replace("?", "bool"),
            "x".join(map(str, shape)) or "scalar")), a)
for path in tests[::16]:
    for pb in sorted(glob.glob(os.path.join(os.path.dirname(path),
                                            "test_data_set_0", "*.pb")))[:1]:
        name = os.path.basename(os.path.dirname(path))
        with open(pb, "rb") as src, \
                open(os.path.join(tensor_dir, name + ".pb"), "wb") as dst:
            dst.write(src.read())
