"""From a file of smq-run's `--input NAME=FILE.npy` lines, writes each array's
raw bytes to DIR/NAME.raw and two argument files for xargs:
DIR/shapes (smq-compile's --input-shape=NAME=DxD...) and DIR/inputs
(run_inputs.c's NAME=DIR/NAME.raw).
  smq_inputs.py ARGS.smq DIR
"""
import ast
import sys

args, out = sys.argv[1], sys.argv[2]
shapes, inputs = [], []
for line in open(args).read().split():
    if line == "--input":
        continue
    name, path = line.split("=", 1)
    data = open(path, "rb").read()
    assert data[:6] == b"\x93NUMPY" and data[6] == 1, path
    header_len = int.from_bytes(data[8:10], "little")
    header = ast.literal_eval(data[10:10 + header_len].decode("latin1"))
    assert not header["fortran_order"], path
    open("%s/%s.raw" % (out, name), "wb").write(data[10 + header_len:])
    dims = "x".join(str(d) for d in header["shape"]) or "1"
    shapes.append("--input-shape=%s=%s" % (name, dims))
    inputs.append("%s=%s/%s.raw" % (name, out, name))
open(out + "/shapes", "w").write("\n".join(shapes) + "\n")
open(out + "/inputs", "w").write("\n".join(inputs) + "\n")
