//===- StatisticsTest.cpp - accumulation and the file format --------------===//
#include "smq/Quant/Statistics.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <filesystem>
#include <limits>
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

TEST(LayerStatistics, AccumulatesTheShiftThroughTheWeightByHand) {
  // x = (1, 2), (3, 0); the float model's (2, 2), (3, 1): Δ = (1, 0), (0, 1)
  // and E = Σ Δ xᵀ = [[1, 2], [3, 0]]. With W = [[1, -1], [2, 0]], W E =
  // [[-2, 2], [2, 4]], from W held as W (2×K) or as its K×2 transpose.
  float x[4] = {1, 2, 3, 0}, xf[4] = {2, 2, 3, 1};
  LayerStatistics e(2, false);
  e.accumulateShift(xf, x, 2);
  EXPECT_EQ(e.shift, (std::vector<double>{1, 2, 3, 0}));
  EXPECT_EQ(e.shiftRows, 0);
  const float w[4] = {1, -1, 2, 0}, wt[4] = {1, 2, -1, 0};
  for (bool holdsW : {true, false}) {
    LayerStatistics s(2, false);
    // In two calls, as windows come.
    s.accumulateShiftThrough(xf, x, 1, holdsW ? w : wt, 2, holdsW);
    s.accumulateShiftThrough(xf + 2, x + 2, 1, holdsW ? w : wt, 2, holdsW);
    EXPECT_EQ(s.shift, (std::vector<double>{-2, 2, 2, 4}));
    EXPECT_EQ(s.shiftRows, 2);
  }
}

TEST(LayerStatistics, SumsTheSameBytesOnAnyNumberOfThreads) {
  // K = 1100 spans three blocks of H's rows (the last one short) and
  // n = 600 three blocks of W E's; the sums equal a plain loop's within
  // rounding, and are byte-identical at 1, 2 and 3 threads.
  const int64_t k = 1100, n = 600, rows = 7;
  std::vector<float> x(rows * k), xf(rows * k), near(rows * k), w(n * k);
  uint32_t state = 12345;
  auto next = [&] {
    state = state * 1664525u + 1013904223u;
    return static_cast<float>(state >> 8) / 16777216.0f - 0.5f;
  };
  for (int64_t i = 0; i < rows * k; ++i) {
    x[i] = next();
    xf[i] = x[i] + 0.1f * next();
    near[i] = x[i] + 0.2f * next();
  }
  for (float &v : w)
    v = next();
  // H, W E and E at each thread count.
  std::vector<std::vector<double>> hs, wes, es;
  for (int threads : {1, 2, 3}) {
    LayerStatistics s(k, false), e(k, false);
    s.accumulate(x.data(), near.data(), rows, false, threads);
    s.accumulateShiftThrough(xf.data(), x.data(), rows, w.data(), n, true,
                             threads);
    e.accumulateShift(xf.data(), x.data(), rows, threads);
    hs.push_back(s.h);
    wes.push_back(s.shift);
    es.push_back(e.shift);
  }
  for (size_t t = 1; t < hs.size(); ++t) {
    EXPECT_EQ(std::memcmp(hs[t].data(), hs[0].data(), k * k * 8), 0);
    EXPECT_EQ(std::memcmp(wes[t].data(), wes[0].data(), n * k * 8), 0);
    EXPECT_EQ(std::memcmp(es[t].data(), es[0].data(), k * k * 8), 0);
  }
  // Spot checks against plain double loops, in every block.
  for (int64_t i : {int64_t(0), int64_t(511), int64_t(512), k - 1})
    for (int64_t j : {int64_t(3), int64_t(700), k - 1}) {
      double h = 0, e = 0;
      for (int64_t r = 0; r < rows; ++r) {
        h += double(x[r * k + i]) * x[r * k + j];
        e += (double(xf[r * k + i]) - x[r * k + i]) * x[r * k + j];
      }
      EXPECT_NEAR(hs[0][i * k + j], h, 1e-12);
      EXPECT_NEAR(es[0][i * k + j], e, 1e-12);
    }
  for (int64_t o : {int64_t(0), int64_t(255), int64_t(256), n - 1})
    for (int64_t j : {int64_t(0), k - 1}) {
      double we = 0;
      for (int64_t r = 0; r < rows; ++r) {
        double wd = 0;
        for (int64_t c = 0; c < k; ++c)
          wd += double(w[o * k + c]) * (double(xf[r * k + c]) - x[r * k + c]);
        we += wd * x[r * k + j];
      }
      EXPECT_NEAR(wes[0][o * k + j], we, 1e-9);
    }
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
  future[8] = 4;
  std::ofstream(path, std::ios::binary) << future;
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_NE(why.find("version 4"), std::string::npos) << why;
  std::ofstream(path, std::ios::binary) << "NOTSTATS";
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_FALSE(readStatistics(path + ".missing", &why));
  // Found by fuzzing (fuzz/regressions/statistics/huge-k.stats): a K the
  // file cannot hold is refused before K×K doubles are allocated (K = 2^20
  // would ask for 8 TiB).
  std::string huge = bytes;
  size_t at = huge.find(std::string("\x01\0\0\0\0\0\0\0w", 9)) + 9;
  uint64_t k = uint64_t(1) << 20;
  huge.replace(at, 8, reinterpret_cast<const char *>(&k), 8);
  std::ofstream(path, std::ios::binary) << huge;
  EXPECT_FALSE(readStatistics(path, &why));
  EXPECT_NE(why.find("K = 1048576 needs"), std::string::npos) << why;
  std::remove(path.c_str());
}

