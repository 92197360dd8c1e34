//===- Random.h - a portable seeded generator -------------------*- C++ -*-===//
//
// splitmix64: the same stream on every platform and standard library, so
// that neighbour sequences and random directions are reproducible.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_SUPPORT_RANDOM_H
#define SMQ_SUPPORT_RANDOM_H

#include <cmath>
#include <cstdint>

namespace smq {

struct SplitMix64 {
  uint64_t state;

  uint64_t next() {
    uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  uint64_t below(uint64_t n) { return next() % n; }
  /// Uniform in (0, 1).
  double uniform() { return (static_cast<double>(next() >> 11) + 0.5) * 0x1p-53; }
  /// Standard normal (Box-Muller, one value per call).
  double normal() {
    double u = uniform(), v = uniform();
    return std::sqrt(-2.0 * std::log(u)) * std::cos(6.283185307179586 * v);
  }
};

} // namespace smq

#endif // SMQ_SUPPORT_RANDOM_H
