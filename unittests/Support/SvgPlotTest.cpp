//===- SvgPlotTest.cpp - axis ticks and the SVG a figure becomes ----------===//
#include "smq/Support/SvgPlot.h"

#include <gtest/gtest.h>

#include <cmath>

using namespace smq::plot;

namespace {

size_t count(const std::string &haystack, const std::string &needle) {
  size_t n = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + 1))
    ++n;
  return n;
}

void expectTicks(const std::vector<double> &got,
                 const std::vector<double> &want) {
  ASSERT_EQ(got.size(), want.size());
  for (size_t i = 0; i < got.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12) << "tick " << i;
}

TEST(SvgPlotTest, TicksAreRoundStepsCoveringTheRange) {
  // Perplexities 2.74..3.88: step (3.88 - 2.74) / 5 = 0.228 rounds up to 0.25.
  expectTicks(niceTicks(2.74, 3.88, 6),
              {2.5, 2.75, 3.0, 3.25, 3.5, 3.75, 4.0});
  expectTicks(niceTicks(0, 1, 6), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
  // Ratios 0.993..1.603: raw step 0.122 rounds up to 0.2.
  expectTicks(niceTicks(0.993, 1.603, 6), {0.8, 1.0, 1.2, 1.4, 1.6, 1.8});
  expectTicks(niceTicks(-3, 7, 3), {-5, 0, 5, 10});
  // Reversed bounds are the same range.
  expectTicks(niceTicks(1, 0, 6), {0, 0.2, 0.4, 0.6, 0.8, 1.0});
}

TEST(SvgPlotTest, AFlatRangeStillGetsAnAxis) {
  std::vector<double> t = niceTicks(1, 1, 5);
  ASSERT_GE(t.size(), 2u);
  EXPECT_LT(t.front(), 1);
  EXPECT_GT(t.back(), 1);
  expectTicks(niceTicks(NAN, 1, 5), {0, 1});
}

TEST(SvgPlotTest, LogTicksAreOneTwoFiveCoveringTheRange) {
  // Perplexity gaps of 0.25% to 41%.
  expectTicks(logTicks(0.25, 41), {0.2, 0.5, 1, 2, 5, 10, 20, 50});
  expectTicks(logTicks(1, 10), {1, 2, 5, 10});
  expectTicks(logTicks(3, 4), {2, 5});
  expectTicks(logTicks(-1, 4), {1, 10});
}

TEST(SvgPlotTest, ALogAxisLeavesOutWhatIsNotPositive) {
  Figure f;
  Panel p;
  p.logY = true;
  p.series.push_back({"a", "", {2, 3, 4}, {40, 2, -0.1}});
  f.panels = {p};
  std::string svg = renderSvg(f);
  EXPECT_EQ(count(svg, "<title>"), 2u);
  EXPECT_EQ(count(svg, "<polyline"), 1u);
  p.series[0].y = {0, -1, NAN};
  f.panels = {p};
  EXPECT_EQ(count(renderSvg(f), "no points to show"), 1u);
}

TEST(SvgPlotTest, TickLabelsShowWhatTheStepNeeds) {
  EXPECT_EQ(tickLabel(2.75, 0.25), "2.75");
  EXPECT_EQ(tickLabel(3, 0.25), "3.00");
  EXPECT_EQ(tickLabel(3, 1), "3");
  EXPECT_EQ(tickLabel(0.8, 0.2), "0.8");
  EXPECT_EQ(tickLabel(1000, 500), "1000");
}

TEST(SvgPlotTest, EscapesMarkup) {
  EXPECT_EQ(escapeXml("a<b & \"c\">"), "a&lt;b &amp; &quot;c&quot;&gt;");
}

TEST(SvgPlotTest, OneLinePerRunOfPointsAndOneLegendEntryPerLabel) {
  Figure f;
  f.title = "W<4";
  Panel p;
  p.title = "perplexity";
  p.referenceY = 2.7;
  p.referenceLabel = "float";
  p.series.push_back({"rtn", "", {2, 3, 4}, {3.6, 2.8, 2.76}});
  // A gap at 3 bits: two points either side would each be alone, so no
  // line, only markers.
  p.series.push_back({"search λ=0", "search", {2, 3, 4}, {3.4, NAN, 2.76},
                      true});
  p.series.push_back({"search λ*", "search", {2, 3, 4}, {3.3, 2.8, 2.7}});
  f.panels = {p, p};
  std::string svg = renderSvg(f);
  EXPECT_EQ(svg.rfind("<?xml", 0), 0u);
  EXPECT_EQ(count(svg, "<g class=\"panel\">"), 2u);
  EXPECT_EQ(count(svg, "<polyline class=\"series\""), 4u);
  EXPECT_EQ(count(svg, "class=\"reference\""), 2u);
  // Markers carry their value as a tooltip: 8 finite points per panel.
  EXPECT_EQ(count(svg, "<title>"), 16u);
  EXPECT_EQ(count(svg, "W&lt;4"), 1u);
  // One legend for both panels; the dashed series is dashed there too.
  size_t legend = svg.find("<g class=\"legend\">");
  ASSERT_NE(legend, std::string::npos);
  EXPECT_EQ(count(svg.substr(legend), "<text"), 3u);
  EXPECT_EQ(count(svg.substr(legend), "stroke-dasharray"), 1u);
  // Both search series share a colour; rtn has another.
  EXPECT_EQ(count(svg, "stroke=\"#0072B2\" stroke-width=\"2\""), 3u);
  EXPECT_EQ(count(svg, "stroke=\"#D55E00\" stroke-width=\"2\""), 4u);
  EXPECT_EQ(svg.substr(svg.size() - 7), "</svg>\n");
}

} // namespace
