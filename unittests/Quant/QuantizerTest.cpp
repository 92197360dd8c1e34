//===- QuantizerTest.cpp - hand-derived answers ---------------------------===//
#include "smq/Quant/Quantizer.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <random>

using namespace smq::quant;

namespace {

TEST(GroupParams, GridValuesAreExact) {
  // 2 bits, range [0, 3]: scale 1, zero 0, levels 0..3.
  double w[4] = {0, 1, 2, 3};
  GroupParams p = groupParams(w, 4, 2, /*symmetric=*/false, 1.0);
  EXPECT_FLOAT_EQ(p.scale, 1.0f);
  EXPECT_FLOAT_EQ(p.zero, 0.0f);
  for (int i = 0; i < 4; ++i) {
    EXPECT_EQ(quantizeValue(w[i], p, 2), i);
    EXPECT_DOUBLE_EQ(dequantizeValue(i, p), w[i]);
  }
}

TEST(GroupParams, RangeAlwaysHoldsZeroAndCodesClamp) {
  // All positive: the range is [0, 4], so 0 stays exact. At clip 0.5 the
  // range is [0, 2] (scale 2/3) and 4 clamps to the top code.
  double w[2] = {1, 4};
  GroupParams p = groupParams(w, 2, 2, false, 0.5);
  EXPECT_FLOAT_EQ(p.scale, 2.0f / 3.0f);
  EXPECT_FLOAT_EQ(p.zero, 0.0f);
  EXPECT_EQ(quantizeValue(4.0, p, 2), 3);
  EXPECT_EQ(quantizeValue(0.0, p, 2), 0);
}

TEST(GroupParams, SymmetricZeroPointIsMidRange) {
  // 4 bits symmetric: max |w| = 7.5, scale = 15/15 = 1, zero = 8.
  double w[3] = {-7.5, 1, 3};
  GroupParams p = groupParams(w, 3, 4, true, 1.0);
  EXPECT_FLOAT_EQ(p.scale, 1.0f);
  EXPECT_FLOAT_EQ(p.zero, 8.0f);
  EXPECT_DOUBLE_EQ(dequantizeValue(quantizeValue(3.0, p, 4), p), 3.0);
}

TEST(ClipGrid, FromOneDownToPointFourInStepsOfOneFortieth) {
  const auto &g = clipGrid();
  ASSERT_EQ(g.size(), 25u);
  EXPECT_DOUBLE_EQ(g.front(), 1.0);
  EXPECT_NEAR(g.back(), 0.4, 1e-12);
  EXPECT_NEAR(g[2], 0.95, 1e-12);
}

TEST(Wmse, FindsTheClipDerivedByHand) {
  // Sixteen 1.0s and one 3.2, 2 bits, one group. Squared error by clip c
  // (scale s = 3.2c/3):
  //   c = 1     s = 1.0667: 1 -> 1.0667 (16 x 0.0667^2), 3.2 exact: 0.0711
  //   c = 0.975 s = 1.04:   16 x 0.04^2 + (3.2 - 3.12)^2             0.0320
  //   c = 0.95  s = 1.0133: 16 x 0.0133^2 + (3.2 - 3.04)^2           0.0284
  //   c = 0.925 s = 0.9867: 16 x 0.0133^2 + (3.2 - 2.96)^2           0.0604
  // and smaller clips cost more, so the best clip is 0.95.
  std::vector<float> w(16, 1.0f);
  w.push_back(3.2f);
  Config c{2, 0, false, 1};
  QuantizedWeight q = quantizeWmse(w.data(), 1, 17, c);
  ASSERT_EQ(q.clips.size(), 1u);
  EXPECT_NEAR(q.clips[0], 0.95, 1e-6);
  auto rtn = quantizeRtn(w.data(), 1, 17, c).dequantize();
  auto best = q.dequantize();
  double eRtn = 0, eBest = 0;
  for (int i = 0; i < 17; ++i) {
    eRtn += (rtn[i] - w[i]) * (rtn[i] - w[i]);
    eBest += (best[i] - w[i]) * (best[i] - w[i]);
  }
  EXPECT_NEAR(eRtn, 0.0711, 1e-3);
  EXPECT_NEAR(eBest, 0.0284, 1e-3);
}

/// M = [[2,1],[1,2]] (+) 1000·I: inputs 0 and 1 are correlated; 2 and 3
/// matter so much that no clip other than 1 is worth it.
std::vector<double> handM() {
  std::vector<double> m(16, 0.0);
  m[0] = 2; m[1] = 1; m[4] = 1; m[5] = 2;
  m[10] = 1000; m[15] = 1000;
  return m;
}

TEST(Gptq, FourByFourWorkedByHand) {
  // 2 bits, one group per row, no damping. At clip 1 every row has range
  // [0, 3], scale 1, zero 0. M⁻¹ for the first block is (1/3)[[2,-1],[-1,2]],
  // so the error e of column 0 moves to column 1 as +e/2 (U01/U00 = -1/2);
  // columns 2 and 3 are independent.
  //   row 0: 0.5 -> 0 (ties to even), e = 0.5; 1.4 + 0.25 = 1.65 -> 2
  //   row 1: exact
  //   row 2: exact
  //   row 3: 0.5 -> 0, e = 0.5; 1.6 + 0.25 = 1.85 -> 2
  // Round to nearest would give row 0 the code 1 for 1.4.
  float w[16] = {0.5f, 1.4f, 2, 3,  0, 0, 2, 3,
                 1,    1,    2, 3,  0.5f, 1.6f, 2, 3};
  std::vector<double> m = handM();
  Config c{2, 0, false, 1};
  QuantizedWeight q;
  std::string why;
  ASSERT_TRUE(quantizeGptq(w, 4, 4, c, m.data(), q, &why, 0.0)) << why;
  std::vector<uint8_t> expected = {0, 2, 2, 3, 0, 0, 2, 3,
                                   1, 1, 2, 3, 0, 2, 2, 3};
  EXPECT_EQ(q.codes, expected);
  for (float clip : q.clips)
    EXPECT_FLOAT_EQ(clip, 1.0f);
  // Row 0's error: GPTQ's ΔW = [-0.5, 0.6] costs 2(.25) + 2(.36) - 2(.3)
  // = 0.62; round to nearest's [-0.5, -0.4] costs 0.5 + 0.32 + 0.4 = 1.22.
  std::vector<float> deq = q.dequantize();
  float row0[4] = {w[0], w[1], w[2], w[3]};
  EXPECT_NEAR(objective(row0, deq.data(), 1, 4, m.data()), 0.62, 1e-5);
  QuantizedWeight rtn = quantizeRtn(w, 4, 4, c);
  std::vector<float> rdeq = rtn.dequantize();
  EXPECT_NEAR(objective(row0, rdeq.data(), 1, 4, m.data()), 1.22, 1e-5);
}

TEST(Statistics, NormalisedToMeanDiagonalOne) {
  // H = 2I, D = [[4, 2], [2, 0]]: H̄ = I, D̄ = D / 2.
  double h[4] = {2, 0, 0, 2}, d[4] = {4, 2, 2, 0};
  std::vector<double> m = combineStatistics(h, d, 2, 0.5);
  EXPECT_DOUBLE_EQ(m[0], 1 + 0.5 * 2);
  EXPECT_DOUBLE_EQ(m[1], 0.5 * 1);
  EXPECT_DOUBLE_EQ(m[3], 1 + 0);
}

/// A random weight and a random full-rank statistic, seeded.
struct Problem {
  std::vector<float> w;
  std::vector<double> h, d;
  int64_t rows, cols;
  Problem(int64_t rows, int64_t cols, unsigned seed) : rows(rows), cols(cols) {
    std::mt19937 rng(seed);
    std::normal_distribution<double> n(0.0, 1.0);
    for (int64_t i = 0; i < rows * cols; ++i)
      w.push_back(static_cast<float>(n(rng)));
    auto gram = [&]() {
      std::vector<double> x(cols * (cols + 8));
      for (double &v : x)
        v = n(rng);
      std::vector<double> g(cols * cols, 0.0);
      for (int64_t t = 0; t < cols + 8; ++t)
        for (int64_t i = 0; i < cols; ++i)
          for (int64_t j = 0; j < cols; ++j)
            g[i * cols + j] += x[t * cols + i] * x[t * cols + j];
      return g;
    };
    h = gram();
    d = gram();
  }
};

TEST(Lambda, ZeroIsExactlyFittingOnly) {
  Problem p(8, 32, 7);
  std::vector<double> fit = combineStatistics(p.h.data(), nullptr, 32, 0.0);
  std::vector<double> withD = combineStatistics(p.h.data(), p.d.data(), 32, 0.0);
  EXPECT_EQ(fit, withD);
  Config c{3, 16, false, 1};
  QuantizedWeight a = quantizeSearch(p.w.data(), 8, 32, c, fit.data());
  QuantizedWeight b = quantizeSearch(p.w.data(), 8, 32, c, withD.data());
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
}

TEST(Determinism, SameBitsForAnyThreadCount) {
  Problem p(37, 64, 11);
  std::vector<double> m = combineStatistics(p.h.data(), p.d.data(), 64, 0.5);
  for (int method = 0; method < 2; ++method) {
    QuantizedWeight one, two;
    Config c1{3, 32, false, 1}, c2{3, 32, false, 2};
    std::string why;
    if (method == 0) {
      one = quantizeSearch(p.w.data(), 37, 64, c1, m.data());
      two = quantizeSearch(p.w.data(), 37, 64, c2, m.data());
    } else {
      ASSERT_TRUE(quantizeGptq(p.w.data(), 37, 64, c1, m.data(), one, &why));
      ASSERT_TRUE(quantizeGptq(p.w.data(), 37, 64, c2, m.data(), two, &why));
    }
    EXPECT_EQ(one.codes, two.codes);
    EXPECT_EQ(one.scales, two.scales);
    EXPECT_EQ(one.zeros, two.zeros);
  }
}

TEST(Objective, MethodsOrderAsTheyShould) {
  // On a correlated statistic, search beats round-to-nearest and GPTQ
  // beats search on the objective they minimise.
  Problem p(16, 64, 3);
  std::vector<double> m = combineStatistics(p.h.data(), nullptr, 64, 0.0);
  Config c{3, 32, false, 1};
  auto cost = [&](const QuantizedWeight &q) {
    std::vector<float> d = q.dequantize();
    return objective(p.w.data(), d.data(), 16, 64, m.data());
  };
  double rtn = cost(quantizeRtn(p.w.data(), 16, 64, c));
  double search = cost(quantizeSearch(p.w.data(), 16, 64, c, m.data()));
  QuantizedWeight g;
  std::string why;
  ASSERT_TRUE(quantizeGptq(p.w.data(), 16, 64, c, m.data(), g, &why));
  double gptq = cost(g);
  EXPECT_LE(search, rtn);
  EXPECT_LT(gptq, search);
}

TEST(ActOrder, EqualsStaticGroupsWhenTheDiagonalIsAlreadySorted) {
  // Scale the statistic's inputs (S M S, still positive definite) so that
  // diag(M) is 64, 63, ..., 1: act-order's order is then the original one,
  // and so is its result.
  Problem p(13, 64, 5);
  std::vector<double> m = combineStatistics(p.h.data(), nullptr, 64, 0.0);
  std::vector<double> sorted(m.size()), scale(64);
  for (int64_t i = 0; i < 64; ++i)
    scale[i] = std::sqrt((64.0 - i) / m[i * 65]);
  for (int64_t i = 0; i < 64; ++i)
    for (int64_t j = 0; j < 64; ++j)
      sorted[i * 64 + j] = m[i * 64 + j] * scale[i] * scale[j];
  for (int64_t i = 1; i < 64; ++i)
    ASSERT_GT(sorted[(i - 1) * 65], sorted[i * 65]);
  Config statics{3, 16, false, 1}, act{3, 16, false, 1};
  statics.staticGroups = true;
  act.actOrder = act.staticGroups = true;
  QuantizedWeight a, b;
  std::string why;
  ASSERT_TRUE(quantizeGptq(p.w.data(), 13, 64, statics, sorted.data(), a, &why));
  ASSERT_TRUE(quantizeGptq(p.w.data(), 13, 64, act, sorted.data(), b, &why));
  EXPECT_EQ(a.codes, b.codes);
  EXPECT_EQ(a.scales, b.scales);
  EXPECT_EQ(a.zeros, b.zeros);
}

TEST(ActOrder, FirstEncounterGroupsInTheOriginalOrderAreGptq) {
  // Without reordering (diag(M) already sorted), choosing a group's scale
  // when its first column comes up is what gptq does. Groups of 48 in
  // blocks of 128 columns: the group at 96..143 straddles a block, so its
  // scale is chosen on columns that still owe the block's errors.
  constexpr int64_t k = 192;
  Problem p(11, k, 21);
  std::vector<double> m = combineStatistics(p.h.data(), nullptr, k, 0.0);
  std::vector<double> sorted(m.size()), scale(k);
  for (int64_t i = 0; i < k; ++i)
    scale[i] = std::sqrt((k - static_cast<double>(i)) / m[i * (k + 1)]);
  for (int64_t i = 0; i < k; ++i)
    for (int64_t j = 0; j < k; ++j)
      sorted[i * k + j] = m[i * k + j] * scale[i] * scale[j];
  Config plain{3, 48, false, 1}, act{3, 48, false, 1};
  act.actOrder = true;
  QuantizedWeight a, b;
  std::string why;
  ASSERT_TRUE(quantizeGptq(p.w.data(), 11, k, plain, sorted.data(), a, &why));
  ASSERT_TRUE(quantizeGptq(p.w.data(), 11, k, act, sorted.data(), b, &why));
  EXPECT_EQ(a.codes, b.codes);
  for (size_t i = 0; i < a.scales.size(); ++i) {
    EXPECT_NEAR(a.scales[i], b.scales[i], 1e-6f * std::fabs(a.scales[i]));
    EXPECT_EQ(a.zeros[i], b.zeros[i]);
  }
}

TEST(ActOrder, DiagonalStatisticIsSearchedRoundToNearest) {
  // With a diagonal M no error moves to other columns, whatever the order:
  // act-order's codes are each weight rounded under its group's static
  // scale and zero point, which `search` chooses on the same weights.
  Problem p(9, 48, 13);
  std::vector<double> m(48 * 48, 0.0);
  for (int64_t i = 0; i < 48; ++i)
    m[i * 49] = 1.0 + (i * 7 % 48) / 8.0; // an order act-order changes
  Config c{2, 16, false, 1};
  Config act = c;
  act.actOrder = true;
  QuantizedWeight q;
  std::string why;
  ASSERT_TRUE(quantizeGptq(p.w.data(), 9, 48, act, m.data(), q, &why, 0.0));
  QuantizedWeight s = quantizeSearch(p.w.data(), 9, 48, c, m.data());
  EXPECT_EQ(q.codes, s.codes);
  EXPECT_EQ(q.scales, s.scales);
  EXPECT_EQ(q.zeros, s.zeros);
}

TEST(ActOrder, SameBitsForAnyThreadCountAndBetterThanSearch) {
  Problem p(37, 64, 17);
  std::vector<double> m = combineStatistics(p.h.data(), p.d.data(), 64, 0.5);
  Config c1{3, 32, false, 1}, c2{3, 32, false, 2};
  c1.actOrder = c2.actOrder = true;
  QuantizedWeight one, two;
  std::string why;
  ASSERT_TRUE(quantizeGptq(p.w.data(), 37, 64, c1, m.data(), one, &why));
  ASSERT_TRUE(quantizeGptq(p.w.data(), 37, 64, c2, m.data(), two, &why));
  EXPECT_EQ(one.codes, two.codes);
  EXPECT_EQ(one.scales, two.scales);
  auto cost = [&](const QuantizedWeight &q) {
    std::vector<float> d = q.dequantize();
    return objective(p.w.data(), d.data(), 37, 64, m.data());
  };
  EXPECT_LT(cost(one), cost(quantizeSearch(p.w.data(), 37, 64, c1, m.data())));
}

TEST(Refit, ExactOnAHandMadeGroup) {
  // w = 0.25·(q − 3) exactly for these 3-bit codes; start the refit from a
  // wrong scale and zero point. Identity M: the normal equations give
  // s = 0.25 and s·zero = 0.75, so zero = 3.
  const uint8_t q[6] = {0, 1, 3, 4, 6, 7};
  double w[6];
  for (int i = 0; i < 6; ++i)
    w[i] = 0.25 * (q[i] - 3.0);
  GroupParams p =
      refitGroup(w, q, 6, GroupParams{0.3f, 2.0f}, 3, false, nullptr, 0);
  EXPECT_FLOAT_EQ(p.scale, 0.25f);
  EXPECT_FLOAT_EQ(p.zero, 3.0f);
  // Any positive definite M gives the same exact fit (zero error).
  double m[36];
  for (int i = 0; i < 6; ++i)
    for (int j = 0; j < 6; ++j)
      m[i * 6 + j] = (i == j ? 2.0 : 0.0) + 0.5 / (1 + i + j);
  p = refitGroup(w, q, 6, GroupParams{0.2f, 4.0f}, 3, false, m, 6);
  EXPECT_NEAR(p.scale, 0.25f, 1e-6);
  EXPECT_FLOAT_EQ(p.zero, 3.0f);
}

TEST(Refit, SymmetricKeepsTheZeroPointAndSolvesTheScale) {
  // 2 bits, zero 2: codes 0, 1, 3 stand for −2s, −s, s. For w = (−1, −0.4,
  // 0.6), s = xᵀw / xᵀx with x = (−2, −1, 1): (2 + 0.4 + 0.6) / 6 = 0.5.
  const uint8_t q[3] = {0, 1, 3};
  double w[3] = {-1, -0.4, 0.6};
  GroupParams p =
      refitGroup(w, q, 3, GroupParams{1.0f, 2.0f}, 2, true, nullptr, 0);
  EXPECT_FLOAT_EQ(p.scale, 0.5f);
  EXPECT_FLOAT_EQ(p.zero, 2.0f);
}

TEST(Refit, SingularCodesLeaveTheParametersAlone) {
  // Every code equal: scale and zero point cannot both be fitted.
  const uint8_t q[4] = {2, 2, 2, 2};
  double w[4] = {0.1, 0.2, 0.3, 0.4};
  GroupParams p =
      refitGroup(w, q, 4, GroupParams{0.5f, 1.0f}, 2, false, nullptr, 0);
  EXPECT_FLOAT_EQ(p.scale, 0.5f);
  EXPECT_FLOAT_EQ(p.zero, 1.0f);
}

TEST(ScaleSearchGrid, NeverWorseThanClipGroupByGroupAndDeterministic) {
  // search scores each group on its own block of M, and the grid's
  // candidates include the best clip, so every group's Δ_gᵀ M_gg Δ_g can
  // only drop (the total tr(ΔW M ΔWᵀ) also has cross-group terms, which
  // neither search sees); and it does drop somewhere on random data.
  Problem p(23, 96, 29);
  std::vector<double> m = combineStatistics(p.h.data(), p.d.data(), 96, 0.5);
  for (int bits : {2, 3}) {
    for (bool symmetric : {false, true}) {
      Config clip{bits, 32, symmetric, 1}, grid = clip, grid2 = clip;
      grid.scaleSearch = grid2.scaleSearch = ScaleSearch::Grid;
      grid2.threads = 2;
      // Σ over groups of Δ_gᵀ M_gg Δ_g.
      auto cost = [&](const QuantizedWeight &q) {
        std::vector<float> d = q.dequantize();
        double total = 0;
        for (int64_t r = 0; r < 23; ++r)
          for (int64_t g0 = 0; g0 < 96; g0 += 32)
            for (int64_t i = g0; i < g0 + 32; ++i)
              for (int64_t j = g0; j < g0 + 32; ++j)
                total += (d[r * 96 + i] - p.w[r * 96 + i]) * m[i * 96 + j] *
                         (d[r * 96 + j] - p.w[r * 96 + j]);
        return total;
      };
      QuantizedWeight a = quantizeSearch(p.w.data(), 23, 96, clip, m.data());
      QuantizedWeight b = quantizeSearch(p.w.data(), 23, 96, grid, m.data());
      QuantizedWeight b2 = quantizeSearch(p.w.data(), 23, 96, grid2, m.data());
      EXPECT_LT(cost(b), cost(a)) << bits << " bits, symmetric " << symmetric;
      EXPECT_EQ(b.codes, b2.codes);
      EXPECT_EQ(b.scales, b2.scales);
      EXPECT_EQ(b.zeros, b2.zeros);
      for (size_t i = 0; i < b.zeros.size(); ++i) {
        EXPECT_EQ(b.zeros[i], std::nearbyint(b.zeros[i]));
        EXPECT_GE(b.zeros[i], 0.f);
        EXPECT_LE(b.zeros[i], float((1 << bits) - 1));
      }
      // Per group too: wmse (M = I) group by group.
      QuantizedWeight wa = quantizeWmse(p.w.data(), 23, 96, clip);
      QuantizedWeight wb = quantizeWmse(p.w.data(), 23, 96, grid);
      std::vector<float> da = wa.dequantize(), db = wb.dequantize();
      for (int64_t r = 0; r < 23; ++r)
        for (int64_t g0 = 0; g0 < 96; g0 += 32) {
          double ea = 0, eb = 0;
          for (int64_t i = g0; i < g0 + 32; ++i) {
            ea += std::pow(da[r * 96 + i] - p.w[r * 96 + i], 2);
            eb += std::pow(db[r * 96 + i] - p.w[r * 96 + i], 2);
          }
          EXPECT_LE(eb, ea + 1e-12);
        }
    }
  }
}

TEST(FloatTarget, WorkedByHand) {
  // H = diag(2, 4), E = diag(1, 2), no damping: E H⁻¹ = diag(0.5, 0.5),
  // so T = W + W·diag(0.5, 0.5) = 1.5 W.
  const float w[2] = {1, -2};
  double h[4] = {2, 0, 0, 4}, e[4] = {1, 0, 0, 2};
  std::vector<float> t;
  std::string why;
  ASSERT_TRUE(floatTarget(w, 1, 2, h, e, t, &why, 0.0)) << why;
  EXPECT_FLOAT_EQ(t[0], 1.5f);
  EXPECT_FLOAT_EQ(t[1], -3.0f);
  // H was factored in its own buffer, and is H again.
  EXPECT_EQ(std::vector<double>(h, h + 4), (std::vector<double>{2, 0, 0, 4}));
  // E = 0 (nothing quantized upstream): the target is W, bit for bit, even
  // with damping.
  double zero[4] = {0, 0, 0, 0};
  ASSERT_TRUE(floatTarget(w, 1, 2, h, zero, t, &why));
  EXPECT_EQ(t, (std::vector<float>{1, -2}));
}

TEST(InPlace, GptqAndTheFloatTargetGiveTheirStatisticBackBitForBit) {
  // gptq damps, reorders (act-order) and factors M in M's own buffer when
  // M is exactly symmetric, and a copy when it is not; either way the
  // result is what it is on a copy, and M is M again afterwards.
  Problem p(21, 64, 5);
  std::vector<double> m = combineStatistics(p.h.data(), nullptr, 64, 0.0);
  std::vector<double> skew(m);
  skew[1 * 64 + 2] = std::nextafter(skew[1 * 64 + 2], 1e300);
  for (const std::vector<double> *source : {&m, &skew})
    for (bool actOrder : {false, true}) {
      Config c{3, 32, false, 1};
      c.actOrder = actOrder;
      c.refit = true;
      std::vector<double> a(*source), b(*source);
      QuantizedWeight qa, qb;
      std::string why;
      ASSERT_TRUE(quantizeGptq(p.w.data(), 21, 64, c, a.data(), qa, &why));
      EXPECT_EQ(std::memcmp(a.data(), source->data(), a.size() * 8), 0);
      ASSERT_TRUE(quantizeGptq(p.w.data(), 21, 64, c, b.data(), qb, &why));
      EXPECT_EQ(qa.codes, qb.codes);
      EXPECT_EQ(qa.scales, qb.scales);
      EXPECT_EQ(qa.zeros, qb.zeros);
    }
  // The float target: H back bit for bit, E overwritten, and the same
  // target from a skewed H as from its copy.
  std::vector<double> e(64 * 64);
  for (size_t i = 0; i < e.size(); ++i)
    e[i] = 0.01 * p.d[i];
  for (const std::vector<double> *source : {&p.h, &skew}) {
    std::vector<double> h(*source), e1(e), e2(e);
    std::vector<float> t1, t2;
    std::string why;
    ASSERT_TRUE(floatTarget(p.w.data(), 21, 64, h.data(), e1.data(), t1,
                            &why));
    EXPECT_EQ(std::memcmp(h.data(), source->data(), h.size() * 8), 0);
    ASSERT_TRUE(floatTarget(p.w.data(), 21, 64, h.data(), e2.data(), t2,
                            &why));
    EXPECT_EQ(t1, t2);
    // Written over the weight itself, the same target.
    std::vector<float> inPlace(p.w);
    std::vector<double> e3(e);
    ASSERT_TRUE(floatTarget(inPlace.data(), 21, 64, h.data(), e3.data(),
                            inPlace, &why));
    EXPECT_EQ(inPlace, t1);
  }
  // A statistic that cannot be factored is given back too.
  std::vector<double> bad(64 * 64, 0.0), badCopy;
  for (int64_t i = 0; i < 64; ++i)
    bad[i * 64 + i] = 1.0;
  bad[0 * 64 + 1] = bad[1 * 64 + 0] = 5.0;
  badCopy = bad;
  QuantizedWeight q;
  std::string why;
  EXPECT_FALSE(quantizeGptq(p.w.data(), 21, 64, Config{3, 32, false, 1},
                            bad.data(), q, &why, 0.0));
  EXPECT_EQ(bad, badCopy);
}

TEST(InPlace, GptqFactorsInWavesOfColumnBlocksWithTheSameBitsForAnyThreads) {
  // K = 300 is three blocks of the inverse factor's columns (128, 128,
  // 44): one thread solves them in three waves, two in two, three in one.
  // Each writes its columns over the factor's own, so every wave count must
  // give the same bits, and M must come back bit for bit.
  const int64_t rows = 9, k = 300;
  Problem p(rows, k, 23);
  std::vector<double> m = combineStatistics(p.h.data(), p.d.data(), k, 0.25);
  for (bool actOrder : {false, true}) {
    QuantizedWeight first;
    for (int threads : {1, 2, 3}) {
      Config c{2, 64, false, threads};
      c.actOrder = actOrder;
      c.refit = true;
      std::vector<double> a(m);
      QuantizedWeight q;
      std::string why;
      ASSERT_TRUE(quantizeGptq(p.w.data(), rows, k, c, a.data(), q, &why))
          << why;
      EXPECT_EQ(std::memcmp(a.data(), m.data(), m.size() * 8), 0);
      if (threads == 1) {
        first = q;
        continue;
      }
      EXPECT_EQ(q.codes, first.codes);
      EXPECT_EQ(q.scales, first.scales);
      EXPECT_EQ(q.zeros, first.zeros);
    }
    // And it is GPTQ: no worse under M than choosing each group alone.
    Config c{2, 64, false, 1};
    c.actOrder = actOrder;
    std::vector<float> dg = first.dequantize(),
                       ds = quantizeSearch(p.w.data(), rows, k, c, m.data())
                                .dequantize();
    EXPECT_LT(objective(p.w.data(), dg.data(), rows, k, m.data()),
              objective(p.w.data(), ds.data(), rows, k, m.data()));
  }
}

TEST(FloatTarget, FittingTheTargetIsFittingTheFloatOutputs) {
  // For inputs x (quantized model) and x_f (float model), Σ‖Ŵx − W x_f‖²
  // − tr((Ŵ − T) H (Ŵ − T)ᵀ) does not depend on Ŵ (undamped).
  std::mt19937 rng(3);
  std::normal_distribution<double> nd(0.0, 1.0);
  const int64_t n = 3, k = 4, positions = 40;
  std::vector<double> x(positions * k), xf(positions * k);
  for (int64_t i = 0; i < positions * k; ++i) {
    x[i] = nd(rng);
    xf[i] = x[i] + 0.3 * nd(rng);
  }
  std::vector<double> h(k * k, 0.0), e(k * k, 0.0);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j) {
        h[i * k + j] += x[p * k + i] * x[p * k + j];
        e[i * k + j] += (xf[p * k + i] - x[p * k + i]) * x[p * k + j];
      }
  std::vector<float> w(n * k);
  for (float &v : w)
    v = static_cast<float>(nd(rng));
  std::vector<float> t;
  std::string why;
  ASSERT_TRUE(floatTarget(w.data(), n, k, h.data(), e.data(), t, &why, 0.0));
  auto gap = [&](const std::vector<float> &wq) {
    double out = 0;
    for (int64_t p = 0; p < positions; ++p)
      for (int64_t r = 0; r < n; ++r) {
        double a = 0;
        for (int64_t c = 0; c < k; ++c)
          a += wq[r * k + c] * x[p * k + c] - w[r * k + c] * xf[p * k + c];
        out += a * a;
      }
    std::vector<double> m(h);
    return out - objective(t.data(), wq.data(), n, k, m.data());
  };
  std::vector<float> a(n * k), b(n * k);
  for (int64_t i = 0; i < n * k; ++i) {
    a[i] = static_cast<float>(nd(rng));
    b[i] = static_cast<float>(nd(rng));
  }
  EXPECT_NEAR(gap(a), gap(b), 1e-3 * std::abs(gap(a)));

