//===- SpecializeShapes.cpp - static input shapes after import ------------===//
//
// Sets static types on named function arguments, then alternates type
// inference and folding to a fixed point, so that a module imported with
// dynamic dims becomes the module the importer would have built with
// --input-shape.
//
//===----------------------------------------------------------------------===//
#include "smq/Transforms/Passes.h"

#include "smq/Support/ShapeSpec.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace mlir::smq {
#define GEN_PASS_DEF_SMQSPECIALIZESHAPES
#include "smq/Transforms/Passes.h.inc"
} // namespace mlir::smq

using namespace mlir;
using namespace mlir::smq;

namespace {

std::string shapeText(ArrayRef<int64_t> dims) {
  std::string text;
  for (size_t i = 0; i < dims.size(); ++i)
    text += (i ? "x" : "") + std::to_string(dims[i]);
  return text;
}

/// `current` with the dims `inferred` knows and `current` does not; null on
/// a contradiction. An unranked or less static inference changes nothing.
FailureOr<Type> refine(Type current, Type inferred) {
  auto cur = dyn_cast<TensorType>(current);
  auto inf = dyn_cast<RankedTensorType>(inferred);
  if (!cur || !inf || cur.getElementType() != inf.getElementType())
    return current;
  auto ranked = dyn_cast<RankedTensorType>(cur);
  if (!ranked)
    return Type(inf);
  if (ranked.getRank() != inf.getRank())
    return failure();
  SmallVector<int64_t> dims(ranked.getShape());
  for (int64_t i = 0; i < ranked.getRank(); ++i) {
    int64_t known = inf.getDimSize(i);
    if (ShapedType::isDynamic(known))
      continue;
    if (ShapedType::isDynamic(dims[i]))
      dims[i] = known;
    else if (dims[i] != known)
      return failure();
  }
  return Type(RankedTensorType::get(dims, ranked.getElementType(),
                                    ranked.getEncoding()));
}

/// One pass of inference over `func`'s ops, in order. Sets `changed` if a
/// result type became more static.
LogicalResult inferOnce(func::FuncOp func, bool &changed) {
  MLIRContext *ctx = func.getContext();
  WalkResult walk = func.walk([&](Operation *op) {
    SmallVector<Type> inferred;
    if (auto infer = dyn_cast<InferTypeOpInterface>(op)) {
      if (failed(infer.inferReturnTypes(ctx, op->getLoc(), op->getOperands(),
                                        op->getRawDictionaryAttrs(),
                                        op->getPropertiesStorage(),
                                        op->getRegions(), inferred)))
        return WalkResult::advance();
    } else if ((op->hasTrait<OpTrait::SameOperandsAndResultShape>() ||
                op->hasTrait<OpTrait::SameOperandsAndResultType>()) &&
               op->getNumOperands() > 0) {
      // Elementwise ops that keep their operand's shape (smq.cast, the
      // unary ops): the result takes the first operand's dims.
      auto in = dyn_cast<RankedTensorType>(op->getOperand(0).getType());
      for (Type result : op->getResultTypes()) {
        auto out = dyn_cast<TensorType>(result);
        if (!in || !out)
          return WalkResult::advance();
        inferred.push_back(
            RankedTensorType::get(in.getShape(), out.getElementType()));
      }
    }
    if (inferred.size() != op->getNumResults())
      return WalkResult::advance();
    for (auto [result, type] : llvm::zip(op->getResults(), inferred)) {
      FailureOr<Type> next = refine(result.getType(), type);
      if (failed(next)) {
        op->emitOpError("result type ")
            << result.getType() << " contradicts " << type
            << ", inferred from the specialised input shapes";
        return WalkResult::interrupt();
      }
      if (*next != result.getType()) {
        result.setType(*next);
        changed = true;
      }
    }
    return WalkResult::advance();
  });
  return failure(walk.wasInterrupted());
}

} // namespace

