//===- Constants.cpp - smq constants to arith -----------------------------===//
//
// Constants become arith.constant; shape computations must have folded.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

namespace {

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

} // namespace

void mlir::smq::populateSmqConstantToLinalgPatterns(
    const TypeConverter &types, RewritePatternSet &patterns) {
  patterns.add<ConstantPattern, FoldedOnlyPattern<ShapeOp>,
               FoldedOnlyPattern<RangeOp>, FoldedOnlyPattern<ConstantOfShapeOp>>(
      types, patterns.getContext());
}
