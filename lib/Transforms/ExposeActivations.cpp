//===- ExposeActivations.cpp - weight-bearing inputs become results -------===//
#include "smq/Transforms/Passes.h"

#include "smq/Dialect/Smq/IR/SmqOps.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinDialect.h"
#include "mlir/IR/DialectResourceBlobManager.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQEXPOSEACTIVATIONS
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

/// The resource key of `v` if it is a weight.
std::optional<StringRef> weightKey(Value v) {
  if (DenseResourceElementsAttr res = getWeightAttr(v))
    return res.getRawHandle().getKey();
  return std::nullopt;
}

struct ExposeActivationsPass
    : public mlir::smq::impl::SmqExposeActivationsBase<ExposeActivationsPass> {
  void runOnOperation() override {
    for (auto func : getOperation().getOps<func::FuncOp>()) {
      if (func.isExternal())
        continue;
      SmallVector<std::pair<Value, std::string>> observed;
      func.walk([&](Operation *op) {
        if (auto mm = dyn_cast<MatMulOp>(op)) {
          if (auto key = weightKey(mm.getRhs()))
            observed.push_back({mm.getLhs(), key->str()});
        } else if (auto gemm = dyn_cast<GemmOp>(op)) {
          if (auto key = weightKey(gemm.getB()); key && !gemm.getTransA())
            observed.push_back({gemm.getA(), key->str()});
        }
      });
      if (observed.empty())
        continue;
      auto ret = cast<func::ReturnOp>(func.front().getTerminator());
      SmallVector<Value> results(ret.getOperands());
      SmallVector<Type> types(func.getResultTypes());
      unsigned first = results.size();
      for (auto &[value, key] : observed) {
        results.push_back(value);
        types.push_back(value.getType());
      }
      OpBuilder b(ret);
      func::ReturnOp::create(b, ret.getLoc(), results);
      ret.erase();
      SmallVector<DictionaryAttr> resAttrs;
      for (unsigned i = 0; i < first; ++i)
        resAttrs.push_back(func.getResultAttrDict(i)
                               ? func.getResultAttrDict(i)
                               : b.getDictionaryAttr({}));
      for (auto &[value, key] : observed)
        resAttrs.push_back(b.getDictionaryAttr({b.getNamedAttr(
            "smq.name", b.getStringAttr(kObservePrefix.str() + key))}));
      func.setType(b.getFunctionType(func.getArgumentTypes(), types));
      func.setAllResultAttrs(resAttrs);
    }
  }
};

} // namespace
