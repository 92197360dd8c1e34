//===- PackF32Weights.cpp - f32 weights into the kernels' panels ----------===//
//
// smq.matmul with a constant K×N f32 weight becomes smq.packed_matmul on
// the weight's panels (Runtime.h), and an N-vector bias added to its only
// use moves into the op, where the kernel stores it with the products.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/ConstantBytes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"
#include "smq/Runtime/PackedLayout.h"
#include "smq/Runtime/Runtime.h"

#include "mlir/IR/Builders.h"
#include "llvm/ADT/DenseMap.h"

#include <cmath>
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

/// Whether `v` is a constant splat of `value` (within float rounding).
bool isSplat(Value v, double value) {
  auto cst = v.getDefiningOp<ConstantOp>();
  auto dense = cst ? dyn_cast<DenseElementsAttr>(cst.getValue()) : nullptr;
  if (!dense || !dense.isSplat() ||
      !isa<FloatType>(dense.getElementType()))
    return false;
  double got = dense.getSplatValue<APFloat>().convertToDouble();
  return std::fabs(got - value) <= 1e-6 * std::fabs(value);
}

/// The other operand of a two-operand op, if `v` is one of them.
Value otherOperand(Operation *op, Value v) {
  if (op->getNumOperands() != 2)
    return nullptr;
  if (op->getOperand(0) == v)
    return op->getOperand(1);
  if (op->getOperand(1) == v)
    return op->getOperand(0);
  return nullptr;
}

/// GELU applied to `y`, as ONNX exports of PyTorch write it:
///   y * (1 + erf(y / √2)) * 0.5   (Div, Erf, Add, Mul, Mul),
/// or an smq.gelu with approximate = "none". Returns the op whose result is
/// GELU(y), if y has no other users.
Operation *geluOf(Value y) {
  auto users = llvm::to_vector(y.getUsers());
  if (users.size() == 1)
    if (auto gelu = dyn_cast<GeluOp>(users[0]))
      return gelu.getApproximate() == "none" ? gelu.getOperation() : nullptr;
  if (users.size() != 2)
    return nullptr;
  auto div = dyn_cast<DivOp>(users[0]);
  Operation *mul = users[1];
  if (!div) {
    div = dyn_cast<DivOp>(users[1]);
    mul = users[0];
  }
  if (!div || !isa<MulOp>(mul) || div.getLhs() != y ||
      !isSplat(div.getRhs(), std::sqrt(2.0)) || !div->hasOneUse())
    return nullptr;
  auto erf = dyn_cast<ErfOp>(*div->user_begin());
  if (!erf || !erf->hasOneUse())
    return nullptr;
  auto add = dyn_cast<AddOp>(*erf->user_begin());
  if (!add || !add->hasOneUse() || !isSplat(otherOperand(add, erf), 1.0) ||
      *add->user_begin() != mul || otherOperand(mul, add) != y ||
      !mul->hasOneUse())
    return nullptr;
  auto half = dyn_cast<MulOp>(*mul->user_begin());
  if (!half || !isSplat(otherOperand(half, mul->getResult(0)), 0.5) ||
      half.getType() != y.getType())
    return nullptr;
  return half;
}

/// Erases `root` and the ops feeding it that nothing else uses, back to
/// (and not including) `stop`.
void eraseChain(Operation *root, Value stop) {
  SmallVector<Operation *> work = {root};
  while (!work.empty()) {
    Operation *op = work.pop_back_val();
    if (!op->use_empty())
      continue;
    SmallVector<Value> operands(op->getOperands());
    op->erase();
    for (Value v : operands)
      if (v != stop)
        if (Operation *def = v.getDefiningOp())
          if (def->use_empty() && !isa<ConstantOp>(def))
            work.push_back(def);
  }
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
      // An exact GELU of the product moves into the kernel's store.
      if (Operation *gelu = geluOf(packed.getResult())) {
        packed.setGelu(true);
        gelu->getResult(0).replaceAllUsesWith(packed.getResult());
        eraseChain(gelu, packed.getResult());
      }
    }
  }
};

} // namespace
