//===- OutlineLoopNests.cpp - one function per distinct loop nest ---------===//
//
// A model lowered to loops is one function with a loop nest per op: a
// 16-layer decoder's step is some 2,400 branches in one function, and
// LLVM's optimiser and code generator spent 45-55 s on it (most of it in
// passes whose cost grows with a function's size, and in vectorizing the
// same nests once per layer). The layers are the same code on different
// buffers, so this pass moves each top-level loop nest of a function into a
// private function of its own (constants cloned in, everything else passed
// as arguments) and keeps one function per distinct body: the per-layer
// copies collapse into calls of one function. Functions the pass makes are
// never inlined back. Private functions already there (the row bodies
// smq-outline-parallel-rows made) are merged the same way.
//
//===----------------------------------------------------------------------===//
#include "smq/Conversion/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/SetVector.h"
#include "llvm/ADT/StringMap.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQOUTLINELOOPNESTS
#include "smq/Conversion/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;

namespace {

/// The values `op` reads that are defined outside it, in first-use order.
SmallVector<Value> capturedValues(Operation *op) {
  llvm::SetVector<Value> values;
  for (Value v : op->getOperands())
    values.insert(v);
  SetVector<Value> above;
  getUsedValuesDefinedAbove(op->getRegions(), above);
  values.insert(above.begin(), above.end());
  return values.takeVector();
}

/// The function's text with its name blanked: equal texts, equal code.
std::string bodyKey(func::FuncOp fn) {
  std::string text;
  llvm::raw_string_ostream os(text);
  StringAttr name = fn.getSymNameAttr();
  fn.setSymName("_");
  fn->print(os, OpPrintingFlags().useLocalScope());
  fn.setSymNameAttr(name);
  return text;
}

struct OutlineLoopNestsPass
    : public mlir::smq::impl::SmqOutlineLoopNestsBase<OutlineLoopNestsPass> {
  using Base::Base;

  void runOnOperation() override {
    ModuleOp module = getOperation();
    SymbolTable symbols(module);
    OpBuilder b(module.getContext());
    llvm::StringMap<func::FuncOp> byBody;
    SmallVector<func::FuncOp> funcs(module.getOps<func::FuncOp>());
    // Identical private functions: one stays, the others' uses move to it.
    for (func::FuncOp fn : funcs) {
      if (fn.isExternal() || !fn.isPrivate())
        continue;
      auto [it, fresh] = byBody.try_emplace(bodyKey(fn), fn);
      if (fresh)
        continue;
      if (failed(SymbolTable::replaceAllSymbolUses(
              fn.getSymNameAttr(), it->second.getSymNameAttr(), module)))
        return signalPassFailure();
      symbols.erase(fn);
    }
    byBody.clear();
    funcs.assign(module.getOps<func::FuncOp>().begin(),
                 module.getOps<func::FuncOp>().end());
    for (func::FuncOp fn : funcs) {
      if (fn.isExternal() || fn->hasAttr("smq.outlined"))
        continue;
      SmallVector<Operation *> nests;
      for (Operation &op : fn.getBody().front())
        if (isa<scf::ForOp, scf::ParallelOp>(op) && op.getNumResults() == 0)
          nests.push_back(&op);
      if (static_cast<int64_t>(nests.size()) < minNests)
        continue;
      unsigned counter = 0;
      for (Operation *nest : nests) {
        SmallVector<Value> captured = capturedValues(nest);
        SmallVector<Value> args;
        SmallVector<Operation *> constants;
        for (Value v : captured) {
          Operation *def = v.getDefiningOp();
          if (def && def->hasTrait<OpTrait::ConstantLike>() &&
              def->getNumResults() == 1)
            constants.push_back(def);
          else
            args.push_back(v);
        }
        b.setInsertionPoint(fn);
        auto type = b.getFunctionType(ValueRange(args).getTypes(), {});
        auto outlined = func::FuncOp::create(
            b, nest->getLoc(), (fn.getSymName() + "_nest").str(), type);
        outlined.setPrivate();
        outlined->setAttr("smq.outlined", b.getUnitAttr());
        outlined->setAttr("passthrough",
                          b.getArrayAttr({b.getStringAttr("noinline")}));
        Block *entry = outlined.addEntryBlock();
        IRMapping map;
        for (auto [v, arg] : llvm::zip(args, entry->getArguments()))
          map.map(v, arg);
        b.setInsertionPointToStart(entry);
        for (Operation *c : constants)
          b.clone(*c, map);
        b.clone(*nest, map);
        func::ReturnOp::create(b, nest->getLoc());

        std::string key = bodyKey(outlined);
        auto found = byBody.find(key);
        func::FuncOp callee;
        if (found != byBody.end()) {
          outlined.erase();
          callee = found->second;
        } else {
          outlined.setSymName(
              (fn.getSymName() + "_nest" + Twine(counter++)).str());
          symbols.insert(outlined);
          byBody[key] = outlined;
          callee = outlined;
        }
        b.setInsertionPoint(nest);
        func::CallOp::create(b, nest->getLoc(), callee, args);
        nest->erase();
      }
    }
  }
};

} // namespace
