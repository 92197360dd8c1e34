//===- Unigram.cpp - the neighbours of SMOOTHNESS.md ----------------------===//
#include "smq/Support/Unigram.h"

namespace smq {

Unigram::Unigram(const std::vector<std::vector<int64_t>> &windows,
                 int64_t bound) {
  if (bound > 0)
    counts.assign(bound, 0);
  for (const auto &w : windows)
    for (int64_t t : w) {
      if (t < 0 || (bound > 0 && t >= bound))
        continue;
      if (static_cast<size_t>(t) >= counts.size())
        counts.resize(t + 1, 0);
      ++counts[t];
      ++total;
    }
}

std::vector<int64_t> Unigram::neighbour(const std::vector<int64_t> &w,
                                        SplitMix64 &rng) const {
  std::vector<int64_t> n = w;
  size_t position = rng.below(w.size());
  uint64_t u = rng.below(total), acc = 0;
  int64_t replacement = 0;
  for (size_t t = 0; t < counts.size(); ++t) {
    acc += counts[t];
    if (u < acc) {
      replacement = static_cast<int64_t>(t);
      break;
    }
  }
  n[position] = replacement;
  return n;
}

} // namespace smq
