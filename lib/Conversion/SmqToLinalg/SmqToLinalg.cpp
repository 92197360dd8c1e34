//===- SmqToLinalg.cpp - smq to linalg, tensor, arith and math ------------===//
//
// One pattern per op family. Elementwise ops share a builder that maps numpy
// broadcasting onto linalg.generic indexing maps (a size-1 dim read by a
// larger result dim indexes with the constant 0). Unsigned integer tensors
// become signless; patterns read signedness from the original op types.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Utils/StructuredOpsUtils.h"
#include "mlir/IR/AffineMap.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/DialectResourceBlobManager.h"
#include "mlir/Transforms/DialectConversion.h"

#include <cmath>

namespace mlir::smq {
#define GEN_PASS_DEF_CONVERTSMQTOLINALG
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

using IteratorType = utils::IteratorType;

//===----------------------------------------------------------------------===//
// Helpers
//===----------------------------------------------------------------------===//

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
                                         Operation *op, unsigned i = 0) {
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

using ScalarFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

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

//===----------------------------------------------------------------------===//
// Elementwise
//===----------------------------------------------------------------------===//

/// Scalar semantics of each elementwise op, given the original (possibly
/// unsigned) element type of its first operand.
struct Scalar {
  static Value add(OpBuilder &b, Location l, Value x, Value y) {
    return isa<FloatType>(x.getType()) ? (Value)arith::AddFOp::create(b, l, x, y)
                                       : arith::AddIOp::create(b, l, x, y);
  }
  static Value sub(OpBuilder &b, Location l, Value x, Value y) {
    return isa<FloatType>(x.getType()) ? (Value)arith::SubFOp::create(b, l, x, y)
                                       : arith::SubIOp::create(b, l, x, y);
  }
  static Value mul(OpBuilder &b, Location l, Value x, Value y) {
    return isa<FloatType>(x.getType()) ? (Value)arith::MulFOp::create(b, l, x, y)
                                       : arith::MulIOp::create(b, l, x, y);
  }
};

template <typename OpT>
Value binaryScalar(OpBuilder &b, Location l, Value x, Value y, bool isUnsigned);

template <>
Value binaryScalar<AddOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return Scalar::add(b, l, x, y);
}
template <>
Value binaryScalar<SubOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return Scalar::sub(b, l, x, y);
}
template <>
Value binaryScalar<MulOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return Scalar::mul(b, l, x, y);
}
template <>
Value binaryScalar<DivOp>(OpBuilder &b, Location l, Value x, Value y, bool u) {
  if (isa<FloatType>(x.getType()))
    return arith::DivFOp::create(b, l, x, y);
  return u ? (Value)arith::DivUIOp::create(b, l, x, y)
           : arith::DivSIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<PowOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  if (isa<FloatType>(x.getType()))
    return math::PowFOp::create(b, l, x, y);
  return math::IPowIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<MaxOp>(OpBuilder &b, Location l, Value x, Value y, bool u) {
  if (isa<FloatType>(x.getType()))
    return arith::MaximumFOp::create(b, l, x, y);
  return u ? (Value)arith::MaxUIOp::create(b, l, x, y)
           : arith::MaxSIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<MinOp>(OpBuilder &b, Location l, Value x, Value y, bool u) {
  if (isa<FloatType>(x.getType()))
    return arith::MinimumFOp::create(b, l, x, y);
  return u ? (Value)arith::MinUIOp::create(b, l, x, y)
           : arith::MinSIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<EqualOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  if (isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OEQ, x, y);
  return arith::CmpIOp::create(b, l, arith::CmpIPredicate::eq, x, y);
}

template <>
Value binaryScalar<LessOp>(OpBuilder &b, Location l, Value x, Value y, bool u) {
  if (isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLT, x, y);
  return arith::CmpIOp::create(
      b, l, u ? arith::CmpIPredicate::ult : arith::CmpIPredicate::slt, x, y);
}
template <>
Value binaryScalar<LessEqualOp>(OpBuilder &b, Location l, Value x, Value y,
                                bool u) {
  if (isa<FloatType>(x.getType()))
    return arith::CmpFOp::create(b, l, arith::CmpFPredicate::OLE, x, y);
  return arith::CmpIOp::create(
      b, l, u ? arith::CmpIPredicate::ule : arith::CmpIPredicate::sle, x, y);
}
template <>
Value binaryScalar<AndOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return arith::AndIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<OrOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return arith::OrIOp::create(b, l, x, y);
}
template <>
Value binaryScalar<XorOp>(OpBuilder &b, Location l, Value x, Value y, bool) {
  return arith::XOrIOp::create(b, l, x, y);
}

template <typename OpT>
struct BinaryPattern : public OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    bool u = isUnsignedInt(op.getLhs().getType());
    Value r = elementwise(
        rewriter, op.getLoc(), *type, adaptor.getOperands(),
        [&](OpBuilder &b, Location l, ValueRange a) {
          return binaryScalar<OpT>(b, l, a[0], a[1], u);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

Value floatConst(OpBuilder &b, Location l, Type t, double v) {
  return arith::ConstantOp::create(b, l, t, b.getFloatAttr(t, v));
}

template <typename OpT>
Value unaryScalar(OpBuilder &b, Location l, Value x);

template <>
Value unaryScalar<SqrtOp>(OpBuilder &b, Location l, Value x) {
  return math::SqrtOp::create(b, l, x);
}
template <>
Value unaryScalar<ReciprocalOp>(OpBuilder &b, Location l, Value x) {
  return arith::DivFOp::create(b, l, floatConst(b, l, x.getType(), 1.0), x);
}
template <>
Value unaryScalar<NegOp>(OpBuilder &b, Location l, Value x) {
  if (isa<FloatType>(x.getType()))
    return arith::NegFOp::create(b, l, x);
  return arith::SubIOp::create(b, l, scalarConstant(b, l, x.getType(), 0), x);
}
template <>
Value unaryScalar<ExpOp>(OpBuilder &b, Location l, Value x) {
  return math::ExpOp::create(b, l, x);
}
template <>
Value unaryScalar<LogOp>(OpBuilder &b, Location l, Value x) {
  return math::LogOp::create(b, l, x);
}
template <>
Value unaryScalar<TanhOp>(OpBuilder &b, Location l, Value x) {
  return math::TanhOp::create(b, l, x);
}
template <>
Value unaryScalar<ErfOp>(OpBuilder &b, Location l, Value x) {
  return math::ErfOp::create(b, l, x);
}
template <>
Value unaryScalar<SigmoidOp>(OpBuilder &b, Location l, Value x) {
  Type t = x.getType();
  Value e = math::ExpOp::create(b, l, arith::NegFOp::create(b, l, x));
  Value d = arith::AddFOp::create(b, l, floatConst(b, l, t, 1.0), e);
  return arith::DivFOp::create(b, l, floatConst(b, l, t, 1.0), d);
}
template <>
Value unaryScalar<ReluOp>(OpBuilder &b, Location l, Value x) {
  if (isa<FloatType>(x.getType()))
    return arith::MaxNumFOp::create(b, l, x, floatConst(b, l, x.getType(), 0));
  return arith::MaxSIOp::create(b, l, x, scalarConstant(b, l, x.getType(), 0));
}
template <>
Value unaryScalar<CosOp>(OpBuilder &b, Location l, Value x) {
  return math::CosOp::create(b, l, x);
}
template <>
Value unaryScalar<SinOp>(OpBuilder &b, Location l, Value x) {
  return math::SinOp::create(b, l, x);
}
template <>
Value unaryScalar<NotOp>(OpBuilder &b, Location l, Value x) {
  return arith::XOrIOp::create(
      b, l, x, arith::ConstantOp::create(b, l, b.getBoolAttr(true)));
}

template <typename OpT>
struct UnaryPattern : public OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Value r = elementwise(rewriter, op.getLoc(), *type, adaptor.getOperands(),
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return unaryScalar<OpT>(b, l, a[0]);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct GeluPattern : public OpConversionPattern<GeluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GeluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    bool tanhForm = op.getApproximate() == "tanh";
    Value r = elementwise(
        rewriter, op.getLoc(), *type, adaptor.getOperands(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value x = a[0];
          Type t = x.getType();
          Value inner;
          if (tanhForm) {
            // 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
            Value x3 = arith::MulFOp::create(
                b, l, x, arith::MulFOp::create(b, l, x, x));
            Value poly = arith::AddFOp::create(
                b, l, x,
                arith::MulFOp::create(b, l, floatConst(b, l, t, 0.044715), x3));
            inner = math::TanhOp::create(
                b, l,
                arith::MulFOp::create(
                    b, l, floatConst(b, l, t, std::sqrt(2.0 / M_PI)), poly));
          } else {
            // 0.5 x (1 + erf(x / sqrt(2)))
            inner = math::ErfOp::create(
                b, l,
                arith::MulFOp::create(b, l, x,
                                      floatConst(b, l, t, M_SQRT1_2)));
          }
          Value onePlus =
              arith::AddFOp::create(b, l, floatConst(b, l, t, 1.0), inner);
          Value half = arith::MulFOp::create(b, l, floatConst(b, l, t, 0.5), x);
          return arith::MulFOp::create(b, l, half, onePlus);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

Value castScalar(OpBuilder &b, Location l, Value x, Type from, Type to,
                 bool fromUnsigned, bool toUnsigned) {
  Type src = x.getType(), dst = signless(to);
  if (src == dst)
    return x;
  if (dst.isInteger(1)) {
    if (isa<FloatType>(src))
      return arith::CmpFOp::create(b, l, arith::CmpFPredicate::UNE, x,
                                   floatConst(b, l, src, 0.0));
    return arith::CmpIOp::create(b, l, arith::CmpIPredicate::ne, x,
                                 scalarConstant(b, l, src, 0));
  }
  auto sf = dyn_cast<FloatType>(src), df = dyn_cast<FloatType>(dst);
  if (sf && df)
    return sf.getWidth() < df.getWidth()
               ? (Value)arith::ExtFOp::create(b, l, dst, x)
               : arith::TruncFOp::create(b, l, dst, x);
  if (df)
    return (fromUnsigned || src.isInteger(1))
               ? (Value)arith::UIToFPOp::create(b, l, dst, x)
               : arith::SIToFPOp::create(b, l, dst, x);
  if (sf)
    return toUnsigned ? (Value)arith::FPToUIOp::create(b, l, dst, x)
                      : arith::FPToSIOp::create(b, l, dst, x);
  unsigned sw = src.getIntOrFloatBitWidth(), dw = dst.getIntOrFloatBitWidth();
  if (sw < dw)
    return (fromUnsigned || sw == 1) ? (Value)arith::ExtUIOp::create(b, l, dst, x)
                                     : arith::ExtSIOp::create(b, l, dst, x);
  return arith::TruncIOp::create(b, l, dst, x);
}

struct CastPattern : public OpConversionPattern<CastOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CastOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Type from = getElementTypeOrSelf(op.getInput().getType());
    Type to = getElementTypeOrSelf(op.getType());
    bool fu = isUnsignedInt(from), tu = isUnsignedInt(to);
    Value r = elementwise(rewriter, op.getLoc(), *type, adaptor.getOperands(),
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return castScalar(b, l, a[0], from, to, fu, tu);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct WherePattern : public OpConversionPattern<WhereOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WhereOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Value r = elementwise(rewriter, op.getLoc(), *type, adaptor.getOperands(),
                          [&](OpBuilder &b, Location l, ValueRange a) {
                            return (Value)arith::SelectOp::create(b, l, a[0],
                                                                  a[1], a[2]);
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct ExpandPattern : public OpConversionPattern<ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Value r = elementwise(rewriter, op.getLoc(), *type,
                          ValueRange{adaptor.getInput()},
                          [&](OpBuilder &, Location, ValueRange a) {
                            return a[0];
                          });
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Normalisations and reductions
//===----------------------------------------------------------------------===//

double lowestValue(Type t, bool isUnsigned) {
  if (isa<FloatType>(t))
    return -INFINITY;
  if (isUnsigned)
    return 0;
  unsigned w = t.getIntOrFloatBitWidth();
  return w >= 64 ? static_cast<double>(INT64_MIN) : -std::ldexp(1.0, w - 1);
}

template <typename OpT>
struct ReducePattern : public OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    Value input = adaptor.getInput();
    auto inType = cast<RankedTensorType>(input.getType());
    SmallVector<int64_t> axes(op.getAxes());
    if (axes.empty())
      for (int64_t i = 0; i < inType.getRank(); ++i)
        axes.push_back(i);
    Type elt = inType.getElementType();
    bool u = isUnsignedInt(op.getInput().getType());
    constexpr bool isMax = std::is_same_v<OpT, ReduceMaxOp>;
    Value r = reduce(rewriter, loc, input, axes,
                     isMax ? lowestValue(elt, u) : 0.0,
                     [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                       if (isMax)
                         return binaryScalar<MaxOp>(b, l, a[0], a[1], u);
                       return Scalar::add(b, l, a[0], a[1]);
                     });
    if (std::is_same_v<OpT, ReduceMeanOp>) {
      int64_t count = 1;
      for (int64_t a : axes)
        count *= inType.getDimSize(a);
      auto rType = cast<RankedTensorType>(r.getType());
      r = elementwise(rewriter, loc, rType, ValueRange{r},
                      [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                        if (isa<FloatType>(elt))
                          return arith::DivFOp::create(
                              b, l, a[0], floatConst(b, l, elt, count));
                        return arith::DivSIOp::create(
                            b, l, a[0], scalarConstant(b, l, elt, count));
                      });
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, r, *type));
    return success();
  }
};

struct SoftmaxPattern : public OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    int64_t rank = type->getRank(), axis = op.getAxisAttr().getInt();
    SmallVector<int64_t> axes = {axis};
    Value max = reduce(rewriter, loc, x, axes, -INFINITY,
                       [](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return arith::MaximumFOp::create(b, l, a[0], a[1]);
                       });
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap red = reducedReadMap(ctx, rank, axes);
    SmallVector<IteratorType> par(rank, IteratorType::parallel);
    Value exps =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{*type}, ValueRange{x, max},
            ValueRange{emptyTensor(rewriter, loc, *type)},
            ArrayRef<AffineMap>{id, red, id}, par,
            [](OpBuilder &b, Location l, ValueRange a) {
              Value d = arith::SubFOp::create(b, l, a[0], a[1]);
              linalg::YieldOp::create(b, l,
                                      Value(math::ExpOp::create(b, l, d)));
            })
            .getResult(0);
    Value sum = reduce(rewriter, loc, exps, axes, 0.0, addF);
    Value r = linalg::GenericOp::create(
                  rewriter, loc, TypeRange{*type}, ValueRange{exps, sum},
                  ValueRange{emptyTensor(rewriter, loc, *type)},
                  ArrayRef<AffineMap>{id, red, id}, par,
                  [](OpBuilder &b, Location l, ValueRange a) {
                    linalg::YieldOp::create(
                        b, l, Value(arith::DivFOp::create(b, l, a[0], a[1])));
                  })
                  .getResult(0);
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct LayerNormPattern : public OpConversionPattern<LayerNormOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LayerNormOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value x = adaptor.getInput();
    Type elt = type->getElementType();
    int64_t rank = type->getRank(), axis = op.getAxisAttr().getInt();
    SmallVector<int64_t> axes;
    int64_t count = 1;
    for (int64_t i = axis; i < rank; ++i) {
      axes.push_back(i);
      count *= type->getDimSize(i);
    }
    AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
    AffineMap red = reducedReadMap(ctx, rank, axes);
    SmallVector<IteratorType> par(rank, IteratorType::parallel);
    double invCount = 1.0 / static_cast<double>(count);
    auto scaleBy = [&](Value v) {
      auto t = cast<RankedTensorType>(v.getType());
      return elementwise(rewriter, loc, t, ValueRange{v},
                         [&](OpBuilder &b, Location l, ValueRange a) {
                           return (Value)arith::MulFOp::create(
                               b, l, a[0], floatConst(b, l, elt, invCount));
                         });
    };
    Value mean = scaleBy(reduce(rewriter, loc, x, axes, 0.0, addF));
    // Two passes (mean, then squared deviations) for the accuracy ONNX
    // Runtime has; E[x^2] - E[x]^2 cancels badly.
    Value sq = linalg::GenericOp::create(
                   rewriter, loc,
                   TypeRange{cast<RankedTensorType>(mean.getType())},
                   ValueRange{x, mean},
                   ValueRange{filled(rewriter, loc,
                                     cast<RankedTensorType>(mean.getType()),
                                     0.0)},
                   ArrayRef<AffineMap>{id, red, red},
                   [&] {
                     SmallVector<IteratorType> it(rank,
                                                  IteratorType::parallel);
                     for (int64_t a : axes)
                       it[a] = IteratorType::reduction;
                     return it;
                   }(),
                   [](OpBuilder &b, Location l, ValueRange a) {
                     Value d = arith::SubFOp::create(b, l, a[0], a[1]);
                     Value s = arith::MulFOp::create(b, l, d, d);
                     linalg::YieldOp::create(
                         b, l, Value(arith::AddFOp::create(b, l, a[2], s)));
                   })
                   .getResult(0);
    Value var = scaleBy(sq);
    float eps = op.getEpsilon().convertToFloat();
    SmallVector<Value> inputs = {x, mean, var, adaptor.getScale()};
    SmallVector<AffineMap> maps = {id, red, red};
    auto paramMap = [&](Value p) {
      auto pt = cast<RankedTensorType>(p.getType());
      return broadcastMap(ctx, pt.getShape(), type->getShape());
    };
    maps.push_back(paramMap(adaptor.getScale()));
    bool hasBias = static_cast<bool>(adaptor.getBias());
    if (hasBias) {
      inputs.push_back(adaptor.getBias());
      maps.push_back(paramMap(adaptor.getBias()));
    }
    maps.push_back(id);
    Value r =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{*type}, inputs,
            ValueRange{emptyTensor(rewriter, loc, *type)}, maps, par,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value d = arith::SubFOp::create(b, l, a[0], a[1]);
              Value ve = arith::AddFOp::create(b, l, a[2],
                                               floatConst(b, l, elt, eps));
              Value inv = arith::DivFOp::create(
                  b, l, floatConst(b, l, elt, 1.0), math::SqrtOp::create(b, l, ve));
              Value n = arith::MulFOp::create(b, l, d, inv);
              Value y = arith::MulFOp::create(b, l, n, a[3]);
              if (hasBias)
                y = arith::AddFOp::create(b, l, y, a[4]);
              linalg::YieldOp::create(b, l, y);
            })
            .getResult(0);
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// lhs[..., M, K] x rhs[..., K, N] with numpy batch broadcasting, as
/// linalg.matmul (when rhs is a 2-D weight, batch folded into M) or
/// linalg.batch_matmul (after broadcasting both to the result's batch).
Value contract(OpBuilder &b, Location loc, Value lhs, Value rhs,
               RankedTensorType resultType) {
  auto lt = cast<RankedTensorType>(lhs.getType());
  auto rt = cast<RankedTensorType>(rhs.getType());
  Type elt = resultType.getElementType();
  int64_t m = lt.getDimSize(lt.getRank() - 2), k = lt.getDimSize(lt.getRank() - 1);
  int64_t n = rt.getDimSize(rt.getRank() - 1);
  int64_t rank = resultType.getRank();
  int64_t batch = 1;
  for (int64_t i = 0; i < rank - 2; ++i)
    batch *= resultType.getDimSize(i);
  if (rt.getRank() == 2) {
    auto a2 = RankedTensorType::get({batch * m, k}, elt);
    auto c2 = RankedTensorType::get({batch * m, n}, elt);
    Value a = reshapeTo(b, loc, lhs, a2);
    Value c = linalg::MatmulOp::create(b, loc, TypeRange{c2},
                                       ValueRange{a, rhs},
                                       ValueRange{filled(b, loc, c2, 0.0)})
                  .getResult(0);
    return reshapeTo(b, loc, c, resultType);
  }
  auto broadcastTo = [&](Value v, int64_t rows, int64_t cols) {
    SmallVector<int64_t> shape(resultType.getShape().drop_back(2));
    shape.push_back(rows);
    shape.push_back(cols);
    auto full = RankedTensorType::get(shape, elt);
    Value e = cast<RankedTensorType>(v.getType()).getShape() == full.getShape()
                  ? v
                  : elementwise(b, loc, full, ValueRange{v},
                                [](OpBuilder &, Location, ValueRange a) {
                                  return a[0];
                                });
    return reshapeTo(b, loc, e, RankedTensorType::get({batch, rows, cols}, elt));
  };
  Value a = broadcastTo(lhs, m, k);
  Value bb = broadcastTo(rhs, k, n);
  auto c3 = RankedTensorType::get({batch, m, n}, elt);
  Value c = linalg::BatchMatmulOp::create(b, loc, TypeRange{c3},
                                          ValueRange{a, bb},
                                          ValueRange{filled(b, loc, c3, 0.0)})
                .getResult(0);
  return reshapeTo(b, loc, c, resultType);
}

struct MatMulPattern : public OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    if (!isa<FloatType>(type->getElementType()))
      return rewriter.notifyMatchFailure(op, "integer matmul");
    rewriter.replaceOp(op, contract(rewriter, op.getLoc(), adaptor.getLhs(),
                                    adaptor.getRhs(), *type));
    return success();
  }
};

/// Ŵᵀ (K×N f32) decoded from an unpacked smq.quantized_matmul's codes: the
/// generic reads each code's first byte, its group's scale and its zero
/// point through indexing maps. Packed codes go to the runtime kernel
/// instead (smq.ukernel.qmatmul), and never exist as floats.
Value dequantizeTransposed(OpBuilder &b, Location loc, Value codes,
                           Value scales, Value zeros, int64_t bits,
                           int64_t group, int64_t k) {
  MLIRContext *ctx = b.getContext();
  auto ct = cast<RankedTensorType>(codes.getType());
  int64_t n = ct.getDimSize(0), rowBytes = ct.getDimSize(1);
  auto wt = RankedTensorType::get({k, n}, b.getF32Type());
  AffineExpr dk = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx);
  AffineMap byteMap = AffineMap::get(2, 0, {dn, (dk * bits).floorDiv(8)}, ctx);
  AffineMap groupMap = AffineMap::get(2, 0, {dn, dk.floorDiv(group)}, ctx);
  // Only 3, 5, 6 and 7 bits let a code straddle two bytes.
  bool straddles = 8 % bits != 0;
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{wt}, ValueRange{codes, scales, zeros},
      ValueRange{emptyTensor(b, loc, wt)},
      ArrayRef<AffineMap>{byteMap, groupMap, groupMap,
                          AffineMap::getMultiDimIdentityMap(2, ctx)},
      SmallVector<IteratorType>(2, IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        auto idx = [&](int64_t v) {
          return (Value)arith::ConstantIndexOp::create(nb, l, v);
        };
        auto i32 = [&](int64_t v) {
          return (Value)arith::ConstantIntOp::create(nb, l, nb.getI32Type(), v);
        };
        Value kk = linalg::IndexOp::create(nb, l, 0);
        Value bit = arith::MulIOp::create(nb, l, kk, idx(bits));
        Value word = arith::ExtUIOp::create(nb, l, nb.getI32Type(), args[0]);
        if (straddles) {
          Value nn = linalg::IndexOp::create(nb, l, 1);
          Value next = arith::MinUIOp::create(
              nb, l,
              arith::AddIOp::create(
                  nb, l, arith::DivUIOp::create(nb, l, bit, idx(8)), idx(1)),
              idx(rowBytes - 1));
          Value hi = arith::ExtUIOp::create(
              nb, l, nb.getI32Type(),
              tensor::ExtractOp::create(nb, l, codes, ValueRange{nn, next}));
          word = arith::OrIOp::create(nb, l, word,
                                      arith::ShLIOp::create(nb, l, hi, i32(8)));
        }
        Value sh = arith::IndexCastOp::create(
            nb, l, nb.getI32Type(), arith::RemUIOp::create(nb, l, bit, idx(8)));
        Value q = arith::AndIOp::create(
            nb, l, arith::ShRUIOp::create(nb, l, word, sh),
            i32((1 << bits) - 1));
        Value qf = arith::UIToFPOp::create(nb, l, nb.getF32Type(), q);
        Value w = arith::MulFOp::create(
            nb, l, args[1], arith::SubFOp::create(nb, l, qf, args[2]));
        linalg::YieldOp::create(nb, l, w);
      });
  return generic.getResult(0);
}

