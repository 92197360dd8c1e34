//===- MixedPrecision.cpp - bit widths per layer under a budget -----------===//
#include "smq/Quant/MixedPrecision.h"

#include <cmath>

namespace smq::quant {

std::vector<int> allocateBits(const std::vector<LayerBitCosts> &layers,
                              const std::vector<int> &candidates,
                              double averageBits, std::string *why) {
  if (candidates.empty()) {
    *why = "no candidate bit widths";
    return {};
  }
  for (size_t i = 1; i < candidates.size(); ++i)
    if (candidates[i] <= candidates[i - 1]) {
      *why = "candidate bit widths must ascend";
      return {};
    }
  if (!(averageBits >= candidates.front() &&
        averageBits <= candidates.back())) {
    *why = "an average of " + std::to_string(averageBits) +
           " bits is outside the widths " + std::to_string(candidates.front()) +
           " to " + std::to_string(candidates.back());
    return {};
  }
  double total = 0;
  for (const LayerBitCosts &l : layers) {
    if (l.weights <= 0 || l.error.size() != candidates.size()) {
      *why = "each layer needs a weight count and one error per width";
      return {};
    }
    for (double e : l.error)
      if (!std::isfinite(e)) {
        *why = "a layer's error is not finite";
        return {};
      }
    total += static_cast<double>(l.weights);
  }
  std::vector<int> level(layers.size(), 0);
  // Bit-weights left to spend beyond the narrowest width everywhere.
  double budget = averageBits * total - candidates.front() * total;
  for (;;) {
    int bestLayer = -1, bestLevel = 0;
    double bestRate = 0, bestCost = 0;
    for (size_t l = 0; l < layers.size(); ++l)
      for (size_t j = level[l] + 1; j < candidates.size(); ++j) {
        double cost = static_cast<double>(layers[l].weights) *
                      (candidates[j] - candidates[level[l]]);
        double saved = layers[l].error[level[l]] - layers[l].error[j];
        if (cost > budget + 1e-9 * total || !(saved > 0))
          continue;
        double rate = saved / cost;
        if (rate > bestRate) {
          bestRate = rate;
          bestLayer = static_cast<int>(l);
          bestLevel = static_cast<int>(j);
          bestCost = cost;
        }
      }
    if (bestLayer < 0)
      return level;
    level[bestLayer] = bestLevel;
    budget -= bestCost;
  }
}

} // namespace smq::quant
