#!/usr/bin/env bash
# Installs ONNX Runtime 1.30 for Node (the test oracle and benchmark peer)
# into the folder given (default build/ort). Its install script would fetch
# GPU binaries, which cannot work here, so it is skipped; the CPU build ships
# inside the package. Quiet when already installed.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:-$root/build/ort}"
if [ -d "$dir/node_modules/onnxruntime-node" ]; then exit 0; fi
if ! command -v npm >/dev/null 2>&1; then
  echo "install-ort: npm is missing; run scripts/setup.sh" >&2
  exit 1
fi
mkdir -p "$dir"
(cd "$dir" && npm install --ignore-scripts --no-audit --no-fund --silent \
   onnxruntime-node@1.30.0 >/dev/null 2>&1) || {
  echo "install-ort: npm could not install onnxruntime-node@1.30.0" >&2
  exit 1
}