struct QuantizedMatMulPattern : public OpConversionPattern<QuantizedMatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(QuantizedMatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    auto lhs = cast<RankedTensorType>(adaptor.getLhs().getType());
    if (!lhs.getElementType().isF32())
      return rewriter.notifyMatchFailure(op, "only f32 activations");
    Location loc = op.getLoc();
    if (op.getPacked()) {
      // [..., K] as [M, K] through the kernel, and back.
      int64_t k = lhs.getShape().back(), m = lhs.getNumElements() / k;
      int64_t n = type->getShape().back();
      Type f32 = rewriter.getF32Type();
      auto out = RankedTensorType::get({m, n}, f32);
      Value x = reshapeTo(rewriter, loc, adaptor.getLhs(),
                          RankedTensorType::get({m, k}, f32));
      auto kernel = UKernelQMatMulOp::create(
          rewriter, loc, TypeRange{out}, x, adaptor.getCodes(),
          adaptor.getScales(), adaptor.getZeroPoints(),
          emptyTensor(rewriter, loc, out), op.getBitsAttr(),
          op.getGroupSizeAttr(), op.getInt8ActivationsAttr());
      rewriter.replaceOp(op,
                         reshapeTo(rewriter, loc, kernel.getResult()[0], *type));
      return success();
    }
    Value w = dequantizeTransposed(
        rewriter, op.getLoc(), adaptor.getCodes(), adaptor.getScales(),
        adaptor.getZeroPoints(), op.getBitsAttr().getInt(),
        op.getGroupSizeAttr().getInt(), lhs.getShape().back());
    rewriter.replaceOp(op, contract(rewriter, op.getLoc(), adaptor.getLhs(), w,
                                    *type));
    return success();
  }
};

