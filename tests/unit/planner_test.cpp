// The planner's privacy arithmetic: sensitivities, the epsilon split, the
// group bound and the grid for real-valued sums; and the release step.

#include <gtest/gtest.h>

#include <cmath>
#include <tuple>

#include "compiler/catalog/catalog.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/noise/samplers.h"
#include "runtime/release/expected_error.h"
#include "runtime/release/release.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          kind:   { type: text, domain: [x, y] }
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          note:   { type: text }
          seen:   { type: date, lower: 2024-01-01, upper: 2026-12-31 }
)";

class PlannerTest : public ::testing::Test {
 protected:
  PlannerTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}
  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  }
  Catalog catalog_;
};

TEST_F(PlannerTest, CountSensitivityIsGroupsTimesRows) {
  Plan plan = Compile("SELECT site, COUNT(*) FROM visits GROUP BY site;");
  ASSERT_EQ(plan.measures.size(), 1u);
  EXPECT_TRUE(plan.bound_groups);  // 5 sites > max_groups 2
  EXPECT_EQ(plan.groups_bound, 2);
  EXPECT_EQ(plan.measures[0].per_group_bound, 3);
  EXPECT_EQ(plan.measures[0].sensitivity, 6);
  EXPECT_EQ(plan.measures[0].scale, Rational(6));
  EXPECT_EQ(plan.cost.epsilon, Rational(1));
  EXPECT_EQ(plan.cost.delta, Rational(0));
}

TEST_F(PlannerTest, SmallDomainNeedsNoGroupBound) {
  Plan plan = Compile("SELECT kind, COUNT(DISTINCT person) FROM visits GROUP BY kind;");
  EXPECT_FALSE(plan.bound_groups);
  EXPECT_EQ(plan.groups_bound, 2);
  EXPECT_EQ(plan.measures[0].sensitivity, 2);
  EXPECT_EQ(plan.sql.find("row_number"), std::string::npos);
  Plan none = Compile("SELECT COUNT(*) FROM visits;");
  EXPECT_EQ(none.groups_bound, 1);
  EXPECT_EQ(none.measures[0].sensitivity, 3);
}

