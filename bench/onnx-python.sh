# Sourced by the benchmark scripts: onnx_python prints a Python that imports
# onnx and numpy, for the generators that write ONNX models
# (make_decoder.py, make_matmulnbits.py). SMQ_PYTHON picks one; otherwise
# /usr/bin/python3 (Debian's python3-onnx and python3-numpy, installed by
# scripts/setup.sh), else python3 from PATH. Fails with a message if none.
onnx_python() {
  local candidates=(/usr/bin/python3 python3) c
  [ -n "${SMQ_PYTHON:-}" ] && candidates=("$SMQ_PYTHON")
  for c in "${candidates[@]}"; do
    if command -v "$c" >/dev/null 2>&1 && "$c" -c "import onnx, numpy" >/dev/null 2>&1; then
      echo "$c"
      return 0
    fi
  done
  echo "error: no Python that imports onnx and numpy (tried ${candidates[*]});" \
    "install python3-onnx and python3-numpy (bash scripts/setup.sh) or set SMQ_PYTHON" >&2
  return 1
}
