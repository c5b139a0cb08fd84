// The zCDP arithmetic and the Gaussian mechanism's calibration, checked
// against the (epsilon, delta) condition computed independently here:
//  - the CKS20 Cor. 13 bound, minimised by brute force over a fine grid of
//    orders (not by the library's optimiser);
//  - for one-dimensional queries, the exact privacy curve of the discrete
//    Gaussian (CKS20 Thm. 7), summed from its probability mass function.
// Each check has a negative control that must fail.

#include <gtest/gtest.h>

#include <cmath>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/common/zcdp.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/noise/confidence.h"
#include "runtime/release/release.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

// min over a grid of orders a = 1 + e^x, x in [-12, 16], of the CKS20
// Cor. 13 delta for rho-zCDP at epsilon, written out afresh in double
// precision: a coarse grid (step 5e-4), then a fine one (step 1e-7) around
// its best point, so the grid's own error is far below the margins tested.
double GridDelta(double rho, double epsilon) {
  auto log_delta = [&](double x) {
    const double a = 1 + std::exp(x);
    return (a - 1) * (a * rho - epsilon) - std::log(a - 1) + a * std::log(1 - 1 / a);
  };
  double best = INFINITY, best_x = 0;
  for (double x = -12; x <= 16; x += 5e-4) {
    if (const double v = log_delta(x); v < best) best = v, best_x = x;
  }
  for (double x = best_x - 1e-3; x <= best_x + 1e-3; x += 1e-7) best = std::min(best, log_delta(x));
  return std::exp(best);
}

// delta(epsilon) of adding discrete Gaussian noise N_Z(0, sigma2) to an
// integer query of sensitivity `sens` (CKS20 Thm. 7):
//   P[X > epsilon sigma2 / sens - sens / 2] - e^epsilon P[X > epsilon sigma2 / sens + sens / 2].
double ExactDiscreteGaussianDelta(double sigma2, double epsilon, int64_t sens) {
  const int64_t limit = static_cast<int64_t>(std::ceil(std::sqrt(sigma2) * 40)) + 10;
  long double z = 0;
  std::vector<long double> mass(2 * limit + 1);
  for (int64_t x = -limit; x <= limit; ++x) {
    mass[x + limit] = std::exp(-static_cast<long double>(x) * x / (2 * sigma2));
    z += mass[x + limit];
  }
  auto tail = [&](double threshold) {  // P[X > threshold]
    long double sum = 0;
    for (int64_t x = limit; x >= -limit && x > threshold; --x) sum += mass[x + limit];
    return sum / z;
  };
  const double low = epsilon * sigma2 / sens - sens / 2.0;
  const double high = epsilon * sigma2 / sens + sens / 2.0;
  return static_cast<double>(tail(low) - std::exp(static_cast<long double>(epsilon)) * tail(high));
}

struct Target {
  const char* epsilon;
  const char* delta;
};
const Target kTargets[] = {{"1", "1e-6"}, {"0.1", "1e-6"},  {"0.5", "1e-9"},
                           {"2", "1e-5"}, {"0.01", "1e-3"}, {"1", "1e-12"}};

TEST(ZcdpConversion, RhoForEpsilonDeltaImpliesItAndIsTight) {
  for (const Target& t : kTargets) {
    SCOPED_TRACE(std::string("epsilon ") + t.epsilon + ", delta " + t.delta);
    const Rational epsilon = *ParseDecimal(t.epsilon), delta = *ParseDecimal(t.delta);
    const Rational rho = RhoForEpsilonDelta(epsilon, delta);
    ASSERT_GT(rho, 0);
    const double e = ToDouble(epsilon), d = ToDouble(delta), r = ToDouble(rho);
    EXPECT_LE(GridDelta(r, e), d);
    // Negative control: 0.1% more rho breaks the guarantee, so the
    // calibration leaves no more than that on the table.
    EXPECT_GT(GridDelta(r * 1.001, e), d);
    // Always tighter than the simple bound epsilon = rho + 2 sqrt(rho ln(1/delta)).
    const double simple = std::pow(std::sqrt(std::log(1 / d) + e) - std::sqrt(std::log(1 / d)), 2);
    EXPECT_GE(r, simple);
  }
}

TEST(ZcdpConversion, EpsilonForRhoInvertsTheCalibration) {
  for (const Target& t : kTargets) {
    SCOPED_TRACE(std::string("epsilon ") + t.epsilon + ", delta " + t.delta);
    const Rational epsilon = *ParseDecimal(t.epsilon), delta = *ParseDecimal(t.delta);
    const double back = EpsilonForRho(RhoForEpsilonDelta(epsilon, delta), delta);
    EXPECT_NEAR(back, ToDouble(epsilon), 1e-6 * ToDouble(epsilon));
    // The epsilon shown for rho really holds at delta (computed by brute force).
    const double r = ToDouble(RhoForEpsilonDelta(epsilon, delta));
    EXPECT_LE(GridDelta(r, back), ToDouble(delta));
    EXPECT_GT(GridDelta(r, back * 0.999), ToDouble(delta));  // negative control
  }
  EXPECT_EQ(EpsilonForRho(0, Rational(1, 1000000)), 0);
}