// WHERE's top-level conjuncts on a key's column narrow its range domain;
// anything the narrowing cannot read leaves the domain whole.
TEST_F(PlannerTest, WhereNarrowsRangeDomainsToTheKeysItAllows) {
  auto range = [&](const std::string& text) {
    const Plan plan = Compile(text);
    const KeyDomain& d = plan.select.keys.at(0).domain;
    return d.first.str() + ".." + d.last.str() + " step " + d.step.str() + " (" +
           (d.size ? d.size->str() : "?") + ")";
  };
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age BETWEEN 20 AND 29 GROUP BY age;"),
            "20..29 step 1 (10)");
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age > 20 AND 30 > age GROUP BY age;"),
            "21..29 step 1 (9)");
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age >= 20.5 GROUP BY age;"), "21..100 step 1 (80)");
  EXPECT_EQ(range("SELECT BUCKET(age, 10), COUNT(*) FROM visits WHERE age >= 25 AND site = 'a' "
                  "GROUP BY BUCKET(age, 10);"),
            "20..100 step 10 (9)");
  // 2026-03-15 .. 2026-05-02 reaches the months March, April and May.
  Plan months = Compile(
      "SELECT DATE_TRUNC('month', seen), COUNT(*) FROM visits WHERE seen BETWEEN "
      "DATE '2026-03-15' AND DATE '2026-05-02' GROUP BY DATE_TRUNC('month', seen);");
  const KeyDomain& m = months.select.keys[0].domain;
  EXPECT_EQ(FormatDate(m.first.convert_to<int64_t>()), "2026-03-01");
  EXPECT_EQ(FormatDate(m.last.convert_to<int64_t>()), "2026-05-01");
  EXPECT_EQ(m.size, BigInt(3));
  EXPECT_NE(months.sql.find("row_number"), std::string::npos);  // 3 keys > max_groups 2

  // One key left: nobody can reach more than one group, so none is dropped
  // and the sensitivity is max_rows alone.
  Plan day = Compile("SELECT seen, COUNT(*) FROM visits WHERE seen = DATE '2026-06-01' GROUP BY seen;");
  EXPECT_EQ(day.select.keys[0].domain.size, BigInt(1));
  EXPECT_FALSE(day.bound_groups);
  EXPECT_EQ(day.measures[0].sensitivity, 3);
  EXPECT_EQ(day.sql.find("row_number"), std::string::npos);

  EXPECT_EQ(range("SELECT EXTRACT(YEAR FROM seen), COUNT(*) FROM visits WHERE seen >= "
                  "DATE '2026-06-01' GROUP BY EXTRACT(YEAR FROM seen);"),
            "2026..2026 step 1 (1)");
  EXPECT_EQ(range("SELECT EXTRACT(YEAR FROM seen), COUNT(*) FROM visits WHERE seen < "
                  "DATE '2025-01-01' GROUP BY EXTRACT(YEAR FROM seen);"),
            "2024..2024 step 1 (1)");
  EXPECT_EQ(range("SELECT EXTRACT(YEAR FROM seen), COUNT(*) FROM visits GROUP BY "
                  "EXTRACT(YEAR FROM seen);"),
            "2024..2026 step 1 (3)");

  // Not read: OR, NOT BETWEEN, arithmetic, another column, EXTRACT of a
  // field that is not monotone in the date.
  const std::string whole = "0..100 step 1 (101)";
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age < 10 OR age > 90 GROUP BY age;"), whole);
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age NOT BETWEEN 10 AND 90 GROUP BY age;"), whole);
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE age + 1 < 10 GROUP BY age;"), whole);
  EXPECT_EQ(range("SELECT age, COUNT(*) FROM visits WHERE cost < 10 GROUP BY age;"), whole);
  EXPECT_EQ(range("SELECT EXTRACT(MONTH FROM seen), COUNT(*) FROM visits WHERE seen < "
                  "DATE '2026-02-01' GROUP BY EXTRACT(MONTH FROM seen);"),
            "1..12 step 1 (12)");

  try {
    Compile("SELECT age, COUNT(*) FROM visits WHERE age > 100 GROUP BY age;");
    FAIL() << "a filter outside the bounds was accepted";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "empty_domain");
    EXPECT_EQ(e.location().column, 59);  // the key
    EXPECT_NE(std::string(e.what()).find("0 to 100"), std::string::npos) << e.what();
  }
}

