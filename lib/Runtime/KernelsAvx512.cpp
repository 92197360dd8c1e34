//===- KernelsAvx512.cpp - the runtime's kernels for the avx512 level --------------===//
//
// Compiled with this level's -m flags (lib/Runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#define SMQ_KERNEL_NS avx512
#define SMQ_KERNEL_TABLE kAvx512Kernels
#define SMQ_KERNEL_NAME "avx512"
#include "KernelsImpl.inc"
