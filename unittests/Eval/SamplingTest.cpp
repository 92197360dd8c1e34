//===- SamplingTest.cpp - greedy and seeded sampling ----------------------===//
#include "smq/Eval/Sampling.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace smq::eval;

TEST(Sampling, ArgmaxTakesTheLowestIdAmongEqualsAndSkipsNaN) {
  float logits[] = {NAN, 1.0f, 3.0f, 3.0f, -2.0f};
  EXPECT_EQ(argmax(logits, 5), 2);
  float allNaNButLast[] = {NAN, NAN, -1e30f};
  EXPECT_EQ(argmax(allNaNButLast, 3), 2);
}

TEST(Sampling, GreedyIgnoresTheSeed) {
  float logits[] = {0.1f, 0.7f, 0.2f};
  SamplingOptions o;
  o.seed = 12345;
  TokenSampler s(o);
  for (int i = 0; i < 10; ++i)
    EXPECT_EQ(s.next(logits, 3), 1);
}

TEST(Sampling, TopKOfOneAndTinyTopPAreGreedy) {
  float logits[] = {0.5f, 2.0f, 1.9f, -1.0f};
  SamplingOptions k1;
  k1.greedy = false;
  k1.topK = 1;
  SamplingOptions p;
  p.greedy = false;
  p.topP = 1e-9;
  TokenSampler a(k1), b(p);
  for (int i = 0; i < 50; ++i) {
    EXPECT_EQ(a.next(logits, 4), 1);
    EXPECT_EQ(b.next(logits, 4), 1);
  }
}

// Two tokens with probabilities 1/4 and 3/4: over 100,000 draws with a fixed
// seed the frequency of the second is 0.75 within 4 standard deviations
// (sqrt(0.75 * 0.25 / 1e5) = 0.00137).
TEST(Sampling, FrequenciesFollowTheSoftmax) {
  float logits[] = {std::log(0.25f), std::log(0.75f)};
  SamplingOptions o;
  o.greedy = false;
  o.seed = 7;
  TokenSampler s(o);
  int second = 0;
  for (int i = 0; i < 100000; ++i)
    second += s.next(logits, 2) == 1;
  EXPECT_NEAR(second / 1e5, 0.75, 4 * 0.00137);
}

// Temperature 0.5 squares the odds: 1:3 becomes 1:9.
TEST(Sampling, TemperatureSharpens) {
  float logits[] = {0.0f, std::log(3.0f)};
  SamplingOptions o;
  o.greedy = false;
  o.temperature = 0.5;
  o.seed = 3;
  TokenSampler s(o);
  int second = 0;
  for (int i = 0; i < 100000; ++i)
    second += s.next(logits, 2) == 1;
  EXPECT_NEAR(second / 1e5, 0.9, 4 * std::sqrt(0.09 / 1e5));
}

// Top-p 0.5 over {0.4, 0.35, 0.25}: the two most likely reach 0.75 >= 0.5
// but the first alone (0.4) does not, so token 2 never appears.
TEST(Sampling, TopPCutsTheTail) {
  float logits[] = {std::log(0.4f), std::log(0.35f), std::log(0.25f)};
  SamplingOptions o;
  o.greedy = false;
  o.topP = 0.5;
  o.seed = 11;
  TokenSampler s(o);
  int counts[3] = {0, 0, 0};
  for (int i = 0; i < 20000; ++i)
    ++counts[s.next(logits, 3)];
  EXPECT_EQ(counts[2], 0);
  EXPECT_GT(counts[0], 0);
  EXPECT_GT(counts[1], 0);
}

TEST(Sampling, TheSameSeedAndStreamRepeatAndStreamsDiffer) {
  std::vector<float> logits(256);
  for (int i = 0; i < 256; ++i)
    logits[i] = std::sin(i * 0.37f) * 3;
  SamplingOptions o;
  o.greedy = false;
  o.seed = 42;
  TokenSampler a(o), b(o), c(o, /*stream=*/1);
  int differ = 0;
  for (int i = 0; i < 64; ++i) {
    int64_t x = a.next(logits.data(), 256);
    EXPECT_EQ(x, b.next(logits.data(), 256));
    differ += x != c.next(logits.data(), 256);
  }
  EXPECT_GT(differ, 0);
}

TEST(Sampling, ValidateNamesBadOptions) {
  SamplingOptions o;
  o.greedy = false;
  EXPECT_EQ(validate(o), "");
  o.temperature = 0;
  EXPECT_NE(validate(o), "");
  o.temperature = 1;
  o.topP = 0;
  EXPECT_NE(validate(o), "");
  o.topP = 1;
  o.topK = -1;
  EXPECT_NE(validate(o), "");
}