// On an int column a fractional bound admits the integers on its side only:
// age > 50.5 keeps 51 (the former rounding dropped it), age < 50.5 keeps 50.
// Checked against brute force over every age in the bounds, for each
// comparison and literal, for the column itself and for BUCKET(age, 10).
TEST_F(PlannerTest, WhereOnAnIntColumnRoundsFractionalBoundsToTheIntegersTheyAdmit) {
  struct Literal {
    std::string text;
    Rational value;
  };
  const std::vector<Literal> literals = {{"50.5", Rational(101, 2)},  {"50", Rational(50)},
                                         {"49.9", Rational(499, 10)}, {"0.5", Rational(1, 2)},
                                         {"99.5", Rational(199, 2)},  {"100", Rational(100)},
                                         {"0", Rational(0)},          {"20.25", Rational(81, 4)},
                                         {"1e1", Rational(10)},       {"99.999", Rational(99999, 1000)}};
  const std::vector<std::string> ops = {">", ">=", "<", "<=", "="};
  auto admits = [](const std::string& op, int64_t x, const Rational& v) {
    if (op == ">") return Rational(x) > v;
    if (op == ">=") return Rational(x) >= v;
    if (op == "<") return Rational(x) < v;
    if (op == "<=") return Rational(x) <= v;
    return Rational(x) == v;
  };
  for (const Literal& literal : literals) {
    for (const std::string& op : ops) {
      for (int64_t width : {1, 10}) {
        const std::string key = width == 1 ? "age" : "BUCKET(age, 10)";
        const std::string text = "SELECT " + key + ", COUNT(*) FROM visits WHERE age " + op + " " +
                                 literal.text + " GROUP BY " + key + ";";
        SCOPED_TRACE(text);
        // The keys of the domain (those of the bounds 0..100) that an
        // admitted whole age reaches; an age beyond the bounds still reaches
        // a bucket of the domain (age 105 is in BUCKET 100).
        int64_t first = -1, last = -1;
        for (int64_t age = -20; age <= 120; ++age) {
          const int64_t k = (age >= 0 ? age / width : -((-age + width - 1) / width)) * width;
          if (!admits(op, age, literal.value) || k < 0 || k > 100) continue;
          if (first < 0) first = k;
          last = k;
        }
        try {
          const Plan plan = Compile(text);
          const KeyDomain& d = plan.select.keys.at(0).domain;
          ASSERT_GE(first, 0) << "no age is admitted, yet the domain is " << d.first << ".." << d.last;
          EXPECT_EQ(d.first, first);
          EXPECT_EQ(d.last, last);
        } catch (const DpqlError& e) {
          EXPECT_EQ(std::string(Name(e.code())), "empty_domain") << e.what();
          EXPECT_LT(first, 0) << "refused, yet ages from key " << first << " are admitted";
        }
      }
    }
  }
  // The mirrored form (literal op column) rounds the same way.
  const Plan mirrored = Compile(
      "SELECT age, COUNT(*) FROM visits WHERE 50.5 < age AND "
      "53.5 > age GROUP BY age;");
  EXPECT_EQ(mirrored.select.keys[0].domain.first, 51);
  EXPECT_EQ(mirrored.select.keys[0].domain.last, 53);
  const Plan between = Compile(
      "SELECT age, COUNT(*) FROM visits WHERE age BETWEEN 50.5 AND "
      "53.5 GROUP BY age;");
  EXPECT_EQ(between.select.keys[0].domain.first, 51);
  EXPECT_EQ(between.select.keys[0].domain.last, 53);
}

// RoundUpSignificant works in exact arithmetic for any positive rational,
// including ones far outside double (the former code took log10 of a double
// and cast it to int, undefined for 0 and infinity).
TEST(RoundUpSignificantTest, SixSignificantDigitsRoundedUpForAnyMagnitude) {
  EXPECT_EQ(RoundUpSignificant(Rational(1234567)), Rational(1234570));
  EXPECT_EQ(RoundUpSignificant(Rational(123456)), Rational(123456));
  EXPECT_EQ(RoundUpSignificant(Rational(1, 3)), Rational(333334, 1000000));
  EXPECT_EQ(RoundUpSignificant(Rational(1000000)), Rational(1000000));
  EXPECT_EQ(RoundUpSignificant(Rational(999999)), Rational(999999));
  EXPECT_EQ(RoundUpSignificant(Rational(9999995, 10)), Rational(1000000));
  const BigInt big = boost::multiprecision::pow(BigInt(10), 400);
  EXPECT_EQ(RoundUpSignificant(Rational(big)), Rational(big));
  EXPECT_EQ(RoundUpSignificant(Rational(big + 1)), Rational(big + big / 100000));
  EXPECT_EQ(RoundUpSignificant(Rational(BigInt(1), big)), Rational(BigInt(1), big));
  const Rational third_tiny(BigInt(1), 3 * big);  // 3.33...e-401
  const Rational rounded = RoundUpSignificant(third_tiny);
  EXPECT_GE(rounded, third_tiny);
  EXPECT_EQ(rounded, Rational(BigInt(333334), big * 1000000));
  try {
    RoundUpSignificant(Rational(0));
    FAIL() << "0 has no significant digits";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
  }
}

