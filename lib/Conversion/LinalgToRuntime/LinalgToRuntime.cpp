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

/// The bufferized kernel ops of type OpT (on tensors they return a value
/// and are left alone).
template <typename OpT> SmallVector<OpT> onBuffers(ModuleOp module) {
  SmallVector<OpT> ops;
  module.walk([&](OpT op) {
    if (op.getNumResults() == 0)
      ops.push_back(op);
  });
  return ops;
}

/// A stack array of `values` (all of one type) before `at`: the small
/// parameter arrays the kernels read.
Value paramArray(Operation *at, ArrayRef<TypedAttr> values) {
  OpBuilder b(at);
  Location loc = at->getLoc();
  Value array = memref::AllocaOp::create(
      b, loc,
      MemRefType::get({static_cast<int64_t>(values.size())},
                      values.front().getType()));
  for (auto [i, v] : llvm::enumerate(values)) {
    Value c = arith::ConstantOp::create(b, loc, v);
    Value index = arith::ConstantIndexOp::create(b, loc, i);
    memref::StoreOp::create(b, loc, c, array, ValueRange{index});
  }
  return array;
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
    Builder attrs(module.getContext());
    for (auto op : onBuffers<mlir::smq::UKernelQMatMulOp>(module)) {
      // {bits, group size, activations}, as the kernel reads them.
      Value params = paramArray(
          op, {attrs.getI64IntegerAttr(op.getBits()),
               attrs.getI64IntegerAttr(op.getGroupSize()),
               attrs.getI64IntegerAttr(op.getInt8Activations() ? 1 : 0)});
      callKernel(module, op, "smq_rt_qmatmul_packed_f32",
                 {op.getLhs(), op.getCodes(), op.getScales(),
                  op.getZeroPoints(), params, op.getInit()});
      op->erase();
    }
    for (auto op : onBuffers<mlir::smq::UKernelMatMulOp>(module)) {
      callKernel(module, op,
                 op.getGelu() ? "smq_rt_matmul_panels_gelu_f32"
                              : "smq_rt_matmul_panels_f32",
                 {op.getLhs(), op.getPanels(), op.getBias(), op.getInit()});
      op->erase();
    }
    for (auto op : onBuffers<mlir::smq::UKernelAttentionOp>(module)) {
      // {scale, softcap} and {window}, as the kernel reads them.
      Value floats = paramArray(op, {op.getScaleAttr(), op.getSoftcapAttr()});
      Value window = paramArray(op, {op.getLocalWindowSizeAttr()});
      callKernel(module, op, "smq_rt_attention_f32",
                 {op.getQuery(), op.getKeys(), op.getValues(),
                  op.getPositions(), floats, window, op.getInit()});
      op->erase();
    }
    for (auto op : onBuffers<mlir::smq::UKernelKvPlaceOp>(module)) {
      // {zero the tail}, as the kernel reads it.
      Value params = paramArray(
          op, {attrs.getI64IntegerAttr(op.getStaleTail() ? 0 : 1)});
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
