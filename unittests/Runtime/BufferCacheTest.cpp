//===- BufferCacheTest.cpp - the compiled code's kept blocks --------------===//
#include "smq/Runtime/Runtime.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstring>

namespace {

TEST(BufferCache, BlocksAreAlignedAndWritable) {
  for (uint64_t bytes : {0ull, 1ull, 63ull, 64ull, 1000ull, 1ull << 20}) {
    void *p = smq_rt_buffer_alloc(bytes);
    ASSERT_NE(p, nullptr) << bytes;
    EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 64, 0u) << bytes;
    std::memset(p, 0xab, bytes);
    smq_rt_buffer_free(p);
  }
  smq_rt_buffer_free(nullptr);
  smq_rt_buffer_trim();
  EXPECT_EQ(smq_rt_buffer_cached_bytes(), 0u);
}

TEST(BufferCache, AFreedBlockServesTheNextRequestOfItsSize) {
  smq_rt_buffer_trim();
  void *a = smq_rt_buffer_alloc(1000);
  void *b = smq_rt_buffer_alloc(5000);
  smq_rt_buffer_free(a);
  smq_rt_buffer_free(b);
  if (smq_rt_buffer_cached_bytes() == 0)
    GTEST_SKIP() << "this build keeps no blocks (AddressSanitizer or "
                    "SMQ_BUFFER_CACHE=0)";
  // Sizes are kept rounded up to 64 bytes, each with a 64-byte header.
  EXPECT_EQ(smq_rt_buffer_cached_bytes(), (1024u + 64) + (5056u + 64));
  // Another size does not take a kept block; the same rounded size does.
  void *c = smq_rt_buffer_alloc(2000);
  EXPECT_NE(c, a);
  EXPECT_NE(c, b);
  EXPECT_EQ(smq_rt_buffer_alloc(1020), a);
  EXPECT_EQ(smq_rt_buffer_alloc(5000), b);
  EXPECT_EQ(smq_rt_buffer_cached_bytes(), 0u);
  smq_rt_buffer_free(a);
  smq_rt_buffer_free(b);
  smq_rt_buffer_free(c);
  EXPECT_EQ(smq_rt_buffer_cached_bytes(),
            (1024u + 64) + (5056u + 64) + (2048u + 64));
  smq_rt_buffer_trim();
  EXPECT_EQ(smq_rt_buffer_cached_bytes(), 0u);
}

TEST(BufferCache, AHugeRequestFailsWithNull) {
  EXPECT_EQ(smq_rt_buffer_alloc(UINT64_MAX - 8), nullptr);
  EXPECT_EQ(smq_rt_buffer_alloc(uint64_t(1) << 62), nullptr);
}

} // namespace
