// The accuracy harness of scripts/bench --accuracy (bench/accuracy.h)
// measures what it claims: on a plan whose noise is known (discrete Laplace,
// scale 4) and whose exact aggregates equal the truth, its RMSE, 95th
// percentile and bias match the distribution's; a deliberately biased truth
// (negative control) shows its bias and fails the same calibration check;
// a group the plan never releases counts as missed; the peers' formulas
// give their documented values.
//
// Statistical checks: seeded RNG (tests/support/seeded_random.h), 40 000
// errors each, at significance 0.001 (|z| < 3.29) unless said otherwise.

#ifdef DPQL_ACCURACY_HARNESS

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "bench/accuracy.h"
#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/noise/confidence.h"
#include "runtime/release/hierarchy.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr double kZ = 3.29;  // two-sided 0.001
constexpr int kGroups = 20;
constexpr int kRepetitions = 2000;

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 1, max_rows: 1 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:
            type: text
            domain: [site0, site1, site2, site3, site4, site5, site6, site7, site8, site9, site10,
                     site11, site12, site13, site14, site15, site16, site17, site18, site19, empty]
)";

class AccuracyHarnessTest : public ::testing::Test {
 protected:
  AccuracyHarnessTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {
    // epsilon 1/4 with one group and one row per person: discrete Laplace, scale 4.
    ast::Statement statement =
        ParseStatement("SELECT site, COUNT(*) FROM visits GROUP BY site WITH PRIVACY (epsilon = 0.25)");
    plan_ = CompileSelect(*catalog_.DefaultDataset(), *statement.select);
    for (int g = 0; g < kGroups; ++g) {
      const std::string key = "site" + std::to_string(g);
      exact_.keys.push_back({key});
      exact_.measures.push_back({BigInt(1000 + 10 * g)});  // far from 0: clamping never acts
      truth_[{key}] = 1000 + 10 * g;
    }
  }
  int Output() const { return 1; }

  Catalog catalog_;
  Plan plan_;
  ExactAggregates exact_;
  Truth truth_;
};

TEST_F(AccuracyHarnessTest, ThePlanHasTheKnownLaplaceScale) {
  ASSERT_EQ(plan_.measures.size(), 1u);
  EXPECT_EQ(plan_.measures[0].scale, Rational(4));
  EXPECT_EQ(plan_.measures[0].mechanism, Mechanism::kLaplace);
}

TEST_F(AccuracyHarnessTest, UnbiasedReleasesMatchTheNoiseDistribution) {
  SeededRandom rng(2101);
  const AccuracyFigures f = MeasureAccuracy(plan_, exact_, truth_, Output(), kRepetitions, rng);
  EXPECT_EQ(f.groups, kGroups);
  EXPECT_EQ(f.missing, 0);
  // RMSE: the discrete Laplace's standard deviation (5.642 at scale 4; the
  // continuous Laplace's sqrt(2) * 4 = 5.657 is within 3 of our standard errors).
  const double analytic = std::sqrt(DiscreteLaplaceVariance(Rational(4)));
  EXPECT_NEAR(analytic, std::sqrt(2.0) * 4, 0.02);
  ASSERT_GT(f.rmse_se, 0);
  EXPECT_LT(f.rmse_se, 0.05);  // about 4.47 b^2 / sqrt(n) / (2 RMSE) = 0.032 for n = 40 000
  EXPECT_LT(std::fabs(f.rmse - analytic), kZ * f.rmse_se) << f.rmse << " vs " << analytic;
  // 95th percentile: the exact distribution's, inside the bootstrap interval.
  const double p95 = static_cast<double>(DiscreteLaplaceHalfWidth(Rational(4), Rational(95, 100)));
  EXPECT_LE(f.p95_low, p95);
  EXPECT_GE(f.p95_high, p95);
  EXPECT_NEAR(f.p95, p95, 1.0);
  // No bias: the mean error within kZ standard errors of 0, and the bias part
  // (corrected for its own sampling noise) small beside the noise.
  EXPECT_LT(std::fabs(f.mean_error), kZ * analytic / std::sqrt(kGroups * kRepetitions));
  EXPECT_LT(f.bias_rms, 0.2);
}

TEST_F(AccuracyHarnessTest, NegativeControlABiasedTruthShowsItsBias) {
  Truth shifted = truth_;
  for (auto& [keys, value] : shifted) value += 3;  // the releases are 3 too low against it
  SeededRandom rng(2102);
  const AccuracyFigures f = MeasureAccuracy(plan_, exact_, shifted, Output(), kRepetitions, rng);
  const double analytic = std::sqrt(DiscreteLaplaceVariance(Rational(4)));
  EXPECT_LT(std::fabs(f.mean_error + 3), kZ * analytic / std::sqrt(kGroups * kRepetitions));
  EXPECT_NEAR(f.bias_rms, 3, 0.2);
  EXPECT_LT(std::fabs(f.rmse - std::sqrt(analytic * analytic + 9)), kZ * f.rmse_se);
  // The calibration check of the unbiased case fails here.
  EXPECT_GT(std::fabs(f.rmse - analytic), kZ * f.rmse_se);
}

