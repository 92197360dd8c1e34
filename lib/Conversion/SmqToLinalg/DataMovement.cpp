//===- DataMovement.cpp - data movement to linalg and tensor --------------===//
//
// Gather and ScatterND (with run-time index checks), reshapes, Transpose,
// Concat, Slice, Split and Trilu.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

namespace {

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

struct GatherPattern : public OpConversionPattern<GatherOp> {
  GatherPattern(const TypeConverter &types, MLIRContext *ctx, bool indexChecks)
      : OpConversionPattern(types, ctx), indexChecks(indexChecks) {}
  bool indexChecks;
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
    if (indexChecks && !isConstant(op.getIndices()) && it.hasStaticShape() &&
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

/// Up to this many elements × index tuples, a reducing ScatterND is one
/// generic (see below): 16M compares and combines, a few ms.
constexpr int64_t kFoldedScatterWork = int64_t(1) << 24;

/// ScatterND's `reduction` (add, mul, max or min) of an old value and an
/// update.
Value combineScatter(OpBuilder &b, Location l, StringRef reduction,
                     Value old, Value update, bool isUnsigned) {
  if (reduction == "add")
    return Scalar::add(b, l, old, update);
  if (reduction == "mul")
    return Scalar::mul(b, l, old, update);
  if (reduction == "max")
    return Scalar::max(b, l, old, update, isUnsigned);
  return Scalar::min(b, l, old, update, isUnsigned);
}

/// An scf.for over the index tuples, each step writing (or combining) one
/// slice of `updates` into the result with tensor.insert_slice; a small
/// enough reduction is instead one generic over the data (below). Negative
/// indices count from the end; out-of-range ones are clamped, as Gather's
/// are, so that a bad input cannot write outside the tensor.
struct ScatterNDPattern : public OpConversionPattern<ScatterNDOp> {
  ScatterNDPattern(const TypeConverter &types, MLIRContext *ctx, bool indexChecks)
      : OpConversionPattern(types, ctx), indexChecks(indexChecks) {}
  bool indexChecks;
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
    if (indexChecks && !isConstant(op.getIndices()) && tuples > 0)
      checkIndices(rewriter, op, indices, type->getShape().take_front(k));
    Value idx2 = reshapeTo(rewriter, loc, indices, flatIdx);
    Value upd2 = reshapeTo(rewriter, loc, updates, flatUpd);
    Value zero = arith::ConstantIndexOp::create(rewriter, loc, 0);
    Value one = arith::ConstantIndexOp::create(rewriter, loc, 1);
    Value count = arith::ConstantIndexOp::create(rewriter, loc, tuples);
    StringRef reduction = op.getReduction();
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    Type elt = type->getElementType();
    // A reduction over few enough elements × tuples is one generic over
    // the data's shape: each element folds in, in the tuples' order, the
    // update of every tuple that lands on it. The same combines in the same
    // order as the loop below, so the same bits, but one kernel that reads
    // whole buffers: GPU launches pass bare buffer pointers, and the loop's
    // steps would need a view (or an index) known only at run time.
    if (reduction != "none" &&
        type->getNumElements() * tuples <= kFoldedScatterWork) {
      int64_t rank = type->getRank();
      MLIRContext *ctx = rewriter.getContext();
      AffineMap id = AffineMap::getMultiDimIdentityMap(rank, ctx);
      auto generic = linalg::GenericOp::create(
          rewriter, loc, TypeRange{*type}, ValueRange{data},
          ValueRange{emptyTensor(rewriter, loc, *type)},
          SmallVector<AffineMap>{id, id},
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [&](OpBuilder &b, Location l, ValueRange args) {
            SmallVector<Value> at;
            for (int64_t d = 0; d < rank; ++d)
              at.push_back(linalg::IndexOp::create(b, l, d));
            auto fold = scf::ForOp::create(
                b, l, zero, count, one, ValueRange{args[0]},
                [&](OpBuilder &fb, Location fl, Value i, ValueRange acc) {
                  Value lands;
                  for (int64_t j = 0; j < k; ++j) {
                    Value jv = arith::ConstantIndexOp::create(fb, fl, j);
                    Value raw = tensor::ExtractOp::create(fb, fl, idx2,
                                                          ValueRange{i, jv});
                    Value c = clampIndex(fb, fl, raw, type->getDimSize(j));
                    Value eq = arith::CmpIOp::create(
                        fb, fl, arith::CmpIPredicate::eq, c, at[j]);
                    lands = lands ? arith::AndIOp::create(fb, fl, lands, eq)
                                  : eq;
                  }
                  SmallVector<Value> updAt = {i};
                  updAt.append(at.begin() + k, at.end());
                  Value u = tensor::ExtractOp::create(fb, fl, upd2, updAt);
                  Value v = acc[0];
                  Value r = combineScatter(fb, fl, reduction, v, u, isUnsigned);
                  if (lands)
                    r = arith::SelectOp::create(fb, fl, lands, r, v);
                  scf::YieldOp::create(fb, fl, r);
                });
            linalg::YieldOp::create(b, l, fold.getResult(0));
          });
      rewriter.replaceOp(op, generic.getResult(0));
      return success();
    }
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
                  return combineScatter(bb, ll, reduction, a[0], a[1],
                                        isUnsigned);
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

} // namespace

void mlir::smq::populateSmqDataMovementToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns, bool indexChecks) {
  patterns.add<GatherPattern, ScatterNDPattern>(types, patterns.getContext(),
                                                indexChecks);
  patterns.add<ReshapeLikePattern<ReshapeOp>,
               ReshapeLikePattern<UnsqueezeOp>, ReshapeLikePattern<SqueezeOp>,
               TransposePattern, ConcatPattern, SlicePattern, SplitPattern,
               TriluPattern>(types, patterns.getContext());
}
