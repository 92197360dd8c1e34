//===- KernelsAvxVnni.cpp - the runtime's kernels for the avxvnni level --------------===//
//
// Compiled with this level's -m flags (lib/Runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#define SMQ_KERNEL_NS avxvnni
#define SMQ_KERNEL_TABLE kAvxVnniKernels
#define SMQ_KERNEL_NAME "avxvnni"
#include "KernelsImpl.inc"
