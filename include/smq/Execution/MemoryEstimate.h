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
#include "llvm/ADT/StringRef.h"

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

/// The limit runs are held to: SMQ_MAX_MEMORY if set (a size as
/// parseByteSize reads it), else the machine's physical memory.
uint64_t defaultMemoryLimit();

/// The limit a run is held to: `explicitBytes` (--max-memory) if not 0,
/// else defaultMemoryLimit().
uint64_t memoryLimit(uint64_t explicitBytes);

/// "more than the limit of 8.0 GiB (--max-memory)": the limit and where it
/// came from, for a refusal.
std::string describeMemoryLimit(uint64_t explicitBytes);

/// "1073741824", "512M", "8G", "1.5GiB", "64K": bytes (K, M, G, T are
/// powers of 1024, with or without "iB"/"B"). Nullopt for anything else,
/// zero or negative.
std::optional<uint64_t> parseByteSize(llvm::StringRef text);

/// "37.3 GiB", "512.0 MiB", "4.0 KiB", "12 bytes".
std::string formatBytes(uint64_t bytes);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_MEMORYESTIMATE_H
