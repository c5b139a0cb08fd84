// MEDIAN and PERCENTILE: the planner's histogram measure (one epsilon share,
// one scale, bins over the declared bounds), the test thresholds against the
// exact distribution of the statistic's noise, and the estimate from noisy
// cells. The coverage of the released intervals is checked against real
// PostgreSQL in tests/integration/quantile_test.cpp.

#include "runtime/noise/quantile.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
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
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          wait:   { type: int, lower: 0, upper: 730 }
)";

Plan Compile(const std::string& text) {
  static const Catalog catalog = ParseCatalog(kCatalog, "test.yaml");
  ast::Statement statement = ParseStatement(text);
  return CompileSelect(*catalog.DefaultDataset(), *statement.select);
}

TEST(QuantilePlanTest, HistogramIsOneMeasureWithOneScale) {
  Plan plan = Compile(
      "SELECT site, MEDIAN(age), PERCENTILE(age, 0.9), COUNT(*) FROM visits GROUP BY site "
      "WITH PRIVACY (epsilon = 0.5);");
  // Both percentiles of age read one histogram; COUNT(*) is the other measure.
  ASSERT_EQ(plan.measures.size(), 2u);
  const Measure& h = plan.measures[plan.outputs[1].measure];
  EXPECT_EQ(plan.outputs[1].measure, plan.outputs[2].measure);
  EXPECT_EQ(h.kind, MeasureKind::kHistogram);
  EXPECT_EQ(h.epsilon, Rational(1, 4));  // half of 0.5, however many bins
  EXPECT_EQ(h.per_group_bound, 3);       // max_rows
  EXPECT_EQ(h.sensitivity, 6);           // max_groups x max_rows
  EXPECT_EQ(h.scale, Rational(24));
  // age 0..100: 101 whole numbers, one bin each.
  EXPECT_EQ(h.bins, 101);
  EXPECT_EQ(h.bin_width, Rational(1));
  EXPECT_EQ(h.bin_lower, Rational(0));
  EXPECT_EQ(plan.outputs[1].type, ValueType::kInt);
  EXPECT_EQ(plan.outputs[1].percentile, Rational(1, 2));
  EXPECT_EQ(plan.outputs[2].percentile, Rational(9, 10));
  EXPECT_EQ(plan.cost.epsilon, Rational(1, 2));
}

TEST(QuantilePlanTest, BinsCoverTheDeclaredBounds) {
  // wait 0..730: 731 values in bins of 6 whole numbers: 122 bins, the last partly beyond 730.
  Plan wait = Compile("SELECT MEDIAN(wait) FROM visits;");
  EXPECT_EQ(wait.measures[0].bins, 122);
  EXPECT_EQ(wait.measures[0].bin_width, Rational(6));
  // Real columns: 128 equal bins of the range.
  Plan cost = Compile("SELECT PERCENTILE(cost, 0.25) FROM visits;");
  EXPECT_EQ(cost.measures[0].bins, 128);
  EXPECT_EQ(cost.measures[0].bin_width, (Rational(100025, 100) + Rational(505, 10)) / 128);
  EXPECT_EQ(cost.measures[0].bin_lower, Rational(-505, 10));
  EXPECT_EQ(cost.outputs[0].type, ValueType::kReal);
  const std::string text = RenderPlan(cost);
  EXPECT_NE(text.find("histogram of cost clamped to [-50.5, 1000.25], 128 bins of width"), std::string::npos)
      << text;
  EXPECT_NE(text.find("percentile percentile: fraction 0.25"), std::string::npos) << text;
}

TEST(QuantilePlanTest, SqlBoundsRowsPerPersonAndCountsBins) {
  Plan plan = Compile("SELECT site, MEDIAN(age) FROM visits GROUP BY site;");
  // max_rows rows per person and group, chosen by a hash of person and bin.
  EXPECT_NE(plan.sql.find("ORDER BY hashint8extended(v0, hashtextextended(unit, 0)), v0) "
                          "FILTER (WHERE v0 IS NOT NULL))[1:"),
            std::string::npos)
      << plan.sql;
  // max_groups groups per person, as for every measure.
  EXPECT_NE(plan.sql.find("% dpql_keys < $"), std::string::npos) << plan.sql;
  EXPECT_NE(plan.sql.find("unnest(m0) AS b(bin)"), std::string::npos);
  EXPECT_NE(plan.sql.find("CASE WHEN t.\"age\" IS NULL THEN NULL"), std::string::npos);
}

// ---------------------------------------------------------------------------
// The thresholds against the exact distribution of E(j).

// PMF of a sum of n iid discrete Laplace(scale) on [-reach, reach] (mass
// beyond it is far below what the comparisons can see).
std::vector<long double> SumPmf(double scale, int n, int reach) {
  const long double r = std::exp(-1.0L / scale);
  std::vector<long double> x(2 * reach + 1, 0);
  for (int k = -reach; k <= reach; ++k) x[k + reach] = (1 - r) / (1 + r) * std::pow(r, std::abs(k));
  std::vector<long double> sum(2 * reach + 1, 0);
  sum[reach] = 1;  // the empty sum
  for (int t = 0; t < n; ++t) {
    std::vector<long double> next(2 * reach + 1, 0);
    for (int a = 0; a <= 2 * reach; ++a) {
      if (sum[a] < 1e-22L) continue;
      for (int b = 0; b <= 2 * reach; ++b) {
        const int c = a + b - reach;
        if (c >= 0 && c <= 2 * reach) next[c] += sum[a] * x[b];
      }
    }
    sum = std::move(next);
  }
  return sum;
}