/// Weight panels go to the runtime kernel (smq.ukernel.matmul), which
/// writes bias plus products: no zero fill, no copy of the weight, no
/// separate bias pass.
struct PackedMatMulPattern : public OpConversionPattern<PackedMatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(PackedMatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    auto lhs = cast<RankedTensorType>(adaptor.getLhs().getType());
    int64_t k = lhs.getShape().back(), m = lhs.getNumElements() / k;
    int64_t n = op.getN();
    Type f32 = rewriter.getF32Type();
    auto out = RankedTensorType::get({m, n}, f32);
    Value x = reshapeTo(rewriter, loc, adaptor.getLhs(),
                        RankedTensorType::get({m, k}, f32));
    Value bias = adaptor.getBias();
    if (!bias) {
      auto biasType = RankedTensorType::get({n}, f32);
      bias = arith::ConstantOp::create(
          rewriter, loc, biasType,
          DenseElementsAttr::get(biasType, rewriter.getF32FloatAttr(0.0f)));
    }
    auto kernel = UKernelMatMulOp::create(rewriter, loc, TypeRange{out}, x,
                                          adaptor.getPanels(), bias,
                                          emptyTensor(rewriter, loc, out),
                                          op.getGeluAttr());
    rewriter.replaceOp(op,
                       reshapeTo(rewriter, loc, kernel.getResult()[0], *type));
    return success();
  }
};

