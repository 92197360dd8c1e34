//===- Checksum.cpp - a fast checksum for weights files -------------------===//
//
// Four independent multiply-rotate lanes over 8-byte words, then the tail
// and the length: several GB/s on one core, so checking a few hundred MB of
// weights at load costs tens of milliseconds. Not cryptographic: it catches
// damaged and truncated files, not forgeries.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include <cstring>

namespace {
constexpr uint64_t kP1 = 0x9E3779B185EBCA87ull, kP2 = 0xC2B2AE3D27D4EB4Full;
inline uint64_t rotl(uint64_t x, int r) { return (x << r) | (x >> (64 - r)); }
inline uint64_t mix(uint64_t lane, uint64_t word) {
  return rotl(lane ^ (word * kP2), 31) * kP1;
}
} // namespace

extern "C" uint64_t smq_rt_checksum64(const void *data, size_t size) {
  const unsigned char *p = static_cast<const unsigned char *>(data);
  uint64_t lane[4] = {kP1, kP2, kP1 ^ kP2, kP1 + kP2};
  size_t i = 0;
  for (; i + 32 <= size; i += 32) {
    uint64_t w[4];
    std::memcpy(w, p + i, 32);
    for (int j = 0; j < 4; ++j)
      lane[j] = mix(lane[j], w[j]);
  }
  uint64_t h = rotl(lane[0], 1) + rotl(lane[1], 7) + rotl(lane[2], 12) +
               rotl(lane[3], 18);
  for (; i < size; ++i)
    h = mix(h, p[i]);
  h = mix(h, static_cast<uint64_t>(size));
  h ^= h >> 33;
  h *= kP2;
  h ^= h >> 29;
  return h;
}
