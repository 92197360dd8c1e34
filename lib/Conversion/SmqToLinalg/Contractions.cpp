//===- Contractions.cpp - matmuls to linalg -------------------------------===//
//
// MatMul and Gemm as linalg.matmul / linalg.batch_matmul; quantized and
// packed matmuls as the runtime's kernel ops or as a fused decode.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

namespace {

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

/// The weight at (n, k) decoded inside a generic's body, from `byte`, the
/// code's first byte (read through the generic's indexing map), its
/// group's `scale` and `zero`; `codes` is read again for the second byte
/// of a code that straddles two.
Value decodeWeight(OpBuilder &nb, Location l, Value byte, Value scale,
                   Value zero, Value codes, Value kk, Value nn, int64_t bits,
                   int64_t rowBytes) {
  auto idx = [&](int64_t v) {
    return (Value)arith::ConstantIndexOp::create(nb, l, v);
  };
  auto i32 = [&](int64_t v) {
    return (Value)arith::ConstantIntOp::create(nb, l, nb.getI32Type(), v);
  };
  Value bit = arith::MulIOp::create(nb, l, kk, idx(bits));
  Value word = arith::ExtUIOp::create(nb, l, nb.getI32Type(), byte);
  // Only 3, 5, 6 and 7 bits let a code straddle two bytes.
  if (8 % bits != 0) {
    Value next = arith::MinUIOp::create(
        nb, l,
        arith::AddIOp::create(nb, l, arith::DivUIOp::create(nb, l, bit, idx(8)),
                              idx(1)),
        idx(rowBytes - 1));
    Value hi = arith::ExtUIOp::create(
        nb, l, nb.getI32Type(),
        tensor::ExtractOp::create(nb, l, codes, ValueRange{nn, next}));
    word = arith::OrIOp::create(nb, l, word,
                                arith::ShLIOp::create(nb, l, hi, i32(8)));
  }
  Value sh = arith::IndexCastOp::create(
      nb, l, nb.getI32Type(), arith::RemUIOp::create(nb, l, bit, idx(8)));
  Value q = arith::AndIOp::create(nb, l, arith::ShRUIOp::create(nb, l, word, sh),
                                  i32((1 << bits) - 1));
  Value qf = arith::UIToFPOp::create(nb, l, nb.getF32Type(), q);
  return arith::MulFOp::create(nb, l, scale,
                               arith::SubFOp::create(nb, l, qf, zero));
}

/// The body of a fused quantized contraction whose operands are (x, the
/// code's byte, scale, zero point, accumulator): acc + x · ŵ(n, k), the
/// weight decoded where it is multiplied.
void yieldDecodedProduct(OpBuilder &nb, Location l, ValueRange args,
                         Value codes, Value k, Value n, int64_t bits,
                         int64_t rowBytes) {
  Value w = decodeWeight(nb, l, args[1], args[2], args[3], codes, k, n, bits,
                         rowBytes);
  Value p = arith::MulFOp::create(nb, l, args[0], w);
  linalg::YieldOp::create(nb, l,
                          Value(arith::AddFOp::create(nb, l, args[4], p)));
}

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
  auto generic = linalg::GenericOp::create(
      b, loc, TypeRange{wt}, ValueRange{codes, scales, zeros},
      ValueRange{emptyTensor(b, loc, wt)},
      ArrayRef<AffineMap>{byteMap, groupMap, groupMap,
                          AffineMap::getMultiDimIdentityMap(2, ctx)},
      SmallVector<IteratorType>(2, IteratorType::parallel),
      [&](OpBuilder &nb, Location l, ValueRange args) {
        Value w = decodeWeight(nb, l, args[0], args[1], args[2], codes,
                               linalg::IndexOp::create(nb, l, 0),
                               linalg::IndexOp::create(nb, l, 1), bits,
                               rowBytes);
        linalg::YieldOp::create(nb, l, w);
      });
  return generic.getResult(0);
}

/// The rows up to which a fused quantized matmul is a decode (GEMV): its
/// K is split into lanes (splitLanes) so that consecutive threads read
/// consecutive codes of one weight row, instead of one thread per output
/// walking a whole row alone.
constexpr int64_t kSplitRows = 4;