// Exact P(E(j) >= q) for p = num/den: den * E = (den - num) S_A - num S_B.
long double ExactUpperTail(double scale, int bins, int j, int num, int den, double q, int reach) {
  const std::vector<long double> a = SumPmf(scale, j + 1, reach);
  const std::vector<long double> b = SumPmf(scale, bins - j - 1, reach);
  const long double limit = static_cast<long double>(q) * den;
  long double tail = 0;
  for (int sa = -reach; sa <= reach; ++sa) {
    const long double pa = a[sa + reach];
    if (pa < 1e-22L) continue;
    for (int sb = -reach; sb <= reach; ++sb) {
      if (static_cast<long double>(den - num) * sa - static_cast<long double>(num) * sb >= limit) {
        tail += pa * b[sb + reach];
      }
    }
  }
  return tail;
}

struct ThresholdCase {
  const char* scale;
  int bins;
  int num, den;
};

TEST(QuantileThresholdTest, MatchExactTailWithinTenPercent) {
  // alpha / 2 = 0.025 is the target tail of each one-sided test. Cornish-Fisher
  // with the exact fourth cumulant must land within 10% of it, across the
  // near-normal middle (many cells on both sides) and the edges where one or
  // two cells dominate (p = 0.1 at j = 0, p = 0.9 at the top).
  const ThresholdCase cases[] = {{"4", 16, 1, 2}, {"4", 16, 1, 10}, {"4", 16, 9, 10},
                                 {"10", 8, 1, 2}, {"10", 8, 1, 10}, {"2.5", 12, 3, 4}};
  for (const auto& c : cases) {
    const double scale = ToDouble(ParseDecimal(c.scale).value());
    const std::vector<double> q = QuantileTestThresholds(ParseDecimal(c.scale).value(), c.bins,
                                                         Rational(c.num, c.den), Rational(95, 100));
    const int reach = static_cast<int>(scale * 60 * std::sqrt(c.bins)) / 2 + 20;
    for (int j : {0, c.bins / 2, c.bins - 2}) {
      const long double tail = ExactUpperTail(scale, c.bins, j, c.num, c.den, q[j], reach);
      SCOPED_TRACE(testing::Message() << "scale " << c.scale << " bins " << c.bins << " p " << c.num << "/"
                                      << c.den << " j " << j << " q " << q[j]);
      EXPECT_LE(tail, 0.025L * 1.10L);
      EXPECT_GE(tail, 0.025L * 0.85L);
    }
  }
}

TEST(QuantileThresholdTest, NegativeControlPlainNormalIsTooNarrowWhereOneCellDominates) {
  // Without the kurtosis correction the threshold at j = 0 for p = 0.1 (E is
  // mostly 0.9 X_0, a Laplace) has a tail clearly above 0.025: the correction
  // is what the check above detects.
  const double scale = 4;
  const int bins = 16;
  const double k2 = internal::DiscreteLaplaceVariance(Rational(4));
  const double sigma = std::sqrt(k2 * (0.81 * 1 + 0.01 * (bins - 1)));
  const double normal_q = sigma * internal::StandardNormalQuantile(0.975);
  const long double tail = ExactUpperTail(scale, bins, 0, 1, 10, normal_q, 600);
  EXPECT_GT(tail, 0.025L * 1.10L) << tail;
}

TEST(QuantileThresholdTest, CumulantsMatchTheirDefinitions) {
  // Brute-force moments of the discrete Laplace at scale 3.
  const long double r = std::exp(-1.0L / 3);
  long double m2 = 0, m4 = 0;
  for (int k = -2000; k <= 2000; ++k) {
    const long double p = (1 - r) / (1 + r) * std::pow(r, std::abs(k));
    m2 += p * k * k;
    m4 += p * static_cast<long double>(k) * k * k * k;
  }
  EXPECT_NEAR(internal::DiscreteLaplaceVariance(Rational(3)), static_cast<double>(m2), 1e-9 * m2);
  EXPECT_NEAR(internal::DiscreteLaplaceFourthCumulant(Rational(3)), static_cast<double>(m4 - 3 * m2 * m2),
              1e-9 * m4);
  EXPECT_NEAR(internal::StandardNormalQuantile(0.975), 1.959963985, 1e-8);
}

// ---------------------------------------------------------------------------
// The estimate and the interval from given noisy cells.

std::vector<BigInt> Cells(std::initializer_list<int> values) {
  std::vector<BigInt> cells;
  for (int v : values) cells.emplace_back(v);
  return cells;
}

