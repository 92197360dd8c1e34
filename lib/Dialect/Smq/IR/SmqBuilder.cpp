//===- SmqBuilder.cpp - small compositions of smq ops ---------------------===//
#include "smq/Dialect/Smq/IR/SmqBuilder.h"

#include "mlir/IR/BuiltinTypes.h"

using namespace mlir;
using namespace mlir::smq;

Value SmqBuilder::i64s(ArrayRef<int64_t> values, ArrayRef<int64_t> shape) {
  auto type = RankedTensorType::get(shape, b.getI64Type());
  return ConstantOp::create(b, loc, DenseElementsAttr::get(type, values));
}

Value SmqBuilder::shape(ArrayRef<int64_t> dims) {
  return i64s(dims, {static_cast<int64_t>(dims.size())});
}

Value SmqBuilder::iota(int64_t n, int64_t rank, int64_t axis) {
  SmallVector<int64_t> values, dims(rank, 1);
  for (int64_t i = 0; i < n; ++i)
    values.push_back(i);
  dims[axis] = n;
  return i64s(values, dims);
}

Value SmqBuilder::f32(float v) {
  auto type = RankedTensorType::get({}, b.getF32Type());
  return ConstantOp::create(b, loc, DenseElementsAttr::get(type, v));
}

Value SmqBuilder::reshape(Value x, ArrayRef<int64_t> dims) {
  return ReshapeOp::create(b, loc, x, shape(dims), false);
}

Value SmqBuilder::transpose(Value x, ArrayRef<int64_t> perm) {
  return TransposeOp::create(b, loc, x, perm);
}

Value SmqBuilder::convert(Value x, Type elt) {
  auto type = cast<RankedTensorType>(x.getType());
  return CastOp::create(b, loc, type.clone(elt), x);
}

Value SmqBuilder::lastAxis(Value x, int64_t begin, int64_t end) {
  int64_t rank = cast<RankedTensorType>(x.getType()).getRank();
  return SliceOp::create(b, loc, x, shape({begin}), shape({end}),
                         shape({rank - 1}), shape({1}));
}

Value SmqBuilder::rotate(Value x, Value c, Value s, int64_t dims,
                         bool interleaved) {
  auto type = cast<RankedTensorType>(x.getType());
  int64_t width = type.getShape().back(), rank = type.getRank();
  if (dims < width)
    return ConcatOp::create(b, loc,
                            ValueRange{rotate(lastAxis(x, 0, dims), c, s,
                                              dims, interleaved),
                                       lastAxis(x, dims, width)},
                            rank - 1);
  SmallVector<int64_t> full(type.getShape()), half(full);
  half.back() = width / 2;
  Value lo, hi;
  if (interleaved) {
    // [..., d] -> [..., d/2, 2]: pairs on the last axis.
    SmallVector<int64_t> pairs(half);
    pairs.push_back(2);
    Value p = reshape(x, pairs);
    lo = reshape(lastAxis(p, 0, 1), half);
    hi = reshape(lastAxis(p, 1, 2), half);
  } else {
    lo = lastAxis(x, 0, width / 2);
    hi = lastAxis(x, width / 2, width);
  }
  Value ra = SubOp::create(b, loc, MulOp::create(b, loc, lo, c),
                           MulOp::create(b, loc, hi, s));
  Value rb = AddOp::create(b, loc, MulOp::create(b, loc, hi, c),
                           MulOp::create(b, loc, lo, s));
  if (!interleaved)
    return ConcatOp::create(b, loc, ValueRange{ra, rb}, rank - 1);
  SmallVector<int64_t> column(half);
  column.push_back(1);
  Value joined = ConcatOp::create(
      b, loc, ValueRange{reshape(ra, column), reshape(rb, column)}, rank);
  return reshape(joined, full);
}
