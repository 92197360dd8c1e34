//===- ShapeSpecTest.cpp - --input-shape parsing --------------------------===//
#include "smq/Support/ShapeSpec.h"

#include <gtest/gtest.h>

namespace {

TEST(ShapeSpec, ParsesNameAndDims) {
  std::string why;
  auto s = smq::parseShapeSpec("input_ids=1x128", &why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->name, "input_ids");
  EXPECT_EQ(s->dims, (std::vector<int64_t>{1, 128}));
}

TEST(ShapeSpec, NamesMayContainEqualsAndScalarsHaveNoDims) {
  std::string why;
  auto s = smq::parseShapeSpec("a=b=4", &why);
  ASSERT_TRUE(s) << why;
  EXPECT_EQ(s->name, "a=b");
  EXPECT_EQ(s->dims, (std::vector<int64_t>{4}));
  auto scalar = smq::parseShapeSpec("x=", &why);
  ASSERT_TRUE(scalar) << why;
  EXPECT_TRUE(scalar->dims.empty());
}

TEST(ShapeSpec, RejectsMalformedText) {
  std::string why;
  for (const char *bad : {"x", "=1x2", "x=1x", "x=1xx2", "x=-1", "x=1xa",
                          "x=99999999999999999999"})
    EXPECT_FALSE(smq::parseShapeSpec(bad, &why)) << bad;
}

TEST(ShapeSpec, RejectsAbsurdSizes) {
  std::string why;
  EXPECT_FALSE(smq::parseShapeSpec("x=1099511627777", &why));
  EXPECT_FALSE(smq::parseShapeSpec("x=1048576x1048577", &why));
  EXPECT_NE(why.find("absurd"), std::string::npos);
}

TEST(ElementCount, HandCountedProducts) {
  EXPECT_EQ(smq::elementCount({}), 1);
  EXPECT_EQ(smq::elementCount({2, 3, 4}), 24);
  EXPECT_EQ(smq::elementCount({0, 1 << 30}), 0);
  EXPECT_FALSE(smq::elementCount({-1}));
  EXPECT_FALSE(smq::elementCount({1 << 21, 1 << 20}));
}

} // namespace
