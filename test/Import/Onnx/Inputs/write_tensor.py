#!/usr/bin/env python3
"""Writes an ONNX TensorProto (.pb): write_tensor.py OUT TYPE DIMS... -- VALUES...

TYPE is float, int64 or int32. Needs the onnx package and numpy.
"""
import sys

import numpy as np
import onnx
from onnx import numpy_helper

TYPES = {"float": np.float32, "int64": np.int64, "int32": np.int32}

out, dtype = sys.argv[1], sys.argv[2]
sep = sys.argv.index("--")
dims = [int(d) for d in sys.argv[3:sep]]
cast = float if dtype == "float" else int
values = np.array([cast(v) for v in sys.argv[sep + 1:]], dtype=TYPES[dtype])
onnx.save_tensor(numpy_helper.from_array(values.reshape(dims)), out)
