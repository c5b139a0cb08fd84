// Privacy is measured, not assumed: an empirical differential-privacy audit of
// the whole pipeline. Each query goes DPQL text -> parser -> binder -> planner
// -> SQL, runs on a real PostgreSQL holding D (with one influential patient)
// and on D' (without any of that patient's rows: user-level neighbours), once
// each (the exact, bounded aggregates); then the production Release() adds
// fresh noise kTrials times per database, drawing from the test-only seeded
// generator. The released figure is bucketed and the approximate-DP test
// (tests/support/dp_audit.h, after Google's VerifyApproximateDp) is applied at
// the query's own epsilon and delta, in both directions.
//
// Significance. The tolerance is not a tuned constant: it is
//   the sampling bias of the estimate (plug-in bound, dp_audit.h)
// + the deviation McDiarmid's inequality allows at kAlpha: one trial moves a
//   direction's test value by at most 1/N (a D sample) or e^eps/N (a D'
//   sample), so P(T - E[T] >= t) <= exp(-2 t^2 N / (1 + e^{2 eps})).
// A mechanism that is (eps, delta)-DP therefore fails a direction with
// probability at most kAlpha / 2, a test at most kAlpha = 1e-6. The seed is
// fixed, so the outcome is reproducible; no majority vote is needed at this
// level.
//
// Negative controls: the same plan with every noise scale divided by a factor
// (Laplace scale / f, Gaussian sigma^2 / f^2) -- an under-scaled mechanism
// that still claims the query's epsilon and delta -- must be rejected. The
// factor is per kind and stated with it: a released mean or variance reads
// only its own share of epsilon (the sum's eps/2 or eps/3 of the budget), a
// released percentile a coarse function of a noisy histogram, and the
// Gaussian's (eps, delta) claim comes from a conversion of rho with slack, so
// a factor 2 there is invisible to any test at the claimed (eps, delta).
//
// The partition-selection audit counts how often a key held by one patient is
// released and applies a one-sided binomial test of P <= delta at kAlpha.

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/executor.h"
#include "runtime/noise/noise_source.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/release/release.h"
#include "tests/support/dp_audit.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int64_t kTrials = 100000;  // releases per database (and per control)
constexpr double kAlpha = 1e-6;      // false-rejection probability of one test

// Every patient has one row except the influential one, who has three rows at
// the upper bounds (max_rows = 2 keeps two): the largest contribution a
// person can make, so the neighbours are as far apart as the bounds allow.
// Ward 'b' belongs to that patient alone (its key is public, so it is output
// on both databases, empty on D'); area 'solo' too (no public domain).
constexpr const char* kCatalog = R"(
datasets:
  audit:
    privacy_unit: patient_id
    defaults: { epsilon: 1, delta: 0, max_groups: 1, max_rows: 2 }
    limits: { max_epsilon_per_query: 10, max_delta_per_query: 0.05 }
    tables:
      visits:
        private: true
        columns:
          patient_id: { type: text }
          ward:  { type: text, domain: [a, b] }
          level: { type: int, lower: 0, upper: 10 }
          area:  { type: text }
)";

// D': 200 patients in ward a at the midpoint level 5 (so a mean or variance
// moves as much as one patient can move it) in area 'common'.
constexpr const char* kNeighbour = R"(
CREATE TABLE visits (patient_id text, ward text, level int, area text);
INSERT INTO visits SELECT 'p' || i, 'a', 5, 'common' FROM generate_series(1, 200) AS i;
)";
// D: D' plus patient p0's three rows at level 10 in ward b, area 'solo'.
constexpr const char* kPatient = R"(
INSERT INTO visits SELECT 'p0', 'b', 10, 'solo' FROM generate_series(1, 3);
)";

// Draws no noise: the noise-free figures a release would show, which place
// the histogram's buckets. Never used for the audited releases.
class ZeroNoise final : public NoiseSource {
 public:
  BigInt Draw(const NoiseSpec&) override { return 0; }
  RandomSource& Random() override { return rng_; }

 private:
  SeededRandom rng_{0};
};

double AsDouble(const Value& v) {
  return std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v)) : std::get<double>(v);
}

// An under-scaled mechanism: every measure's noise divided by `factor`, the
// claimed epsilon and delta unchanged.
void UnderScale(Plan& plan, int64_t factor) {
  for (Measure& m : plan.measures) {
    m.scale /= factor;
    m.sigma2 /= factor * factor;
  }
}

// One audited figure: a query, the group whose figure is histogrammed ("" for
// a query without GROUP BY), the output column, and the control's factor.
struct AuditCase {
  std::string kind;
  std::string query;
  std::string group;
  int column = 0;
  int64_t control_factor = 2;
  double fixed_width = 0;  // > 0: bucket width (e.g. 1 for integer percentiles)
};

