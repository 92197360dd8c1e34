//===- ByteCount.h - byte counts from environment variables -----*- C++ -*-===//
//
// The runtime's settings (SMQ_GPU_MEMORY_LIMIT, SMQ_BUFFER_CACHE) are whole
// byte counts with an optional K, M or G (powers of 1024). The tools'
// richer parser (smq/Support/MemoryLimit.h) is not part of the runtime.
//
//===----------------------------------------------------------------------===//
#ifndef SMQ_LIB_RUNTIME_BYTECOUNT_H
#define SMQ_LIB_RUNTIME_BYTECOUNT_H

#include <cstdint>
#include <cstdlib>

namespace smq::rt {

/// "512M" -> 536870912. False for anything else, or a count past 2^64.
inline bool parseByteCount(const char *text, uint64_t &out) {
  char *end = nullptr;
  unsigned long long n = std::strtoull(text, &end, 10);
  if (end == text)
    return false;
  uint64_t scale = 1;
  if (*end == 'K' || *end == 'k')
    scale = 1ull << 10, ++end;
  else if (*end == 'M' || *end == 'm')
    scale = 1ull << 20, ++end;
  else if (*end == 'G' || *end == 'g')
    scale = 1ull << 30, ++end;
  if (*end || uint64_t(n) > UINT64_MAX / scale)
    return false;
  out = uint64_t(n) * scale;
  return true;
}

} // namespace smq::rt

#endif // SMQ_LIB_RUNTIME_BYTECOUNT_H