Value transpose2d(OpBuilder &b, Location loc, Value v) {
  auto t = cast<RankedTensorType>(v.getType());
  auto tt = RankedTensorType::get({t.getDimSize(1), t.getDimSize(0)},
                                  t.getElementType());
  return linalg::TransposeOp::create(b, loc, v, emptyTensor(b, loc, tt),
                                     ArrayRef<int64_t>{1, 0})
      .getResult()[0];
}

struct GemmPattern : public OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    Value a = adaptor.getA(), b = adaptor.getB();
    if (op.getTransA())
      a = transpose2d(rewriter, loc, a);
    if (op.getTransB())
      b = transpose2d(rewriter, loc, b);
    Value ab = contract(rewriter, loc, a, b, *type);
    Type elt = type->getElementType();
    float alpha = op.getAlpha().convertToFloat();
    float beta = op.getBeta().convertToFloat();
    SmallVector<Value> inputs = {ab};
    if (adaptor.getC())
      inputs.push_back(adaptor.getC());
    Value r = elementwise(
        rewriter, loc, *type, inputs,
        [&](OpBuilder &bb, Location l, ValueRange v) -> Value {
          Value y = arith::MulFOp::create(bb, l, v[0],
                                          floatConst(bb, l, elt, alpha));
          if (v.size() > 1)
            y = arith::AddFOp::create(
                bb, l, y,
                arith::MulFOp::create(bb, l, v[1],
                                      floatConst(bb, l, elt, beta)));
          return y;
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

/// An integer index as an `index` into a dim of `dim`: negative ones count
/// from the end, and out-of-range ones are clamped, so that a bad input
/// cannot reach outside the tensor (checkIndices reports them).
Value clampIndex(OpBuilder &b, Location l, Value raw, int64_t dim) {
  Value i = arith::IndexCastOp::create(b, l, b.getIndexType(), raw);
  Value zero = arith::ConstantIndexOp::create(b, l, 0);
  Value d = arith::ConstantIndexOp::create(b, l, dim);
  Value neg = arith::CmpIOp::create(b, l, arith::CmpIPredicate::slt, i, zero);
  i = arith::SelectOp::create(b, l, neg, arith::AddIOp::create(b, l, i, d), i);
  i = arith::MaxSIOp::create(b, l, i, zero);
  return arith::MinSIOp::create(b, l, i,
                                arith::ConstantIndexOp::create(b, l, dim - 1));
}

constexpr llvm::StringLiteral kIndexErrorFn = "smq_rt_index_error";

/// Adds a check of data-dependent `indices` (converted, signless) before
/// `op`: each index tuple component j outside [-dims[j], dims[j]) is
/// reported through smq_rt_index_error as site N, N being its place in
/// the module's `smq.index_sites` (which names the op). Constant indices
/// are checked by the op's verifier instead.
void checkIndices(OpBuilder &b, Operation *op, Value indices,
                  ArrayRef<int64_t> dims) {
  Location loc = op->getLoc();
  auto module = op->getParentOfType<ModuleOp>();
  std::string where = op->getName().getStringRef().str();
  if (auto name = dyn_cast<NameLoc>(loc))
    where = "node '" + name.getName().str() + "' (" + where + ")";
  SmallVector<Attribute> sites;
  if (auto old = module->getAttrOfType<ArrayAttr>("smq.index_sites"))
    sites.assign(old.begin(), old.end());
  int64_t site = sites.size();
  sites.push_back(b.getStringAttr(where));
  module->setAttr("smq.index_sites", b.getArrayAttr(sites));

  auto it = cast<RankedTensorType>(indices.getType());
  int64_t k = dims.size(), n = it.getNumElements() / k;
  Value flat = reshapeTo(b, loc, indices,
                         RankedTensorType::get({n, k}, it.getElementType()));
  Value zero = arith::ConstantIndexOp::create(b, loc, 0);
  Value one = arith::ConstantIndexOp::create(b, loc, 1);
  Value count = arith::ConstantIndexOp::create(b, loc, n);
  Type i64 = b.getI64Type();
  scf::ForOp::create(
      b, loc, zero, count, one, ValueRange{},
      [&](OpBuilder &fb, Location l, Value i, ValueRange) {
        for (int64_t j = 0; j < k; ++j) {
          Value jv = arith::ConstantIndexOp::create(fb, l, j);
          Value v = tensor::ExtractOp::create(fb, l, flat, ValueRange{i, jv});
          if (v.getType() != i64)
            v = arith::ExtSIOp::create(fb, l, i64, v);
          Value lo = arith::ConstantIntOp::create(fb, l, i64, -dims[j]);
          Value hi = arith::ConstantIntOp::create(fb, l, i64, dims[j]);
          Value below = arith::CmpIOp::create(fb, l, arith::CmpIPredicate::slt,
                                              v, lo);
          Value above = arith::CmpIOp::create(fb, l, arith::CmpIPredicate::sge,
                                              v, hi);
          Value bad = arith::OrIOp::create(fb, l, below, above);
          scf::IfOp::create(fb, l, bad, [&](OpBuilder &ib, Location il) {
            func::CallOp::create(
                ib, il, kIndexErrorFn, TypeRange{},
                ValueRange{arith::ConstantIntOp::create(ib, il, i64, site), v,
                           hi});
            scf::YieldOp::create(ib, il);
          });
        }
        scf::YieldOp::create(fb, l);
      });
}

bool isConstant(Value v) { return matchPattern(v, m_Constant()); }

struct GatherPattern : public OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dt = cast<RankedTensorType>(data.getType());
    auto it = cast<RankedTensorType>(indices.getType());
    int64_t axis = op.getAxisAttr().getInt(), q = it.getRank();
    int64_t rank = type->getRank(), dim = dt.getDimSize(axis);
    if (!isConstant(op.getIndices()) && it.hasStaticShape() &&
        it.getNumElements() > 0)
      checkIndices(rewriter, op, indices, {dim});
    SmallVector<AffineExpr> idxExprs;
    for (int64_t i = 0; i < q; ++i)
      idxExprs.push_back(getAffineDimExpr(axis + i, ctx));
    SmallVector<AffineMap> maps = {
        AffineMap::get(rank, 0, idxExprs, ctx),
        AffineMap::getMultiDimIdentityMap(rank, ctx)};
    SmallVector<IteratorType> par(rank, IteratorType::parallel);
    Value r =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{*type}, ValueRange{indices},
            ValueRange{emptyTensor(rewriter, loc, *type)}, maps, par,
            [&](OpBuilder &b, Location l, ValueRange a) {
              Value i = clampIndex(b, l, a[0], dim);
              SmallVector<Value> at;
              for (int64_t k = 0; k < axis; ++k)
                at.push_back(linalg::IndexOp::create(b, l, k));
              at.push_back(i);
              for (int64_t k = axis + q; k < rank; ++k)
                at.push_back(linalg::IndexOp::create(b, l, k));
              linalg::YieldOp::create(
                  b, l, Value(tensor::ExtractOp::create(b, l, data, at)));
            })
            .getResult(0);
    rewriter.replaceOp(op, r);
    return success();
  }
};

