//===- NodeImporter.h - what an op import rule sees -------------*- C++ -*-===//
//
// Each ONNX op has one import rule (OpConverters.cpp). A rule reads the
// node's inputs and attributes through NodeImporter and builds smq ops with
// NodeImporter::build, which verifies every op it creates and folds it when
// its operands are constants. A rule reports problems with error(), which
// names the node, its op type, domain and opset, and the model file.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_LIB_IMPORT_ONNX_NODEIMPORTER_H
#define SMQ_LIB_IMPORT_ONNX_NODEIMPORTER_H

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Verifier.h"

#include <onnx/onnx_pb.h>

#include <optional>
#include <string>

namespace mlir::smq::onnx_import {

/// Names an MLIR resource after an ONNX tensor name: resource keys must be
/// identifiers, and stable across re-imports.
std::string resourceKey(const std::string &name);

/// Maps an ONNX TensorProto data type to an MLIR element type, or null.
Type convertElementType(MLIRContext *ctx, int32_t onnxType);

/// Serialises the typed repeated fields of a TensorProto (float_data,
/// int32_data, ...) to little-endian raw bytes of `bytes` per element.
/// Returns false if they do not hold `count` elements.
bool typedFieldsToRaw(const onnx::TensorProto &t, size_t bytes, int64_t count,
                      std::string &raw);

/// Builds the attribute for a TensorProto (an ONNX initializer or a
/// Constant's value). Large tensors become dense_resource blobs named after
/// `name`, taking ownership of raw_data without copying it; external data is
/// memory-mapped from `modelDir`. Returns null after setting `why`.
ElementsAttr convertTensor(MLIRContext *ctx, onnx::TensorProto &tensor,
                           const std::string &name, const std::string &modelDir,
                           bool forceResource, std::string *why);

class NodeImporter {
public:
  NodeImporter(OpBuilder &builder, const onnx::NodeProto &node, int64_t opset,
               Location loc, SmallVector<Value> inputs,
               const std::string &modelDir)
      : builder(builder), node(node), opset(opset), loc(loc),
        inputs(std::move(inputs)), modelDir(modelDir) {}

  OpBuilder &builder;
  const onnx::NodeProto &node;
  const int64_t opset;
  const Location loc;

  MLIRContext *getContext() { return builder.getContext(); }

  // Inputs. Absent optional inputs (empty names) are null Values.
  size_t numInputs() const { return inputs.size(); }
  bool hasInput(size_t i) const { return i < inputs.size() && inputs[i]; }
  Value input(size_t i) const { return hasInput(i) ? inputs[i] : Value(); }
  size_t numOutputs() const { return node.output_size(); }

  // Attributes.
  const onnx::AttributeProto *attr(const std::string &name) const;
  int64_t intAttr(const std::string &name, int64_t dflt) const;
  float floatAttr(const std::string &name, float dflt) const;
  std::string stringAttr(const std::string &name,
                         const std::string &dflt) const;
  std::optional<SmallVector<int64_t>> intsAttr(const std::string &name) const;

  /// Reports an error naming this node; always returns failure.
  InFlightDiagnostic error();
  LogicalResult fail(const Twine &message);

  /// A required input; fails (with a diagnostic) if it is absent.
  FailureOr<Value> required(size_t i);
  /// The compile-time integer contents of input `i`; fails with a message
  /// naming `what` if the input is not a constant.
  FailureOr<SmallVector<int64_t>> constantInts(size_t i, StringRef what);

  /// Normalises `axis` against `rank`, or fails naming the attribute.
  FailureOr<int64_t> normalizeAxis(int64_t axis, int64_t rank, StringRef what);
  /// The rank of `v`, or fails if it is unranked.
  FailureOr<int64_t> rankOf(Value v);

  /// An i64 constant of shape [values.size()].
  Value constI64(ArrayRef<int64_t> values);

  /// Creates an op with its generated builder, verifies it, and folds it.
  /// On a verifier failure the op is erased and the verifier's message is
  /// re-emitted with the node's context.
  template <typename OpT, typename... Args>
  FailureOr<SmallVector<Value>> build(Args &&...args) {
    CapturedDiagnostic captured(getContext());
    auto op = OpT::create(builder, loc, std::forward<Args>(args)...);
    return finish(op.getOperation(), captured);
  }
  /// Same as build, for ops with exactly one result.
  template <typename OpT, typename... Args>
  FailureOr<Value> build1(Args &&...args) {
    auto results = build<OpT>(std::forward<Args>(args)...);
    if (failed(results))
      return failure();
    return (*results)[0];
  }

private:
  /// Collects diagnostics emitted while an op is verified.
  struct CapturedDiagnostic {
    explicit CapturedDiagnostic(MLIRContext *ctx);
    std::string message;
    std::optional<ScopedDiagnosticHandler> handler;
  };
  FailureOr<SmallVector<Value>> finish(Operation *op,
                                       CapturedDiagnostic &captured);

  SmallVector<Value> inputs;
  const std::string &modelDir;
};

/// An op import rule: reads the node and appends one Value per ONNX output
/// (a null Value for outputs the rule does not produce).
using ImportRule = LogicalResult (*)(NodeImporter &, SmallVectorImpl<Value> &);

/// Appends a rule's one result, or passes its failure on.
inline LogicalResult push(FailureOr<Value> v, SmallVectorImpl<Value> &out) {
  if (failed(v))
    return failure();
  out.push_back(*v);
  return success();
}

/// The rule for `opType` in `domain` ("" or "ai.onnx" for the default
/// domain), or null if the op is unsupported.
ImportRule lookupImportRule(const std::string &domain,
                            const std::string &opType);
/// Every op type that has a rule (`domain.OpType` outside the default
/// domain).
std::vector<std::string> importRuleNames();

/// Rules for quantized ONNX (QuantOpConverters.cpp): MatMulNBits and
/// DequantizeLinear.
ImportRule lookupQuantRule(const std::string &domain,
                           const std::string &opType);
std::vector<std::string> quantRuleNames();
/// Rules for the decoder ops of ONNX Runtime GenAI's model builder
/// (ContribOpConverters.cpp): SimplifiedLayerNormalization,
/// SkipSimplifiedLayerNormalization and RotaryEmbedding.
ImportRule lookupContribRule(const std::string &domain,
                             const std::string &opType);
std::vector<std::string> contribRuleNames();
/// Registers the default-domain contrib schema (SimplifiedLayerNormalization)
/// with libonnx, so that its checker accepts models that use it.
void registerContribSchemas();
/// `lhs · rhs` as smq.quantized_matmul when `rhs` is an smq.dequantize
/// (a DequantizeLinear of a constant weight); a null Value otherwise.
FailureOr<Value> fuseDequantizedRhs(NodeImporter &n, Value lhs, Value rhs);

} // namespace mlir::smq::onnx_import

#endif // SMQ_LIB_IMPORT_ONNX_NODEIMPORTER_H
