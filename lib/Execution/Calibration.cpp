//===- Calibration.cpp - per-layer statistics from token windows ----------===//
#include "smq/Execution/Calibration.h"

#include "smq/Execution/CompiledModel.h"
#include "smq/Transforms/Passes.h"

#include "mlir/Pass/PassManager.h"

#include <chrono>
#include <cstring>

using namespace mlir;
using namespace mlir::smq;

FailureOr<::smq::quant::StatisticsFile>
mlir::smq::calibrate(ModuleOp module,
                     const std::vector<std::vector<int64_t>> &windows,
                     const CalibrationOptions &options, std::string *why) {
  if (windows.empty()) {
    *why = "no calibration sequences";
    return failure();
  }
  if (options.holdout < 0 || options.holdout == 1) {
    *why = "the holdout interval must be 0 (none) or at least 2";
    return failure();
  }
  size_t seqLen = windows.front().size();
  for (const auto &w : windows) {
    if (w.size() != seqLen) {
      *why = "calibration sequences differ in length";
      return failure();
    }
    for (int64_t t : w)
      if (t < 0) {
        *why = "negative token id " + std::to_string(t);
        return failure();
      }
  }
  {
    PassManager pm(module.getContext());
    pm.addPass(createSmqExposeActivations());
    if (failed(pm.run(module)))
      return failure();
  }
  auto model = CompiledModel::compile(module, {});
  if (!model)
    return failure();
  if (model->inputs().size() != 1 ||
      model->inputs()[0].dtype != ::smq::DType::I64 ||
      model->inputs()[0].shape !=
          std::vector<int64_t>{1, static_cast<int64_t>(seqLen)}) {
    *why = "expected one int64 token input of shape [1, " +
           std::to_string(seqLen) + "]";
    return failure();
  }
  // Which outputs are observations, and of which weight.
  std::vector<std::pair<size_t, std::string>> observed;
  for (size_t i = 0; i < model->outputs().size(); ++i) {
    StringRef name = model->outputs()[i].name;
    if (name.consume_front(kObservePrefix))
      observed.push_back({i, name.str()});
  }
  if (observed.empty()) {
    *why = "the model has no weight-bearing op (MatMul or Gemm with a "
           "constant weight)";
    return failure();
  }

  ::smq::quant::StatisticsFile stats;
  stats.windowLength = static_cast<int64_t>(seqLen);
  for (const auto &w : windows)
    stats.windowTokens.insert(stats.windowTokens.end(), w.begin(), w.end());
  stats.seed = options.seed;
  stats.holdout = options.holdout;
  stats.diagonal = options.diagonal;
  std::vector<std::vector<int64_t>> neighbours =
      ::smq::quant::neighbourWindows(windows, options.seed);
  ::smq::HostArray tokens, neighbour;
  tokens.dtype = neighbour.dtype = ::smq::DType::I64;
  tokens.shape = neighbour.shape = {1, static_cast<int64_t>(seqLen)};
  tokens.bytes.resize(seqLen * 8);
  neighbour.bytes.resize(seqLen * 8);
  auto start = std::chrono::steady_clock::now();
  size_t n = windows.size();
  for (size_t s = 0; s < n; ++s) {
    const auto &w = windows[s];
    bool heldOut = ::smq::quant::isHeldOut(s, options.holdout);
    if (heldOut) {
      stats.heldOutLength = static_cast<int64_t>(seqLen);
      stats.heldOutTokens.insert(stats.heldOutTokens.end(), w.begin(),
                                 w.end());
    }
    std::memcpy(tokens.bytes.data(), w.data(), seqLen * 8);
    std::memcpy(neighbour.bytes.data(), neighbours[s].data(), seqLen * 8);
    std::vector<::smq::HostArray> out, outNeighbour;
    if (!model->run({&tokens}, out, why) ||
        !model->run({&neighbour}, outNeighbour, why))
      return failure();
    for (const auto &[index, key] : observed) {
      const ::smq::HostArray &x = out[index], &xn = outNeighbour[index];
      int64_t k = x.shape.back(), rows = x.numElements() / k;
      auto it = stats.layers.find(key);
      if (it == stats.layers.end())
        it = stats.layers
                 .emplace(key, ::smq::quant::LayerStatistics(k, options.diagonal))
                 .first;
      it->second.accumulate(x.data<float>(), xn.data<float>(), rows, heldOut);
    }
    if (options.progress)
      options.progress(s + 1, n, observed.size(),
                       std::chrono::duration<double>(
                           std::chrono::steady_clock::now() - start)
                           .count());
  }
  return stats;
}