TEST_F(PlannerTest, EpsilonIsSplitExactlyBetweenMeasures) {
  Plan plan = Compile("SELECT AVG(age), COUNT(age), COUNT(*) FROM visits WITH PRIVACY (epsilon = 0.3);");
  // AVG(age) = centred sum(age) + count(age); COUNT(age) shares the count; COUNT(*) is a third.
  ASSERT_EQ(plan.measures.size(), 3u);
  for (const Measure& m : plan.measures) EXPECT_EQ(m.epsilon, Rational(1, 10));
  EXPECT_EQ(plan.outputs[0].count_measure, plan.outputs[1].measure);
  EXPECT_EQ(plan.cost.epsilon, Rational(3, 10));
}

TEST_F(PlannerTest, IntegerSumsUseAUnitGrid) {
  Plan plan = Compile("SELECT SUM(age) FROM visits;");
  EXPECT_EQ(plan.measures[0].grid, Rational(1));
  EXPECT_EQ(plan.measures[0].per_group_bound, 300);  // max_rows 3 x max |bound| 100
}

TEST_F(PlannerTest, RealSumsUseAPowerOfTwoGridFarBelowTheNoise) {
  Plan plan = Compile("SELECT kind, SUM(cost) FROM visits GROUP BY kind;");
  const Measure& m = plan.measures[0];
  // The grid is a power of two (numerator 1, denominator or value a power of 2)...
  BigInt num = boost::multiprecision::numerator(m.grid);
  BigInt den = boost::multiprecision::denominator(m.grid);
  EXPECT_TRUE((num == 1 && (den & (den - 1)) == 0) || (den == 1 && (num & (num - 1)) == 0));
  // ... at most 1/1024 of the noise scale in value units, and more than 1/2048.
  Rational value_scale = m.scale * m.grid;
  EXPECT_LE(m.grid * 1024, value_scale);
  EXPECT_GT(m.grid * 2048, value_scale);
  // The per-group bound covers max_rows x max(|lower|, |upper|) in grid units.
  EXPECT_GE(Rational(m.per_group_bound) * m.grid, Rational(3) * Rational(100025, 100));
  // The grid and bounds reach SQL as exact decimal parameters.
  bool found_grid = false;
  for (const auto& p : plan.params) found_grid = found_grid || *ParseDecimal(p) == m.grid;
  EXPECT_TRUE(found_grid);
}

TEST_F(PlannerTest, ReleaseClampsCountsAndMeansAndCoversValues) {
  Plan plan =
      Compile("SELECT kind, COUNT(*), AVG(age) FROM visits GROUP BY kind WITH PRIVACY (epsilon = 0.1);");
  ExactAggregates exact;
  exact.keys = {{std::string("x")}, {std::string("y")}};
  // m0 = count(*), m1 = sum(age - 50), m2 = count(age); tiny counts so noise dominates.
  exact.measures = {{BigInt(0), BigInt(0), BigInt(0)}, {BigInt(2), BigInt(50), BigInt(2)}};
  SeededRandom rng(1);
  int negative = 0;
  for (int trial = 0; trial < 200; ++trial) {
    QueryResult result = Release(plan, exact, rng);
    ASSERT_EQ(result.rows.size(), 2u);
    EXPECT_EQ(std::get<std::string>(result.rows[0][0]), "x");
    for (size_t r = 0; r < 2; ++r) {
      int64_t count = std::get<int64_t>(result.rows[r][1]);
      negative += count < 0;
      EXPECT_GE(result.intervals[r][1]->lower, 0);
      EXPECT_LE(result.intervals[r][1]->lower, count);
      EXPECT_GE(result.intervals[r][1]->upper, count);
      double mean = std::get<double>(result.rows[r][2]);
      EXPECT_GE(mean, 0);
      EXPECT_LE(mean, 100);
      EXPECT_GE(result.intervals[r][2]->lower, 0);
      EXPECT_LE(result.intervals[r][2]->upper, 100);
    }
  }
  EXPECT_EQ(negative, 0);
}