/// An scf.for over the index tuples, each step writing (or combining) one
/// slice of `updates` into the result with tensor.insert_slice. Negative
/// indices count from the end; out-of-range ones are clamped, as Gather's
/// are, so that a bad input cannot write outside the tensor.
struct ScatterNDPattern : public OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices(),
          updates = adaptor.getUpdates();
    auto it = cast<RankedTensorType>(indices.getType());
    auto ut = cast<RankedTensorType>(updates.getType());
    if (!it.hasStaticShape() || !ut.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic indices or updates");
    int64_t k = it.getShape().back();
    int64_t tuples = 1;
    for (int64_t d : it.getShape().drop_back())
      tuples *= d;
    // indices as [tuples, k], updates as [tuples, slice...].
    ArrayRef<int64_t> slice = type->getShape().drop_front(k);
    auto flatIdx = RankedTensorType::get({tuples, k}, it.getElementType());
    SmallVector<int64_t> flatUpdShape = {tuples};
    flatUpdShape.append(slice.begin(), slice.end());
    auto flatUpd = RankedTensorType::get(flatUpdShape, ut.getElementType());
    if (!isConstant(op.getIndices()) && tuples > 0)
      checkIndices(rewriter, op, indices, type->getShape().take_front(k));
    Value idx2 = reshapeTo(rewriter, loc, indices, flatIdx);
    Value upd2 = reshapeTo(rewriter, loc, updates, flatUpd);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value count = arith::ConstantIndexOp::create(rewriter, loc, tuples);
    StringRef reduction = op.getReduction();
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    Type elt = type->getElementType();
    auto loop = scf::ForOp::create(
        rewriter, loc, zero, count, one, ValueRange{data},
        [&](OpBuilder &b, Location l, Value i, ValueRange acc) {
          // Offsets: the clamped index tuple, then zeros.
          SmallVector<OpFoldResult> offsets, sizes, strides;
          for (int64_t j = 0; j < k; ++j) {
            Value jv = arith::ConstantIndexOp::create(b, l, j);
            Value raw = tensor::ExtractOp::create(b, l, idx2, ValueRange{i, jv});
            offsets.push_back(clampIndex(b, l, raw, type->getDimSize(j)));
            sizes.push_back(b.getIndexAttr(1));
            strides.push_back(b.getIndexAttr(1));
          }
          for (int64_t d : slice) {
            offsets.push_back(b.getIndexAttr(0));
            sizes.push_back(b.getIndexAttr(d));
            strides.push_back(b.getIndexAttr(1));
          }
          // This tuple's update, as a [1 x k, slice...] tensor.
          SmallVector<OpFoldResult> uOff = {i}, uSize = {b.getIndexAttr(1)},
                                    uStride = {b.getIndexAttr(1)};
          for (int64_t d : slice) {
            uOff.push_back(b.getIndexAttr(0));
            uSize.push_back(b.getIndexAttr(d));
            uStride.push_back(b.getIndexAttr(1));
          }
          SmallVector<int64_t> pieceShape(k, 1);
          pieceShape.append(slice.begin(), slice.end());
          auto pieceType = RankedTensorType::get(pieceShape, elt);
          SmallVector<int64_t> rowShape = {1};
          rowShape.append(slice.begin(), slice.end());
          Value row = tensor::ExtractSliceOp::create(
              b, l, RankedTensorType::get(rowShape, elt), upd2, uOff, uSize,
              uStride);
          Value piece = reshapeTo(b, l, row, pieceType);
          if (reduction != "none") {
            Value old = tensor::ExtractSliceOp::create(b, l, pieceType, acc[0],
                                                       offsets, sizes, strides);
            piece = elementwise(
                b, l, pieceType, ValueRange{old, piece},
                [&](OpBuilder &bb, Location ll, ValueRange a) -> Value {
                  if (reduction == "add")
                    return binaryScalar<AddOp>(bb, ll, a[0], a[1], isUnsigned);
                  if (reduction == "mul")
                    return binaryScalar<MulOp>(bb, ll, a[0], a[1], isUnsigned);
                  if (reduction == "max")
                    return binaryScalar<MaxOp>(bb, ll, a[0], a[1], isUnsigned);
                  return binaryScalar<MinOp>(bb, ll, a[0], a[1], isUnsigned);
                });
          }
          Value next = tensor::InsertSliceOp::create(b, l, piece, acc[0],
                                                     offsets, sizes, strides);
          scf::YieldOp::create(b, l, next);
        });
    rewriter.replaceOp(op, loop.getResult(0));
    return success();
  }
};

