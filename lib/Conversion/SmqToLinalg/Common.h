//===- Common.h - helpers shared by the smq-to-linalg patterns --*- C++ -* ===//
//
// Elementwise ops share a builder that maps numpy broadcasting onto
// linalg.generic indexing maps (a size-1 dim read by a larger result dim
// indexes with the constant 0). Unsigned integer tensors become signless;
// patterns read signedness from the original op types.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_LIB_CONVERSION_SMQTOLINALG_COMMON_H
#define SMQ_LIB_CONVERSION_SMQTOLINALG_COMMON_H

#include "smq/Conversion/Passes.h"
#include "smq/Conversion/SmqToLinalg/SmqToLinalg.h"
#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Transforms/DialectConversion.h"

namespace mlir::smq::to_linalg {

using IteratorType = utils::IteratorType;
using ScalarFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// The runtime function that reports a data-dependent index out of range.
constexpr llvm::StringLiteral kIndexErrorFn = "smq_rt_index_error";

Type signless(Type t);
RankedTensorType signlessTensor(Type t);
bool isUnsignedInt(Type t);
inline bool isConstant(Value v) { return matchPattern(v, m_Constant()); }

/// The static, signless result type of `op`, or a match failure.
FailureOr<RankedTensorType> staticResult(ConversionPatternRewriter &rewriter,
                                         Operation *op, unsigned i = 0);

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type);
Value scalarConstant(OpBuilder &b, Location loc, Type type, double value);
Value floatConst(OpBuilder &b, Location l, Type t, double v);
Value filled(OpBuilder &b, Location loc, RankedTensorType type, double value);

/// The indexing map reading an operand of `inShape` for a result of rank
/// `outRank` under numpy broadcasting.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> inShape,
                       ArrayRef<int64_t> outShape);

/// A linalg.generic computing `fn` elementwise over broadcast `inputs`.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                  ValueRange inputs, ScalarFn fn);

/// Reshapes a tensor of static shape to another with as many elements.
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType target);

/// A reduction of `input` over `axes` (the other dims kept in order) with
/// `combine`, starting from `init`.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             double initValue, ScalarFn combine);

/// The indexing map that reads a reduced tensor at the full tensor's
/// indices (the reduced dims re-inserted and broadcast).
AffineMap reducedReadMap(MLIRContext *ctx, int64_t rank,
                         ArrayRef<int64_t> axes);

Value addF(OpBuilder &b, Location l, ValueRange a);

/// Scalar add, sub and mul of floats or integers.
struct Scalar {
  static Value add(OpBuilder &b, Location l, Value x, Value y);
  static Value sub(OpBuilder &b, Location l, Value x, Value y);
  static Value mul(OpBuilder &b, Location l, Value x, Value y);
  /// The larger of x and y (NaN-propagating for floats).
  static Value max(OpBuilder &b, Location l, Value x, Value y,
                   bool isUnsigned);
  /// The smaller of x and y (NaN-propagating for floats).
  static Value min(OpBuilder &b, Location l, Value x, Value y,
                   bool isUnsigned);
};

} // namespace mlir::smq::to_linalg

#endif // SMQ_LIB_CONVERSION_SMQTOLINALG_COMMON_H