TEST_F(PlannerTest, ExpectedErrorIsTheReleasedIntervalBeforeSpending) {
  // For counts and sums the expected error EXPLAIN shows is exactly the
  // half-width every released value then carries.
  const std::string query =
      "SELECT kind, COUNT(*) AS n, SUM(cost) AS total, AVG(age) AS mean FROM visits "
      "GROUP BY kind WITH PRIVACY (epsilon = 0.5)";
  Plan plan = Compile(query + ";");
  std::vector<ExpectedError> errors = ExpectedErrors(plan);
  ASSERT_EQ(errors.size(), 3u);  // the key has no error
  EXPECT_EQ(errors[0].column, "n");
  EXPECT_EQ(errors[1].column, "total");
  EXPECT_EQ(errors[2].column, "mean");
  ASSERT_TRUE(errors[0].half_width && errors[1].half_width);
  EXPECT_FALSE(errors[2].half_width);  // a mean's error depends on the group's size
  ASSERT_EQ(errors[2].by_group_size.size(), 3u);
  EXPECT_GT(errors[2].by_group_size[0].second, errors[2].by_group_size[1].second);

  ExactAggregates exact;
  exact.keys = {{std::string("x")}, {std::string("y")}};
  exact.measures = {{BigInt(500), BigInt(40000), BigInt(9000), BigInt(500)},
                    {BigInt(700), BigInt(0), BigInt(30000), BigInt(700)}};
  SeededRandom rng(7);
  QueryResult result = Release(plan, exact, rng);
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const Interval& count = *result.intervals[r][1];
    const Interval& sum = *result.intervals[r][2];
    EXPECT_DOUBLE_EQ((count.upper - count.lower) / 2, *errors[0].half_width);
    EXPECT_NEAR((sum.upper - sum.lower) / 2, *errors[1].half_width, 1e-9);
  }

  // A lower confidence narrows it; EXPLAIN's text carries the section.
  Plan narrower = Compile(query.substr(0, query.size() - 1) + ", confidence = 0.9);");
  EXPECT_LT(*ExpectedErrors(narrower)[0].half_width, *errors[0].half_width);
  std::string text = ExplainPlan(plan);
  EXPECT_NE(text.find("Expected error (95%"), std::string::npos) << text;
  EXPECT_NE(text.find("  mean: "), std::string::npos) << text;
}

TEST_F(PlannerTest, ReleaseDrawsNoiseOncePerMeasureAndGroup) {
  // COUNT(age) and AVG(age) share the count measure: with a seeded source,
  // the released COUNT(age) must equal the count the mean divided by. SUM(age)
  // is uncentred, so AVG has its own centred sum.
  Plan plan = Compile("SELECT COUNT(age), SUM(age), AVG(age) FROM visits;");
  ASSERT_EQ(plan.measures.size(), 3u);
  EXPECT_EQ(plan.measures[0].kind, MeasureKind::kValueCount);
  EXPECT_EQ(plan.measures[1].kind, MeasureKind::kSum);
  EXPECT_EQ(plan.measures[2].kind, MeasureKind::kCentredSum);
  EXPECT_EQ(plan.outputs[2].count_measure, 0);
  ExactAggregates exact;
  exact.keys = {{}};
  // m0 = count(age), m1 = sum(age), m2 = sum(age - 50)
  exact.measures = {{BigInt(5000), BigInt(40000), BigInt(-210000)}};
  SeededRandom rng(42);
  QueryResult result = Release(plan, exact, rng);
  // The same draws, in the release's order (one per measure).
  SeededRandom replay(42);
  std::vector<BigInt> noise;
  for (const Measure& m : plan.measures) noise.push_back(DiscreteLaplaceSampler(m.scale).Sample(replay));
  const BigInt count = 5000 + noise[0];
  EXPECT_EQ(std::get<int64_t>(result.rows[0][0]), count.convert_to<int64_t>());
  EXPECT_EQ(std::get<int64_t>(result.rows[0][1]), (40000 + noise[1]).convert_to<int64_t>());
  EXPECT_DOUBLE_EQ(std::get<double>(result.rows[0][2]), 50 + ToDouble(Rational(-210000 + noise[2], count)));
}