TEST(LayerStatistics, KeepsTheHeldOutShareApart) {
  // Fit position x = (1, 2) with neighbour (1, 3); held-out x = (0, 1)
  // with neighbour (2, 1). All: H = [[1, 2], [2, 5]], D = [[4, 0], [0, 1]];
  // without the held-out one: H = [[1, 2], [2, 4]], D = [[0, 0], [0, 1]].
  float x[2] = {1, 2}, n[2] = {1, 3}, hx[2] = {0, 1}, hn[2] = {2, 1};
  LayerStatistics s(2, false);
  s.accumulate(x, n, 1);
  s.accumulate(hx, hn, 1, /*heldOut=*/true);
  EXPECT_EQ(s.positions, 2);
  EXPECT_EQ(s.heldOutPositions, 1);
  EXPECT_EQ(s.fullH(), (std::vector<double>{1, 2, 2, 5}));
  EXPECT_EQ(s.fullD(), (std::vector<double>{4, 0, 0, 1}));
  EXPECT_EQ(s.fullH(Sequences::NotHeldOut), (std::vector<double>{1, 2, 2, 4}));
  EXPECT_EQ(s.fullD(Sequences::NotHeldOut), (std::vector<double>{0, 0, 0, 1}));
  LayerStatistics none(2, true);
  none.accumulate(x, n, 1);
  EXPECT_EQ(none.fullH(Sequences::NotHeldOut), none.fullH());
}

