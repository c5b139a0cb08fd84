// MEDIAN and PERCENTILE against a real PostgreSQL: the plan's SQL bounds each
// person's rows, and the released 95% intervals cover the true percentile
// (computed by plain SQL, percentile_disc) at their stated rate.
//
// Coverage test. The plan's SQL runs once (RunExact); Release() then draws
// fresh noise kReleases times from the seeded test RNG. A correct 95% interval
// covers the truth with probability 0.95 or somewhat more (the interval is
// made of whole bins, and its hull can only add bins; see docs/PRIVACY.md), so
// the observed rate must lie in [0.93, 0.97]. With kReleases = 2000 and true
// rate 0.95 the standard error is 0.0049: the window is 4 standard errors
// wide on each side, so an exactly calibrated procedure fails it with
// probability below 1e-4 (two-sided). Negative control: the same noisy cells
// with thresholds computed for half the true noise scale must cover less than
// 0.93 of the time, or the test could not tell a wrong interval from a right one.

#include <gtest/gtest.h>

#include <cmath>
#include <pqxx/pqxx>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/ledger/ledger.h"
#include "runtime/noise/quantile.h"
#include "runtime/noise/samplers.h"
#include "runtime/release/release.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kReleases = 2000;

constexpr const char* kCatalog = R"(
datasets:
  study:
    privacy_unit: person
    defaults: { epsilon: 0.05, delta: 0, max_groups: 1, max_rows: 1 }
    limits: { max_epsilon_per_query: 2 }
    tables:
      scores:
        private: true
        columns:
          person: { type: text }
          arm:    { type: text, domain: [a, b] }
          value:  { type: int, lower: 0, upper: 999 }
          level:  { type: real, lower: 0, upper: 100 }
      visits:
        private: true
        columns:
          person: { type: text }
          value:  { type: int, lower: 0, upper: 999 }
)";

class QuantileTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    // One row per person; values dense in 0..999 (about 3 people per value,
    // 20-25 per bin of 8 values) with a skewed shape; `level` real-valued.
    db_->Exec(
        "CREATE TABLE scores (person text, arm text, value int, level double precision);"
        "INSERT INTO scores SELECT 'p' || i, CASE WHEN i % 2 = 0 THEN 'a' ELSE 'b' END, "
        "  floor(999 * power(i / 3000.0, 1.3))::int, "
        "  round((100 * power(((i * 7919) % 3000) / 3000.0, 0.7))::numeric, 3) "
        "FROM generate_series(1, 3000) AS i;"
        // visits: every person has 3 rows; with max_rows = 1 only one counts.
        "CREATE TABLE visits (person text, value int);"
        "INSERT INTO visits SELECT 'p' || (i % 500), (i * 37) % 1000 FROM generate_series(0, 1499) AS i;");
    catalog_ = new Catalog(ParseCatalog(kCatalog, "study.yaml"));
    Ledger ledger(db_->url());
    ledger.Init();
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete db_;
    catalog_ = nullptr;
    db_ = nullptr;
  }

  static Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_->DefaultDataset(), *statement.select);
  }

  static double Truth(const std::string& fraction, const std::string& column) {
    return std::stod(db_->QueryValue("SELECT percentile_disc(" + fraction + ") WITHIN GROUP (ORDER BY " +
                                     column + ") FROM scores"));
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* QuantileTest::db_ = nullptr;
Catalog* QuantileTest::catalog_ = nullptr;

TEST_F(QuantileTest, SqlCountsEveryPersonOnceInTheRightBin) {
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  Plan plan = Compile("SELECT MEDIAN(value) FROM visits;");
  ExactAggregates exact = executor.RunExact(plan);
  ASSERT_EQ(exact.histograms.size(), 1u);
  const std::vector<BigInt>& cells = exact.histograms[0][0];
  ASSERT_EQ(cells.size(), 125u);
  BigInt total = 0;
  for (const BigInt& c : cells) total += c;
  EXPECT_EQ(total, 500);  // 500 people with 3 rows each, max_rows = 1

  // scores has one row per person: the cells equal a plain SQL histogram.
  Plan scores = Compile("SELECT MEDIAN(value) FROM scores;");
  ExactAggregates s = executor.RunExact(scores);
  for (int bin : {0, 17, 62, 124}) {
    const std::string expected =
        db_->QueryValue("SELECT count(*) FROM scores WHERE value / 8 = " + std::to_string(bin));
    EXPECT_EQ(s.histograms[0][0][static_cast<size_t>(bin)], BigInt(expected)) << "bin " << bin;
  }
}

struct Coverage {
  int covered = 0;
  int covered_half_scale = 0;  // negative control
};

TEST_F(QuantileTest, IntervalsCoverTheTruePercentileAtTheirStatedRate) {
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  Plan plan = Compile(
      "SELECT MEDIAN(value) AS median_value, PERCENTILE(value, 0.75) AS p75_value, "
      "PERCENTILE(level, 0.5) AS median_level FROM scores WITH PRIVACY (epsilon = 0.15);");
  // Three outputs over two histograms: epsilon 0.075 each, scale 1 / 0.075.
  ASSERT_EQ(plan.measures.size(), 2u);
  EXPECT_EQ(plan.measures[0].scale, Rational(40, 3));
  const ExactAggregates exact = executor.RunExact(plan);  // once: the data do not change

  const double truths[] = {Truth("0.5", "value"), Truth("0.75", "value"), Truth("0.5", "level")};
  std::vector<Coverage> coverage(3);
  // The negative control's thresholds: half the true noise scale.
  std::vector<std::vector<double>> half_thresholds;
  for (const PlanOutput& out : plan.outputs) {
    const Measure& m = plan.measures[out.measure];
    half_thresholds.push_back(QuantileTestThresholds(m.scale / 2, m.bins, out.percentile, Rational(95, 100)));
  }

  SeededRandom rng(20240611);
  for (int i = 0; i < kReleases; ++i) {
    QueryResult result = Release(plan, exact, rng);
    ASSERT_EQ(result.rows.size(), 1u);
    for (size_t o = 0; o < 3; ++o) {
      const Interval& ci = *result.intervals[0][o];
      if (ci.lower <= truths[o] && truths[o] <= ci.upper) ++coverage[o].covered;
    }
  }
  // Negative control: the same kind of noisy cells, intervals too narrow.
  SeededRandom control_rng(99);
  for (int i = 0; i < kReleases; ++i) {
    for (size_t o = 0; o < 3; ++o) {
      const PlanOutput& out = plan.outputs[o];
      const Measure& m = plan.measures[out.measure];
      DiscreteLaplaceSampler sampler(m.scale);
      std::vector<BigInt> cells = exact.histograms[0][static_cast<size_t>(out.measure)];
      for (BigInt& c : cells) c += sampler.Sample(control_rng);
      QuantileEstimate e = EstimateQuantile(cells, out.percentile, half_thresholds[o]);
      const double w = ToDouble(m.bin_width), l = ToDouble(m.bin_lower);
      const bool integer = out.type == ValueType::kInt;
      const double lower = l + static_cast<double>(e.lower_bin) * w;
      const double upper = l + static_cast<double>(e.upper_bin + 1) * w - (integer ? 1 : 0);
      if (lower <= truths[o] && truths[o] <= upper) ++coverage[o].covered_half_scale;
    }
  }
  for (size_t o = 0; o < 3; ++o) {
    const double rate = static_cast<double>(coverage[o].covered) / kReleases;
    const double control = static_cast<double>(coverage[o].covered_half_scale) / kReleases;
    SCOPED_TRACE(plan.outputs[o].name + " truth " + std::to_string(truths[o]));
    EXPECT_GE(rate, 0.93);
    EXPECT_LE(rate, 0.97);
    EXPECT_LT(control, 0.93);
    std::printf("%s: coverage %.4f (half-scale control %.4f)\n", plan.outputs[o].name.c_str(), rate, control);
  }
}

TEST_F(QuantileTest, EngineReleasesPercentilesAndChargesOneShare) {
  ConnectionPool pool(db_->url(), 2);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(3));
  Ledger ledger(db_->url());
  ledger.AddAnalyst("quantile_analyst", "study", BudgetCost::FromGrant(Rational(1), Rational(0)), false);
  Caller caller{ledger.FindAnalyst("quantile_analyst")->id, "quantile_analyst"};

  QueryResult explain =
      engine.Run(caller, "study",
                 "EXPLAIN SELECT arm, MEDIAN(value) AS median_value, PERCENTILE(value, 0.9) FROM scores "
                 "GROUP BY arm WITH PRIVACY (epsilon = 0.5);");
  EXPECT_NE(explain.explain.find("histogram of value clamped to [0, 999], 125 bins of width 8"),
            std::string::npos)
      << explain.explain;
  EXPECT_NE(explain.explain.find("split evenly over 1 measure"), std::string::npos);

  QueryResult result =
      engine.Run(caller, "study",
                 "SELECT arm, MEDIAN(value) AS median_value, PERCENTILE(value, 0.9) FROM scores GROUP BY arm "
                 "WITH PRIVACY (epsilon = 0.5);");
  ASSERT_EQ(result.rows.size(), 2u);
  EXPECT_EQ(result.cost.epsilon, Rational(1, 2));
  ASSERT_TRUE(result.budget.has_value());
  EXPECT_EQ(result.budget->epsilon_spent, "0.5");
  EXPECT_EQ(result.columns[1].name, "median_value");
  EXPECT_EQ(result.columns[1].type, ValueType::kInt);
  EXPECT_TRUE(result.columns[1].noisy);
  for (size_t r = 0; r < 2; ++r) {
    const int64_t median = std::get<int64_t>(result.rows[r][1]);
    const int64_t p90 = std::get<int64_t>(result.rows[r][2]);
    const Interval& ci = *result.intervals[r][1];
    EXPECT_LE(ci.lower, static_cast<double>(median));
    EXPECT_GE(ci.upper, static_cast<double>(median));
    EXPECT_LE(median, p90 + 40);  // both from the same noisy histogram
    // At epsilon 0.5 with 1500 people per arm, the median is resolved to a few bins.
    const double truth = std::stod(db_->QueryValue(
        "SELECT percentile_disc(0.5) WITHIN GROUP (ORDER BY value) FROM scores WHERE arm = '" +
        std::get<std::string>(result.rows[r][0]) + "'"));
    EXPECT_LT(std::abs(static_cast<double>(median) - truth), 60) << median << " vs " << truth;
    EXPECT_LT(ci.upper - ci.lower, 120);
  }
}

}  // namespace
}  // namespace dpql
