//===- LinalgToRuntime.cpp - matmuls become runtime kernel calls ----------===//
#include "smq/Conversion/Passes.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQLINALGTORUNTIMECALLS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

/// A rank-`rank` f32 memref with fully dynamic sizes, strides and offset:
/// the one descriptor type the kernels accept.
MemRefType anyStridedF32(MLIRContext *ctx, int64_t rank) {
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  auto layout = StridedLayoutAttr::get(ctx, ShapedType::kDynamic, dyn);
  return MemRefType::get(dyn, Float32Type::get(ctx), layout);
}

func::FuncOp declareKernel(ModuleOp module, StringRef name, int64_t rank) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b(module.getBodyRegion());
  MemRefType t = anyStridedF32(module.getContext(), rank);
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType({t, t, t}, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

struct LinalgToRuntimeCallsPass
    : public smq::impl::SmqLinalgToRuntimeCallsBase<LinalgToRuntimeCallsPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    SmallVector<Operation *> matmuls;
    module.walk([&](Operation *op) {
      if (!isa<linalg::MatmulOp, linalg::BatchMatmulOp>(op))
        return;
      auto linalgOp = cast<linalg::LinalgOp>(op);
      if (!linalgOp.hasPureBufferSemantics())
        return;
      // Only plain products: no transposed or broadcast indexing maps.
      if (linalgOp.getIndexingMapsArray() !=
          (isa<linalg::MatmulOp>(op)
               ? linalg::MatmulOp::getDefaultIndexingMaps(op->getContext())
               : linalg::BatchMatmulOp::getDefaultIndexingMaps(
                     op->getContext())))
        return;
      bool f32 = llvm::all_of(op->getOperandTypes(), [](Type t) {
        return cast<MemRefType>(t).getElementType().isF32();
      });
      if (f32)
        matmuls.push_back(op);
    });
    for (Operation *op : matmuls) {
      bool batch = isa<linalg::BatchMatmulOp>(op);
      int64_t rank = batch ? 3 : 2;
      func::FuncOp kernel = declareKernel(
          module, batch ? "smq_rt_batch_matmul_f32" : "smq_rt_matmul_f32",
          rank);
      OpBuilder b(op);
      SmallVector<Value> args;
      for (Value v : op->getOperands())
        args.push_back(memref::CastOp::create(
            b, op->getLoc(), anyStridedF32(op->getContext(), rank), v));
      func::CallOp::create(b, op->getLoc(), kernel, args);
      op->erase();
    }
  }
};

} // namespace
