//===- MemoryLimitTest.cpp - sizes for --max-memory and SMQ_MAX_MEMORY ----===//
#include "smq/Support/MemoryLimit.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace {

TEST(MemoryLimit, ParsesBytesAndBinaryUnits) {
  EXPECT_EQ(smq::parseByteSize("12"), 12u);
  EXPECT_EQ(smq::parseByteSize("64K"), 65536u);
  EXPECT_EQ(smq::parseByteSize("5KB"), 5120u);
  EXPECT_EQ(smq::parseByteSize("512M"), 536870912u);
  EXPECT_EQ(smq::parseByteSize("1.5GiB"), 1610612736u);
  EXPECT_EQ(smq::parseByteSize(" 8 g "), 8589934592u);
  EXPECT_EQ(smq::parseByteSize("2T"), 2199023255552u);
  EXPECT_EQ(smq::parseByteSize("100B"), 100u);
}

TEST(MemoryLimit, RefusesWhatIsNotASize) {
  for (const char *bad : {"", "lots", "-5G", "0", "0.2", "5X", "5Ki", "5GBB",
                          "1.2.3M", "20000000T", "G"})
    EXPECT_FALSE(smq::parseByteSize(bad)) << "'" << bad << "'";
}

TEST(MemoryLimit, FormatsBytes) {
  EXPECT_EQ(smq::formatBytes(0), "0 bytes");
  EXPECT_EQ(smq::formatBytes(1023), "1023 bytes");
  EXPECT_EQ(smq::formatBytes(1024), "1.0 KiB");
  EXPECT_EQ(smq::formatBytes(4000004), "3.8 MiB");
  EXPECT_EQ(smq::formatBytes(3ull << 40), "3.0 TiB");
}

TEST(MemoryLimit, ExplicitThenEnvironment) {
  ::setenv("SMQ_MAX_MEMORY", "3M", 1);
  EXPECT_EQ(smq::memoryLimit(0), 3u << 20);
  EXPECT_EQ(smq::memoryLimit(4096), 4096u);
  EXPECT_EQ(smq::describeMemoryLimit(0),
            "more than the limit of 3.0 MiB (SMQ_MAX_MEMORY)");
  EXPECT_EQ(smq::describeMemoryLimit(4096),
            "more than the limit of 4.0 KiB (--max-memory)");
  ::unsetenv("SMQ_MAX_MEMORY");
  EXPECT_GT(smq::memoryLimit(0), 0u);
}

} // namespace
