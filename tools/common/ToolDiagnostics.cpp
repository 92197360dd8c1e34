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

/// The first name a location carries (an ONNX node's, "node 'x' (Op,
/// ...)"; of fused locations, the first node's), or "".
static std::string nameOf(Location loc) {
  std::string out;
  loc->walk([&](Location l) {
    if (auto name = dyn_cast<NameLoc>(l)) {
      out = name.getName().str();
      return WalkResult::interrupt();
    }
    return WalkResult::advance();
  });
  return out;
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
    // A pass deep in a pipeline reports at the op; the op's location names
    // the model's node where the message does not.
    // (The importer's locations carry the node's key, "Add_3" or its
    // name; its own messages name the node already.)
    std::string message = diag.str();
    std::string node = nameOf(diag.getLocation());
    if (!node.empty() && message.find(node) == std::string::npos &&
        message.find("node '") == std::string::npos)
      message = (node.rfind("node '", 0) == 0 ? node : "node '" + node + "'") +
                ": " + message;
    llvm::errs() << describe(diag.getLocation()) << ": "
                 << severityName(diag.getSeverity()) << ": " << message
                 << "\n";
    for (const Diagnostic &note : diag.getNotes())
      llvm::errs() << describe(note.getLocation()) << ": note: " << note.str()
                   << "\n";
    return success();
  });
}

} // namespace smq::tools
