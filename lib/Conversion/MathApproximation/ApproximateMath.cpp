//===- ApproximateMath.cpp - vectorizable transcendental functions --------===//
#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQAPPROXIMATEMATH
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {
struct ApproximateMathPass
    : public smq::impl::SmqApproximateMathBase<ApproximateMathPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    // The predicate sees full op names.
    populateMathPolynomialApproximationPatterns(
        patterns, [](StringRef name) {
          return llvm::is_contained(
              {"math.exp", "math.log", "math.log2", "math.log1p",
               "math.expm1", "math.tanh", "math.erf", "math.sin", "math.cos"},
              name);
        });
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};
} // namespace
