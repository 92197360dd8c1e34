//===- KernelsBaseline.cpp - the runtime's kernels for the baseline level --------------===//
//
// Compiled with this level's -m flags (lib/Runtime/CMakeLists.txt).
//
//===----------------------------------------------------------------------===//
#define SMQ_KERNEL_NS baseline
#define SMQ_KERNEL_TABLE kBaselineKernels
#define SMQ_KERNEL_NAME "baseline"
#include "KernelsImpl.inc"
