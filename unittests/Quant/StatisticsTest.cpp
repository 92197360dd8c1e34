//===- StatisticsTest.cpp - accumulation and the file format --------------===//
#include "smq/Quant/Statistics.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

using namespace smq::quant;

namespace {

TEST(LayerStatistics, AccumulatesSecondMomentsByHand) {
  // Two positions, K = 2: x = (1, 2), (3, 0); the neighbour differs only at
  // the second: (3, 1). H = [[1+9, 2], [2, 4]], D = δδᵀ with δ = (0, 1).
  float x[4] = {1, 2, 3, 0}, n[4] = {1, 2, 3, 1};
  LayerStatistics s(2, false);
  s.accumulate(x, n, 2);
  EXPECT_EQ(s.positions, 2);
  EXPECT_EQ(s.h, (std::vector<double>{10, 2, 2, 4}));
  EXPECT_EQ(s.d, (std::vector<double>{0, 0, 0, 1}));
  LayerStatistics diag(2, true);
  diag.accumulate(x, n, 2);
  EXPECT_EQ(diag.h, (std::vector<double>{10, 4}));
  EXPECT_EQ(diag.fullH(), (std::vector<double>{10, 0, 0, 4}));
}

std::string tempPath(const char *name) {
  return (std::filesystem::temp_directory_path() /
          (std::string("smq-stats-") + std::to_string(::getpid()) + name))
      .string();
}

TEST(StatisticsFile, RoundTripsExactly) {
  StatisticsFile f;
  f.provenance = "model=m.onnx seqs=2";
  LayerStatistics a(3, false), b(2, true);
  float x[6] = {1, -2, 0.5f, 4, 0, -1}, n[6] = {1, -2, 0.25f, 4, 1, -1};
  a.accumulate(x, n, 2);
  b.accumulate(x, n, 3);
  f.layers["blocks.0.q"] = a;
  f.layers["head"] = b;
  std::string path = tempPath("a.smqstats"), why;
  ASSERT_TRUE(writeStatistics(path, f, &why)) << why;
  auto g = readStatistics(path, &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(g->provenance, f.provenance);
  ASSERT_EQ(g->layers.size(), 2u);
  EXPECT_EQ(g->layers["blocks.0.q"].h, a.h);
  EXPECT_EQ(g->layers["blocks.0.q"].d, a.d);
  EXPECT_EQ(g->layers["head"].diagonalOnly, true);
  EXPECT_EQ(g->layers["head"].positions, 3);
  std::remove(path.c_str());
}

TEST(StatisticsFile, RefusesForeignTruncatedAndFutureFiles) {
  StatisticsFile f;
  f.layers["w"] = LayerStatistics(4, false);
  std::string path = tempPath("b.smqstats"), why;
  ASSERT_TRUE(writeStatistics(path, f, &why));
  std::string bytes;
  {
    std::ifstream in(path, std::ios::binary);
    bytes.assign(std::istreambuf_iterator<char>(in), {});
  }
  std::ofstream(path, std::ios::binary) << bytes.substr(0, bytes.size() - 9);
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_NE(why.find("truncated"), std::string::npos) << why;
  std::string future = bytes;
  future[8] = 2;
  std::ofstream(path, std::ios::binary) << future;
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_NE(why.find("version 2"), std::string::npos) << why;
  std::ofstream(path, std::ios::binary) << "NOTSTATS";
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_FALSE(readStatistics(path + ".missing", &why));
  std::remove(path.c_str());
}

} // namespace