  // The same target from W E (n×K) as from E: T = W + (W E) H⁻¹.
  std::vector<double> we(n * k, 0.0), h2(h), eAgain(k * k, 0.0);
  for (int64_t p = 0; p < positions; ++p)
    for (int64_t i = 0; i < k; ++i)
      for (int64_t j = 0; j < k; ++j)
        eAgain[i * k + j] += (xf[p * k + i] - x[p * k + i]) * x[p * k + j];
  for (int64_t r = 0; r < n; ++r)
    for (int64_t j = 0; j < k; ++j)
      for (int64_t i = 0; i < k; ++i)
        we[r * k + j] += w[r * k + i] * eAgain[i * k + j];
  std::vector<float> t2;
  ASSERT_TRUE(floatTarget(w.data(), n, k, h2.data(), we.data(), t2, &why, 0.0,
                          1, /*eTimesW=*/true));
  EXPECT_EQ(h2, h);
  for (int64_t i = 0; i < n * k; ++i)
    EXPECT_NEAR(t2[i], t[i], 1e-5 * (1 + std::abs(t[i])));
}

TEST(RefitRows, RecoversExactParametersAcrossGroups) {
  // Two rows of two groups of four 3-bit codes, w = s·(q − z) exactly; start
  // from wrong scales and zero points. With a correlated M (cross-group
  // terms), the whole-row least squares finds the exact ones.
  QuantizedWeight q;
  q.rows = 2;
  q.cols = 8;
  q.groupSize = 4;
  q.bits = 3;
  q.codes = {0, 3, 5, 7, 1, 2, 6, 4, 7, 0, 2, 3, 5, 5, 1, 0};
  const float s0[4] = {0.5f, 0.25f, 1.0f, 0.125f}, z0[4] = {3, 4, 2, 6};
  std::vector<float> w(16);
  for (int r = 0; r < 2; ++r)
    for (int c = 0; c < 8; ++c)
      w[r * 8 + c] = s0[r * 2 + c / 4] * (q.codes[r * 8 + c] - z0[r * 2 + c / 4]);
  q.scales = {0.4f, 0.3f, 0.9f, 0.2f};
  q.zeros = {2, 4, 3, 5};
  q.clips.assign(4, 1.f);
  std::vector<double> m(64);
  for (int i = 0; i < 8; ++i)
    for (int j = 0; j < 8; ++j)
      m[i * 8 + j] = (i == j ? 2.0 : 0.0) + 0.5 / (1 + i + j);
  refitRows(w.data(), m.data(), q, 1);
  for (int i = 0; i < 4; ++i) {
    EXPECT_NEAR(q.scales[i], s0[i], 1e-6) << i;
    EXPECT_EQ(q.zeros[i], z0[i]) << i;
  }
  std::vector<float> d = q.dequantize();
  for (int i = 0; i < 16; ++i)
    EXPECT_NEAR(d[i], w[i], 1e-5);
}

