//===- Sampling.h - choosing the next token from logits ---------*- C++ -*-===//
//
// Plain C++ (no MLIR): greedy choice, and temperature / top-k / top-p
// (nucleus) sampling from a seeded generator, so that the same seed gives
// the same tokens on every platform and thread count.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_EVAL_SAMPLING_H
#define SMQ_EVAL_SAMPLING_H

#include "smq/Support/Random.h"

#include <cstdint>
#include <string>
#include <vector>

namespace smq::eval {

struct SamplingOptions {
  /// Take the most likely token (the lowest id among equals); the other
  /// fields are then unused.
  bool greedy = true;
  /// Logits are divided by this before the softmax; > 0.
  double temperature = 1.0;
  /// Keep only the k most likely tokens; 0 keeps all.
  int64_t topK = 0;
  /// Keep the smallest set of most likely tokens whose probability reaches
  /// p; 1 keeps all. In (0, 1].
  double topP = 1.0;
  uint64_t seed = 0;
};

/// Checks the ranges above; returns an empty string or what is wrong.
std::string validate(const SamplingOptions &options);

/// The index of the largest of `logits[0..n)`, the lowest among equals;
/// NaN never wins.
int64_t argmax(const float *logits, int64_t n);

/// Draws tokens one step at a time. Each sampler owns its generator, so a
/// batch gives each sequence its own reproducible stream.
class TokenSampler {
public:
  explicit TokenSampler(const SamplingOptions &options, uint64_t stream = 0);
  int64_t next(const float *logits, int64_t vocab);

private:
  SamplingOptions options;
  SplitMix64 rng;
  std::vector<std::pair<double, int64_t>> scratch;
};

} // namespace smq::eval

#endif // SMQ_EVAL_SAMPLING_H
