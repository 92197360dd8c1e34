//===- Unigram.h - the neighbours of SMOOTHNESS.md --------------*- C++ -*-===//
#ifndef SMQ_SUPPORT_UNIGRAM_H
#define SMQ_SUPPORT_UNIGRAM_H

#include "smq/Support/Random.h"

#include <cstdint>
#include <vector>

namespace smq {

/// The unigram distribution of token windows, and the neighbours of
/// ../shared/docs/SMOOTHNESS.md drawn from it: one token, at a random
/// position, replaced by a token drawn from the distribution.
class Unigram {
public:
  /// Counts the tokens in [0, bound), or every non-negative one if bound
  /// is 0.
  Unigram(const std::vector<std::vector<int64_t>> &windows, int64_t bound);
  /// `w` with one token replaced; draws the position, then the token.
  std::vector<int64_t> neighbour(const std::vector<int64_t> &w,
                                 SplitMix64 &rng) const;

private:
  std::vector<uint64_t> counts;
  uint64_t total = 0;
};

} // namespace smq

#endif // SMQ_SUPPORT_UNIGRAM_H
