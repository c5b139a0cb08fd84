// Do the reported confidence intervals mean what they say? Known data goes
// into a real PostgreSQL; the true per-group figures come from independent
// plain SQL; the plan's SQL runs once (the exact, bounded aggregates) and
// Release() then draws fresh noise 2000 times per query with the seeded test
// generator. A 95% interval must cover the truth between 93% and 97% of the
// time, for COUNT(*), COUNT(DISTINCT patient_id), SUM and AVG.
//
// Significance: each check counts 8000 independent trials (2000 releases x 4
// groups, independent noise per group). For a calibrated 95% interval the
// coverage has standard deviation sqrt(0.95 * 0.05 / 8000) = 0.24%, so the
// band [93%, 97%] is +-8 standard deviations: a correct implementation
// fails a check with probability below 1e-15 (two-sided binomial), and the
// seed is fixed, so the outcome is reproducible. The negative controls (a
// half-width interval; the former union-bound AVG interval) must land
// outside the band, which shows the test can fail.

#include <gtest/gtest.h>

#include <cmath>
#include <map>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/release/release.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kReleases = 2000;
const std::vector<std::string> kGroups = {"a", "b", "c", "d"};

// Every patient has exactly one row, so max_rows = 1 and max_groups = 4 (the
// whole domain) bound nothing: the bounded figures are the plain SQL figures
// of the clamped values.
constexpr const char* kCatalog = R"(
datasets:
  coverage:
    privacy_unit: patient_id
    defaults: { epsilon: 1, delta: 0, max_groups: 4, max_rows: 1 }
    limits: { max_epsilon_per_query: 10 }
    tables:
      visits:
        private: true
        columns:
          patient_id: { type: text }
          grp:   { type: text, domain: [a, b, c, d] }
          score: { type: int,  lower: 0, upper: 100 }
          stay:  { type: int,  lower: 0, upper: 100 }
          cost:  { type: real, lower: 0, upper: 50 }
)";

// score spreads over [-10, 115] (clamping matters) with a few NULLs; stay sits
// near the lower bound, far from the midpoint, where the count's noise moves
// a mean the most; cost is real-valued.
constexpr const char* kData = R"(
CREATE TABLE visits (patient_id text, grp text, score int, stay int, cost double precision);
INSERT INTO visits
SELECT 'p' || i, chr(97 + i % 4),
       CASE WHEN i % 50 = 0 THEN NULL ELSE (i * 37) % 121 - 10 + (i % 4) * 5 END,
       i % 7 + (i % 4),
       ((i * 13) % 1000) / 17.0
FROM generate_series(1, 8000) AS i;
)";

struct Coverage {
  int covered = 0;
  int trials = 0;
  double Rate() const { return trials == 0 ? 0 : static_cast<double>(covered) / trials; }
  void Add(bool hit) {
    covered += hit;
    ++trials;
  }
};

double AsDouble(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
}

bool Covers(const Interval& ci, double truth, double slack = 1e-9) {
  return ci.lower - slack <= truth && truth <= ci.upper + slack;
}

class CoverageTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->Exec(kData);
    catalog_ = new Catalog(ParseCatalog(kCatalog, "coverage.yaml"));
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete db_;
    catalog_ = nullptr;
    db_ = nullptr;
  }

  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_->DefaultDataset(), *statement.select);
  }

  ExactAggregates RunExact(const Plan& plan) {
    ConnectionPool pool(db_->url(), 1);
    Executor executor(pool);
    return executor.RunExact(plan);
  }

  // The truth per group from plain SQL, independent of the compiler: one
  // column per named expression, in group order a..d.
  std::vector<std::map<std::string, double>> Truth(
      const std::vector<std::pair<std::string, std::string>>& columns) {
    std::string sql = "SELECT grp";
    for (const auto& [name, expr] : columns) sql += ", (" + expr + ")::float8";
    sql += " FROM visits GROUP BY grp ORDER BY grp";
    pqxx::connection conn(db_->url());
    pqxx::work txn(conn);
    std::vector<std::map<std::string, double>> truth;
    for (const auto& row : txn.exec(sql)) {
      std::map<std::string, double> group;
      for (size_t i = 0; i < columns.size(); ++i) {
        group[columns[i].first] = row[static_cast<int>(i + 1)].as<double>();
      }
      truth.push_back(group);
    }
    return truth;
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* CoverageTest::db_ = nullptr;
Catalog* CoverageTest::catalog_ = nullptr;

const std::vector<std::pair<std::string, std::string>> kTruthColumns = {
    {"rows", "count(*)"},
    {"people", "count(DISTINCT patient_id)"},
    {"score_sum", "sum(LEAST(GREATEST(score, 0), 100))"},
    {"score_count", "count(score)"},
    // GREATEST and LEAST skip NULLs: filter them out of means and variances.
    {"score_avg", "avg(LEAST(GREATEST(score, 0), 100)::numeric) FILTER (WHERE score IS NOT NULL)"},
    {"stay_avg", "avg(LEAST(GREATEST(stay, 0), 100)::numeric)"},
    {"score_var", "var_pop(LEAST(GREATEST(score, 0), 100)::numeric) FILTER (WHERE score IS NOT NULL)"},
    {"score_sd", "stddev_pop(LEAST(GREATEST(score, 0), 100)::numeric) FILTER (WHERE score IS NOT NULL)"},
    {"cost_avg", "avg(LEAST(GREATEST(cost, 0), 50)::numeric)"},
};

// Output columns of the main query, in order.
enum Column { kGroup, kRows, kPeople, kScoreSum, kScoreCount, kScoreAvg, kStayAvg };
const char* kTruthOf[] = {"", "rows", "people", "score_sum", "score_count", "score_avg", "stay_avg"};

std::string MainQuery(const std::string& confidence) {
  return "SELECT grp, COUNT(*), COUNT(DISTINCT patient_id), SUM(score), COUNT(score), "
         "AVG(score), AVG(stay) FROM visits GROUP BY grp WITH PRIVACY (epsilon = 1" +
         (confidence.empty() ? std::string() : ", confidence = " + confidence) + ");";
}

// The exact aggregates PostgreSQL returns for the plan are the plain SQL
// figures: bounding does not bias the truth the intervals are judged against.
TEST_F(CoverageTest, BoundedAggregatesEqualThePlainSqlTruth) {
  Plan plan = Compile(MainQuery(""));
  ExactAggregates exact = RunExact(plan);
  auto truth = Truth(kTruthColumns);
  ASSERT_EQ(exact.measures.size(), kGroups.size());
  ASSERT_EQ(truth.size(), kGroups.size());
  for (size_t g = 0; g < kGroups.size(); ++g) {
    EXPECT_EQ(exact.keys[g].at(0).value_or(""), kGroups[g]);
    for (int c : {kRows, kPeople, kScoreSum, kScoreCount}) {
      const Measure& m = plan.measures[plan.outputs[c].measure];
      EXPECT_EQ(ToDouble(Rational(exact.measures[g][plan.outputs[c].measure]) * m.grid),
                truth[g][kTruthOf[c]])
          << plan.outputs[c].name;
    }
    for (int c : {kScoreAvg, kStayAvg}) {
      const PlanOutput& out = plan.outputs[c];
      const Measure& sum = plan.measures[out.measure];
      Rational mean = BoundsMidpoint(*sum.column) + Rational(exact.measures[g][out.measure]) * sum.grid /
                                                        Rational(exact.measures[g][out.count_measure]);
      EXPECT_NEAR(ToDouble(mean), truth[g][kTruthOf[c]], 1e-9) << out.name;
    }
  }
  // The data makes the test meaningful: clamping and NULLs matter, and stay's
  // mean sits far from its midpoint (50).
  EXPECT_GT(std::stoi(db_->QueryValue("SELECT count(*) FROM visits WHERE score > 100")), 100);
  EXPECT_GT(std::stoi(db_->QueryValue("SELECT count(*) FROM visits WHERE score < 0")), 100);
  EXPECT_LT(truth[0]["score_count"], truth[0]["rows"]);
  EXPECT_LT(truth[0]["stay_avg"], 10);
}

struct MainCoverage {
  Coverage by_column[7];
  Coverage halved[7];   // negative control: half the reported half-width
  Coverage old_avg[7];  // negative control: the former union-bound AVG interval
};

MainCoverage RunMain(const Plan& plan, const ExactAggregates& exact,
                     const std::vector<std::map<std::string, double>>& truth, uint64_t seed) {
  MainCoverage coverage;
  SeededRandom rng(seed);
  const Rational& confidence = plan.select.privacy.confidence;
  const Rational split = 1 - (1 - confidence) / 2;
  for (int run = 0; run < kReleases; ++run) {
    QueryResult result = Release(plan, exact, rng);
    EXPECT_EQ(result.rows.size(), kGroups.size());
    for (size_t g = 0; g < result.rows.size(); ++g) {
      for (int c = kRows; c <= kStayAvg; ++c) {
        const double value = AsDouble(result.rows[g][c]);
        const Interval& ci = *result.intervals[g][c];
        const double t = truth[g].at(kTruthOf[c]);
        coverage.by_column[c].Add(Covers(ci, t));
        const double lo = value - (value - ci.lower) / 2, hi = value + (ci.upper - value) / 2;
        coverage.halved[c].Add(Covers({lo, hi}, t));
      }
      // The interval releases used before: the sum's and the count's
      // intervals at 1 - alpha/2 each, and the extreme ratios. The noisy
      // count is the released COUNT(score) (the same draw the mean used).
      const PlanOutput& out = plan.outputs[kScoreAvg];
      const Measure& sum = plan.measures[out.measure];
      const double n = AsDouble(result.rows[g][kScoreCount]);
      const double mid = ToDouble(BoundsMidpoint(*sum.column));
      const double s = (AsDouble(result.rows[g][kScoreAvg]) - mid) * n;
      const double hs = ToDouble(Rational(MeasureHalfWidth(sum, split)) * sum.grid);
      const double hc = static_cast<double>(MeasureHalfWidth(plan.measures[out.count_measure], split));
      const double corners[] = {(s - hs) / (n - hc), (s - hs) / (n + hc), (s + hs) / (n - hc),
                                (s + hs) / (n + hc)};
      const Interval old{mid + *std::min_element(corners, corners + 4),
                         mid + *std::max_element(corners, corners + 4)};
      coverage.old_avg[kScoreAvg].Add(Covers(old, truth[g].at("score_avg")));
    }
  }
  return coverage;
}

TEST_F(CoverageTest, NinetyFivePercentIntervalsCoverNinetyFivePercent) {
  Plan plan = Compile(MainQuery(""));
  ASSERT_EQ(plan.select.privacy.confidence, Rational(95, 100));
  ExactAggregates exact = RunExact(plan);
  auto truth = Truth(kTruthColumns);
  MainCoverage coverage = RunMain(plan, exact, truth, 20240501);
  for (int c = kRows; c <= kStayAvg; ++c) {
    SCOPED_TRACE(plan.outputs[c].name);
    EXPECT_EQ(coverage.by_column[c].trials, kReleases * 4);
    EXPECT_GE(coverage.by_column[c].Rate(), 0.93);
    EXPECT_LE(coverage.by_column[c].Rate(), 0.97);
    // Negative control: an interval half as wide must fail the same check.
    EXPECT_LT(coverage.halved[c].Rate(), 0.93);
    std::printf("%-16s coverage %.4f (half-width control %.4f)\n", plan.outputs[c].name.c_str(),
                coverage.by_column[c].Rate(), coverage.halved[c].Rate());
  }
  // Negative control: the former union-bound AVG interval is honest but far
  // too wide — it over-covers and would fail the band.
  std::printf("former AVG interval coverage %.4f\n", coverage.old_avg[kScoreAvg].Rate());
  EXPECT_GT(coverage.old_avg[kScoreAvg].Rate(), 0.97);
}

TEST_F(CoverageTest, ConfidenceNinetyGivesNinetyPercentIntervals) {
  Plan plan = Compile(MainQuery("0.9"));
  ASSERT_EQ(plan.select.privacy.confidence, Rational(9, 10));
  ExactAggregates exact = RunExact(plan);
  auto truth = Truth(kTruthColumns);
  MainCoverage coverage = RunMain(plan, exact, truth, 77);
  // sd = sqrt(0.9 * 0.1 / 8000) = 0.34%: the band +-2% is +-5.9 sd (p < 1e-8).
  for (int c = kRows; c <= kStayAvg; ++c) {
    SCOPED_TRACE(plan.outputs[c].name);
    EXPECT_GE(coverage.by_column[c].Rate(), 0.88);
    EXPECT_LE(coverage.by_column[c].Rate(), 0.92);
    std::printf("%-16s coverage at 0.9: %.4f\n", plan.outputs[c].name.c_str(), coverage.by_column[c].Rate());
  }
}

// VARIANCE and STDDEV intervals are conservative by construction (three
// intervals at 1 - alpha/3 and the extremes over the box): they must cover at
// least 95% (minus the same 2% sampling allowance), and a real-valued AVG
// (grid-snapped sums) is calibrated like the integer one.
TEST_F(CoverageTest, VarianceIntervalsAreConservativeAndRealMeansCalibrated) {
  Plan plan = Compile(
      "SELECT grp, VARIANCE(score), STDDEV(score), AVG(cost) FROM visits GROUP BY grp "
      "WITH PRIVACY (epsilon = 2);");
  ExactAggregates exact = RunExact(plan);
  auto truth = Truth(kTruthColumns);
  const char* truth_of[] = {"", "score_var", "score_sd", "cost_avg"};
  Coverage coverage[4];
  Coverage halved[4];
  SeededRandom rng(99);
  double width_sum = 0;
  for (int run = 0; run < kReleases; ++run) {
    QueryResult result = Release(plan, exact, rng);
    ASSERT_EQ(result.rows.size(), kGroups.size());
    for (size_t g = 0; g < result.rows.size(); ++g) {
      for (int c = 1; c <= 3; ++c) {
        const double value = std::get<double>(result.rows[g][c]);
        const Interval& ci = *result.intervals[g][c];
        ASSERT_LE(ci.lower, value);
        ASSERT_GE(ci.upper, value);
        const double t = truth[g].at(truth_of[c]);
        coverage[c].Add(Covers(ci, t));
        halved[c].Add(Covers({value - (value - ci.lower) / 2, value + (ci.upper - value) / 2}, t));
        if (c == 1) width_sum += ci.upper - ci.lower;
      }
    }
  }
  for (int c = 1; c <= 3; ++c) {
    std::printf("%-10s coverage %.4f (half-width control %.4f)\n", plan.outputs[c].name.c_str(),
                coverage[c].Rate(), halved[c].Rate());
  }
  EXPECT_GE(coverage[1].Rate(), 0.93);
  EXPECT_GE(coverage[2].Rate(), 0.93);
  EXPECT_GE(coverage[3].Rate(), 0.93);
  EXPECT_LE(coverage[3].Rate(), 0.97);
  EXPECT_LT(halved[3].Rate(), 0.93);
  // Informative, not vacuous: far narrower than the possible range [0, 2500].
  EXPECT_LT(width_sum / (kReleases * 4), 250);
  // The expected half-width EXPLAIN can show is what the release reports for
  // groups of this size (the reported one is for this data's variance; the
  // expected one assumes half the largest variance, so compare loosely).
  const double expected = *ExpectedHalfWidth(plan, plan.outputs[1], 1960);
  EXPECT_GT(expected, 0.5 * width_sum / (kReleases * 4) / 2);
  EXPECT_LT(expected, 2.0 * width_sum / (kReleases * 4) / 2);
}

}  // namespace
}  // namespace dpql
