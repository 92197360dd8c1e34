//===- MixedPrecisionTest.cpp - bit widths per layer under a budget -------===//
#include "smq/Quant/MixedPrecision.h"

#include <gtest/gtest.h>

namespace {

using smq::quant::allocateBits;
using smq::quant::LayerBitCosts;

const std::vector<int> widths = {2, 3, 4};

// Two layers of 100 weights. A: errors 8, 2, 1 at 2, 3, 4 bits; B: 4,
// 2.5, 2. Per extra bit-weight, A's first bit saves 6/100, B's 1.5/100,
// A's second 1/100 (B's 0.5/100).
std::vector<LayerBitCosts> twoLayers() {
  return {{100, {8, 2, 1}}, {100, {4, 2.5, 2}}};
}

TEST(MixedPrecision, SpendsTheBudgetWhereItSavesMost) {
  std::string why;
  // 2 bits: nothing to spend.
  EXPECT_EQ(allocateBits(twoLayers(), widths, 2.0, &why),
            (std::vector<int>{0, 0}));
  // 2.5: 100 bit-weights, A's first bit.
  EXPECT_EQ(allocateBits(twoLayers(), widths, 2.5, &why),
            (std::vector<int>{1, 0}));
  // 3: 200; then B's first bit (1.5 > 1 per 100): error 2 + 2.5.
  EXPECT_EQ(allocateBits(twoLayers(), widths, 3.0, &why),
            (std::vector<int>{1, 1}));
  // 3.5: 300; then A's second bit (1 > 0.5).
  EXPECT_EQ(allocateBits(twoLayers(), widths, 3.5, &why),
            (std::vector<int>{2, 1}));
  EXPECT_EQ(allocateBits(twoLayers(), widths, 4.0, &why),
            (std::vector<int>{2, 2}));
}

TEST(MixedPrecision, WeighsLayersBySize) {
  std::string why;
  // The same errors, but A has 300 weights: its first bit now saves
  // 6/300 = 0.02 per bit-weight and costs 300 of the 400 × 0.5 = 200 the
  // average of 2.5 leaves, so it does not fit; B's two bits (100 each)
  // do.
  std::vector<LayerBitCosts> layers = {{300, {8, 2, 1}}, {100, {4, 2.5, 2}}};
  EXPECT_EQ(allocateBits(layers, widths, 2.5, &why), (std::vector<int>{0, 2}));
  // At 2.75 (300 to spend) A's first bit fits, and saves the most.
  EXPECT_EQ(allocateBits(layers, widths, 2.75, &why),
            (std::vector<int>{1, 0}));
}

TEST(MixedPrecision, JumpsOverAWidthThatSavesNothing) {
  std::string why;
  // C saves nothing at 3 bits but 4 at 4 bits: 4/200 per bit-weight, more
  // than D's 1/100.
  std::vector<LayerBitCosts> layers = {{100, {5, 5, 1}}, {100, {3, 2, 2}}};
  EXPECT_EQ(allocateBits(layers, widths, 3.0, &why), (std::vector<int>{2, 0}));
}

TEST(MixedPrecision, TiesGoToTheEarlierLayer) {
  std::string why;
  std::vector<LayerBitCosts> layers = {{100, {4, 2, 2}}, {100, {4, 2, 2}}};
  EXPECT_EQ(allocateBits(layers, widths, 2.5, &why), (std::vector<int>{1, 0}));
}

TEST(MixedPrecision, RefusesWhatCannotBeMet) {
  std::string why;
  EXPECT_TRUE(allocateBits(twoLayers(), widths, 1.5, &why).empty());
  EXPECT_NE(why.find("outside the widths 2 to 4"), std::string::npos) << why;
  EXPECT_TRUE(allocateBits(twoLayers(), widths, 4.5, &why).empty());
  EXPECT_TRUE(allocateBits({{100, {1, 2}}}, widths, 3, &why).empty());
  EXPECT_TRUE(allocateBits({{0, {1, 2, 3}}}, widths, 3, &why).empty());
  EXPECT_TRUE(allocateBits(twoLayers(), {3, 2}, 2.5, &why).empty());
}

} // namespace