struct AuditFigures {
  double value = 0, tolerance = 0, delta = 0;
  int64_t buckets = 0;
};

class DpAuditTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    d_ = new TestDatabase();
    d_prime_ = new TestDatabase();
    d_prime_->Exec(kNeighbour);
    d_->Exec(kNeighbour);
    d_->Exec(kPatient);
    catalog_ = new Catalog(ParseCatalog(kCatalog, "audit.yaml"));
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete d_prime_;
    delete d_;
    catalog_ = nullptr;
    d_prime_ = d_ = nullptr;
  }

  static Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_->DefaultDataset(), *statement.select);
  }

  static ExactAggregates RunExact(const Plan& plan, TestDatabase& db) {
    ConnectionPool pool(db.url(), 1);
    Executor executor(pool);
    return executor.RunExact(plan);
  }

  // The released row of `group` ("" = the only row), or nullptr when the
  // release suppressed it.
  static const std::vector<Value>* FindRow(const QueryResult& result, const std::string& group) {
    for (const auto& row : result.rows) {
      if (group.empty() || std::get<std::string>(row.at(0)) == group) return &row;
    }
    return nullptr;
  }

  static double NoiseFree(const Plan& plan, const ExactAggregates& exact, const AuditCase& c) {
    ZeroNoise zero;
    QueryResult result = Release(plan, exact, zero);
    const std::vector<Value>* row = FindRow(result, c.group);
    EXPECT_NE(row, nullptr);
    return row ? AsDouble(row->at(c.column)) : 0;
  }

  static OutputHistogram Sample(const Plan& plan, const ExactAggregates& exact, const AuditCase& c,
                                double origin, double width, uint64_t seed) {
    SeededRandom rng(seed);
    DirectNoise noise(rng);
    OutputHistogram histogram;
    for (int64_t t = 0; t < kTrials; ++t) {
      QueryResult result = Release(plan, exact, noise);
      const std::vector<Value>* row = FindRow(result, c.group);
      if (row == nullptr) {
        ++histogram[INT64_MIN];  // suppressed: an output of its own
        continue;
      }
      ++histogram[LatticeBucket(AsDouble(row->at(c.column)), origin, width)];
    }
    return histogram;
  }

  // Runs the test at the query's claimed (epsilon, delta) for the plan as
  // compiled (control_factor 1) or under-scaled.
  static AuditFigures Audit(const AuditCase& c, int64_t control_factor, uint64_t seed) {
    Plan plan = Compile(c.query);
    const ExactAggregates exact_d = RunExact(plan, *d_);
    const ExactAggregates exact_d_prime = RunExact(plan, *d_prime_);
    // Buckets one patient's noise-free effect wide, with the noise-free
    // figures at bucket centres: a shift by the sensitivity is then a shift
    // by about one bucket, as tight as a test of this figure can be.
    const double on_d = NoiseFree(plan, exact_d, c);
    const double on_d_prime = NoiseFree(plan, exact_d_prime, c);
    const double width = c.fixed_width > 0 ? c.fixed_width : std::fabs(on_d - on_d_prime);
    EXPECT_GT(width, 0) << c.kind << ": the patient does not move the figure";
    const double origin = on_d_prime - width / 2;
    if (control_factor > 1) UnderScale(plan, control_factor);
    const OutputHistogram d = Sample(plan, exact_d, c, origin, width, seed);
    const OutputHistogram d_prime = Sample(plan, exact_d_prime, c, origin, width, seed + 1);

    const double epsilon = ToDouble(plan.select.privacy.epsilon);
    const double delta = ToDouble(plan.cost.delta);
    const double tolerance = ApproximateDpTolerance(d, d_prime, kTrials, epsilon, kAlpha);
    const ApproximateDpResult result = VerifyApproximateDp(d, d_prime, kTrials, epsilon, delta, tolerance);
    std::printf(
        "[ dp audit ] %-22s x%-2lld eps %.3g delta %.3g: test value %.4f / %.4f, bound "
        "%.4f, %zu/%zu buckets -> %s\n",
        c.kind.c_str(), static_cast<long long>(control_factor), epsilon, delta, result.forward,
        result.backward, result.bound, d.size(), d_prime.size(), result.accepted() ? "accepted" : "REJECTED");
    return {result.worst(), tolerance, delta, static_cast<int64_t>(d.size())};
  }

  // The claimed mechanism passes; the under-scaled one is rejected.
  static void ExpectAuditPassesAndControlFails(const AuditCase& c, uint64_t seed) {
    const AuditFigures figures = Audit(c, 1, seed);
    EXPECT_LE(figures.value, figures.delta + figures.tolerance)
        << c.kind << " at its claimed epsilon and delta";
    const AuditFigures control = Audit(c, c.control_factor, seed + 100);
    EXPECT_GT(control.value, control.delta + control.tolerance)
        << c.kind << ": the mechanism under-scaled " << c.control_factor << "x was not detected";
  }

  static TestDatabase* d_;
  static TestDatabase* d_prime_;
  static Catalog* catalog_;
};

