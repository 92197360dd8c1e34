//===- KernelsAvx512Vnni.cpp - the runtime's kernels for the avx512vnni level --------------===//
//
// Compiled with this level's -m flags (lib/Runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#define SMQ_KERNEL_NS avx512vnni
#define SMQ_KERNEL_TABLE kAvx512VnniKernels
#define SMQ_KERNEL_NAME "avx512vnni"
#include "KernelsImpl.inc"
