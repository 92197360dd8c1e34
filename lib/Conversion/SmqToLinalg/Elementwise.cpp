//===- Elementwise.cpp - elementwise smq ops to linalg --------------------===//
//
// One linalg.generic per op, with numpy broadcasting in its indexing maps.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <cmath>

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

namespace {

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
  return Scalar::max(b, l, x, y, u);
}
template <>
Value binaryScalar<MinOp>(OpBuilder &b, Location l, Value x, Value y, bool u) {
  return Scalar::min(b, l, x, y, u);
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

} // namespace

void mlir::smq::populateSmqElementwiseToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns) {
  patterns.add<
      BinaryPattern<AddOp>, BinaryPattern<SubOp>, BinaryPattern<MulOp>,
      BinaryPattern<DivOp>, BinaryPattern<PowOp>, BinaryPattern<MaxOp>,
      BinaryPattern<MinOp>, BinaryPattern<EqualOp>, BinaryPattern<LessOp>,
      BinaryPattern<LessEqualOp>, BinaryPattern<AndOp>, BinaryPattern<OrOp>,
      BinaryPattern<XorOp>, UnaryPattern<SqrtOp>, UnaryPattern<ReciprocalOp>,
      UnaryPattern<NegOp>, UnaryPattern<ExpOp>, UnaryPattern<LogOp>,
      UnaryPattern<TanhOp>, UnaryPattern<ErfOp>, UnaryPattern<SigmoidOp>,
      UnaryPattern<ReluOp>, UnaryPattern<CosOp>, UnaryPattern<SinOp>,
      UnaryPattern<NotOp>, GeluPattern, CastPattern, WherePattern,
      ExpandPattern>(types, patterns.getContext());
}