bool mlir::smq::hasDynamicInput(
    ModuleOp module,
    const std::map<std::string, std::vector<int64_t>> *named) {
  for (auto func : module.getOps<func::FuncOp>())
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto type = dyn_cast<ShapedType>(func.getArgument(i).getType());
      if (!type || type.hasStaticShape())
        continue;
      auto name = func.getArgAttrOfType<StringAttr>(i, "smq.name");
      if (!named || (name && named->count(name.getValue().str())))
        return true;
    }
  return false;
}

LogicalResult mlir::smq::specializeInputShapes(
    ModuleOp module,
    const std::map<std::string, std::vector<int64_t>> &shapes) {
  MLIRContext *ctx = module.getContext();
  std::map<std::string, bool> used;
  for (const auto &entry : shapes)
    used[entry.first] = false;

  SmallVector<func::FuncOp> funcs;
  for (auto func : module.getOps<func::FuncOp>()) {
    if (func.isExternal())
      continue;
    funcs.push_back(func);
    for (unsigned i = 0; i < func.getNumArguments(); ++i) {
      auto name = func.getArgAttrOfType<StringAttr>(i, "smq.name");
      if (!name)
        continue;
      auto it = shapes.find(name.getValue().str());
      if (it == shapes.end())
        continue;
      used[it->first] = true;
      BlockArgument arg = func.getArgument(i);
      auto type = dyn_cast<TensorType>(arg.getType());
      if (!type)
        return func.emitError() << "input '" << it->first << "' is "
                                << arg.getType() << ", not a tensor";
      const std::vector<int64_t> &dims = it->second;
      if (!::smq::elementCount(dims))
        return func.emitError() << "input '" << it->first << "': shape "
                                << shapeText(dims) << " is too large";
      bool fits = !type.hasRank() || type.getRank() == int64_t(dims.size());
      for (size_t d = 0; fits && type.hasRank() && d < dims.size(); ++d)
        fits = type.isDynamicDim(d) || type.getDimSize(d) == dims[d];
      if (!fits)
        return func.emitError()
               << "input '" << it->first << "' is " << type
               << "; it cannot take the shape " << shapeText(dims);
      arg.setType(RankedTensorType::get(dims, type.getElementType()));
    }
  }
  for (const auto &[name, found] : used)
    if (!found)
      return module.emitError() << "the model has no input named '" << name
                                << "'";

  RewritePatternSet patterns(ctx);
  for (Dialect *dialect : ctx->getLoadedDialects())
    dialect->getCanonicalizationPatterns(patterns);
  for (RegisteredOperationName op : ctx->getRegisteredOperations())
    op.getCanonicalizationPatterns(patterns, ctx);
  FrozenRewritePatternSet frozen(std::move(patterns));

  for (func::FuncOp func : funcs) {
    // Each round can only make types more static or fold ops away, so this
    // ends; the bound guards against a folder that undoes another.
    for (int round = 0; round < 64; ++round) {
      bool inferredMore = false, folded = false;
      if (failed(inferOnce(func, inferredMore)))
        return failure();
      if (failed(applyPatternsGreedily(func, frozen, GreedyRewriteConfig(),
                                       &folded)))
        return func.emitError("folding did not converge");
      if (!inferredMore && !folded)
        break;
    }
    SmallVector<Type> results;
    func.walk([&](func::ReturnOp ret) {
      results.assign(ret.getOperandTypes().begin(),
                     ret.getOperandTypes().end());
    });
    func.setType(FunctionType::get(ctx, func.front().getArgumentTypes(),
                                   results));
  }
  return verify(module);
}

namespace {

struct SpecializeShapesPass
    : public mlir::smq::impl::SmqSpecializeShapesBase<SpecializeShapesPass> {
  using SmqSpecializeShapesBase::SmqSpecializeShapesBase;

  void runOnOperation() override {
    std::map<std::string, std::vector<int64_t>> parsed;
    for (const std::string &text : shapes) {
      std::string why;
      auto spec = ::smq::parseShapeSpec(text, &why);
      if (!spec) {
        getOperation().emitError() << "smq-specialize-shapes: " << why;
        return signalPassFailure();
      }
      parsed[spec->name] = spec->dims;
    }
    if (failed(specializeInputShapes(getOperation(), parsed)))
      signalPassFailure();
  }
};

} // namespace
