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

/// The `smq.dequantize` generic that writes `weight`, if that is all that
/// is done to it besides being read by `reader`.
linalg::GenericOp dequantizeProducer(Value weight, Operation *reader) {
  linalg::GenericOp producer;
  for (Operation *user : weight.getUsers()) {
    if (user == reader || isa<memref::DeallocOp>(user))
      continue;
    auto g = dyn_cast<linalg::GenericOp>(user);
    if (!g || !g->getAttrOfType<DenseI64ArrayAttr>("smq.dequantize") ||
        g.getNumDpsInputs() != 3 || producer ||
        g.getDpsInits()[0] != weight)
      return nullptr;
    producer = g;
  }
  return producer;
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
      auto lop = cast<linalg::LinalgOp>(op);
      Value a = lop.getDpsInputs()[0], w = lop.getDpsInputs()[1],
            c = lop.getDpsInits()[0];
      // A weight decoded from codes only for this product: one fused call
      // that decodes blocks as it goes.
      if (!batch)
        if (linalg::GenericOp deq = dequantizeProducer(w, op)) {
          SmallVector<Value> args = {a};
          auto deqInputs = deq.getDpsInputs();
          args.append(deqInputs.begin(), deqInputs.end());
          // {bits, group size}, as the kernel reads them.
          auto format = deq->getAttrOfType<DenseI64ArrayAttr>("smq.dequantize");
          OpBuilder b(op);
          Location loc = op->getLoc();
          Value params = memref::AllocaOp::create(
              b, loc, MemRefType::get({2}, b.getI64Type()));
          for (int i = 0; i < 2; ++i)
            memref::StoreOp::create(
                b, loc,
                arith::ConstantIntOp::create(b, loc, b.getI64Type(),
                                             format[i]),
                params, ValueRange{arith::ConstantIndexOp::create(b, loc, i)});
          args.push_back(params);
          args.push_back(c);
          callKernel(module, op, "smq_rt_qmatmul_f32", args);
          op->erase();
          deq->erase();
          // The decoded weight's buffer is now only allocated and freed.
          if (auto alloc = w.getDefiningOp<memref::AllocOp>())
            if (llvm::all_of(alloc->getUsers(), [](Operation *u) {
                  return isa<memref::DeallocOp>(u);
                })) {
              for (Operation *u : llvm::make_early_inc_range(alloc->getUsers()))
                u->erase();
              alloc->erase();
            }
          continue;
        }
      SmallVector<Value> args = {a, w, c};
      callKernel(module, op,
                 batch ? "smq_rt_batch_matmul_f32" : "smq_rt_matmul_f32",
                 args);
      op->erase();
    }
  }
};

} // namespace
