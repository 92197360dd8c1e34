//===- ExternalizeWeights.cpp - weights become entry arguments ------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQEXTERNALIZEWEIGHTS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

struct ExternalizeWeightsPass
    : public mlir::smq::impl::SmqExternalizeWeightsBase<ExternalizeWeightsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<ConstantOp> weights;
      func.walk([&](ConstantOp op) {
        if (!isa<DenseResourceElementsAttr>(op.getValue()))
          return;
        // Small integer tensors are shape data (Slice bounds, Reshape
        // targets) that lowering needs as constants; they stay.
        auto type = cast<RankedTensorType>(op.getType());
        if (!isa<FloatType>(type.getElementType()) &&
            type.getNumElements() <= kMaxInlineIntegerElements)
          return;
        weights.push_back(op);
      });
      Block &entry = func.front();
      for (ConstantOp op : weights) {
        auto resource = cast<DenseResourceElementsAttr>(op.getValue());
        unsigned index = entry.getNumArguments();
        Builder b(&getContext());
        NamedAttribute mark(b.getStringAttr(kWeightArgAttr),
                            b.getStringAttr(resource.getRawHandle().getKey()));
        if (failed(func.insertArgument(index, op.getType(),
                                       b.getDictionaryAttr({mark}),
                                       op.getLoc()))) {
          signalPassFailure();
          return;
        }
        op.getResult().replaceAllUsesWith(entry.getArgument(index));
        op.erase();
      }
    }
  }
};

} // namespace