TEST_F(PlannerTest, AvgSensitivityIsHalfTheBoundsWidth) {
  // age in [0, 100]: each row moves the centred sum by at most 50, where an
  // uncentred SUM needs 100; cost in [-50.5, 1000.25] by at most 525.375.
  Plan plan = Compile("SELECT AVG(age), AVG(cost) FROM visits;");
  ASSERT_EQ(plan.measures.size(), 4u);
  EXPECT_EQ(plan.measures[0].grid, Rational(1));
  EXPECT_EQ(plan.measures[0].per_group_bound, 150);  // max_rows 3 x 50
  EXPECT_GE(Rational(plan.measures[2].per_group_bound) * plan.measures[2].grid,
            Rational(3) * Rational(525375, 1000));
  EXPECT_LT(Rational(plan.measures[2].per_group_bound - 1) * plan.measures[2].grid,
            Rational(3) * Rational(525375, 1000));
}

TEST_F(PlannerTest, VarianceUsesCountCentredSumAndCentredSquares) {
  Plan plan = Compile(
      "SELECT kind, VARIANCE(age), STDDEV(age), AVG(age) FROM visits GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.6);");
  // Shared by all three outputs: centred sum, count, centred squares.
  ASSERT_EQ(plan.measures.size(), 3u);
  for (const Measure& m : plan.measures) EXPECT_EQ(m.epsilon, Rational(1, 5));
  for (int o = 1; o <= 3; ++o) {
    EXPECT_EQ(plan.outputs[o].measure, plan.outputs[1].measure);
    EXPECT_EQ(plan.outputs[o].count_measure, plan.outputs[1].count_measure);
    EXPECT_EQ(plan.outputs[o].type, ValueType::kReal);
  }
  EXPECT_EQ(plan.outputs[1].kind, OutputKind::kVariance);
  EXPECT_EQ(plan.outputs[2].kind, OutputKind::kStddev);
  EXPECT_EQ(plan.outputs[3].squares_measure, -1);
  const Measure& squares = plan.measures[plan.outputs[1].squares_measure];
  EXPECT_EQ(squares.kind, MeasureKind::kCentredSquares);
  // (age - 50)^2 - 1250 lies in [-1250, 1250]: 3 rows x 1250, on an exact grid of 1.
  EXPECT_EQ(squares.grid, Rational(1));
  EXPECT_EQ(squares.per_group_bound, 3750);
  EXPECT_EQ(squares.sensitivity, 7500);  // 2 groups (kind has two keys)
  EXPECT_EQ(squares.scale, Rational(37500));
  EXPECT_NE(plan.sql.find(" - $"), std::string::npos);
}

TEST_F(PlannerTest, OddIntegerRangesUseAnExactFractionalGrid) {
  // BUCKET aside, a column [0, 5]: midpoint 2.5 and offset 3.125 need grids
  // of 1/2 (the sum) and 1/8 (the squares) to stay exact.
  Catalog catalog = ParseCatalog(R"(
datasets:
  d:
    privacy_unit: person
    tables:
      t:
        private: true
        columns:
          person: { type: text }
          stars:  { type: int, lower: 0, upper: 5 }
)",
                                 "odd.yaml");
  ast::Statement statement = ParseStatement("SELECT VARIANCE(stars) FROM t;");
  Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
  const PlanOutput& out = plan.outputs[0];
  EXPECT_EQ(plan.measures[out.measure].grid, Rational(1, 2));
  EXPECT_EQ(plan.measures[out.measure].per_group_bound, 5);  // 2.5 / (1/2)
  EXPECT_EQ(plan.measures[out.squares_measure].grid, Rational(1, 8));
  EXPECT_EQ(plan.measures[out.squares_measure].per_group_bound, 25);  // 3.125 / (1/8)
}

