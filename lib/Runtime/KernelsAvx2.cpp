//===- KernelsAvx2.cpp - the runtime's kernels for the avx2 level --------------===//
//
// Compiled with this level's -m flags (lib/Runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#define SMQ_KERNEL_NS avx2
#define SMQ_KERNEL_TABLE kAvx2Kernels
#define SMQ_KERNEL_NAME "avx2"
#include "KernelsImpl.inc"
