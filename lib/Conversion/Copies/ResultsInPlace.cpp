//===- ResultsInPlace.cpp - results computed into their out-parameters ----===//
//
// buffer-results-to-out-params ends a function with one memref.copy per
// result, from the buffer the result was computed in to the caller's
// out-parameter. When that buffer is an alloc of the same type that is not
// used after the copy, computing into the out-parameter directly gives the
// same values without the copy or the alloc.
//
//===----------------------------------------------------------------------===//

#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQRESULTSINPLACE
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

struct ResultsInPlacePass
    : public smq::impl::SmqResultsInPlaceBase<ResultsInPlacePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &body = func.getBody().front();
    auto ret = dyn_cast<func::ReturnOp>(body.getTerminator());
    if (!ret)
      return;
    // The copies into out-parameters sit right before the return.
    SmallVector<memref::CopyOp> copies;
    for (Operation *op = ret->getPrevNode(); op; op = op->getPrevNode()) {
      auto copy = dyn_cast<memref::CopyOp>(op);
      if (!copy)
        break;
      copies.push_back(copy);
    }
    for (memref::CopyOp copy : llvm::reverse(copies)) {
      auto out = dyn_cast<BlockArgument>(copy.getTarget());
      auto alloc = copy.getSource().getDefiningOp<memref::AllocOp>();
      if (!out || out.getOwner() != &body || !out.hasOneUse() || !alloc ||
          alloc->getBlock() != &body ||
          alloc.getType() != copy.getTarget().getType() ||
          !alloc.getType().getLayout().isIdentity() ||
          !alloc.getDynamicSizes().empty())
        continue;
      // Every other use of the buffer comes before the copy, so nothing
      // reads it after the out-parameter would have been written.
      bool usedBefore = llvm::all_of(alloc->getUses(), [&](OpOperand &use) {
        Operation *user = body.findAncestorOpInBlock(*use.getOwner());
        return user == copy || (user && user->isBeforeInBlock(copy));
      });
      if (!usedBefore)
        continue;
      copy->erase();
      alloc->replaceAllUsesWith(ValueRange{out});
      alloc->erase();
    }
  }
};

} // namespace
