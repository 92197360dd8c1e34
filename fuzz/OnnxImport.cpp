//===- OnnxImport.cpp - libFuzzer target: ONNX model bytes to smq IR ------===//
//
// Any bytes must import to a verified module or fail with diagnostics:
// never crash, hang, or leak (AddressSanitizer and UBSan run with it).
//
//===----------------------------------------------------------------------===//
#include "FuzzInput.h"

#include "smq/Import/Onnx/OnnxImporter.h"

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/MLIRContext.h"
#include "mlir/IR/Verifier.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::DialectRegistry registry = [] {
    mlir::DialectRegistry r;
    mlir::smq::registerImportDialects(r);
    return r;
  }();
  std::string path =
      smq::fuzz::writeInPrivateDir(data, size, "model.onnx");
  // One thread: the same input then takes the same path every time.
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  context.loadAllAvailableDialects();
  // Errors are the expected outcome for most inputs; keep them quiet.
  mlir::ScopedDiagnosticHandler quiet(
      &context, [](mlir::Diagnostic &) { return mlir::success(); });
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::smq::importOnnxFile(path, &context);
  // What the importer returns, it must have verified.
  if (module && mlir::failed(mlir::verify(*module)))
    __builtin_trap();
  return 0;
}