TEST(StatisticsFile, RoundTripsHeldOutSequences) {
  StatisticsFile f;
  f.heldOutLength = 3;
  f.heldOutTokens = {5, 6, 7, 8, 9, 10};
  LayerStatistics a(2, true);
  float x[2] = {1, 2}, n[2] = {1, 3};
  a.accumulate(x, n, 1);
  a.accumulate(n, x, 1, true);
  f.layers["w"] = a;
  std::string path = tempPath("h.smqstats"), why;
  ASSERT_TRUE(writeStatistics(path, f, &why)) << why;
  auto g = readStatistics(path, &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(g->heldOutSequences(), 2);
  EXPECT_EQ(g->heldOutTokens, f.heldOutTokens);
  EXPECT_EQ(g->layers["w"].heldOutPositions, 1);
  EXPECT_EQ(g->layers["w"].heldOutH, a.heldOutH);
  EXPECT_EQ(g->layers["w"].fullD(Sequences::NotHeldOut),
            a.fullD(Sequences::NotHeldOut));
  std::remove(path.c_str());
}

TEST(StatisticsFile, RoundTripsTheCalibrationWindows) {
  StatisticsFile f;
  f.windowLength = 2;
  f.windowTokens = {1, 2, 3, 4, 5, 6};
  f.seed = 0x123456789abcdefULL;
  f.holdout = 3;
  f.diagonal = true;
  f.layers["w"] = LayerStatistics(1, true);
  std::string path = tempPath("w.smqstats"), why;
  ASSERT_TRUE(writeStatistics(path, f, &why)) << why;
  auto g = readStatistics(path, &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(g->windows(), 3);
  EXPECT_EQ(g->windowTokens, f.windowTokens);
  EXPECT_EQ(g->seed, f.seed);
  EXPECT_EQ(g->holdout, 3);
  EXPECT_TRUE(g->diagonal);
  std::remove(path.c_str());
}

TEST(Neighbours, OneTokenReplacedPerWindowAndReproducible) {
  std::vector<std::vector<int64_t>> windows = {{1, 1, 2, 2}, {3, 3, 3, 3}};
  auto a = neighbourWindows(windows, 7), b = neighbourWindows(windows, 7);
  EXPECT_EQ(a, b);
  ASSERT_EQ(a.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    int changed = 0;
    for (size_t t = 0; t < 4; ++t) {
      changed += a[i][t] != windows[i][t];
      // Drawn from the windows' own tokens.
      EXPECT_TRUE(a[i][t] >= 1 && a[i][t] <= 3);
    }
    EXPECT_LE(changed, 1);
  }
  EXPECT_TRUE(isHeldOut(2, 3) && !isHeldOut(1, 3) && isHeldOut(5, 3));
  EXPECT_FALSE(isHeldOut(0, 0) || isHeldOut(7, 0));
}

TEST(StatisticsFile, ReadsVersionOne) {
  // A version-1 file written out by hand: one diagonal entry "w", K = 1,
  // 2 positions, H = 4, D = 1; it has no held-out sequences.
  std::string bytes("SMQSTATS", 8);
  auto u32 = [&](uint32_t v) { bytes.append(reinterpret_cast<char *>(&v), 4); };
  auto u64 = [&](uint64_t v) { bytes.append(reinterpret_cast<char *>(&v), 8); };
  auto f64 = [&](double v) { bytes.append(reinterpret_cast<char *>(&v), 8); };
  u32(1);
  u32(0);
  u64(2);
  bytes += "p1";
  u64(1);
  u64(1);
  bytes += "w";
  u64(1);
  bytes += '\x01';
  u64(2);
  f64(4);
  f64(1);
  std::string path = tempPath("v1.smqstats"), why;
  std::ofstream(path, std::ios::binary) << bytes;
  auto g = readStatistics(path, &why);
  ASSERT_TRUE(g) << why;
  EXPECT_EQ(g->provenance, "p1");
  EXPECT_EQ(g->heldOutSequences(), 0);
  EXPECT_EQ(g->layers["w"].h, std::vector<double>{4});
  EXPECT_EQ(g->layers["w"].d, std::vector<double>{1});
  std::remove(path.c_str());
}

} // namespace

TEST(NonFinite, FindsTheFirstInAnyBlock) {
  std::vector<float> f(1000, 1.5f);
  std::vector<double> d(1000, -2.0);
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 1000), -1);
  EXPECT_EQ(smq::quant::firstNonFinite(d.data(), 1000), -1);
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 0), -1);
  // The largest finite values are finite; the first bad one wins.
  f[10] = std::numeric_limits<float>::max();
  d[10] = -std::numeric_limits<double>::max();
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 1000), -1);
  EXPECT_EQ(smq::quant::firstNonFinite(d.data(), 1000), -1);
  f[999] = std::numeric_limits<float>::infinity();
  d[999] = -std::numeric_limits<double>::infinity();
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 1000), 999);
  EXPECT_EQ(smq::quant::firstNonFinite(d.data(), 1000), 999);
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 999), -1);
  f[300] = std::nanf("");
  d[257] = std::nan("");
  EXPECT_EQ(smq::quant::firstNonFinite(f.data(), 1000), 300);
  EXPECT_EQ(smq::quant::firstNonFinite(d.data(), 1000), 257);
  EXPECT_STREQ(smq::quant::nonFiniteName(f[300]), "NaN");
  EXPECT_STREQ(smq::quant::nonFiniteName(f[999]), "+Inf");
  EXPECT_STREQ(smq::quant::nonFiniteName(d[999]), "-Inf");
}
