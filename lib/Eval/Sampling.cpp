//===- Sampling.cpp - choosing the next token from logits -----------------===//
#include "smq/Eval/Sampling.h"

#include <algorithm>
#include <cmath>

namespace smq::eval {

std::string validate(const SamplingOptions &options) {
  if (options.greedy)
    return "";
  if (!(options.temperature > 0) || !std::isfinite(options.temperature))
    return "temperature must be a positive number";
  if (options.topK < 0)
    return "top-k must be 0 (all tokens) or positive";
  if (!(options.topP > 0 && options.topP <= 1))
    return "top-p must be in (0, 1]";
  return "";
}

int64_t argmax(const float *logits, int64_t n) {
  int64_t best = 0;
  for (int64_t i = 1; i < n; ++i)
    if (logits[i] > logits[best] || (std::isnan(logits[best]) && !std::isnan(logits[i])))
      best = i;
  return best;
}

TokenSampler::TokenSampler(const SamplingOptions &options, uint64_t stream)
    : options(options),
      // Distinct streams per sequence of a batch, the same for a seed.
      rng{options.seed ^ (stream * 0xd1342543de82ef95ULL)} {}

int64_t TokenSampler::next(const float *logits, int64_t vocab) {
  if (options.greedy || vocab <= 1)
    return argmax(logits, vocab);
  // Softmax of logits / T in double, over tokens sorted by probability
  // (ties by id, so the order does not depend on the sort's stability).
  scratch.clear();
  double top = -INFINITY;
  for (int64_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i]))
      top = std::max(top, double(logits[i]));
  for (int64_t i = 0; i < vocab; ++i)
    if (!std::isnan(logits[i]))
      scratch.push_back(
          {std::exp((double(logits[i]) - top) / options.temperature), i});
  if (scratch.empty())
    return 0;
  std::sort(scratch.begin(), scratch.end(), [](const auto &a, const auto &b) {
    return a.first != b.first ? a.first > b.first : a.second < b.second;
  });
  size_t keep = scratch.size();
  if (options.topK > 0)
    keep = std::min(keep, size_t(options.topK));
  double total = 0;
  for (size_t i = 0; i < keep; ++i)
    total += scratch[i].first;
  if (options.topP < 1) {
    double mass = 0;
    for (size_t i = 0; i < keep; ++i) {
      mass += scratch[i].first;
      if (mass >= options.topP * total) {
        keep = i + 1;
        total = mass;
        break;
      }
    }
  }
  double u = rng.uniform() * total, acc = 0;
  for (size_t i = 0; i < keep; ++i) {
    acc += scratch[i].first;
    if (u < acc)
      return scratch[i].second;
  }
  return scratch[keep - 1].second;
}

} // namespace smq::eval
