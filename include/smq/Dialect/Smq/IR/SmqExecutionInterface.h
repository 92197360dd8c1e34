//===- SmqExecutionInterface.h - running models from a pass -----*- C++ -*-===//
//
// Some passes must run what they work on: the quantize pass's lambda=auto
// scores each candidate λ on held-out calibration sequences, and its
// sequential mode runs the model a segment at a time. The CPU pipeline and the JIT sit further down the
// line than the passes (and depend on them), so a pass cannot link them.
// Instead the execution library attaches this interface to the smq dialect
// (mlir::smq::registerExecutionInterface), and the pass asks the dialect for
// it; in a tool that registered none, the pass says so.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_DIALECT_SMQ_IR_SMQEXECUTIONINTERFACE_H
#define SMQ_DIALECT_SMQ_IR_SMQEXECUTIONINTERFACE_H

#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectInterface.h"
#include "mlir/Support/TypeID.h"
#include "smq/Support/HostArray.h"

#include <memory>
#include <string>
#include <vector>

namespace mlir::smq {

/// A compiled function with its own copy of the weights the caller may
/// overwrite: host arrays in, host arrays out.
class FunctionRunner {
public:
  virtual ~FunctionRunner() = default;
  /// Runs the function on `inputs` (in argument order, each of its type);
  /// `outputs` receives the results in order.
  virtual LogicalResult run(ArrayRef<const ::smq::HostArray *> inputs,
                            std::vector<::smq::HostArray> &outputs,
                            std::string *why) = 0;
  /// Threads each kernel call may use (process-wide): 1 lets several runs
  /// go side by side on their callers' threads. Runs of one runner may.
  virtual void setKernelThreads(int threads) = 0;
  /// From now on the f32 weight `key` is Ŵ, given N×K row-major: the
  /// product computes x·Ŵᵀ. `heldAsW` says the op holds the weight as N×K
  /// (an smq.gemm with transB) rather than K×N. The values go over the
  /// runner's own copy of the weight (an smq.matmul's packed panels, or a
  /// copy of an smq.gemm's B), so this takes no memory beyond that copy.
  virtual LogicalResult replaceWeight(StringRef key, ArrayRef<float> wHat,
                                      int64_t n, int64_t k, bool heldAsW,
                                      std::string *why) = 0;
};

/// A compiled language model: one int64 [1, T] token window in, its
/// [1, T, V] logits out.
class TokenModelRunner {
public:
  virtual ~TokenModelRunner() = default;
  virtual int64_t sequenceLength() const = 0;
  virtual int64_t vocabulary() const = 0;
  /// Runs one window of sequenceLength() tokens; `logits` receives T×V
  /// floats, row-major.
  virtual LogicalResult run(ArrayRef<int64_t> tokens,
                            std::vector<float> &logits, std::string *why) = 0;
};

class SmqExecutionInterface
    : public DialectInterface::Base<SmqExecutionInterface> {
public:
  explicit SmqExecutionInterface(Dialect *dialect) : Base(dialect) {}

  /// Copies `module` into a context the runner owns (weight data is shared,
  /// not copied), applies `prepare` (if any) to the copy, and compiles it.
  /// `module` itself is left as it was. On failure returns null and sets
  /// `why` to the diagnostics.
  virtual std::unique_ptr<TokenModelRunner>
  compileTokenModel(ModuleOp module,
                    function_ref<LogicalResult(ModuleOp)> prepare,
                    int threads, std::string *why) const = 0;

  /// Copies `module` (one function, `main`) into a context the runner owns
  /// and compiles it. Weight data is shared, except smq.gemm weights, which
  /// replaceWeight may rewrite and so are copied. Tensors of any shape and
  /// element type the runtime takes pass in and out.
  virtual std::unique_ptr<FunctionRunner>
  compileFunction(ModuleOp module, int threads, std::string *why) const = 0;
};

} // namespace mlir::smq

MLIR_DECLARE_EXPLICIT_TYPE_ID(mlir::smq::SmqExecutionInterface)

#endif // SMQ_DIALECT_SMQ_IR_SMQEXECUTIONINTERFACE_H
