//===- ExpandIntegerPow.cpp - integer powers as loops in place ------------===//
//
// convert-math-to-funcs gives math.ipowi a helper function, which kernels
// that cannot call functions (SPIR-V compute shaders here) cannot use. This
// expands it where it stands, in structured control flow that every GPU
// target lowers, with the helper's semantics:
//
//   e == 0:  1
//   e <  0:  b == 0 ? 1 / b : b == 1 ? 1 : b == -1 ? (e odd ? -1 : 1) : 0
//   e >  0:  r = 1; loop { if (e & 1) r *= b; e >>= 1; if (!e) break;
//                          b *= b; }
//
//===----------------------------------------------------------------------===//
#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQEXPANDINTEGERPOW
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

struct ExpandIPowI : OpRewritePattern<math::IPowIOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(math::IPowIOp op,
                                PatternRewriter &rw) const override {
    // Vectors would need the loop per lane; the pipelines have none here.
    auto type = dyn_cast<IntegerType>(op.getType());
    if (!type)
      return rw.notifyMatchFailure(op, "not a scalar integer");
    Location loc = op.getLoc();
    auto cst = [&](int64_t v) -> Value {
      return arith::ConstantIntOp::create(rw, loc, type, v);
    };
    Value base = op.getLhs(), exp = op.getRhs();
    Value zero = cst(0), one = cst(1), minusOne = cst(-1);
    using P = arith::CmpIPredicate;
    auto cmp = [&](P p, Value a, Value b) -> Value {
      return arith::CmpIOp::create(rw, loc, p, a, b);
    };
    Value isZeroExp = cmp(P::eq, exp, zero);
    auto outer = scf::IfOp::create(rw, loc, type, isZeroExp,
                                   /*withElseRegion=*/true);
    // e == 0
    rw.setInsertionPointToStart(&outer.getThenRegion().front());
    scf::YieldOp::create(rw, loc, one);
    // e != 0
    rw.setInsertionPointToStart(&outer.getElseRegion().front());
    Value negative = cmp(P::slt, exp, zero);
    auto sign = scf::IfOp::create(rw, loc, type, negative, true);
    {
      // e < 0: only the division by a zero base is left to run time.
      OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(&sign.getThenRegion().front());
      Value zeroBase = cmp(P::eq, base, zero);
      auto byZero = scf::IfOp::create(rw, loc, type, zeroBase, true);
      rw.setInsertionPointToStart(&byZero.getThenRegion().front());
      scf::YieldOp::create(rw, loc,
                           Value(arith::DivSIOp::create(rw, loc, one, base)));
      rw.setInsertionPointToStart(&byZero.getElseRegion().front());
      Value odd =
          cmp(P::ne, arith::AndIOp::create(rw, loc, exp, one), zero);
      Value ofMinusOne = arith::SelectOp::create(rw, loc, odd, minusOne, one);
      Value isMinusOne = cmp(P::eq, base, minusOne);
      Value isOne = cmp(P::eq, base, one);
      Value r = arith::SelectOp::create(
          rw, loc, isOne, one,
          arith::SelectOp::create(rw, loc, isMinusOne, ofMinusOne, zero));
      scf::YieldOp::create(rw, loc, r);
      rw.setInsertionPointAfter(byZero);
      scf::YieldOp::create(rw, loc, byZero.getResult(0));
    }
    {
      // e > 0: exponentiation by squaring.
      OpBuilder::InsertionGuard guard(rw);
      rw.setInsertionPointToStart(&sign.getElseRegion().front());
      SmallVector<Type> types(3, type);
      SmallVector<Location> locs(3, loc);
      auto loop = scf::WhileOp::create(rw, loc, types,
                                       ValueRange{one, base, exp});
      Block *before = rw.createBlock(&loop.getBefore(), {}, types, locs);
      Value r = before->getArgument(0), b = before->getArgument(1),
            e = before->getArgument(2);
      Value odd = cmp(P::ne, arith::AndIOp::create(rw, loc, e, one), zero);
      Value nextR = arith::SelectOp::create(
          rw, loc, odd, arith::MulIOp::create(rw, loc, r, b), r);
      Value nextE = arith::ShRUIOp::create(rw, loc, e, one);
      Value more = cmp(P::ne, nextE, zero);
      Value nextB = arith::MulIOp::create(rw, loc, b, b);
      scf::ConditionOp::create(rw, loc, more,
                               ValueRange{nextR, nextB, nextE});
      Block *after = rw.createBlock(&loop.getAfter(), {}, types, locs);
      scf::YieldOp::create(rw, loc, after->getArguments());
      rw.setInsertionPointAfter(loop);
      scf::YieldOp::create(rw, loc, loop.getResult(0));
    }
    rw.setInsertionPointAfter(sign);
    scf::YieldOp::create(rw, loc, sign.getResult(0));
    rw.replaceOp(op, outer.getResult(0));
    return success();
  }
};

struct ExpandIntegerPowPass
    : public smq::impl::SmqExpandIntegerPowBase<ExpandIntegerPowPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns.add<ExpandIPowI>(&getContext());
    if (failed(applyPatternsGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
