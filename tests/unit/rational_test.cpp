// Exactness of the rational helpers every privacy parameter goes through.

#include "compiler/common/rational.h"

#include <gtest/gtest.h>

namespace dpql {
namespace {

Rational Parse(std::string_view text) {
  std::optional<Rational> value = ParseDecimal(text);
  EXPECT_TRUE(value.has_value()) << "ParseDecimal rejected \"" << text << "\"";
  return value.value_or(Rational(0));
}

TEST(RationalParse, TenTimesOneTenthIsExactlyOne) {
  const Rational tenth = Parse("0.1");
  Rational sum = 0;
  for (int i = 0; i < 10; ++i) sum += tenth;
  EXPECT_EQ(sum, Rational(1));
  EXPECT_EQ(tenth, Rational(1, 10));
}

TEST(RationalParse, Integers) {
  EXPECT_EQ(Parse("12"), Rational(12));
  EXPECT_EQ(Parse("0"), Rational(0));
  EXPECT_EQ(Parse("-7"), Rational(-7));
  EXPECT_EQ(Parse("+7"), Rational(7));
}

TEST(RationalParse, NegativeDecimal) { EXPECT_EQ(Parse("-2.5"), Rational(-5, 2)); }

TEST(RationalParse, Exponents) {
  EXPECT_EQ(Parse("1e-6"), Rational(1, 1000000));
  EXPECT_EQ(Parse("2.5E+3"), Rational(2500));
  EXPECT_EQ(Parse("1.25e2"), Rational(125));
  EXPECT_EQ(Parse("-3E-2"), Rational(-3, 100));
}

TEST(RationalParse, ExactBeyondDoublePrecision) {
  // 0.1 + 1e-30 is indistinguishable from 0.1 as a double, but not here.
  const Rational value = Parse("0.100000000000000000000000000001");
  EXPECT_NE(value, Rational(1, 10));
  EXPECT_EQ(value - Rational(1, 10), Rational(BigInt(1), boost::multiprecision::pow(BigInt(10), 30)));
}

TEST(RationalParse, LeadingOrTrailingDot) {
  EXPECT_EQ(Parse(".5"), Rational(1, 2));
  EXPECT_EQ(Parse("5."), Rational(5));
}

TEST(RationalParse, RejectsDoubleDot) { EXPECT_FALSE(ParseDecimal("1..2").has_value()); }
TEST(RationalParse, RejectsLetters) { EXPECT_FALSE(ParseDecimal("abc").has_value()); }
TEST(RationalParse, RejectsEmpty) { EXPECT_FALSE(ParseDecimal("").has_value()); }
TEST(RationalParse, RejectsExponentWithoutDigits) { EXPECT_FALSE(ParseDecimal("1e").has_value()); }
TEST(RationalParse, RejectsInfinityAndNan) {
  EXPECT_FALSE(ParseDecimal("inf").has_value());
  EXPECT_FALSE(ParseDecimal("-inf").has_value());
  EXPECT_FALSE(ParseDecimal("nan").has_value());
}
TEST(RationalParse, RejectsHex) { EXPECT_FALSE(ParseDecimal("0x10").has_value()); }
TEST(RationalParse, RejectsLoneSignAndDot) {
  EXPECT_FALSE(ParseDecimal("-").has_value());
  EXPECT_FALSE(ParseDecimal(".").has_value());
  EXPECT_FALSE(ParseDecimal("--1").has_value());
}
TEST(RationalParse, RejectsTrailingGarbage) {
  EXPECT_FALSE(ParseDecimal("1.5x").has_value());
  EXPECT_FALSE(ParseDecimal(" 1").has_value());
  EXPECT_FALSE(ParseDecimal("1 ").has_value());
}

TEST(RationalRounding, FloorAndCeilOnPositives) {
  EXPECT_EQ(Floor(Rational(7, 2)), BigInt(3));
  EXPECT_EQ(Ceil(Rational(7, 2)), BigInt(4));
  EXPECT_EQ(Floor(Rational(4)), BigInt(4));
  EXPECT_EQ(Ceil(Rational(4)), BigInt(4));
}

TEST(RationalRounding, FloorAndCeilOnNegatives) {
  EXPECT_EQ(Floor(Rational(-7, 2)), BigInt(-4));
  EXPECT_EQ(Ceil(Rational(-7, 2)), BigInt(-3));
  EXPECT_EQ(Floor(Rational(-1, 1000)), BigInt(-1));
  EXPECT_EQ(Ceil(Rational(-1, 1000)), BigInt(0));
  EXPECT_EQ(Floor(Rational(-4)), BigInt(-4));
  EXPECT_EQ(Ceil(Rational(-4)), BigInt(-4));
}

TEST(RationalConvert, ToInt64Range) {
  EXPECT_EQ(ToInt64(BigInt(-5)), std::optional<int64_t>(-5));
  EXPECT_EQ(ToInt64(BigInt(INT64_MAX)), std::optional<int64_t>(INT64_MAX));
  EXPECT_FALSE(ToInt64(BigInt(INT64_MAX) + 1).has_value());
  EXPECT_FALSE(ToInt64(BigInt(INT64_MIN) - 1).has_value());
}

}  // namespace
}  // namespace dpql
