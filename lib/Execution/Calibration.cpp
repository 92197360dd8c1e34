//===- Calibration.cpp - per-layer statistics from token windows ----------===//
#include "smq/Execution/Calibration.h"

#include "smq/Execution/CompiledModel.h"
#include "smq/Execution/MemoryEstimate.h"
#include "smq/Transforms/Passes.h"

#include "smq/Runtime/Runtime.h"
#include "smq/Support/Progress.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Pass/PassManager.h"

#include <algorithm>
#include <atomic>
#include <thread>
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
  if (options.windowsOnly) {
    auto main = module.lookupSymbol<func::FuncOp>("main");
    auto input = main && main.getNumArguments() == 1
                     ? dyn_cast<RankedTensorType>(main.getArgument(0).getType())
                     : RankedTensorType();
    if (!input || !input.getElementType().isInteger(64) ||
        input.getShape() !=
            ArrayRef<int64_t>{1, static_cast<int64_t>(seqLen)}) {
      *why = "expected one int64 token input of shape [1, " +
             std::to_string(seqLen) + "]";
      return failure();
    }
    ::smq::quant::StatisticsFile stats;
    stats.windowLength = static_cast<int64_t>(seqLen);
    for (size_t s = 0; s < windows.size(); ++s) {
      stats.windowTokens.insert(stats.windowTokens.end(), windows[s].begin(),
                                windows[s].end());
      if (::smq::quant::isHeldOut(s, options.holdout)) {
        stats.heldOutLength = static_cast<int64_t>(seqLen);
        stats.heldOutTokens.insert(stats.heldOutTokens.end(),
                                   windows[s].begin(), windows[s].end());
      }
    }
    stats.seed = options.seed;
    stats.holdout = options.holdout;
    stats.diagonal = options.diagonal;
    return stats;
  }
  {
    PassManager pm(module.getContext());
    pm.addPass(createSmqExposeActivations());
    if (failed(pm.run(module)))
      return failure();
  }
  // The value each output returns: weights that take the same input (q, k
  // and v) get the same statistics, summed once.
  std::vector<Value> returned;
  if (auto main = module.lookupSymbol<func::FuncOp>("main"))
    if (!main.getBody().empty())
      for (Value v : main.getBody().front().getTerminator()->getOperands())
        returned.push_back(v);
  CompileOptions compileOptions;
  compileOptions.maxMemoryBytes = options.maxMemoryBytes;
  auto model = CompiledModel::compile(module, compileOptions);
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
  // Which outputs are observations, and of which weight; and the distinct
  // inputs among them, each with the weights that take it.
  std::vector<std::pair<size_t, std::string>> observed;
  for (size_t i = 0; i < model->outputs().size(); ++i) {
    StringRef name = model->outputs()[i].name;
    if (name.consume_front(kObservePrefix))
      observed.push_back({i, name.str()});
  }
  struct Input {
    size_t output;
    std::vector<std::string> keys;
  };
  std::vector<Input> inputs;
  for (const auto &[index, key] : observed) {
    auto same = llvm::find_if(inputs, [&, index = index](const Input &in) {
      return returned.size() == model->outputs().size() &&
             returned[in.output] == returned[index];
    });
    if (same == inputs.end())
      inputs.push_back({index, {key}});
    else
      same->keys.push_back(key);
  }
  if (observed.empty()) {
    *why = "the model has no weight-bearing op (MatMul or Gemm with a "
           "constant weight)";
    return failure();
  }
  // The statistics are the file's contents: each weight's K×K matrices
  // (K with diagonal statistics), H and D, and their held-out shares when
  // a window is held out. Writing the file builds its image in memory, so
  // the peak is about twice that. Refused up front, like a run that would
  // not fit, rather than after hours of calibration.
  {
    bool anyHeldOut = options.holdout > 0 &&
                      windows.size() >= static_cast<size_t>(options.holdout);
    uint64_t matrices = anyHeldOut ? 4 : 2, bytes = 0, largestK = 0;
    std::string largest;
    for (const auto &[index, key] : observed) {
      uint64_t k = static_cast<uint64_t>(
          std::max<int64_t>(model->outputs()[index].shape.back(), 0));
      uint64_t elements = options.diagonal ? k : k * k;
      bytes += matrices * elements * sizeof(double);
      if (k > largestK)
        largestK = k, largest = key;
    }
    if (2 * bytes > memoryLimit(options.maxMemoryBytes)) {
      *why = "the calibration statistics of this model take about " +
             formatBytes(bytes) + ", and writing them about " +
             formatBytes(2 * bytes) + " (" + std::to_string(observed.size()) +
             " weights, " + std::to_string(matrices) + " " +
             (options.diagonal ? "diagonals" : "K×K matrices") +
             " of doubles each; the largest K is " +
             std::to_string(largestK) + ", of '" + largest + "'), " +
             describeMemoryLimit(options.maxMemoryBytes) +
             (options.diagonal ? ""
                               : "; --stats diag keeps only their diagonals");
      return failure();
    }
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
  std::vector<::smq::quant::LayerStatistics> perInput;
  size_t n = windows.size();
  ::smq::ProgressTask progress(options.progress, "calibrate: sequence", n);
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
    // Each input's statistics on a thread of the pool; each still adds the
    // windows in order, so the result is the same at any thread count.
    if (perInput.empty())
      for (const Input &in : inputs)
        perInput.emplace_back(out[in.output].shape.back(), options.diagonal);
    std::atomic<size_t> next{0};
    // An activation that is not finite fails the run where it enters, with
    // the first one found (the lowest input index, so at any thread count).
    std::vector<std::string> nonFinite(inputs.size());
    auto worker = [&] {
      for (size_t i; (i = next++) < inputs.size();) {
        const ::smq::HostArray &x = out[inputs[i].output],
                               &xn = outNeighbour[inputs[i].output];
        int64_t k = perInput[i].k, rows = x.numElements() / k;
        for (const ::smq::HostArray *a : {&x, &xn}) {
          if (auto bad = ::smq::quant::nonFiniteActivation(
                  a->data<float>(), rows, k, s, a == &xn,
                  inputs[i].keys.front())) {
            nonFinite[i] = std::move(*bad);
            break;
          }
        }
        if (nonFinite[i].empty())
          perInput[i].accumulate(x.data<float>(), xn.data<float>(), rows,
                                 heldOut);
      }
    };
    std::vector<std::thread> pool;
    for (int t = 1; t < smq_rt_get_num_threads() &&
                    static_cast<size_t>(t) < inputs.size();
         ++t)
      pool.emplace_back(worker);
    worker();
    for (auto &t : pool)
      t.join();
    for (const std::string &error : nonFinite)
      if (!error.empty()) {
        *why = error;
        return failure();
      }
    progress.step("(" + std::to_string(observed.size()) +
                  (observed.size() == 1 ? " layer)" : " layers)"));
  }
  for (size_t i = 0; i < inputs.size(); ++i)
    for (size_t j = 0; j < inputs[i].keys.size(); ++j)
      stats.layers[inputs[i].keys[j]] = j + 1 == inputs[i].keys.size()
                                            ? std::move(perInput[i])
                                            : perInput[i];
  return stats;
}