TEST_F(PlannerTest, ReleasedVarianceStaysInRangeAndInsideItsInterval) {
  Plan plan = Compile(
      "SELECT kind, VARIANCE(age), STDDEV(age) FROM visits GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.05);");
  const PlanOutput& out = plan.outputs[1];
  ExactAggregates exact;
  exact.keys = {{std::string("x")}, {std::string("y")}};
  // Group x: 3 people, tiny (noise dominates). Group y: 100000 people of age
  // 50 +- 20 (mean 50, variance 400): sum of deviations 0, squares 400 - 1250.
  for (int g = 0; g < 2; ++g) exact.measures.emplace_back(3);
  exact.measures[0][out.count_measure] = 3;
  exact.measures[1][out.count_measure] = 100000;
  exact.measures[1][out.squares_measure] = BigInt(-850) * 100000;
  SeededRandom rng(4);
  int covered = 0;
  for (int trial = 0; trial < 200; ++trial) {
    QueryResult result = Release(plan, exact, rng);
    for (size_t r = 0; r < 2; ++r) {
      const double variance = std::get<double>(result.rows[r][1]);
      const double sd = std::get<double>(result.rows[r][2]);
      EXPECT_GE(variance, 0);
      EXPECT_LE(variance, 2500);  // ((100 - 0) / 2)^2
      EXPECT_DOUBLE_EQ(sd, std::sqrt(variance));
      for (int c = 1; c <= 2; ++c) {
        const Interval& ci = *result.intervals[r][c];
        const double v = std::get<double>(result.rows[r][c]);
        EXPECT_GE(ci.lower, 0);
        EXPECT_LE(ci.lower, v);
        EXPECT_GE(ci.upper, v);
      }
      EXPECT_LE(result.intervals[r][1]->upper, 2500);
    }
    // The large group: close to 400, and its interval holds it.
    EXPECT_NEAR(std::get<double>(result.rows[1][1]), 400, 40);
    covered += result.intervals[1][1]->lower <= 400 && result.intervals[1][1]->upper >= 400;
  }
  // A conservative 95% interval: binomial(200, >= 0.95) falls below 180 with
  // probability < 1e-3.
  EXPECT_GE(covered, 180);
}

TEST_F(PlannerTest, ExpectedHalfWidthMatchesWhatTheReleaseReports) {
  Plan plan = Compile(
      "SELECT COUNT(*), SUM(cost), AVG(age), VARIANCE(age), STDDEV(age) FROM visits "
      "WITH PRIVACY (epsilon = 0.5);");
  // Counts and sums: the measure's half-width whatever the group size.
  EXPECT_EQ(*ExpectedHalfWidth(plan, plan.outputs[0], 10),
            static_cast<double>(MeasureHalfWidth(plan.measures[plan.outputs[0].measure], Rational(95, 100))));
  const Measure& sum = plan.measures[plan.outputs[1].measure];
  EXPECT_DOUBLE_EQ(*ExpectedHalfWidth(plan, plan.outputs[1], 10),
                   ToDouble(Rational(MeasureHalfWidth(sum, Rational(95, 100))) * sum.grid));
  // AVG: shrinks like 1/n, never beyond half the bounds' width.
  const double avg_1k = *ExpectedHalfWidth(plan, plan.outputs[2], 1000);
  const double avg_10k = *ExpectedHalfWidth(plan, plan.outputs[2], 10000);
  EXPECT_NEAR(avg_1k / avg_10k, 10, 1e-6);
  EXPECT_EQ(*ExpectedHalfWidth(plan, plan.outputs[2], 1), 50);
  // VARIANCE and STDDEV: the release's interval for noise-free figures with
  // mean 50 and variance 1250.
  const double var_hw = *ExpectedHalfWidth(plan, plan.outputs[3], 5000);
  const double sd_hw = *ExpectedHalfWidth(plan, plan.outputs[4], 5000);
  EXPECT_GT(var_hw, 0);
  EXPECT_LT(var_hw, 1250);
  EXPECT_GT(sd_hw, 0);
  EXPECT_LT(sd_hw, var_hw);
  EXPECT_GT(*ExpectedHalfWidth(plan, plan.outputs[3], 500), var_hw);
}

}  // namespace
}  // namespace dpql