TEST(RefitRows, NeverRaisesTheObjectiveAndSameBitsForAnyThreadCount) {
  Problem p(19, 96, 41);
  std::vector<double> m = combineStatistics(p.h.data(), p.d.data(), 96, 0.5);
  for (bool symmetric : {false, true}) {
    Config c1{2, 32, symmetric, 1}, c2{2, 32, symmetric, 2};
    c1.refit = c2.refit = true;
    Config plain{2, 32, symmetric, 1};
    QuantizedWeight a, b, base;
    std::string why;
    ASSERT_TRUE(quantizeGptq(p.w.data(), 19, 96, plain, m.data(), base, &why));
    ASSERT_TRUE(quantizeGptq(p.w.data(), 19, 96, c1, m.data(), a, &why));
    ASSERT_TRUE(quantizeGptq(p.w.data(), 19, 96, c2, m.data(), b, &why));
    EXPECT_EQ(a.codes, base.codes); // the codes stay
    EXPECT_EQ(a.scales, b.scales);
    EXPECT_EQ(a.zeros, b.zeros);
    // Row by row, the objective only drops; in total it drops.
    std::vector<float> da = a.dequantize(), db = base.dequantize();
    double total = 0, totalBase = 0;
    for (int64_t r = 0; r < 19; ++r) {
      double ea = objective(p.w.data() + r * 96, da.data() + r * 96, 1, 96,
                            m.data());
      double eb = objective(p.w.data() + r * 96, db.data() + r * 96, 1, 96,
                            m.data());
      EXPECT_LE(ea, eb * (1 + 1e-12)) << r;
      total += ea;
      totalBase += eb;
    }
    EXPECT_LT(total, totalBase) << "symmetric " << symmetric;
  }
}

TEST(GaussianControl, HasDsCovarianceAndIsSeeded) {
  // E[Σ δδᵀ] = samples · D/samples = D; with 20000 samples each entry is
  // within a few percent (relative spread √(2/20000) = 1% on the diagonal).
  const double d[9] = {4, 1, 0, 1, 2, 0, 0, 0, 0.25};
  std::vector<double> a = gaussianControl(d, 3, 20000, 7);
  for (int i = 0; i < 3; ++i)
    EXPECT_NEAR(a[i * 3 + i], d[i * 3 + i], 0.05 * d[i * 3 + i]) << i;
  EXPECT_NEAR(a[1], 1.0, 0.08);
  EXPECT_NEAR(a[2], 0.0, 0.05);
  EXPECT_EQ(a, gaussianControl(d, 3, 20000, 7));
  EXPECT_NE(a, gaussianControl(d, 3, 20000, 8));
}

} // namespace
