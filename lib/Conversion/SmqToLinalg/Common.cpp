//===- Common.cpp - helpers shared by the smq-to-linalg patterns ----------===//

#include "Common.h"

namespace mlir::smq::to_linalg {

Type signless(Type t) {
  if (auto it = dyn_cast<IntegerType>(t))
    if (!it.isSignless())
      return IntegerType::get(t.getContext(), it.getWidth());
  return t;
}

RankedTensorType signlessTensor(Type t) {
  auto rt = cast<RankedTensorType>(t);
  return RankedTensorType::get(rt.getShape(), signless(rt.getElementType()));
}

bool isUnsignedInt(Type t) {
  auto it = dyn_cast<IntegerType>(getElementTypeOrSelf(t));
  return it && it.isUnsigned();
}

/// The static, signless result type of `op`, or a match failure.
FailureOr<RankedTensorType> staticResult(ConversionPatternRewriter &rewriter,
                                         Operation *op, unsigned i) {
  auto type = dyn_cast<RankedTensorType>(op->getResult(i).getType());
  if (!type || !type.hasStaticShape()) {
    (void)rewriter.notifyMatchFailure(op, "needs a static result shape");
    return failure();
  }
  return signlessTensor(type);
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return tensor::EmptyOp::create(b, loc, type.getShape(), type.getElementType());
}

Value scalarConstant(OpBuilder &b, Location loc, Type type, double value) {
  if (isa<FloatType>(type))
    return arith::ConstantOp::create(b, loc, type,
                                     b.getFloatAttr(type, value));
  return arith::ConstantOp::create(
      b, loc, type, b.getIntegerAttr(type, static_cast<int64_t>(value)));
}

Value filled(OpBuilder &b, Location loc, RankedTensorType type, double value) {
  Value init = emptyTensor(b, loc, type);
  Value v = scalarConstant(b, loc, type.getElementType(), value);
  return linalg::FillOp::create(b, loc, v, init).getResult(0);
}

/// The indexing map reading an operand of `inShape` for a result of rank
/// `outRank` under numpy broadcasting.
AffineMap broadcastMap(MLIRContext *ctx, ArrayRef<int64_t> inShape,
                       ArrayRef<int64_t> outShape) {
  SmallVector<AffineExpr> exprs;
  int64_t offset = outShape.size() - inShape.size();
  for (auto [i, d] : llvm::enumerate(inShape)) {
    int64_t od = i + offset;
    if (d == 1 && outShape[od] != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(od, ctx));
  }
  return AffineMap::get(outShape.size(), 0, exprs, ctx);
}

/// A linalg.generic computing `fn` elementwise over broadcast `inputs`.
Value elementwise(OpBuilder &b, Location loc, RankedTensorType resultType,
                  ValueRange inputs, ScalarFn fn) {
  MLIRContext *ctx = b.getContext();
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(
        ctx, cast<RankedTensorType>(in.getType()).getShape(),
        resultType.getShape()));
  maps.push_back(AffineMap::getMultiDimIdentityMap(resultType.getRank(), ctx));
  SmallVector<IteratorType> iters(resultType.getRank(),
                                  IteratorType::parallel);
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{resultType}, inputs,
      ValueRange{emptyTensor(b, loc, resultType)}, maps, iters,
      [&](OpBuilder &nb, Location nl, ValueRange args) {
        Value r = fn(nb, nl, args.drop_back());
        linalg::YieldOp::create(nb, nl, r);
      });
  return generic.getResult(0);
}

/// Reshapes a tensor of static shape to another with as many elements.
Value reshapeTo(OpBuilder &b, Location loc, Value v, RankedTensorType target) {
  auto type = cast<RankedTensorType>(v.getType());
  if (type.getShape() == target.getShape())
    return v;
  auto shapeType = RankedTensorType::get({target.getRank()}, b.getI64Type());
  Value shape = arith::ConstantOp::create(
      b, loc, DenseElementsAttr::get(shapeType, target.getShape()));
  return tensor::ReshapeOp::create(
      b, loc, RankedTensorType::get(target.getShape(), type.getElementType()),
      v, shape);
}

/// A reduction of `input` over `axes` (the other dims kept in order) with
/// `combine`, starting from `init`.
Value reduce(OpBuilder &b, Location loc, Value input, ArrayRef<int64_t> axes,
             double initValue, ScalarFn combine) {
  auto type = cast<RankedTensorType>(input.getType());
  MLIRContext *ctx = b.getContext();
  SmallVector<int64_t> outShape;
  SmallVector<AffineExpr> outExprs;
  SmallVector<IteratorType> iters;
  for (int64_t i = 0; i < type.getRank(); ++i) {
    bool reduced = llvm::is_contained(axes, i);
    iters.push_back(reduced ? IteratorType::reduction
                            : IteratorType::parallel);
    if (!reduced) {
      outShape.push_back(type.getDimSize(i));
      outExprs.push_back(getAffineDimExpr(i, ctx));
    }
  }
  auto outType = RankedTensorType::get(outShape, type.getElementType());
  Value init = filled(b, loc, outType, initValue);
  SmallVector<AffineMap> maps = {
      AffineMap::getMultiDimIdentityMap(type.getRank(), ctx),
      AffineMap::get(type.getRank(), 0, outExprs, ctx)};
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{input}, ValueRange{init},
             maps, iters,
             [&](OpBuilder &nb, Location nl, ValueRange args) {
               linalg::YieldOp::create(nb, nl, combine(nb, nl, args));
             })
      .getResult(0);
}

/// Re-inserts reduced dims as size 1 (keepdims) and broadcasts back: the
/// indexing map that reads a reduced tensor at the full tensor's indices.
AffineMap reducedReadMap(MLIRContext *ctx, int64_t rank,
                         ArrayRef<int64_t> axes) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (!llvm::is_contained(axes, i))
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value addF(OpBuilder &b, Location l, ValueRange a) {
  return arith::AddFOp::create(b, l, a[0], a[1]);
}

Value floatConst(OpBuilder &b, Location l, Type t, double v) {
  return arith::ConstantOp::create(b, l, t, b.getFloatAttr(t, v));
}

Value Scalar::add(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::AddFOp::create(b, l, x, y)
                                     : arith::AddIOp::create(b, l, x, y);
}
Value Scalar::sub(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::SubFOp::create(b, l, x, y)
                                     : arith::SubIOp::create(b, l, x, y);
}
Value Scalar::mul(OpBuilder &b, Location l, Value x, Value y) {
  return isa<FloatType>(x.getType()) ? (Value)arith::MulFOp::create(b, l, x, y)
                                     : arith::MulIOp::create(b, l, x, y);
}
Value Scalar::max(OpBuilder &b, Location l, Value x, Value y,
                  bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, l, x, y);
  return isUnsigned ? (Value)arith::MaxUIOp::create(b, l, x, y)
                    : arith::MaxSIOp::create(b, l, x, y);
}
Value Scalar::min(OpBuilder &b, Location l, Value x, Value y,
                  bool isUnsigned) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, l, x, y);
  return isUnsigned ? (Value)arith::MinUIOp::create(b, l, x, y)
                    : arith::MinSIOp::create(b, l, x, y);
}

} // namespace mlir::smq::to_linalg
