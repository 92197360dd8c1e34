//===- AtomicFileTest.cpp - all-or-nothing outputs ------------------------===//
#include "smq/Support/AtomicFile.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

namespace fs = std::filesystem;

namespace {

std::string slurp(const fs::path &p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

size_t filesIn(const fs::path &dir) {
  size_t n = 0;
  for (auto &e : fs::directory_iterator(dir))
    (void)e, ++n;
  return n;
}

class AtomicFileTest : public ::testing::Test {
protected:
  void SetUp() override {
    dir = fs::temp_directory_path() /
          ("smq-atomic-" + std::to_string(::getpid()) + "-" +
           ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(dir);
    fs::create_directories(dir);
  }
  void TearDown() override { fs::remove_all(dir); }
  fs::path dir;
};

TEST_F(AtomicFileTest, WritesOnSuccess) {
  std::string why;
  ASSERT_TRUE(smq::writeFileAtomically(
      (dir / "out.txt").string(),
      [](std::ostream &os) {
        os << "hello";
        return true;
      },
      &why))
      << why;
  EXPECT_EQ(slurp(dir / "out.txt"), "hello");
  EXPECT_EQ(filesIn(dir), 1u);
}

TEST_F(AtomicFileTest, LeavesTheOldFileWhenTheWriterFails) {
  std::ofstream(dir / "out.txt") << "old";
  std::string why;
  EXPECT_FALSE(smq::writeFileAtomically(
      (dir / "out.txt").string(),
      [](std::ostream &os) {
        os << "half";
        return false;
      },
      &why));
  EXPECT_EQ(slurp(dir / "out.txt"), "old");
  EXPECT_EQ(filesIn(dir), 1u) << "the temporary file must be removed";
}

TEST_F(AtomicFileTest, FailsCleanlyInAMissingFolder) {
  std::string why;
  EXPECT_FALSE(smq::writeFileAtomically(
      (dir / "no" / "out.txt").string(), [](std::ostream &) { return true; },
      &why));
  EXPECT_FALSE(why.empty());
}

} // namespace
