//===- AotLibrary.h - ahead-of-time shared libraries of models --*- C++ -*-===//
//
// What smq-compile and the compiler C API do: lower a module as the JIT
// does, emit position-independent object code, and link it with a
// generated C file (the description of include/smq/Runtime/Artifact.h and
// the table of runtime kernels) into a shared library that needs only libc
// and libm, plus a checksummed, page-aligned weights file (or the same
// image embedded in the library). docs/CAPI.md has the format.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_AOTLIBRARY_H
#define SMQ_EXECUTION_AOTLIBRARY_H

#include "smq/Execution/CompiledModel.h"

#include <string>

namespace mlir::smq {

struct AotOptions {
  /// libNAME.so; NAME is the default prefix and weights file name.
  std::string libraryPath;
  /// Default: NAME.weights beside the library (ignored with embedWeights).
  std::string weightsPath;
  bool embedWeights = false;
  /// The exported symbol is <prefix>_smq_model_v1. Default: NAME.
  std::string prefix;
  /// The C compiler that links the library.
  std::string cc = "cc";
  /// compile.targetCpu empty means "x86-64" (any x86-64 CPU).
  CompileOptions compile;
};

/// What was written.
struct AotResult {
  std::string libraryPath, weightsPath, symbol;
  uint64_t weightsBytes = 0;
};

/// Lowers `module` in place and writes the library and its weights, each
/// only once complete (weights first). On failure returns failure, with
/// `why` set, or with diagnostics emitted on the module for errors in it.
FailureOr<AotResult> writeAotLibrary(ModuleOp module,
                                     const AotOptions &options,
                                     std::string *why);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_AOTLIBRARY_H
