//===- HostTensor.h - constant values evaluated on the host ----*- C++ -*-===//
//
// Folders evaluate shape computations (Shape, Gather, Concat, Range, ...) on
// constant operands. HostTensor is the plain form they compute on: int64 for
// integer and bool element types, double for float ones. Only small tensors
// are ever read this way; weights are never materialised.
//
//===----------------------------------------------------------------------===//

#ifndef SMQ_LIB_DIALECT_SMQ_IR_HOSTTENSOR_H
#define SMQ_LIB_DIALECT_SMQ_IR_HOSTTENSOR_H

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Value.h"

#include <optional>
#include <vector>

namespace mlir::smq {

/// Folding never produces or reads constants larger than this many elements.
constexpr int64_t kMaxFoldElements = 1 << 20;

struct HostTensor {
  RankedTensorType type;
  std::vector<int64_t> ints;  // integer and i1 element types
  std::vector<double> floats; // float element types

  bool isFloat() const { return isa<FloatType>(type.getElementType()); }
  int64_t size() const { return type.getNumElements(); }
  double asDouble(int64_t k) const {
    return isFloat() ? floats[k] : static_cast<double>(ints[k]);
  }
  /// An empty tensor of `type` ready to be filled.
  static HostTensor zeros(RankedTensorType type);
  void set(int64_t k, double v);
  void setInt(int64_t k, int64_t v);
};

/// Reads a dense or dense_resource constant of at most `maxElements`
/// elements. Returns nullopt for anything else.
std::optional<HostTensor> readHostTensor(Attribute attr,
                                         int64_t maxElements = kMaxFoldElements);
/// Reads the value defined by a constant op (see readHostTensor).
std::optional<HostTensor> readHostTensor(Value value,
                                         int64_t maxElements = kMaxFoldElements);

/// Converts back to an attribute of `t.type`, rounding to its element type.
DenseElementsAttr toAttr(const HostTensor &t);

/// Row-major strides of `shape`.
SmallVector<int64_t> stridesOf(ArrayRef<int64_t> shape);
/// For each element of `outShape`, the linear index of the element of an
/// operand of shape `inShape` that numpy broadcasting reads.
std::vector<int64_t> broadcastIndexMap(ArrayRef<int64_t> outShape,
                                       ArrayRef<int64_t> inShape);

} // namespace mlir::smq

#endif // SMQ_LIB_DIALECT_SMQ_IR_HOSTTENSOR_H
