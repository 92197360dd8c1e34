//===- MemoryEstimate.h - what running a model will allocate ----*- C++ -*-===//
//
// Before a model is compiled, the tools estimate the memory one run needs,
// so that a valid model whose shapes ask for more than the machine has (or
// than --max-memory allows) is refused up front, with the estimate, instead
// of failing in malloc or being killed half way.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_MEMORYESTIMATE_H
#define SMQ_EXECUTION_MEMORYESTIMATE_H

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "smq/Support/MemoryLimit.h"

#include <cstdint>
#include <optional>
#include <string>

namespace mlir::smq {

struct MemoryEstimate {
  /// The most bytes of tensors live at once in the entry function, in
  /// program order: its inputs and every op's results, from where each is
  /// made to its last use (weights, which the model holds already, aside).
  uint64_t peakBytes = 0;
  /// The largest of those tensors, and where it is made.
  uint64_t largestBytes = 0;
  std::string largest;
};

/// Estimates a run of `entry`; tensors of dynamic shape are not counted.
MemoryEstimate estimateRunMemory(func::FuncOp entry);

// The limit and sizes: smq/Support/MemoryLimit.h.
using ::smq::defaultMemoryLimit;
using ::smq::describeMemoryLimit;
using ::smq::formatBytes;
using ::smq::memoryLimit;
using ::smq::parseByteSize;

} // namespace mlir::smq

#endif // SMQ_EXECUTION_MEMORYESTIMATE_H
