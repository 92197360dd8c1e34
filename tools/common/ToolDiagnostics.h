//===- ToolDiagnostics.h - how SMQ tools print diagnostics ------*- C++ -*-===//
#ifndef SMQ_TOOLS_COMMON_TOOLDIAGNOSTICS_H
#define SMQ_TOOLS_COMMON_TOOLDIAGNOSTICS_H

#include "mlir/IR/Diagnostics.h"

namespace smq::tools {

/// Prints each diagnostic as `FILE: error: MESSAGE` (with `:LINE:COL` when
/// the location has a line), the form compilers use, to stderr.
class ToolDiagnosticHandler : public mlir::ScopedDiagnosticHandler {
public:
  explicit ToolDiagnosticHandler(mlir::MLIRContext *ctx);
  /// Number of errors printed so far.
  int errors() const { return errorCount; }

private:
  int errorCount = 0;
};

} // namespace smq::tools

#endif // SMQ_TOOLS_COMMON_TOOLDIAGNOSTICS_H
