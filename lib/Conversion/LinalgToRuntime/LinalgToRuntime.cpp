//===- LinalgToRuntime.cpp - matmuls and attention become kernel calls ----===//
#include "smq/Conversion/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/SymbolTable.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQLINALGTORUNTIMECALLS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

/// A memref of `elt` with fully dynamic sizes, strides and offset: the
/// descriptor type the kernels accept.
MemRefType anyStrided(Type elt, int64_t rank) {
  SmallVector<int64_t> dyn(rank, ShapedType::kDynamic);
  auto layout =
      StridedLayoutAttr::get(elt.getContext(), ShapedType::kDynamic, dyn);
  return MemRefType::get(dyn, elt, layout);
}

func::FuncOp declareKernel(ModuleOp module, StringRef name,
                           ArrayRef<Type> argTypes) {
  if (auto f = module.lookupSymbol<func::FuncOp>(name))
    return f;
  OpBuilder b(module.getBodyRegion());
  auto f = func::FuncOp::create(b, module.getLoc(), name,
                                b.getFunctionType(argTypes, {}));
  f.setPrivate();
  f->setAttr("llvm.emit_c_interface", b.getUnitAttr());
  return f;
}

/// Calls `name` with `args`, each cast to its fully dynamic form.
void callKernel(ModuleOp module, Operation *at, StringRef name,
                ValueRange args) {
  OpBuilder b(at);
  SmallVector<Value> casts;
  SmallVector<Type> types;
  for (Value v : args) {
    auto t = cast<MemRefType>(v.getType());
    MemRefType any = anyStrided(t.getElementType(), t.getRank());
    casts.push_back(memref::CastOp::create(b, at->getLoc(), any, v));
    types.push_back(any);
  }
  func::CallOp::create(b, at->getLoc(), declareKernel(module, name, types),
                       casts);
}

struct LinalgToRuntimeCallsPass
    : public mlir::smq::impl::SmqLinalgToRuntimeCallsBase<LinalgToRuntimeCallsPass> {
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
    SmallVector<mlir::smq::UKernelQMatMulOp> qmatmuls;
    module.walk([&](mlir::smq::UKernelQMatMulOp op) {
      if (op.getNumResults() == 0)
        qmatmuls.push_back(op);
    });
    for (mlir::smq::UKernelQMatMulOp op : qmatmuls) {
      // {bits, group size, activations}, as the kernel reads them.
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value params = memref::AllocaOp::create(
          b, loc, MemRefType::get({3}, b.getI64Type()));
      int64_t values[3] = {static_cast<int64_t>(op.getBits()),
                           static_cast<int64_t>(op.getGroupSize()),
                           op.getInt8Activations() ? 1 : 0};
      for (int i = 0; i < 3; ++i)
        memref::StoreOp::create(
            b, loc, arith::ConstantIntOp::create(b, loc, b.getI64Type(), values[i]),
            params, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      callKernel(module, op, "smq_rt_qmatmul_packed_f32",
                 {op.getLhs(), op.getCodes(), op.getScales(),
                  op.getZeroPoints(), params, op.getInit()});
      op->erase();
    }
    SmallVector<mlir::smq::UKernelMatMulOp> panelMatmuls;
    module.walk([&](mlir::smq::UKernelMatMulOp op) {
      if (op.getNumResults() == 0)
        panelMatmuls.push_back(op);
    });
    for (mlir::smq::UKernelMatMulOp op : panelMatmuls) {
      callKernel(module, op,
                 op.getGelu() ? "smq_rt_matmul_panels_gelu_f32"
                              : "smq_rt_matmul_panels_f32",
                 {op.getLhs(), op.getPanels(), op.getBias(), op.getInit()});
      op->erase();
    }
    SmallVector<mlir::smq::UKernelAttentionOp> attentions;
    module.walk([&](mlir::smq::UKernelAttentionOp op) {
      if (op.getNumResults() == 0)
        attentions.push_back(op);
    });
    for (mlir::smq::UKernelAttentionOp op : attentions) {
      // {scale, softcap} and {window}, as the kernel reads them.
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value floats = memref::AllocaOp::create(
          b, loc, MemRefType::get({2}, b.getF32Type()));
      float values[2] = {op.getScale().convertToFloat(),
                         op.getSoftcap().convertToFloat()};
      for (int i = 0; i < 2; ++i)
        memref::StoreOp::create(
            b, loc,
            arith::ConstantOp::create(b, loc, b.getF32FloatAttr(values[i])),
            floats, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
      Value window = memref::AllocaOp::create(
          b, loc, MemRefType::get({1}, b.getI64Type()));
      memref::StoreOp::create(
          b, loc,
          arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                       op.getLocalWindowSize()),
          window, ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
      callKernel(module, op, "smq_rt_attention_f32",
                 {op.getQuery(), op.getKeys(), op.getValues(),
                  op.getPositions(), floats, window, op.getInit()});
      op->erase();
    }
    SmallVector<mlir::smq::UKernelKvPlaceOp> places;
    module.walk([&](mlir::smq::UKernelKvPlaceOp op) {
      if (op.getNumResults() == 0)
        places.push_back(op);
    });
    for (mlir::smq::UKernelKvPlaceOp op : places) {
      // {zero the tail}, as the kernel reads it.
      OpBuilder b(op);
      Location loc = op.getLoc();
      Value params = memref::AllocaOp::create(
          b, loc, MemRefType::get({1}, b.getI64Type()));
      memref::StoreOp::create(
          b, loc,
          arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                       op.getStaleTail() ? 0 : 1),
          params, ValueRange{arith::ConstantIndexOp::create(b, loc, 0)});
      callKernel(module, op, "smq_rt_kv_place_f32",
                 {op.getPast(), op.getFresh(), op.getPositions(), params,
                  op.getInit()});
      op->erase();
    }
    for (Operation *op : matmuls) {
      bool batch = isa<linalg::BatchMatmulOp>(op);
      auto lop = cast<linalg::LinalgOp>(op);
      Value a = lop.getDpsInputs()[0], w = lop.getDpsInputs()[1],
            c = lop.getDpsInits()[0];
      SmallVector<Value> args = {a, w, c};
      callKernel(module, op,
                 batch ? "smq_rt_batch_matmul_f32" : "smq_rt_matmul_f32",
                 args);
      op->erase();
    }
  }
};

} // namespace