/// Lanes a decode-shaped product's K is split into: 64, or 32, where K is
/// a multiple with at least four steps per lane; 0 when it is not split.
int64_t splitLanes(int64_t m, int64_t k) {
  if (m > kSplitRows)
    return 0;
  for (int64_t lanes : {64, 32})
    if (k % lanes == 0 && k / lanes >= 4)
      return lanes;
  return 0;
}

/// A decode-shaped x[M, K] times the decoded weight in two generics:
/// partial[m, n, c] sums the products of k = j * lanes + c over j, a
/// parallel (m, n, c) space whose innermost lanes read adjacent codes of
/// row n (a GPU block of them reads one row's bytes together); then
/// out[m, n] sums its lanes in order. Both orders are fixed: the same
/// bits on every run.
Value splitQuantizedMatMul(OpBuilder &b, Location loc, Value x, Value codes,
                           Value scales, Value zeros, int64_t bits,
                           int64_t group, int64_t lanes) {
  MLIRContext *ctx = b.getContext();
  auto xt = cast<RankedTensorType>(x.getType());
  auto ct = cast<RankedTensorType>(codes.getType());
  int64_t m = xt.getDimSize(0), n = ct.getDimSize(0);
  int64_t rowBytes = ct.getDimSize(1);
  auto partialType = RankedTensorType::get({m, n, lanes}, b.getF32Type());
  AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
             dc = getAffineDimExpr(2, ctx), dj = getAffineDimExpr(3, ctx);
  AffineExpr dk = dj * lanes + dc;
  // x as [M, K / lanes, lanes]: each loop's range is then some operand's
  // dim, as linalg requires.
  int64_t k = xt.getDimSize(1);
  x = reshapeTo(b, loc, x,
                RankedTensorType::get({m, k / lanes, lanes}, b.getF32Type()));
  SmallVector<AffineMap> maps = {
      AffineMap::get(4, 0, {dm, dj, dc}, ctx),
      AffineMap::get(4, 0, {dn, (dk * bits).floorDiv(8)}, ctx),
      AffineMap::get(4, 0, {dn, dk.floorDiv(group)}, ctx),
      AffineMap::get(4, 0, {dn, dk.floorDiv(group)}, ctx),
      AffineMap::get(4, 0, {dm, dn, dc}, ctx)};
  SmallVector<IteratorType> iters = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::parallel,
      IteratorType::reduction};
  Value partial =
      linalg::GenericOp::create(
          b, loc, TypeRange{partialType}, ValueRange{x, codes, scales, zeros},
          ValueRange{filled(b, loc, partialType, 0.0)}, maps, iters,
          [&](OpBuilder &nb, Location l, ValueRange args) {
            Value k = arith::AddIOp::create(
                nb, l,
                arith::MulIOp::create(
                    nb, l, linalg::IndexOp::create(nb, l, 3),
                    arith::ConstantIndexOp::create(nb, l, lanes)),
                linalg::IndexOp::create(nb, l, 2));
            yieldDecodedProduct(nb, l, args, codes, k,
                                linalg::IndexOp::create(nb, l, 1), bits,
                                rowBytes);
          })
          .getResult(0);
  auto outType = RankedTensorType::get({m, n}, b.getF32Type());
  AffineExpr rm = getAffineDimExpr(0, ctx), rn = getAffineDimExpr(1, ctx),
             rc = getAffineDimExpr(2, ctx);
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{partial},
             ValueRange{filled(b, loc, outType, 0.0)},
             ArrayRef<AffineMap>{AffineMap::get(3, 0, {rm, rn, rc}, ctx),
                                 AffineMap::get(3, 0, {rm, rn}, ctx)},
             ArrayRef<IteratorType>{IteratorType::parallel,
                                    IteratorType::parallel,
                                    IteratorType::reduction},
             [&](OpBuilder &nb, Location l, ValueRange args) {
               linalg::YieldOp::create(
                   nb, l,
                   Value(arith::AddFOp::create(nb, l, args[1], args[0])));
             })
      .getResult(0);
}

