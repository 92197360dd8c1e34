//===- Calibration.h - per-layer statistics from token windows --*- C++ -*-===//
//
// What smq-calibrate and the compiler C API do: run a token model (one
// int64 input of shape [1, seqLen]) with every weight-bearing op's input
// exposed (smq-expose-activations) on each window and on its unigram
// neighbour (../shared/docs/SMOOTHNESS.md), and accumulate H and D per
// layer. Every holdout-th window is also kept as held-out tokens for
// lambda=auto.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EXECUTION_CALIBRATION_H
#define SMQ_EXECUTION_CALIBRATION_H

#include "smq/Quant/Statistics.h"

#include "mlir/IR/BuiltinOps.h"

#include <string>
#include <vector>

namespace smq {
class ProgressListener;
} // namespace smq

namespace mlir::smq {

struct CalibrationOptions {
  uint64_t seed = 0;
  /// Diagonal statistics only (less memory, for large layers).
  bool diagonal = false;
  /// Every holdout-th window is held out; 0: none.
  int64_t holdout = 8;
  /// Run nothing: keep the windows, seed and hold-out only (no layers), as
  /// sequential quantization needs for models too big for one-shot
  /// statistics. The model is still checked to take the windows.
  bool windowsOnly = false;
  /// What the run and the statistics may take, in bytes (--max-memory);
  /// 0: SMQ_MAX_MEMORY, else the machine's memory (see MemoryEstimate.h).
  uint64_t maxMemoryBytes = 0;
  /// Told after each window ("calibrate: sequence i/N (L layers)"); null:
  /// nothing is reported.
  ::smq::ProgressListener *progress = nullptr;
};

/// Calibrates `module` (changed in place: activations exposed, lowered and
/// compiled) on `windows`, each of the model's sequence length. Fails with
/// `why` set, or with diagnostics on the module.
FailureOr<::smq::quant::StatisticsFile>
calibrate(ModuleOp module, const std::vector<std::vector<int64_t>> &windows,
          const CalibrationOptions &options, std::string *why);

} // namespace mlir::smq

#endif // SMQ_EXECUTION_CALIBRATION_H
