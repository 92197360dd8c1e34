//===- HostArrayTest.cpp - .npy round trips --------------------------------===//
#include "smq/Support/HostArray.h"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <fstream>

namespace {

std::string tempFile(const char *name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("smq-hostarray-") + std::to_string(::getpid()) + name))
      .string();
}

TEST(Npy, RoundTripsShapesAndBytes) {
  smq::HostArray a;
  a.dtype = smq::DType::I64;
  a.shape = {2, 3};
  a.bytes.resize(6 * 8);
  for (int64_t i = 0; i < 6; ++i)
    a.data<int64_t>()[i] = i * i - 3;
  std::string path = tempFile("a.npy");
  std::ofstream(path, std::ios::binary) << smq::npyBytes(a);
  std::string why;
  auto b = smq::readNpy(path, &why);
  ASSERT_TRUE(b) << why;
  EXPECT_EQ(b->dtype, smq::DType::I64);
  EXPECT_EQ(b->shape, a.shape);
  EXPECT_EQ(b->bytes, a.bytes);
  EXPECT_DOUBLE_EQ(b->at(5), 22.0);
  std::remove(path.c_str());
}

TEST(Npy, HeaderIsPaddedTo64Bytes) {
  smq::HostArray a;
  a.shape = {7};
  a.bytes.resize(28);
  std::string bytes = smq::npyBytes(a);
  EXPECT_EQ((bytes.size() - 28) % 64, 0u);
  EXPECT_NE(bytes.find("'shape': (7,)"), std::string::npos);
}

TEST(Npy, RejectsMismatchedDataAndForeignFiles) {
  std::string path = tempFile("bad.npy");
  smq::HostArray a;
  a.shape = {4};
  a.bytes.resize(16);
  std::string bytes = smq::npyBytes(a);
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 4);
  std::string why;
  EXPECT_FALSE(smq::readNpy(path, &why));
  EXPECT_NE(why.find("does not match"), std::string::npos) << why;
  std::ofstream(path, std::ios::binary) << "not numpy at all";
  EXPECT_FALSE(smq::readNpy(path, &why));
  std::remove(path.c_str());
}

} // namespace
