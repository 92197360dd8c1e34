//===- Passes.h - smq transformations ---------------------------*- C++ -*-===//
#ifndef SMQ_TRANSFORMS_PASSES_H
#define SMQ_TRANSFORMS_PASSES_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/Pass.h"

#include <map>
#include <string>
#include <vector>

namespace mlir::smq {

/// smq-quantize-weights' `method`.
enum class QuantMethod { Rtn, Wmse, Search, Gptq };
/// The name the option takes: "rtn", "wmse", "search" or "gptq".
llvm::StringRef methodName(QuantMethod method);

/// smq-quantize-weights' `lambda-criterion`: what lambda=auto minimises.
enum class LambdaCriterion { Nll, Kl };
/// "nll" or "kl".
llvm::StringRef criterionName(LambdaCriterion criterion);

/// smq-quantize-weights' `scale-search`: how each group's scale and zero
/// point are chosen (smq::quant::ScaleSearch).
enum class ScaleSearch { Clip, Grid };

/// smq-quantize-weights' `smoothness-control`: what stands in for the
/// token-swap statistic D, to test whether D beats plain regularisation.
enum class SmoothnessControl { None, Ridge, Gaussian };

#define GEN_PASS_DECL
#include "smq/Transforms/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "smq/Transforms/Passes.h.inc"

/// The argument attribute naming the weight an argument carries.
constexpr llvm::StringLiteral kWeightArgAttr = "smq.weight";

/// Result names of smq-expose-activations start with this.
constexpr llvm::StringLiteral kObservePrefix = "observe:";

/// Gives the arguments of `module`'s functions named (smq.name) in
/// `shapes` those static shapes, then infers and folds until the types stop
/// changing (smq-specialize-shapes). Emits diagnostics and fails on a shape
/// that contradicts the argument's type, an unknown name, or ops that no
/// longer verify.
LogicalResult
specializeInputShapes(ModuleOp module,
                      const std::map<std::string, std::vector<int64_t>> &shapes);

/// Whether an argument of `module`'s functions has a type that is not
/// static; with `named`, only arguments whose smq.name it holds count.
bool hasDynamicInput(
    ModuleOp module,
    const std::map<std::string, std::vector<int64_t>> *named = nullptr);

/// Integer constants up to this size stay in the code; see
/// smq-externalize-weights.
constexpr int64_t kMaxInlineIntegerElements = 1024;

} // namespace mlir::smq

#endif // SMQ_TRANSFORMS_PASSES_H