TEST(QuantileEstimateTest, InterpolatesInsideTheBinWhereTheRunningTotalReachesP) {
  const std::vector<double> q(4, 0.5);  // tiny thresholds: the interval is the data's bin
  // Total 100; half = 50 reached in bin 1 (10 + 60), 40 of its 60.
  QuantileEstimate e = EstimateQuantile(Cells({10, 60, 20, 10}), Rational(1, 2), q);
  EXPECT_EQ(e.bin, 1);
  EXPECT_NEAR(e.fraction, 40.0 / 60, 1e-12);
  EXPECT_EQ(e.lower_bin, 1);
  EXPECT_EQ(e.upper_bin, 1);
  // Negative noisy cells count as zero in the estimate.
  e = EstimateQuantile(Cells({-30, 0, 50, 50}), Rational(1, 10), q);
  EXPECT_EQ(e.bin, 2);
  // An empty histogram gives the middle of the range.
  e = EstimateQuantile(Cells({0, -3, 0, 0}), Rational(1, 2), q);
  EXPECT_EQ(e.bin, 2);
}

TEST(QuantileEstimateTest, WideThresholdsKeepMoreBins) {
  const std::vector<BigInt> cells = Cells({25, 25, 25, 25, 25, 25, 25, 25});
  // Statistic S(j) = 25 (j + 1) - 100: -75, -50, -25, 0, 25, 50, 75, 100.
  // The running count reaches exactly half at the end of bin 3, so the true
  // median is in bin 3, and bin 4 stays unless S(3) = 0 is significant.
  QuantileEstimate narrow = EstimateQuantile(cells, Rational(1, 2), std::vector<double>(8, 1));
  EXPECT_EQ(narrow.bin, 3);
  EXPECT_EQ(narrow.lower_bin, 3);
  EXPECT_EQ(narrow.upper_bin, 4);
  // q = 30: bin j kept when S(j) >= -30 and S(j-1) < 30: bins 2 to 5.
  QuantileEstimate wide = EstimateQuantile(cells, Rational(1, 2), std::vector<double>(8, 30));
  EXPECT_EQ(wide.lower_bin, 2);
  EXPECT_EQ(wide.upper_bin, 5);
}

TEST(QuantileEstimateTest, ExpectedHalfWidthShrinksWithTheGroupAndIsCapped) {
  const Rational scale(20);
  const std::vector<double> q = QuantileTestThresholds(scale, 125, Rational(1, 2), Rational(95, 100));
  // Median of 125 bins: bin ceil(62.5) - 1 = 62; 3000 rows are 24 per bin.
  const double hw = QuantileExpectedHalfWidthBins(scale, 125, Rational(1, 2), Rational(95, 100), 3000);
  EXPECT_NEAR(hw, q[62] / 24 + 1, 1e-9);
  EXPECT_GT(hw, 10);  // q is about 1.96 * 20 * sqrt(125 / 2) = 310 rows
  EXPECT_LT(QuantileExpectedHalfWidthBins(scale, 125, Rational(1, 2), Rational(95, 100), 30000), hw / 5);
  EXPECT_EQ(QuantileExpectedHalfWidthBins(scale, 125, Rational(1, 2), Rational(95, 100), 10), 125);
}

TEST(QuantileReleaseTest, ReleasesValuesInsideTheirIntervalsAndTheBounds) {
  Plan plan = Compile("SELECT site, MEDIAN(age), PERCENTILE(cost, 0.9) FROM visits GROUP BY site;");
  ExactAggregates exact;
  const int groups = 5;
  for (int g = 0; g < groups; ++g) {
    exact.keys.push_back({std::string(1, static_cast<char>('a' + g))});
    std::vector<BigInt> totals(plan.measures.size());
    std::vector<std::vector<BigInt>> histograms(plan.measures.size());
    for (size_t m = 0; m < plan.measures.size(); ++m) {
      histograms[m].assign(static_cast<size_t>(plan.measures[m].bins), BigInt(g * 3));
      totals[m] = BigInt(g * 3) * plan.measures[m].bins;
    }
    exact.measures.push_back(totals);
    exact.histograms.push_back(histograms);
  }
  SeededRandom rng(5);
  QueryResult result = Release(plan, exact, rng);
  ASSERT_EQ(result.rows.size(), 5u);
  for (size_t r = 0; r < result.rows.size(); ++r) {
    const int64_t median = std::get<int64_t>(result.rows[r][1]);
    const Interval& ci = *result.intervals[r][1];
    EXPECT_GE(median, 0);
    EXPECT_LE(median, 100);
    EXPECT_LE(ci.lower, static_cast<double>(median));
    EXPECT_GE(ci.upper, static_cast<double>(median));
    EXPECT_EQ(ci.lower, std::floor(ci.lower));  // whole numbers for an int column
    const double p90 = std::get<double>(result.rows[r][2]);
    const Interval& ci90 = *result.intervals[r][2];
    EXPECT_GE(p90, -50.5);
    EXPECT_LE(p90, 1000.25);
    EXPECT_LE(ci90.lower, p90);
    EXPECT_GE(ci90.upper, p90);
    EXPECT_GE(ci90.lower, -50.5);
    EXPECT_LE(ci90.upper, 1000.25);
  }
}

}  // namespace
}  // namespace dpql
