//===- OnnxImporter.h - ONNX ModelProto to the smq dialect ------*- C++ -*-===//
//
// Reads an ONNX model (binary protobuf, or ONNX's textual syntax for files
// ending in .onnxtxt), validates it with ONNX's own checker and shape
// inference, and builds a module with one func.func whose signature is the
// graph's inputs and outputs. Problems are reported as MLIR diagnostics whose
// location names the model file and the node; on any error the result is
// null and nothing partial escapes.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_IMPORT_ONNX_ONNXIMPORTER_H
#define SMQ_IMPORT_ONNX_ONNXIMPORTER_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace mlir::smq {

struct OnnxImportOptions {
  /// Overrides of graph input shapes: dims replace the declared (possibly
  /// symbolic) ones. Ranks must match.
  std::map<std::string, std::vector<int64_t>> inputShapes;
  /// Graph inputs bound to the tensor in a file (an ONNX TensorProto .pb):
  /// they become constants and leave the signature. This is how a value
  /// SMQ needs at compile time (reduction axes, split sizes) can be given
  /// when a model takes it as an input.
  std::map<std::string, std::string> boundInputs;
  /// Bool graph inputs bound to these values when the graph has them (and
  /// --bind-input does not name them). The tools bind `use_cache_branch` to
  /// true, so that a merged decoder's If takes its cache branch, which
  /// SMQ runs for every step, the first (past = 0) included.
  std::map<std::string, bool> defaultBoolInputs = {{"use_cache_branch", true}};
  /// Name of the entry function.
  std::string entryName = "main";
};

/// The ai.onnx opsets the importer accepts.
constexpr int64_t kMinOnnxOpset = 7;
constexpr int64_t kMaxOnnxOpset = 21;

/// TensorProto data types of ONNX 1.16 (opset 21) that the libonnx SMQ
/// builds against may not name.
constexpr int32_t kOnnxUint4 = 21;
constexpr int32_t kOnnxInt4 = 22;

/// Imports the model at `path`. Returns null after emitting diagnostics.
OwningOpRef<ModuleOp> importOnnxFile(const std::string &path,
                                     MLIRContext *context,
                                     const OnnxImportOptions &options = {});

/// Whether `opType` of the ai.onnx domain at `opset` has an import rule.
bool isSupportedOnnxOp(const std::string &domain, const std::string &opType,
                       int64_t opset);

/// All ai.onnx op types with an import rule, sorted.
std::vector<std::string> supportedOnnxOps();

/// Registers the dialects imported IR uses.
void registerImportDialects(DialectRegistry &registry);

} // namespace mlir::smq

#endif // SMQ_IMPORT_ONNX_ONNXIMPORTER_H