namespace dpql {
namespace {

TEST_F(PlannerTest, HavingOrderByAndLimitActOnTheNoisyOutput) {
  Plan plan = Compile(
      "SELECT site, COUNT(*) AS n FROM visits GROUP BY site HAVING n >= 1000 ORDER BY n DESC, "
      "site LIMIT 2 WITH PRIVACY (epsilon = 4);");
  ExactAggregates exact;
  // Sites a..e with counts far apart compared with the noise (scale 6/4).
  for (const char* site : {"a", "b", "c", "d", "e"}) exact.keys.push_back({std::string(site)});
  exact.measures = {{BigInt(5000)}, {BigInt(10)}, {BigInt(9000)}, {BigInt(2000)}, {BigInt(7000)}};
  SeededRandom rng(9);
  QueryResult result = Release(plan, exact, rng);
  ASSERT_EQ(result.rows.size(), 2u);
  ASSERT_EQ(result.intervals.size(), 2u);
  EXPECT_EQ(std::get<std::string>(result.rows[0][0]), "c");
  EXPECT_EQ(std::get<std::string>(result.rows[1][0]), "e");
  // Each row kept its own interval.
  EXPECT_LE(result.intervals[0][1]->lower, static_cast<double>(std::get<int64_t>(result.rows[0][1])));
  EXPECT_GT(result.intervals[0][1]->lower, 8000);

  Plan filtered = Compile("SELECT site, COUNT(*) AS n FROM visits GROUP BY site HAVING n < 100;");
  QueryResult small = Release(filtered, exact, rng);
  ASSERT_EQ(small.rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(small.rows[0][0]), "b");
}

}  // namespace
}  // namespace dpql

namespace dpql {
namespace {

// A group held by one person must appear with probability at most
// delta' = 1 - (1 - delta)^(1/max_groups), computed here exactly enough in
// long double from the discrete Laplace tail P(X >= k) = r^k / (1 + r).
TEST(PartitionSelectionTest, ThresholdBoundsTheReleaseOfASinglePersonsGroup) {
  for (const auto& [scale, delta, groups] :
       std::vector<std::tuple<Rational, Rational, int64_t>>{{Rational(8), Rational(1, 1000000), 4},
                                                            {Rational(1, 2), Rational(1, 100000), 1},
                                                            {Rational(40), Rational(1, 1000000000), 10},
                                                            {Rational(3), Rational(1, 1000), 2}}) {
    int64_t threshold = PartitionSelectionThreshold(scale, delta, groups);
    long double d = ToDouble(delta);
    long double per_group = -std::expm1(std::log1p(-d) / groups);
    long double r = std::exp(-1.0L / ToDouble(scale));
    auto release_probability = [&](int64_t t) {  // P(1 + X >= t)
      return std::pow(r, static_cast<long double>(t - 1)) / (1 + r);
    };
    EXPECT_LE(release_probability(threshold), per_group) << "scale " << ToDouble(scale);
    // ... and not wastefully high: a few steps lower already breaks the bound.
    EXPECT_GT(release_probability(threshold - 3), per_group) << "scale " << ToDouble(scale);
  }
}

TEST_F(PlannerTest, KeysWithoutDomainUsePartitionSelectionOnlyWithDelta) {
  // The catalog's default delta is 0: a key without a domain is refused.
  try {
    Compile("SELECT note, COUNT(*) FROM visits GROUP BY note;");
    FAIL() << "a key without a public domain was accepted with delta = 0";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "no_public_domain");
  }
  Plan plan =
      Compile("SELECT note, COUNT(DISTINCT person) FROM visits GROUP BY note WITH PRIVACY (delta = 1e-6);");
  EXPECT_TRUE(plan.partition_selection);
  EXPECT_TRUE(plan.bound_groups);
  ASSERT_EQ(plan.measures.size(), 1u);  // the released count is the selection count
  EXPECT_EQ(plan.selection_measure, 0);
  EXPECT_EQ(plan.cost.delta, Rational(1, 1000000));
  EXPECT_EQ(plan.selection_threshold,
            PartitionSelectionThreshold(plan.measures[0].scale, Rational(1, 1000000), 2));
  EXPECT_EQ(plan.sql.find("dpql_domain"), std::string::npos);
}

}  // namespace
}  // namespace dpql
