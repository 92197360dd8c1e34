//===- MetricsTest.cpp - hand-derived answers ------------------------------===//
#include "smq/Eval/Metrics.h"

#include <gtest/gtest.h>

#include <cmath>

namespace {

TEST(LogSoftmax, UniformLogitsGiveLogOfOneOverN) {
  float logits[4] = {3, 3, 3, 3};
  auto lp = smq::eval::logSoftmax(logits, 4);
  for (double v : lp)
    EXPECT_NEAR(v, std::log(0.25), 1e-12);
}

TEST(LogSoftmax, StableForLargeLogits) {
  // exp(1000) overflows; the result must not.
  float logits[2] = {1000, 1001};
  auto lp = smq::eval::logSoftmax(logits, 2);
  double e = std::exp(1.0);
  EXPECT_NEAR(std::exp(lp[0]), 1 / (1 + e), 1e-12);
  EXPECT_NEAR(std::exp(lp[1]), e / (1 + e), 1e-12);
}

TEST(LanguageModelStats, PerplexityOfAUniformModelIsTheVocabSize) {
  smq::eval::LanguageModelStats s;
  float logits[256] = {};
  for (int t = 0; t < 10; ++t)
    s.add(logits, 256, t);
  EXPECT_EQ(s.positions(), 10);
  EXPECT_NEAR(s.meanNll(), std::log(256.0), 1e-9);
  EXPECT_NEAR(s.perplexity(), 256.0, 1e-6);
}

TEST(LanguageModelStats, KlAndTopOneAgainstAReference) {
  // Model: p = (1/2, 1/2); reference: q = (3/4, 1/4).
  // KL(q || p) = 3/4 ln(3/2) + 1/4 ln(1/2).
  float model[2] = {0, 0};
  float reference[2] = {std::log(3.0f), 0};
  smq::eval::LanguageModelStats s;
  s.add(model, 2, 0, reference);
  EXPECT_NEAR(s.meanKl(), 0.75 * std::log(1.5) + 0.25 * std::log(0.5), 1e-6);
  // Ties go to the first token in both, so they agree.
  EXPECT_DOUBLE_EQ(s.top1Agreement(), 1.0);
  float other[2] = {0, 1};
  s.add(other, 2, 1, reference);
  EXPECT_DOUBLE_EQ(s.top1Agreement(), 0.5);
}

TEST(LanguageModelStats, IdenticalModelsHaveZeroDivergence) {
  float logits[3] = {0.1f, -2.0f, 5.0f};
  smq::eval::LanguageModelStats s;
  s.add(logits, 3, 2, logits);
  EXPECT_NEAR(s.meanKl(), 0.0, 1e-12);
  EXPECT_NEAR(s.meanNll(), -smq::eval::logSoftmax(logits, 3)[2], 1e-12);
}

TEST(CandidateStats, KnownDistribution) {
  // p = (1/2, 1/4, 1/8, 1/8, 0, ...): entropy 1.75 bits = 1.75 ln 2 nats;
  // 4 tokens have p >= 0.01 (the rest have logits -100: p ~ 1e-44).
  float logits[6] = {std::log(0.5f), std::log(0.25f), std::log(0.125f),
                     std::log(0.125f), -100, -100};
  smq::eval::CandidateStats s;
  s.add(logits, 6);
  s.add(logits, 6);
  EXPECT_EQ(s.positions(), 2);
  EXPECT_NEAR(s.meanExpEntropy(), std::exp(1.75 * std::log(2.0)), 1e-6);
  EXPECT_EQ(s.meanAboveOnePercent(), 4.0);
  // A uniform distribution over V has V effective candidates.
  float uniform[5] = {3, 3, 3, 3, 3};
  smq::eval::CandidateStats u;
  u.add(uniform, 5);
  EXPECT_NEAR(u.meanExpEntropy(), 5.0, 1e-9);
}

TEST(KlDivergence, WorkedByHand) {
  // softmax(0, ln 3) = (1/4, 3/4) against (1/2, 1/2):
  // 1/4·ln(1/2) + 3/4·ln(3/2).
  const float p[2] = {0.0f, std::log(3.0f)}, q[2] = {5.0f, 5.0f};
  EXPECT_NEAR(smq::eval::klDivergence(p, q, 2),
              0.25 * std::log(0.5) + 0.75 * std::log(1.5), 1e-7);
  EXPECT_EQ(smq::eval::klDivergence(q, q, 2), 0.0);
}

TEST(TopK, LargestFirstLowerIndexOnTies) {
  float logits[6] = {0.5f, 2, 1, 2, -1, 0};
  EXPECT_EQ(smq::eval::topK(logits, 6, 3), (std::vector<int64_t>{1, 3, 2}));
  EXPECT_EQ(smq::eval::topK(logits, 6, 10).size(), 6u);
}

TEST(GradientNormEstimate, LinearLossIsExactPerDirection) {
  // L(x) = gᵀx: each central difference is exactly vᵀg, so one direction
  // v = (1, 0) gives g0², and v = (0, 1) gives g1²; their mean is ‖g‖²/2.
  double g0 = 3, g1 = -4, eps = 0.5;
  smq::eval::GradientNormEstimate e;
  e.add(g0 * eps, -g0 * eps, eps);
  e.add(g1 * eps, -g1 * eps, eps);
  EXPECT_EQ(e.directions(), 2);
  EXPECT_DOUBLE_EQ(e.mean(), (9.0 + 16.0) / 2);
}

} // namespace

// Two sequences of three steps over four tokens. Sequence 0: the argmaxes
// agree, then differ, then agree; sequence 1 agrees throughout. Top-2 sets:
// step by step {0,1}/{0,1}, {2,3}/{3,1}, {1,0}/{1,2}, and {3,2}/{3,2} three
// times: kept 1, 1/2, 1/2, 1, 1, 1 -> 5/6.
TEST(GreedyAgreement, HandCountedSteps) {
  smq::eval::GreedyAgreement g(2);
  float r0[] = {4, 3, 1, 0}, m0[] = {5, 2, 1, 0};
  float r1[] = {0, 1, 4, 3}, m1[] = {0, 2, 1, 5};
  float r2[] = {2, 4, 0, 0}, m2[] = {0, 4, 3, 0};
  float same[] = {0, 1, 2, 3};
  g.add(0, r0, m0, 4);
  g.add(1, same, same, 4);
  g.add(0, r1, m1, 4);
  g.add(1, same, same, 4);
  g.add(0, r2, m2, 4);
  g.add(1, same, same, 4);
  EXPECT_EQ(g.sequences(), 2);
  // Sequence 0 diverges at step 1, sequence 1 never: (1 + 3) / 2.
  EXPECT_DOUBLE_EQ(g.meanTokensToDivergence(), 2.0);
  EXPECT_EQ(g.minTokensToDivergence(), 1);
  EXPECT_DOUBLE_EQ(g.identicalRate(), 0.5);
  EXPECT_DOUBLE_EQ(g.top1Rate(), 5.0 / 6.0);
  EXPECT_DOUBLE_EQ(g.topKKept(), 5.0 / 6.0);
}
