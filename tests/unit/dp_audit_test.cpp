// The DP audit's own test (tests/support/dp_audit.h) on the plainest
// mechanism there is: a count of 0 on D and 1 on D' plus discrete Laplace
// noise. Scale 1/eps is exactly eps-DP, so the test must accept it at eps;
// an under-scaled mechanism must be rejected at the same claimed eps.
//
// Significance: tolerances come from ApproximateDpTolerance at alpha = 1e-6
// per test (bias bound + McDiarmid deviation), so a DP mechanism is rejected
// with probability at most about 1e-6; the seeds are fixed, so the outcome is
// reproducible. The majority-vote cases use alpha = 1e-2 per run: three or
// more of five runs fail with probability at most 10 * (1e-2)^3 = 1e-5.

#include "tests/support/dp_audit.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>

#include "runtime/noise/samplers.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr double kEpsilon = 1.0;

// `trials` outputs of `shift` + discrete Laplace at `scale`.
OutputHistogram LaplaceCounts(const Rational& scale, int64_t shift, int64_t trials, uint64_t seed) {
  SeededRandom rng(seed);
  DiscreteLaplaceSampler sampler(scale);
  OutputHistogram histogram;
  for (int64_t t = 0; t < trials; ++t) {
    ++histogram[shift + sampler.Sample(rng).convert_to<int64_t>()];
  }
  return histogram;
}

ApproximateDpResult TestLaplace(const Rational& scale, int64_t trials, double alpha, uint64_t seed) {
  const OutputHistogram d = LaplaceCounts(scale, 0, trials, seed);
  const OutputHistogram d_prime = LaplaceCounts(scale, 1, trials, seed + 1);
  const double tolerance = ApproximateDpTolerance(d, d_prime, trials, kEpsilon, alpha);
  const ApproximateDpResult result = VerifyApproximateDp(d, d_prime, trials, kEpsilon, 0, tolerance);
  std::printf("[ dp audit ] discrete Laplace scale %s, N %lld: test value %.4f / %.4f, bound %.4f\n",
              scale.str().c_str(), static_cast<long long>(trials), result.forward, result.backward,
              result.bound);
  return result;
}

TEST(DpAuditTest, TestValueIsTheExcessMassOverEToTheEpsilon) {
  const OutputHistogram a = {{0, 60}, {1, 40}};
  const OutputHistogram b = {{0, 40}, {1, 60}};
  // epsilon 0: total variation distance.
  EXPECT_DOUBLE_EQ(ApproximateDpTestValue(a, b, 100, 0), 0.2);
  // e^eps = 1.5: bucket 0 has 60 - 1.5 * 40 = 0, bucket 1 nothing.
  EXPECT_NEAR(ApproximateDpTestValue(a, b, 100, std::log(1.5)), 0, 1e-12);
  // Mass where b has none counts in full.
  EXPECT_DOUBLE_EQ(ApproximateDpTestValue({{5, 3}, {0, 97}}, {{0, 100}}, 100, 0), 0.03);
  const ApproximateDpResult both = VerifyApproximateDp(a, b, 100, 0, 0.1, 0.05);
  EXPECT_DOUBLE_EQ(both.forward, 0.2);
  EXPECT_DOUBLE_EQ(both.backward, 0.2);
  EXPECT_FALSE(both.accepted());
  EXPECT_TRUE(VerifyApproximateDp(a, b, 100, 0, 0.1, 0.1).accepted());  // 0.2 <= 0.1 + 0.1
}

TEST(DpAuditTest, LatticeBucketsAreHalfOpen) {
  EXPECT_EQ(LatticeBucket(9, 9, 2), 0);
  EXPECT_EQ(LatticeBucket(10.9, 9, 2), 0);
  EXPECT_EQ(LatticeBucket(11, 9, 2), 1);
  EXPECT_EQ(LatticeBucket(8.5, 9, 2), -1);
}

TEST(DpAuditTest, AcceptsDiscreteLaplaceAtScaleOneOverEpsilon) {
  const ApproximateDpResult result = TestLaplace(Rational(1), 100000, 1e-6, 1);
  EXPECT_TRUE(result.accepted()) << result.forward << " / " << result.backward << " > " << result.bound;
  // The estimate is near its true value 0, well inside the tolerance.
  EXPECT_LT(result.worst(), result.bound / 2);
}

TEST(DpAuditTest, RejectsDiscreteLaplaceForTwiceTheEpsilon) {
  // Scale 1/(2 eps): the true test value is P(X <= 0) (1 - e^-1), about 0.56.
  const ApproximateDpResult result = TestLaplace(Rational(1, 2), 100000, 1e-6, 3);
  EXPECT_FALSE(result.accepted());
  EXPECT_NEAR(result.worst(), 0.556, 0.02);
}

TEST(DpAuditTest, RejectsAMechanismOnePointOneSevenFiveTimesTooSensitive) {
  // Google's own negative control: sensitivity 1.175 times what the scale
  // was set for. True test value about 0.12; the tolerance at 10^5 trials is
  // about 0.04.
  const ApproximateDpResult result = TestLaplace(Rational(40, 47), 100000, 1e-6, 5);
  EXPECT_FALSE(result.accepted());
  EXPECT_GT(result.worst(), 2 * result.bound);
}

TEST(DpAuditTest, MajorityVoteAcceptsTheCorrectScaleAndRejectsTheUnderScaledOne) {
  const MajorityVote correct =
      RunMajorityVote(5, [](int vote) { return TestLaplace(Rational(1), 20000, 1e-2, 100 + 2 * vote); });
  EXPECT_EQ(correct.runs.size(), 5u);
  EXPECT_TRUE(correct.accepted()) << correct.Describe();
  const MajorityVote under =
      RunMajorityVote(5, [](int vote) { return TestLaplace(Rational(1, 2), 20000, 1e-2, 200 + 2 * vote); });
  EXPECT_FALSE(under.accepted()) << under.Describe();
  EXPECT_EQ(under.accepting(), 0);
  EXPECT_GT(under.median_value(), 0.5);
}

TEST(DpAuditTest, MajorityNeedsMoreThanHalf) {
  MajorityVote vote;
  vote.runs = {{0.1, 0.1, 0.2}, {0.3, 0.1, 0.2}, {0.1, 0.1, 0.2}, {0.1, 0.3, 0.2}};
  EXPECT_EQ(vote.accepting(), 2);
  EXPECT_FALSE(vote.accepted());  // 2 of 4 is a tie, not a majority
  vote.runs.push_back({0.0, 0.0, 0.2});
  EXPECT_TRUE(vote.accepted());
  EXPECT_DOUBLE_EQ(vote.median_value(), 0.1);
}

}  // namespace
}  // namespace dpql
