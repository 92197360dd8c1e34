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

} // namespace
