//===- PathsTest.cpp - external-data path confinement ---------------------===//
#include "smq/Support/Paths.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace fs = std::filesystem;

namespace {

class PathsTest : public ::testing::Test {
protected:
  void SetUp() override {
    root = fs::temp_directory_path() /
           ("smq-paths-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    fs::remove_all(root);
    fs::create_directories(root / "model" / "weights");
    std::ofstream(root / "model" / "weights" / "w.bin") << "data";
    std::ofstream(root / "secret.bin") << "secret";
  }
  void TearDown() override { fs::remove_all(root); }
  std::string modelDir() { return (root / "model").string(); }
  fs::path root;
};

TEST_F(PathsTest, AcceptsAFileInsideTheFolder) {
  std::string why;
  auto p = smq::resolveContainedPath(modelDir(), "weights/w.bin", &why);
  ASSERT_TRUE(p.has_value()) << why;
  EXPECT_EQ(*p, fs::canonical(root / "model/weights/w.bin").string());
}

TEST_F(PathsTest, RejectsParentReferences) {
  std::string why;
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), "../secret.bin", &why));
  EXPECT_NE(why.find("escapes"), std::string::npos) << why;
  EXPECT_FALSE(
      smq::resolveContainedPath(modelDir(), "weights/../../secret.bin", &why));
}

TEST_F(PathsTest, RejectsAbsolutePaths) {
  std::string why;
  std::string abs = (root / "secret.bin").string();
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), abs, &why));
  EXPECT_NE(why.find("absolute"), std::string::npos) << why;
}

TEST_F(PathsTest, RejectsSymlinksThatLeave) {
  fs::create_symlink(root / "secret.bin", root / "model" / "link.bin");
  std::string why;
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), "link.bin", &why));
  EXPECT_NE(why.find("symlink"), std::string::npos) << why;
}

TEST_F(PathsTest, RejectsMissingFilesAndFolders) {
  std::string why;
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), "nope.bin", &why));
  EXPECT_NE(why.find("does not exist"), std::string::npos) << why;
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), "weights", &why));
  EXPECT_FALSE(smq::resolveContainedPath(modelDir(), "", &why));
}

TEST(ParentFolder, BareAndNestedNames) {
  EXPECT_EQ(smq::parentFolder("model.onnx"), ".");
  EXPECT_EQ(smq::parentFolder("a/b/model.onnx"), "a/b");
}

} // namespace
