//===- SmqToLinalgPass.cpp - the --convert-smq-to-linalg pass -------------===//
//
// Applies every smq-to-linalg pattern family as one partial conversion.
// Patterns live by op family in Elementwise.cpp, Reductions.cpp,
// Contractions.cpp, DataMovement.cpp and Constants.cpp.
//
//===----------------------------------------------------------------------===//

#include "Common.h"

#include "mlir/Dialect/Func/Transforms/FuncConversions.h"

namespace mlir::smq {
#define GEN_PASS_DEF_CONVERTSMQTOLINALG
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;
using namespace mlir::smq::to_linalg;

void mlir::smq::populateSmqToLinalgTypeConversion(TypeConverter &types) {
  types.addConversion([](Type t) { return t; });
  types.addConversion([](RankedTensorType t) -> Type {
    return RankedTensorType::get(t.getShape(), signless(t.getElementType()));
  });
}

void mlir::smq::configureSmqToLinalgTarget(ConversionTarget &target,
                                           const TypeConverter &types) {
  target.addIllegalDialect<SmqDialect>();
  // Kernel calls stay smq ops down to bufferization.
  target.addLegalOp<UKernelQMatMulOp, UKernelMatMulOp, UKernelAttentionOp,
                    UKernelKvPlaceOp>();
  target.addLegalDialect<linalg::LinalgDialect, tensor::TensorDialect,
                         bufferization::BufferizationDialect,
                         arith::ArithDialect, math::MathDialect,
                         scf::SCFDialect>();
  target.addDynamicallyLegalOp<func::FuncOp>([&types](func::FuncOp f) {
    return types.isSignatureLegal(f.getFunctionType()) &&
           types.isLegal(&f.getBody());
  });
  target.addDynamicallyLegalOp<func::ReturnOp, func::CallOp>(
      [&types](Operation *op) { return types.isLegal(op); });
}

void mlir::smq::populateSmqToLinalgConversionPatterns(
    const TypeConverter &types, RewritePatternSet &patterns,
    QuantizedMatMulLowering qmatmul, bool indexChecks) {
  populateSmqElementwiseToLinalgPatterns(types, patterns);
  populateSmqReductionToLinalgPatterns(types, patterns);
  populateSmqContractionToLinalgPatterns(types, patterns, qmatmul);
  populateSmqDataMovementToLinalgPatterns(types, patterns, indexChecks);
  populateSmqConstantToLinalgPatterns(types, patterns);
  populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                 types);
  populateReturnOpTypeConversionPattern(patterns, types);
  populateCallOpTypeConversionPattern(patterns, types);
}

void mlir::smq::declareIndexErrorFunction(ModuleOp module) {
  bool needed = false;
  module.walk([&](Operation *op) {
    if (auto g = dyn_cast<GatherOp>(op))
      needed |= !isConstant(g.getIndices());
    if (auto sc = dyn_cast<ScatterNDOp>(op))
      needed |= !isConstant(sc.getIndices());
  });
  if (!needed || module.lookupSymbol(kIndexErrorFn))
    return;
  OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
  Type i64 = b.getI64Type();
  auto fn = func::FuncOp::create(b, module.getLoc(), kIndexErrorFn,
                                 b.getFunctionType({i64, i64, i64}, {}));
  fn.setPrivate();
}

LogicalResult mlir::smq::convertSmqToLinalg(ModuleOp module,
                                            QuantizedMatMulLowering qmatmul,
                                            bool indexChecks) {
  MLIRContext *ctx = module.getContext();
  TypeConverter types;
  populateSmqToLinalgTypeConversion(types);
  ConversionTarget target(*ctx);
  configureSmqToLinalgTarget(target, types);
  if (indexChecks)
    declareIndexErrorFunction(module);
  RewritePatternSet patterns(ctx);
  populateSmqToLinalgConversionPatterns(types, patterns, qmatmul, indexChecks);
  return applyPartialConversion(module, target, std::move(patterns));
}

namespace {

struct ConvertSmqToLinalgPass
    : public mlir::smq::impl::ConvertSmqToLinalgBase<ConvertSmqToLinalgPass> {
  using ConvertSmqToLinalgBase::ConvertSmqToLinalgBase;
  void runOnOperation() override {
    QuantizedMatMulLowering lowering = QuantizedMatMulLowering::Kernel;
    if (quantizedMatmul == "fused")
      lowering = QuantizedMatMulLowering::Fused;
    else if (quantizedMatmul != "kernel") {
      getOperation().emitError("--convert-smq-to-linalg: quantized-matmul "
                               "must be 'kernel' or 'fused', not '")
          << quantizedMatmul << "'";
      return signalPassFailure();
    }
    if (failed(convertSmqToLinalg(getOperation(), lowering, indexChecks)))
      signalPassFailure();
  }
};

} // namespace
