//===- ScratchMappingTest.cpp - large results kept in an unnamed file -----===//
#include "smq/Support/ScratchMapping.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <dirent.h>
#include <string>
#include <sys/stat.h>
#include <unistd.h>
#include <vector>

namespace {

/// Sets TMPDIR for a test and puts it back.
struct TmpDir {
  std::string old, path;
  explicit TmpDir(const std::string &dir) : path(dir) {
    if (const char *t = std::getenv("TMPDIR"))
      old = t;
    setenv("TMPDIR", dir.c_str(), 1);
  }
  ~TmpDir() {
    if (old.empty())
      unsetenv("TMPDIR");
    else
      setenv("TMPDIR", old.c_str(), 1);
  }
};

std::string freshDir() {
  char name[] = "/tmp/smq-scratch-test-XXXXXX";
  const char *made = mkdtemp(name);
  return made ? made : "";
}

int entries(const std::string &dir) {
  int n = 0;
  DIR *d = opendir(dir.c_str());
  while (dirent *e = d ? readdir(d) : nullptr)
    if (std::strcmp(e->d_name, ".") && std::strcmp(e->d_name, ".."))
      ++n;
  if (d)
    closedir(d);
  return n;
}

long rssAnonKb() {
  long kb = -1;
  char line[256];
  FILE *f = std::fopen("/proc/self/status", "r");
  while (f && std::fgets(line, sizeof line, f))
    if (std::sscanf(line, "RssAnon: %ld kB", &kb) == 1)
      break;
  if (f)
    std::fclose(f);
  return kb;
}

TEST(ScratchMapping, HoldsTheBytesInAFileWithNoName) {
  std::string dir = freshDir();
  ASSERT_FALSE(dir.empty());
  TmpDir tmp(dir);
  std::vector<char> bytes(3 * 4096 + 17);
  for (size_t i = 0; i < bytes.size(); ++i)
    bytes[i] = static_cast<char>(i * 131 + 7);
  auto map = smq::mapScratchCopy(bytes.data(), bytes.size());
  if (!map)
    GTEST_SKIP() << "no O_TMPFILE in " << dir;
  EXPECT_EQ(map->size(), bytes.size());
  EXPECT_EQ(reinterpret_cast<uintptr_t>(map->data()) % 4096, 0u);
  EXPECT_EQ(std::memcmp(map->data(), bytes.data(), bytes.size()), 0);
  // Nothing is ever visible in the folder, before or after.
  EXPECT_EQ(entries(dir), 0);
  map.reset();
  EXPECT_EQ(entries(dir), 0);
  rmdir(dir.c_str());
}

TEST(ScratchMapping, ItsPagesAreNotAnonymousMemory) {
  std::string dir = freshDir();
  ASSERT_FALSE(dir.empty());
  TmpDir tmp(dir);
  const size_t size = 64 << 20;
  std::vector<char> bytes(size, 3);
  long before = rssAnonKb();
  auto map = smq::mapScratchCopy(bytes.data(), size);
  if (!map)
    GTEST_SKIP() << "no O_TMPFILE in " << dir;
  long sum = 0;
  for (size_t i = 0; i < size; i += 4096)
    sum += map->data()[i];
  EXPECT_EQ(sum, 3L * static_cast<long>(size / 4096));
  // Every page was read through the mapping; none of it is anonymous.
  EXPECT_LT(rssAnonKb() - before, 8 * 1024);
  rmdir(dir.c_str());
}

TEST(ScratchMapping, NoFileMeansNull) {
  TmpDir tmp("/nonexistent/smq-scratch");
  char byte = 1;
  EXPECT_EQ(smq::mapScratchCopy(&byte, 1), nullptr);
}

TEST(ScratchMapping, NothingToHoldMeansNull) {
  char byte = 1;
  EXPECT_EQ(smq::mapScratchCopy(&byte, 0), nullptr);
}

} // namespace