template <typename OpT>
struct ReshapeLikePattern : public OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    auto in = cast<RankedTensorType>(adaptor.getInput().getType());
    if (!in.hasStaticShape())
      return rewriter.notifyMatchFailure(op, "dynamic input");
    rewriter.replaceOp(op,
                       reshapeTo(rewriter, op.getLoc(), adaptor.getInput(), *type));
    return success();
  }
};

struct TransposePattern : public OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    rewriter.replaceOp(
        op, linalg::TransposeOp::create(
                rewriter, op.getLoc(), adaptor.getInput(),
                emptyTensor(rewriter, op.getLoc(), *type), op.getPerm())
                .getResult()[0]);
    return success();
  }
};

struct ConcatPattern : public OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    Location loc = op.getLoc();
    int64_t axis = op.getAxisAttr().getInt(), offset = 0;
    // A tensor of its own, which CSE does not merge with another
    // concatenation's, made before the first part's producer: each
    // producer can then compute into its slice (empty-tensor elimination)
    // instead of into a buffer copied there.
    Operation *first = nullptr;
    for (Value in : adaptor.getInputs())
      if (Operation *def = in.getDefiningOp())
        if (def->getBlock() == op->getBlock() &&
            (!first || def->isBeforeInBlock(first)))
          first = def;
    Value acc;
    {
      OpBuilder::InsertionGuard guard(rewriter);
      if (first)
        rewriter.setInsertionPoint(first);
      acc = bufferization::AllocTensorOp::create(rewriter, loc, *type,
                                                 ValueRange{});
    }
    for (Value in : adaptor.getInputs()) {
      auto t = cast<RankedTensorType>(in.getType());
      SmallVector<OpFoldResult> offsets(type->getRank(),
                                        rewriter.getIndexAttr(0));
      SmallVector<OpFoldResult> sizes, strides(type->getRank(),
                                               rewriter.getIndexAttr(1));
      for (int64_t d : t.getShape())
        sizes.push_back(rewriter.getIndexAttr(d));
      offsets[axis] = rewriter.getIndexAttr(offset);
      offset += t.getDimSize(axis);
      acc = tensor::InsertSliceOp::create(rewriter, loc, in, acc, offsets,
                                          sizes, strides);
    }
    rewriter.replaceOp(op, acc);
    return success();
  }
};

