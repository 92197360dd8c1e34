//===- Reductions.cpp - reductions and normalisations to linalg -----------===//
//
// ReduceMean/Sum/Max, Softmax and LayerNorm as reduction generics followed
// by elementwise generics that read the reduced values through broadcast maps.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include <cmath>

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

namespace {

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
                         return Scalar::max(b, l, a[0], a[1], u);
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

} // namespace

void mlir::smq::populateSmqReductionToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns) {
  patterns.add<ReducePattern<ReduceMeanOp>, ReducePattern<ReduceSumOp>,
               ReducePattern<ReduceMaxOp>, SoftmaxPattern, LayerNormPattern>(
      types, patterns.getContext());
}