TEST_F(AccuracyHarnessTest, NegativeControlClampingAtZeroBiasesAnEmptyGroupUpwards) {
  // A group with no rows: the released count is max(0, noise), whose mean is
  // q / (1 - q^2) = 1.979 for q = exp(-1/4), so the harness must report that bias.
  ExactAggregates empty;
  empty.keys.push_back({"empty"});
  empty.measures.push_back({BigInt(0)});
  SeededRandom rng(2103);
  const AccuracyFigures f =
      MeasureAccuracy(plan_, empty, Truth{{{"empty"}, 0.0}}, Output(), kRepetitions, rng);
  const double q = std::exp(-0.25);
  // max(0, X) has a standard deviation below the Laplace's 5.64: kZ * 5.64 / sqrt(2000) = 0.42.
  EXPECT_NEAR(f.mean_error, q / (1 - q * q), 0.42);
  EXPECT_NEAR(f.bias_rms, q / (1 - q * q), 0.42);
}

TEST_F(AccuracyHarnessTest, AGroupNeverReleasedCountsAsMissedWithItsWholeTruth) {
  Truth with_extra = truth_;
  with_extra[{"nowhere"}] = 50;
  SeededRandom rng(2104);
  const AccuracyFigures f = MeasureAccuracy(plan_, exact_, with_extra, Output(), 200, rng);
  EXPECT_EQ(f.groups, kGroups + 1);
  EXPECT_EQ(f.missing, 200);
  EXPECT_GT(f.bias_rms, 50 / std::sqrt(kGroups + 1.0) - 1);
}

TEST(AccuracyPeers, LaplaceAndGaussianFormulas) {
  const AnalyticError laplace = LaplaceError(4);
  EXPECT_NEAR(laplace.rmse, 5.65685, 1e-4);
  EXPECT_NEAR(laplace.p95, 4 * std::log(20.0), 1e-9);
  const AnalyticError gaussian = GaussianError(2);
  EXPECT_NEAR(gaussian.p95, 3.91993, 1e-4);
  // The analytic Gaussian meets delta exactly and beats the classical calibration.
  const double sigma = AnalyticGaussianSigma(1, 1, 1e-5);
  auto achieved = [](double s) {
    auto phi = [](double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); };
    return phi(1 / (2 * s) - s) - std::exp(1.0) * phi(-1 / (2 * s) - s);
  };
  EXPECT_LE(achieved(sigma), 1e-5 * (1 + 1e-6));
  EXPECT_GT(achieved(sigma * 0.99), 1e-5);
  EXPECT_LT(sigma, ClassicalGaussianSigma(1, 1, 1e-5));
  EXPECT_NEAR(ClassicalGaussianSigma(1, 1, 1e-5), std::sqrt(2 * std::log(1.25e5)), 1e-12);
  // The discrete Laplace: DPQL's own variance and interval half-width.
  for (int scale : {1, 4, 30}) {
    const AnalyticError d = DiscreteLaplaceError(scale);
    EXPECT_NEAR(d.rmse, std::sqrt(DiscreteLaplaceVariance(Rational(scale))), 1e-9) << scale;
    EXPECT_EQ(d.p95, static_cast<double>(DiscreteLaplaceHalfWidth(Rational(scale), Rational(95, 100))))
        << scale;
  }
  // Scaling: sigma is linear in the L2 sensitivity.
  EXPECT_NEAR(AnalyticGaussianSigma(3, 1, 1e-5), 3 * sigma, 1e-6 * sigma);
}

TEST_F(AccuracyHarnessTest, PeersAtTheSameBoundsUseTheSameL1) {
  // One group and one row per person: every peer's count has sensitivity 1
  // at epsilon 1/4, Laplace scale 4, as DPQL's own.
  const PeerErrors peers = PeerAnalyticErrors(plan_, Output(), 1e-6, {});
  EXPECT_NEAR(peers.google_laplace.rmse, std::sqrt(2.0) * 4, 1e-9);
  // SmartNoise SQL's geometric mechanism is DPQL's discrete Laplace.
  EXPECT_NEAR(peers.smartnoise.rmse, std::sqrt(DiscreteLaplaceVariance(Rational(4))), 1e-9);
  EXPECT_NEAR(peers.dpql_analytic.rmse, std::sqrt(DiscreteLaplaceVariance(Rational(4))), 1e-9);
  EXPECT_NEAR(peers.google_gaussian.rmse, AnalyticGaussianSigma(1, 0.25, 1e-6), 1e-9);
  EXPECT_NEAR(peers.Best().rmse, peers.smartnoise.rmse, 1e-12);
}

TEST_F(AccuracyHarnessTest, AGaussianPlansPeersSpendTheQuerysEpsilon) {
  // A Gaussian measure is calibrated by rho and carries no epsilon share of
  // its own: the peers still get the query's epsilon (one measure: all of it).
  ast::Statement statement = ParseStatement(
      "SELECT site, COUNT(*) FROM visits GROUP BY site "
      "WITH PRIVACY (epsilon = 1, delta = 0.000001, mechanism = gaussian)");
  const Plan plan = CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  ASSERT_EQ(plan.measures.at(0).mechanism, Mechanism::kGaussian);
  const PeerErrors peers = PeerAnalyticErrors(plan, Output(), 1e-6, {});
  EXPECT_NEAR(peers.google_laplace.rmse, std::sqrt(2.0), 1e-9);
  EXPECT_NEAR(peers.google_gaussian.rmse, AnalyticGaussianSigma(1, 1, 1e-6), 1e-9);
  EXPECT_NEAR(peers.dpql_analytic.rmse, std::sqrt(MeasureNoiseVariance(plan, 0)), 1e-9);
}

}  // namespace
}  // namespace dpql

#endif  // DPQL_ACCURACY_HARNESS
