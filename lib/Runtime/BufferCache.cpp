//===- BufferCache.cpp - compiled code's temporaries, kept across calls ---===//
//
// Runtime.h describes the contract. Each block carries its size in a 64-byte
// header, since the free call gets only the pointer. Free blocks wait in
// one list per size; the lists and their capacity persist, so the steady
// state of a model's calls allocates nothing.
//
//===----------------------------------------------------------------------===//
#include "smq/Runtime/Runtime.h"

#include "ByteCount.h"

#include <cstdlib>
#include <cstring>
#include <mutex>
#include <unordered_map>
#include <vector>

#if defined(__SANITIZE_ADDRESS__)
#define SMQ_KEEP_BUFFERS 0
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SMQ_KEEP_BUFFERS 0
#endif
#endif
#ifndef SMQ_KEEP_BUFFERS
#define SMQ_KEEP_BUFFERS 1
#endif

namespace {

constexpr size_t kHeader = 64;

struct Cache {
  std::mutex mutex;
  std::unordered_map<uint64_t, std::vector<void *>> lists;
  uint64_t keptBytes = 0;
};

Cache &cache() {
  // Never destroyed: compiled code may free into it during exit.
  static Cache *c = new Cache();
  return *c;
}

/// SMQ_BUFFER_CACHE (bytes, with an optional K, M or G), else 512 MiB.
uint64_t limit() {
  static const uint64_t value = [] {
    uint64_t v = 512ull << 20;
    if (const char *text = std::getenv("SMQ_BUFFER_CACHE"))
      smq::rt::parseByteCount(text, v); // unreadable: the default
    return SMQ_KEEP_BUFFERS ? v : 0;
  }();
  return value;
}

uint64_t &sizeOf(void *ptr) {
  return *reinterpret_cast<uint64_t *>(static_cast<char *>(ptr) - kHeader);
}

} // namespace

extern "C" void *smq_rt_buffer_alloc(uint64_t bytes) {
  // No machine has 128 TiB to give: such a size is a bug upstream, refused
  // here rather than handed to the allocator (which, under a sanitizer,
  // aborts instead of returning null).
  if (bytes > (uint64_t(1) << 47))
    return nullptr;
  uint64_t size = (bytes + 63) / 64 * 64;
  if (limit() != 0) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    auto it = c.lists.find(size);
    if (it != c.lists.end() && !it->second.empty()) {
      void *ptr = it->second.back();
      it->second.pop_back();
      c.keptBytes -= size + kHeader;
      return ptr;
    }
  }
  void *base = std::aligned_alloc(64, size + kHeader);
  if (!base)
    return nullptr;
  char *ptr = static_cast<char *>(base) + kHeader;
  sizeOf(ptr) = size;
  return ptr;
}

extern "C" void smq_rt_buffer_free(void *ptr) {
  if (!ptr)
    return;
  uint64_t size = sizeOf(ptr);
  if (limit() != 0) {
    Cache &c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    if (c.keptBytes + size + kHeader <= limit()) {
      try {
        c.lists[size].push_back(ptr);
        c.keptBytes += size + kHeader;
        return;
      } catch (...) {
        // No memory for the list: free the block instead.
      }
    }
  }
  std::free(static_cast<char *>(ptr) - kHeader);
}

extern "C" void smq_rt_buffer_trim(void) {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  for (auto &[size, list] : c.lists)
    for (void *ptr : list)
      std::free(static_cast<char *>(ptr) - kHeader);
  c.lists.clear();
  c.keptBytes = 0;
}

extern "C" uint64_t smq_rt_buffer_cached_bytes(void) {
  Cache &c = cache();
  std::lock_guard<std::mutex> lock(c.mutex);
  return c.keptBytes;
}