TEST(ZcdpConversion, PureDpAndValidation) {
  EXPECT_EQ(RhoOfPureDp(Rational(1, 2)), Rational(1, 8));
  EXPECT_THROW(RhoForEpsilonDelta(1, 0), DpqlError);
  EXPECT_THROW(RhoForEpsilonDelta(0, Rational(1, 1000000)), DpqlError);
  EXPECT_THROW(EpsilonForRho(-1, Rational(1, 1000000)), DpqlError);
  EXPECT_THROW(EpsilonForRho(1, 1), DpqlError);
}

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 1.0e-6, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          note:   { type: text }
  zclinic:
    privacy_unit: person
    accounting: zcdp
    defaults: { epsilon: 1.0, delta: 1.0e-6, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          note:   { type: text }
)";

class GaussianPlanTest : public ::testing::Test {
 protected:
  GaussianPlanTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}
  Plan Compile(const std::string& text, const std::string& dataset = "clinic") {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.FindDataset(dataset), *statement.select);
  }
  Catalog catalog_;
};

// Every measure's sigma^2 gives, with the measures composed, the query's
// (epsilon, delta): the rho recomputed here from the L2 sensitivities passes
// the brute-force check.
TEST_F(GaussianPlanTest, SigmaSatisfiesEpsilonDelta) {
  struct Case {
    const char* query;
    const char* epsilon;
    const char* delta;
  };
  const Case cases[] = {
      {"SELECT COUNT(*) FROM visits WITH PRIVACY (mechanism = gaussian)", "1", "1e-6"},
      {"SELECT site, COUNT(*), SUM(age) FROM visits GROUP BY site "
       "WITH PRIVACY (mechanism = gaussian, epsilon = 0.3, delta = 1e-9)",
       "0.3", "1e-9"},
      {"SELECT site, AVG(cost), COUNT(DISTINCT person) FROM visits GROUP BY site "
       "WITH PRIVACY (mechanism = gaussian, epsilon = 2, delta = 1e-5, max_groups = 4)",
       "2", "1e-5"},
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.query);
    Plan plan = Compile(c.query);
    Rational rho = 0;
    for (const Measure& m : plan.measures) {
      ASSERT_EQ(m.mechanism, Mechanism::kGaussian);
      // L2^2 = groups * per-group bound^2 (sqrt(max_groups) x per-group bound).
      EXPECT_EQ(m.l2_sensitivity_squared, plan.groups_bound * m.per_group_bound * m.per_group_bound);
      rho += Rational(m.l2_sensitivity_squared) / (2 * m.sigma2);
    }
    EXPECT_EQ(rho, plan.cost.rho);
    EXPECT_EQ(plan.cost.epsilon, *ParseDecimal(c.epsilon));
    EXPECT_EQ(plan.cost.delta, *ParseDecimal(c.delta));
    const double e = ToDouble(*ParseDecimal(c.epsilon)), d = ToDouble(*ParseDecimal(c.delta));
    EXPECT_LE(GridDelta(ToDouble(rho), e), d);
    // Negative control: half the variance would break the guarantee.
    EXPECT_GT(GridDelta(ToDouble(rho) * 2, e), d);
  }
}

// A one-dimensional Gaussian count: its exact privacy curve is within delta,
// and half its variance is not.
TEST_F(GaussianPlanTest, CountMeetsTheExactDiscreteGaussianCurve) {
  Plan plan = Compile(
      "SELECT COUNT(DISTINCT person) FROM visits WITH PRIVACY (mechanism = gaussian, epsilon = 1, delta = "
      "1e-6)");
  ASSERT_EQ(plan.measures.size(), 1u);
  const Measure& m = plan.measures[0];
  ASSERT_EQ(m.l2_sensitivity_squared, 1);  // one group, one person: sensitivity 1
  const double sigma2 = ToDouble(m.sigma2);
  EXPECT_LE(ExactDiscreteGaussianDelta(sigma2, 1.0, 1), 1e-6);
  EXPECT_GT(ExactDiscreteGaussianDelta(sigma2 / 2, 1.0, 1), 1e-6);  // negative control
}

TEST_F(GaussianPlanTest, RenderPlanShowsMechanismL2AndSigma) {
  Plan plan = Compile(
      "SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (mechanism = gaussian, epsilon = 1)");
  const std::string text = RenderPlan(plan);
  EXPECT_NE(text.find("mechanism: discrete Gaussian, (epsilon 1, delta 1e-06) as zCDP rho"),
            std::string::npos)
      << text;
  // max_groups 2, max_rows 3: L2 = sqrt(2 x 3^2) = sqrt(18).
  EXPECT_NE(text.find("L2 sensitivity sqrt(18) (sqrt(2) x 3)"), std::string::npos) << text;
  EXPECT_NE(text.find("sigma^2 " + ToDecimalString(plan.measures[0].sigma2)), std::string::npos) << text;
  EXPECT_NE(text.find(", rho " + ToDecimalString(plan.cost.rho)), std::string::npos) << text;
}