TestDatabase* DpAuditTest::d_ = nullptr;
TestDatabase* DpAuditTest::d_prime_ = nullptr;
Catalog* DpAuditTest::catalog_ = nullptr;

// The neighbours are what the audit needs: the patient is the only
// difference, and moves every measure by its full per-group bound.
TEST_F(DpAuditTest, NeighboursDifferInOnePatientAtTheBounds) {
  EXPECT_EQ(d_->QueryValue("SELECT count(*) FROM visits"), "203");
  EXPECT_EQ(d_prime_->QueryValue("SELECT count(*) FROM visits"), "200");
  EXPECT_EQ(d_prime_->QueryValue("SELECT count(*) FROM visits WHERE patient_id = 'p0'"), "0");
  Plan plan = Compile("SELECT COUNT(*), COUNT(DISTINCT patient_id), SUM(level) FROM visits;");
  const ExactAggregates on_d = RunExact(plan, *d_);
  const ExactAggregates on_d_prime = RunExact(plan, *d_prime_);
  ASSERT_EQ(on_d.measures.size(), 1u);
  ASSERT_EQ(on_d_prime.measures.size(), 1u);
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    EXPECT_EQ(on_d.measures[0][m] - on_d_prime.measures[0][m], plan.measures[m].sensitivity)
        << "measure " << m << " does not move by its sensitivity";
  }
}

TEST_F(DpAuditTest, CountStar) {
  ExpectAuditPassesAndControlFails(
      {"COUNT(*)", "SELECT COUNT(*) FROM visits WITH PRIVACY (epsilon = 1);", "", 0, 2}, 1000);
}

TEST_F(DpAuditTest, CountDistinctPatients) {
  ExpectAuditPassesAndControlFails({"COUNT(DISTINCT)",
                                    "SELECT COUNT(DISTINCT patient_id) FROM visits "
                                    "WITH PRIVACY (epsilon = 1);",
                                    "", 0, 2},
                                   2000);
}

TEST_F(DpAuditTest, Sum) {
  ExpectAuditPassesAndControlFails(
      {"SUM", "SELECT SUM(level) FROM visits WITH PRIVACY (epsilon = 1);", "", 0, 2}, 3000);
}

// AVG reads two measures at eps/2 each; the released mean moves with the sum
// (the count hardly moves it), so its own loss is about eps/2: the control
// divides the scales by 4, putting the sum's share at 2 eps.
TEST_F(DpAuditTest, Avg) {
  ExpectAuditPassesAndControlFails(
      {"AVG", "SELECT AVG(level) FROM visits WITH PRIVACY (epsilon = 1);", "", 0, 4}, 4000);
}

// VARIANCE and STDDEV read three measures at eps/3 each; the released figure
// moves with the sum of squares: factor 6 puts that share at 2 eps.
TEST_F(DpAuditTest, Variance) {
  ExpectAuditPassesAndControlFails(
      {"VARIANCE", "SELECT VARIANCE(level) FROM visits WITH PRIVACY (epsilon = 1);", "", 0, 6}, 5000);
}

TEST_F(DpAuditTest, Stddev) {
  ExpectAuditPassesAndControlFails(
      {"STDDEV", "SELECT STDDEV(level) FROM visits WITH PRIVACY (epsilon = 1);", "", 0, 6}, 6000);
}

// The median of ward b: empty on D', the patient's two rows at the top bin on
// D. Integer levels: one bucket per released value.
TEST_F(DpAuditTest, Median) {
  ExpectAuditPassesAndControlFails({"MEDIAN",
                                    "SELECT ward, MEDIAN(level) FROM visits GROUP BY ward "
                                    "WITH PRIVACY (epsilon = 1);",
                                    "b", 1, 4, 1.0},
                                   7000);
}

TEST_F(DpAuditTest, Percentile) {
  ExpectAuditPassesAndControlFails({"PERCENTILE(0.9)",
                                    "SELECT ward, PERCENTILE(level, 0.9) FROM visits GROUP BY ward "
                                    "WITH PRIVACY (epsilon = 1);",
                                    "b", 1, 4, 1.0},
                                   8000);
}

