//===- PackF32Weights.cpp - f32 weights into the kernels' panels ----------===//
//
// smq.matmul with a constant K×N f32 weight becomes smq.packed_matmul on
// the weight's panels (Runtime.h), and an N-vector bias added to its only
// use moves into the op, where the kernel stores it with the products.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "ConstantBytes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Runtime/PackedLayout.h"
#include "smq/Runtime/Runtime.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

#include <cstring>

namespace mlir::smq {
#define GEN_PASS_DEF_SMQPACKF32WEIGHTS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

/// The key a packed copy of `cst` is stored under: the weight's own name
/// with a suffix, so that arguments stay recognisable.
std::string packedKey(ConstantOp cst, StringRef suffix) {
  if (auto res = dyn_cast<DenseResourceElementsAttr>(cst.getValue()))
    return (res.getRawHandle().getKey() + suffix).str();
  return ("weight" + suffix).str();
}

/// A constant N-vector of f32 added to `mm`'s result, and that add, if the
/// add is the result's only use and keeps its type.
std::optional<std::pair<AddOp, Value>> biasAdd(MatMulOp mm, int64_t n) {
  if (!mm->hasOneUse())
    return std::nullopt;
  auto add = dyn_cast<AddOp>(*mm->user_begin());
  if (!add || add.getType() != mm.getType())
    return std::nullopt;
  Value other = add.getLhs() == mm.getResult() ? add.getRhs() : add.getLhs();
  if (other == mm.getResult())
    return std::nullopt;
  auto type = dyn_cast<RankedTensorType>(other.getType());
  if (!type || type.getShape() != ArrayRef<int64_t>{n} ||
      !type.getElementType().isF32() || !other.getDefiningOp<ConstantOp>())
    return std::nullopt;
  return std::make_pair(add, other);
}

struct PackF32WeightsPass
    : public mlir::smq::impl::SmqPackF32WeightsBase<PackF32WeightsPass> {
  void runOnOperation() override {
    // A weight shared by several products is packed once.
    llvm::DenseMap<Operation *, Value> panelsOf;
    SmallVector<MatMulOp> matmuls;
    getOperation().walk([&](MatMulOp op) { matmuls.push_back(op); });
    for (MatMulOp op : matmuls) {
      auto cst = op.getRhs().getDefiningOp<ConstantOp>();
      auto w = dyn_cast<RankedTensorType>(op.getRhs().getType());
      auto x = dyn_cast<RankedTensorType>(op.getLhs().getType());
      auto result = dyn_cast<RankedTensorType>(op.getType());
      if (!cst || !w || !x || !result || w.getRank() != 2 ||
          x.getRank() < 2 || !w.hasStaticShape() ||
          !w.getElementType().isF32() || !x.getElementType().isF32() ||
          x.getShape().back() != w.getDimSize(0))
        continue;
      std::optional<ArrayRef<char>> bytes = constantBytes(cst.getValue());
      int64_t k = w.getDimSize(0), n = w.getDimSize(1);
      if (!bytes || static_cast<int64_t>(bytes->size()) != k * n * 4)
        continue;
      Value &panels = panelsOf[cst];
      if (!panels) {
        std::vector<float> weight(k * n);
        std::memcpy(weight.data(), bytes->data(), bytes->size());
        int64_t count = ::smq::f32PanelCount(n);
        std::vector<char> out(count * k * ::smq::kF32PanelWidth * 4);
        smq_rt_pack_f32_panels(k, n, weight.data(), n,
                               reinterpret_cast<float *>(out.data()));
        auto type = RankedTensorType::get(
            {count, k, ::smq::kF32PanelWidth}, w.getElementType());
        auto attr = DenseResourceElementsAttr::get(
            type, packedKey(cst, ".panels"),
            HeapAsmResourceBlob::allocateAndCopyWithAlign(out, 64));
        OpBuilder b(cst);
        panels = ConstantOp::create(b, cst.getLoc(), attr);
      }
      OpBuilder b(op);
      Value bias;
      Operation *replaced = op;
      if (auto add = biasAdd(op, n)) {
        bias = add->second;
        replaced = add->first;
        b.setInsertionPoint(replaced);
      }
      auto packed = PackedMatMulOp::create(
          b, replaced->getLoc(), result, op.getLhs(), panels, bias,
          b.getI64IntegerAttr(n));
      // Names and other discardable attributes of the op it replaces.
      for (NamedAttribute attr : replaced->getDiscardableAttrs())
        packed->setAttr(attr.getName(), attr.getValue());
      replaced->getResult(0).replaceAllUsesWith(packed.getResult());
      replaced->erase();
      if (replaced != op.getOperation())
        op.erase();
      if (cst.use_empty())
        cst.erase();
    }
  }
};

} // namespace
