//===- ToolDiagnostics.cpp ------------------------------------------------===//
#include "ToolDiagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Location.h"
#include "llvm/Support/raw_ostream.h"

using namespace mlir;

namespace smq::tools {

static std::string describe(Location loc) {
  std::string out;
  loc->walk([&](Location l) {
    if (auto file = dyn_cast<FileLineColLoc>(l)) {
      out = file.getFilename().str();
      if (file.getLine() > 0)
        out += ":" + std::to_string(file.getLine()) + ":" +
               std::to_string(file.getColumn());
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out.empty() ? "<unknown>" : out;
}

static const char *severityName(DiagnosticSeverity s) {
  switch (s) {
  case DiagnosticSeverity::Error:
    return "error";
  case DiagnosticSeverity::Warning:
    return "warning";
  case DiagnosticSeverity::Note:
    return "note";
  case DiagnosticSeverity::Remark:
    return "remark";
  }
  return "error";
}

ToolDiagnosticHandler::ToolDiagnosticHandler(MLIRContext *ctx)
    : ScopedDiagnosticHandler(ctx) {
  // Diagnostics name the file and line; a note that prints the whole
  // failing op (for a function, the whole model) buries them.
  ctx->printOpOnDiagnostic(false);
  setHandler([this](Diagnostic &diag) {
    if (diag.getSeverity() == DiagnosticSeverity::Error)
      ++errorCount;
    llvm::errs() << describe(diag.getLocation()) << ": "
                 << severityName(diag.getSeverity()) << ": " << diag.str()
                 << "\n";
    for (const Diagnostic &note : diag.getNotes())
      llvm::errs() << describe(note.getLocation()) << ": note: " << note.str()
                   << "\n";
    return success();
  });
}

} // namespace smq::tools
