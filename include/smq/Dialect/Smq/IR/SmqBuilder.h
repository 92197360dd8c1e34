//===- SmqBuilder.h - small compositions of smq ops -------------*- C++ -*-===//
//
// Compositions of smq ops that more than one place spells out (ONNX
// Runtime GenAI's rotary embedding in the importer and inside
// GroupQueryAttention's decomposition): one definition of each. Ops are
// created at the builder's insertion point with inferred result types;
// callers check shapes first.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_DIALECT_SMQ_IR_SMQBUILDER_H
#define SMQ_DIALECT_SMQ_IR_SMQBUILDER_H

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/IR/Builders.h"

namespace mlir::smq {

struct SmqBuilder {
  OpBuilder &b;
  Location loc;

  /// An i64 constant of `shape` holding `values`.
  Value i64s(ArrayRef<int64_t> values, ArrayRef<int64_t> shape);
  /// An i64 constant of shape [dims.size()] holding `dims`.
  Value shape(ArrayRef<int64_t> dims);
  /// 0, 1, ..., n - 1 laid along `axis` of a rank-`rank` i64 tensor.
  Value iota(int64_t n, int64_t rank, int64_t axis);
  /// An f32 scalar constant.
  Value f32(float v);
  Value reshape(Value x, ArrayRef<int64_t> dims);
  Value transpose(Value x, ArrayRef<int64_t> perm);
  /// `x` converted to element type `elt`.
  Value convert(Value x, Type elt);
  /// x[..., begin:end] along the last axis.
  Value lastAxis(Value x, int64_t begin, int64_t end);
  /// Rotary embedding of the first `dims` entries of `x`'s last axis (the
  /// rest pass through): pairs (a, b) become (a c - b s, b c + a s), where
  /// `c` and `s` broadcast against x[..., :dims/2]. Pairs are (x[i],
  /// x[i + dims/2]) half-split, or (x[2i], x[2i + 1]) interleaved.
  Value rotate(Value x, Value c, Value s, int64_t dims, bool interleaved);
};

} // namespace mlir::smq

#endif // SMQ_DIALECT_SMQ_IR_SMQBUILDER_H