TEST_F(DpAuditTest, GaussianCount) {
  ExpectAuditPassesAndControlFails({"COUNT(*) gaussian",
                                    "SELECT COUNT(*) FROM visits WITH PRIVACY (epsilon = 1, "
                                    "delta = 0.00001, mechanism = gaussian);",
                                    "", 0, 5},
                                   9000);
}

// P(Binomial(n, p) >= k), summed in log space from k up.
double BinomialUpperTail(int64_t n, double p, int64_t k) {
  if (k <= 0) return 1;
  double total = 0;
  for (int64_t i = k; i <= n; ++i) {
    const double log_term = std::lgamma(n + 1.0) - std::lgamma(i + 1.0) - std::lgamma(n - i + 1.0) +
                            static_cast<double>(i) * std::log(p) +
                            static_cast<double>(n - i) * std::log1p(-p);
    const double term = std::exp(log_term);
    total += term;
    if (term < total * 1e-17) break;  // the tail's terms only shrink from here
  }
  return total;
}

// The smallest k with P(Binomial(n, p) >= k) <= alpha: observing k or more
// releases rejects "P(release) <= p" at level alpha.
int64_t BinomialCriticalValue(int64_t n, double p, double alpha) {
  int64_t k = static_cast<int64_t>(std::floor(n * p));
  while (BinomialUpperTail(n, p, k) > alpha) ++k;
  return k;
}

// How often the key held by patient p0 alone is released, over kTrials
// releases of the exact aggregates of D.
int64_t CountSoloReleases(const Plan& plan, const ExactAggregates& exact, uint64_t seed) {
  SeededRandom rng(seed);
  DirectNoise noise(rng);
  int64_t released = 0;
  for (int64_t t = 0; t < kTrials; ++t) {
    const QueryResult result = Release(plan, exact, noise);
    for (const auto& row : result.rows) released += std::get<std::string>(row.at(0)) == "solo";
  }
  return released;
}

// A key without a public domain that one patient alone holds must appear with
// probability at most delta (max_groups = 1, so the per-group delta is delta
// itself). delta = 0.01 keeps the expected count (<= 1000 in 10^5 trials)
// large enough for a sharp binomial test.
TEST_F(DpAuditTest, PartitionSelectionReleasesASinglePatientsKeyWithProbabilityAtMostDelta) {
  Plan plan = Compile(
      "SELECT area, COUNT(DISTINCT patient_id) FROM visits GROUP BY area "
      "WITH PRIVACY (epsilon = 1, delta = 0.01);");
  ASSERT_TRUE(plan.partition_selection);
  const double delta = ToDouble(plan.select.privacy.delta);
  const ExactAggregates exact = RunExact(plan, *d_);
  ASSERT_EQ(exact.measures.size(), 2u) << "expected the keys 'common' and 'solo'";
  const int64_t critical = BinomialCriticalValue(kTrials, delta, kAlpha);

  const int64_t released = CountSoloReleases(plan, exact, 11);
  std::printf(
      "[ dp audit ] partition selection: threshold %lld, 'solo' released %lld / %lld "
      "(%.5f; delta %.3g; rejected from %lld)\n",
      static_cast<long long>(plan.selection_threshold), static_cast<long long>(released),
      static_cast<long long>(kTrials), static_cast<double>(released) / kTrials, delta,
      static_cast<long long>(critical));
  EXPECT_LT(released, critical) << "a single patient's key appears more often than delta allows";
  // The key shared by 200 patients is always released: the test is not
  // passing because nothing is released.
  SeededRandom rng(12);
  const QueryResult once = Release(plan, exact, rng);
  ASSERT_FALSE(once.rows.empty());
  EXPECT_EQ(std::get<std::string>(once.rows[0].at(0)), "common");

  // Negative control: a threshold two steps lower, one below the smallest
  // threshold whose release probability P(1 + X >= T) is at most delta (the
  // planner adds one step of margin above that), must be rejected.
  Plan lowered = Compile(
      "SELECT area, COUNT(DISTINCT patient_id) FROM visits GROUP BY area "
      "WITH PRIVACY (epsilon = 1, delta = 0.01);");
  lowered.selection_threshold -= 2;
  const int64_t control = CountSoloReleases(lowered, exact, 13);
  std::printf(
      "[ dp audit ] partition selection control: threshold %lld, 'solo' released %lld / "
      "%lld (%.5f)\n",
      static_cast<long long>(lowered.selection_threshold), static_cast<long long>(control),
      static_cast<long long>(kTrials), static_cast<double>(control) / kTrials);
  EXPECT_GE(control, critical) << "the lowered threshold was not detected";
}

}  // namespace
}  // namespace dpql
