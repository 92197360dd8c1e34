//===- ReassociateReductions.cpp - vectorizable reduction combiners -------===//
//
// A reduction generic's body combines the accumulator (the block argument
// of its init) with the next element. Without reassociation LLVM must keep
// that chain scalar and in order; with `fastmath<reassoc>` on the combiner
// alone it vectorizes the loop with one partial result per lane.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQREASSOCIATEREDUCTIONS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

bool isCombiner(Operation *op) {
  return isa<arith::AddFOp, arith::MulFOp, arith::MaximumFOp,
             arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp>(op);
}

struct ReassociateReductionsPass
    : public smq::impl::SmqReassociateReductionsBase<
          ReassociateReductionsPass> {
  void runOnOperation() override {
    getOperation()->walk([](linalg::GenericOp generic) {
      if (generic.getNumReductionLoops() == 0)
        return;
      Block &body = generic.getRegion().front();
      auto yield = cast<linalg::YieldOp>(body.getTerminator());
      for (OpOperand &init : generic.getDpsInitsMutable()) {
        BlockArgument acc = generic.getMatchingBlockArgument(&init);
        Value yielded = yield.getOperand(init.getOperandNumber() -
                                         generic.getNumDpsInputs());
        Operation *combiner = yielded.getDefiningOp();
        // Only the op that folds the accumulator into the yielded value:
        // the element's own arithmetic keeps strict semantics.
        if (!combiner || combiner->getBlock() != &body ||
            !isCombiner(combiner) ||
            !llvm::is_contained(combiner->getOperands(), Value(acc)))
          continue;
        auto fm = cast<arith::ArithFastMathInterface>(combiner);
        arith::FastMathFlags flags =
            fm.getFastMathFlagsAttr().getValue() | arith::FastMathFlags::reassoc;
        combiner->setAttr(fm.getFastMathAttrName(),
                          arith::FastMathFlagsAttr::get(combiner->getContext(),
                                                        flags));
      }
    });
  }
};

} // namespace