struct SlicePattern : public OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    auto bounds = op.getStaticBounds();
    if (!bounds)
      return rewriter.notifyMatchFailure(op, "non-constant slice bounds");
    int64_t rank = type->getRank();
    ArrayRef<int64_t> begin = bounds->begin, step = bounds->step;
    Location loc = op.getLoc();
    bool positive = llvm::all_of(step, [](int64_t s) { return s > 0; });
    if (type->getNumElements() == 0) {
      rewriter.replaceOp(op, emptyTensor(rewriter, loc, *type));
      return success();
    }
    if (positive) {
      rewriter.replaceOp(op, tensor::ExtractSliceOp::create(
                                 rewriter, loc, *type, adaptor.getData(),
                                 ValueRange{}, ValueRange{}, ValueRange{},
                                 begin, type->getShape(), step));
      return success();
    }
    // Negative steps: read data[begin + i * step] elementwise.
    SmallVector<IteratorType> par(rank, IteratorType::parallel);
    Value data = adaptor.getData();
    Value r =
        linalg::GenericOp::create(
            rewriter, loc, TypeRange{*type}, ValueRange{},
            ValueRange{emptyTensor(rewriter, loc, *type)},
            ArrayRef<AffineMap>{
                AffineMap::getMultiDimIdentityMap(rank, getContext())},
            par,
            [&](OpBuilder &b, Location l, ValueRange) {
              SmallVector<Value> at;
              for (int64_t k = 0; k < rank; ++k) {
                Value i = linalg::IndexOp::create(b, l, k);
                Value s = arith::MulIOp::create(
                    b, l, i, arith::ConstantIndexOp::create(b, l, step[k]));
                at.push_back(arith::AddIOp::create(
                    b, l, s, arith::ConstantIndexOp::create(b, l, begin[k])));
              }
              linalg::YieldOp::create(
                  b, l, Value(tensor::ExtractOp::create(b, l, data, at)));
            })
            .getResult(0);
    rewriter.replaceOp(op, r);
    return success();
  }
};

struct SplitPattern : public OpConversionPattern<SplitOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(SplitOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    SmallVector<Value> results;
    int64_t axis = op.getAxisAttr().getInt(), offset = 0;
    for (unsigned i = 0; i < op.getNumResults(); ++i) {
      auto type = staticResult(rewriter, op, i);
      if (failed(type))
        return failure();
      SmallVector<int64_t> offsets(type->getRank(), 0),
          strides(type->getRank(), 1);
      offsets[axis] = offset;
      offset += type->getDimSize(axis);
      if (type->getNumElements() == 0) {
        results.push_back(emptyTensor(rewriter, op.getLoc(), *type));
        continue;
      }
      results.push_back(tensor::ExtractSliceOp::create(
          rewriter, op.getLoc(), *type, adaptor.getInput(), ValueRange{},
          ValueRange{}, ValueRange{}, offsets, type->getShape(), strides));
    }
    rewriter.replaceOp(op, results);
    return success();
  }
};

