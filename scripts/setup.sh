#!/usr/bin/env bash
# Installs the Debian packages SMQ builds and tests with. Idempotent: when
# everything is present it prints nothing and exits at once.
set -euo pipefail

packages=(
  cmake ninja-build gcc g++ python3
  llvm-22-dev libmlir-22-dev mlir-22-tools llvm-22-tools
  libonnx-dev libprotobuf-dev protobuf-compiler libabsl-dev
  libgtest-dev libonnx-testdata libeigen3-dev
  python3-onnx python3-numpy libopenblas-dev pkgconf
  libvulkan-dev mesa-vulkan-drivers
  clang-22 libclang-rt-22-dev
)

# ONNX Runtime (the test oracle and benchmark peer) comes from npm. Node.js
# may come from elsewhere (NodeSource bundles npm); only a machine with no
# node or npm at all gets Debian's.
if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
  packages+=(nodejs npm)
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "setup: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq >/dev/null
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "setup: done" >&2