TEST_F(GaussianPlanTest, DeltaZeroAndPartitionSelectionAreRefused) {
  try {
    Compile("SELECT COUNT(*) FROM visits WITH PRIVACY (mechanism = gaussian, delta = 0)");
    FAIL() << "expected gaussian_needs_delta";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "gaussian_needs_delta");
    EXPECT_NE(e.message().find("delta > 0"), std::string::npos);
  }
  try {
    Compile("SELECT note, COUNT(*) FROM visits GROUP BY note WITH PRIVACY (mechanism = gaussian)");
    FAIL() << "expected unsupported_mechanism";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "unsupported_mechanism");
  }
}

TEST_F(GaussianPlanTest, ZcdpDatasetPricesQueriesInRho) {
  // Laplace in a zCDP dataset: epsilon-DP is epsilon^2/2-zCDP.
  Plan laplace = Compile("SELECT COUNT(*) FROM visits WITH PRIVACY (epsilon = 0.5)", "zclinic");
  EXPECT_EQ(laplace.cost.rho, Rational(1, 8));
  // Laplace in a basic dataset carries no rho.
  EXPECT_EQ(Compile("SELECT COUNT(*) FROM visits WITH PRIVACY (epsilon = 0.5)").cost.rho, 0);
  // Gaussian: the same rho in either dataset.
  const char* gaussian =
      "SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (mechanism = gaussian)";
  EXPECT_EQ(Compile(gaussian, "zclinic").cost.rho, Compile(gaussian).cost.rho);
  EXPECT_NE(RenderPlan(Compile(gaussian, "zclinic")).find("zCDP accounting: rho is charged"),
            std::string::npos);
  // Partition selection has no rho: refused with the reason.
  try {
    Compile("SELECT note, COUNT(*) FROM visits GROUP BY note", "zclinic");
    FAIL() << "expected partition_selection_under_zcdp";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "partition_selection_under_zcdp");
  }
}

// The release draws discrete Gaussian noise for Gaussian measures: the
// interval is the discrete Gaussian's, and the noise has its variance.
TEST_F(GaussianPlanTest, ReleaseUsesTheDiscreteGaussian) {
  Plan plan = Compile("SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (mechanism = gaussian)");
  const Measure& m = plan.measures[0];
  const int64_t hw = DiscreteGaussianHalfWidth(m.sigma2, Rational(95, 100));
  EXPECT_EQ(MeasureHalfWidth(m, Rational(95, 100)), hw);

  // 5 groups of true count 1000, repeated: the noise's sample variance must be
  // within 10% of sigma^2. With n = 5000 draws its standard error is
  // sigma^2 sqrt(2/n) = 2% of sigma^2, so a false failure has probability
  // below 1e-6 (5 standard errors).
  ExactAggregates exact;
  for (int g = 0; g < 5; ++g) {
    exact.keys.push_back({std::string(1, static_cast<char>('a' + g))});
    exact.measures.push_back({BigInt(1000)});
  }
  SeededRandom rng(11);
  double sum = 0, sum_sq = 0;
  int n = 0, covered = 0;
  for (int rep = 0; rep < 1000; ++rep) {
    QueryResult result = Release(plan, exact, rng);
    for (size_t r = 0; r < result.rows.size(); ++r) {
      const double noise = static_cast<double>(std::get<int64_t>(result.rows[r][1])) - 1000;
      sum += noise;
      sum_sq += noise * noise;
      ++n;
      const Interval& ci = *result.intervals[r][1];
      EXPECT_DOUBLE_EQ(ci.upper - std::get<int64_t>(result.rows[r][1]), static_cast<double>(hw));
      covered += ci.lower <= 1000 && 1000 <= ci.upper;
    }
  }
  const double variance = sum_sq / n - (sum / n) * (sum / n);
  const double sigma2 = ToDouble(m.sigma2);
  EXPECT_NEAR(variance, sigma2, 0.1 * sigma2);
  // Negative control: a Laplace draw at the same interval width, or twice the
  // variance, would not pass the same check.
  EXPECT_GT(std::fabs(variance - 2 * sigma2), 0.1 * 2 * sigma2);
  // 95% intervals cover at least 95% by construction (more, as the noise is
  // discrete); 94% leaves three binomial standard errors (0.3% each) of slack.
  EXPECT_GE(covered, 0.94 * n);
  EXPECT_LT(covered, n);  // the intervals are not trivially wide
}

}  // namespace
}  // namespace dpql