struct TriluPattern : public OpConversionPattern<TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    int64_t rank = type->getRank(), k = op.getKAttr().getInt();
    bool upper = op.getUpper();
    Type elt = type->getElementType();
    Value r = elementwise(
        rewriter, op.getLoc(), *type, adaptor.getOperands(),
        [&](OpBuilder &b, Location l, ValueRange a) -> Value {
          Value row = linalg::IndexOp::create(b, l, rank - 2);
          Value col = linalg::IndexOp::create(b, l, rank - 1);
          Value diff = arith::SubIOp::create(b, l, col, row);
          Value kv = arith::ConstantIndexOp::create(b, l, k);
          Value keep = arith::CmpIOp::create(
              b, l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              diff, kv);
          Value zero = isa<FloatType>(elt) ? floatConst(b, l, elt, 0.0)
                                           : scalarConstant(b, l, elt, 0);
          return arith::SelectOp::create(b, l, keep, a[0], zero);
        });
    rewriter.replaceOp(op, r);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

struct ConstantPattern : public OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = staticResult(rewriter, op);
    if (failed(type))
      return failure();
    ElementsAttr value = op.getValue();
    if (auto dense = dyn_cast<DenseElementsAttr>(value)) {
      if (dense.getType() != *type)
        value = dense.bitcast(type->getElementType());
    } else if (auto res = dyn_cast<DenseResourceElementsAttr>(value)) {
      // Blobs left in the code (shape data) become dense attributes: LLVM
      // IR translation cannot read i1 blobs, and small ones read better.
      AsmResourceBlob *blob = res.getRawHandle().getBlob();
      if (!blob)
        return rewriter.notifyMatchFailure(op, "weight blob has no data");
      ArrayRef<char> raw = blob->getData();
      if (type->getElementType().isInteger(1)) {
        SmallVector<bool> bits;
        for (char c : raw)
          bits.push_back(c != 0);
        value = DenseElementsAttr::get(*type, bits);
      } else {
        bool splat = false;
        if (!DenseElementsAttr::isValidRawBuffer(*type, raw, splat))
          return rewriter.notifyMatchFailure(op, "malformed blob");
        value = DenseElementsAttr::getFromRawBuffer(*type, raw);
      }
    }
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, *type,
                                                   cast<TypedAttr>(value));
    return success();
  }
};

template <typename OpT>
struct FoldedOnlyPattern : public OpConversionPattern<OpT> {
  using OpConversionPattern<OpT>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpT op, typename OpT::Adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // Shape, Range and ConstantOfShape fold away once shapes are static;
    // one that is left computes a dynamic shape.
    return rewriter.notifyMatchFailure(op, "computes a dynamic shape");
  }
};

//===----------------------------------------------------------------------===//
// The pass
//===----------------------------------------------------------------------===//

struct ConvertSmqToLinalgPass
    : public mlir::smq::impl::ConvertSmqToLinalgBase<ConvertSmqToLinalgPass> {
  void runOnOperation() override {
    MLIRContext *ctx = &getContext();
    // Fold what can be folded first: a constant-foldable op never needs a
    // kernel.
    TypeConverter types;
    types.addConversion([](Type t) { return t; });
    types.addConversion([](RankedTensorType t) -> Type {
      return RankedTensorType::get(t.getShape(), signless(t.getElementType()));
    });

    ConversionTarget target(*ctx);
    target.addIllegalDialect<SmqDialect>();
    // Kernel calls stay smq ops down to bufferization.
    target.addLegalOp<UKernelQMatMulOp, UKernelMatMulOp>();
    target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                           bufferization::BufferizationDialect,
                           arith::ArithDialect, math::MathDialect,
                           scf::SCFDialect>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return types.isSignatureLegal(f.getFunctionType()) &&
             types.isLegal(&f.getBody());
    });
    target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
        [&](Operation *op) { return types.isLegal(op); });

    // The index checks' runtime function, if any op may need it.
    ModuleOp module = getOperation();
    bool needsIndexCheck = false;
    module.walk([&](Operation *op) {
      if (auto g = dyn_cast<GatherOp>(op))
        needsIndexCheck |= !isConstant(g.getIndices());
      if (auto sc = dyn_cast<ScatterNDOp>(op))
        needsIndexCheck |= !isConstant(sc.getIndices());
    });
    if (needsIndexCheck && !module.lookupSymbol(kIndexErrorFn)) {
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      Type i64 = b.getI64Type();
      auto fn = func::FuncOp::create(b, module.getLoc(), kIndexErrorFn,
                                     b.getFunctionType({i64, i64, i64}, {}));
      fn.setPrivate();
    }

    RewritePatternSet patterns(ctx);
    patterns.add<
        BinaryPattern<AddOp>, BinaryPattern<SubOp>, BinaryPattern<MulOp>,
        BinaryPattern<DivOp>, BinaryPattern<PowOp>, BinaryPattern<MaxOp>,
        BinaryPattern<MinOp>, BinaryPattern<EqualOp>,
        BinaryPattern<LessOp>, BinaryPattern<LessEqualOp>,
        BinaryPattern<AndOp>, BinaryPattern<OrOp>, BinaryPattern<XorOp>, UnaryPattern<SqrtOp>,
        UnaryPattern<ReciprocalOp>, UnaryPattern<NegOp>, UnaryPattern<ExpOp>,
        UnaryPattern<LogOp>, UnaryPattern<TanhOp>, UnaryPattern<ErfOp>,
        UnaryPattern<SigmoidOp>, UnaryPattern<ReluOp>, UnaryPattern<CosOp>,
        UnaryPattern<SinOp>, UnaryPattern<NotOp>, GeluPattern, CastPattern,
        WherePattern, ExpandPattern, ReducePattern<ReduceMeanOp>,
        ReducePattern<ReduceSumOp>, ReducePattern<ReduceMaxOp>,
        SoftmaxPattern, LayerNormPattern, MatMulPattern, GemmPattern,
        QuantizedMatMulPattern, PackedMatMulPattern,
        GatherPattern, ScatterNDPattern, ReshapeLikePattern<ReshapeOp>,
        ReshapeLikePattern<UnsqueezeOp>, ReshapeLikePattern<SqueezeOp>,
        TransposePattern, ConcatPattern, SlicePattern, SplitPattern,
        TriluPattern, ConstantPattern, FoldedOnlyPattern<ShapeOp>,
        FoldedOnlyPattern<RangeOp>, FoldedOnlyPattern<ConstantOfShapeOp>>(
        types, ctx);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   types);
    populateReturnOpTypeConversionPattern(patterns, types);
    populateCallOpTypeConversionPattern(patterns, types);

    if (failed(applyPartialConversion(getOperation(), target,
                                      std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
