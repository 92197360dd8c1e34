//===- Registration.h - what a context needs to compile and run -*- C++ -*-===//
#ifndef SMQ_EXECUTION_REGISTRATION_H
#define SMQ_EXECUTION_REGISTRATION_H

#include "mlir/IR/DialectRegistry.h"

namespace mlir::smq {

/// Attaches SmqExecutionInterface (JIT-compiled runs of token models) to
/// the smq dialect, so that passes such as smq-quantize-weights with
/// lambda=auto can score candidates.
void registerExecutionInterface(DialectRegistry &registry);

/// Every dialect, extension and LLVM IR translation a tool that compiles
/// smq models needs, the smq dialect, and the execution interface.
void registerCompilerDialects(DialectRegistry &registry);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_REGISTRATION_H