/// x[M, K] times the decoded weight, as one contraction generic over
/// (m, n, k): each weight is decoded from its byte, scale and zero point
/// where it is multiplied, so no float weight is ever stored. Decodes
/// (M up to kSplitRows) split K into lanes (splitQuantizedMatMul).
Value fusedQuantizedMatMul(OpBuilder &b, Location loc, Value x, Value codes,
                           Value scales, Value zeros, int64_t bits,
                           int64_t group) {
  MLIRContext *ctx = b.getContext();
  auto xt = cast<RankedTensorType>(x.getType());
  auto ct = cast<RankedTensorType>(codes.getType());
  int64_t m = xt.getDimSize(0), n = ct.getDimSize(0);
  if (int64_t lanes = splitLanes(m, xt.getDimSize(1)))
    return splitQuantizedMatMul(b, loc, x, codes, scales, zeros, bits, group,
                                lanes);
  int64_t rowBytes = ct.getDimSize(1);
  auto outType = RankedTensorType::get({m, n}, b.getF32Type());
  AffineExpr dm = getAffineDimExpr(0, ctx), dn = getAffineDimExpr(1, ctx),
             dk = getAffineDimExpr(2, ctx);
  SmallVector<AffineMap> maps = {
      AffineMap::get(3, 0, {dm, dk}, ctx),
      AffineMap::get(3, 0, {dn, (dk * bits).floorDiv(8)}, ctx),
      AffineMap::get(3, 0, {dn, dk.floorDiv(group)}, ctx),
      AffineMap::get(3, 0, {dn, dk.floorDiv(group)}, ctx),
      AffineMap::get(3, 0, {dm, dn}, ctx)};
  SmallVector<IteratorType> iters = {
      IteratorType::parallel, IteratorType::parallel, IteratorType::reduction};
  return linalg::GenericOp::create(
             b, loc, TypeRange{outType}, ValueRange{x, codes, scales, zeros},
             ValueRange{filled(b, loc, outType, 0.0)}, maps, iters,
             [&](OpBuilder &nb, Location l, ValueRange args) {
               yieldDecodedProduct(nb, l, args, codes,
                                   linalg::IndexOp::create(nb, l, 2),
                                   linalg::IndexOp::create(nb, l, 1), bits,
                                   rowBytes);
             })
      .getResult(0);
}

struct QuantizedMatMulPattern : public OpConversionPattern<QuantizedMatMulOp> {
  QuantizedMatMulPattern(const TypeConverter &types, MLIRContext *ctx,
                         QuantizedMatMulLowering lowering)
      : OpConversionPattern(types, ctx), lowering(lowering) {}

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
    // [..., K] as [M, K], and back.
    int64_t k = lhs.getShape().back(), m = lhs.getNumElements() / k;
    int64_t n = type->getShape().back();
    Type f32 = rewriter.getF32Type();
    auto out = RankedTensorType::get({m, n}, f32);
    auto x2 = [&] {
      return reshapeTo(rewriter, loc, adaptor.getLhs(),
                       RankedTensorType::get({m, k}, f32));
    };
    if (lowering == QuantizedMatMulLowering::Fused) {
      if (op.getPacked())
        return rewriter.notifyMatchFailure(
            op, "packed codes are in the CPU kernels' layout");
      Value y = fusedQuantizedMatMul(
          rewriter, loc, x2(), adaptor.getCodes(), adaptor.getScales(),
          adaptor.getZeroPoints(), op.getBitsAttr().getInt(),
          op.getGroupSizeAttr().getInt());
      rewriter.replaceOp(op, reshapeTo(rewriter, loc, y, *type));
      return success();
    }
    if (op.getPacked()) {
      Value x = x2();
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
        op.getGroupSizeAttr().getInt(), k);
    rewriter.replaceOp(op, contract(rewriter, op.getLoc(), adaptor.getLhs(), w,
                                    *type));
    return success();
  }

private:
  QuantizedMatMulLowering lowering;
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

} // namespace

void mlir::smq::populateSmqContractionToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns,
    QuantizedMatMulLowering qmatmul) {
  MLIRContext *ctx = patterns.getContext();
  patterns.add<MatMulPattern, GemmPattern, PackedMatMulPattern>(types, ctx);
  patterns.add<QuantizedMatMulPattern>(types, ctx, qmatmul);
}
