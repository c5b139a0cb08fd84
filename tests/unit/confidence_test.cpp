// Confidence half-widths against brute-force summation of the exact PMFs, and
// empirical coverage with the seeded test RNG (alpha = 1e-4, with a too-narrow
// interval as the negative control that must be detected).

#include "runtime/noise/confidence.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "compiler/common/error.h"
#include "runtime/noise/samplers.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr double kZTwoSided = 3.8906;  // P(|Z| > z) = 1e-4

Rational Dec(std::string_view text) { return ParseDecimal(text).value(); }

const char* const kConfidences[] = {"0.5", "0.8", "0.9", "0.95", "0.99", "0.999", "0.999999"};

// Smallest k with 2 * sum_{x > k} f(x) / Z <= alpha, where f is an unnormalised
// symmetric weight; everything summed term by term from far out inwards.
int64_t BruteForceHalfWidth(const std::function<long double(int64_t)>& f, int64_t reach, long double alpha) {
  std::vector<long double> tail(reach + 2, 0);  // tail[k] = sum_{x > k} f(x)
  for (int64_t x = reach; x >= 0; --x) tail[x] = tail[x + 1] + f(x + 1);
  const long double z = f(0) + 2 * tail[0];
  for (int64_t k = 0; k <= reach; ++k) {
    if (2 * tail[k] / z <= alpha) return k;
  }
  ADD_FAILURE() << "reach " << reach << " too small";
  return -1;
}

long double AlphaOf(const char* confidence) {
  return Rational(1 - Dec(confidence)).convert_to<long double>();
}

std::function<long double(int64_t)> LaplaceWeight(const Rational& scale) {
  const long double b = scale.convert_to<long double>();
  return [b](int64_t x) { return std::exp(-static_cast<long double>(std::llabs(x)) / b); };
}

std::function<long double(int64_t)> GaussianWeight(const Rational& sigma2) {
  const long double s2 = sigma2.convert_to<long double>();
  return [s2](int64_t x) { return std::exp(-static_cast<long double>(x) * x / (2 * s2)); };
}

TEST(ConfidenceDiscreteLaplace, HalfWidthMatchesBruteForce) {
  for (const char* scale_text : {"0.3", "0.5", "1", "3.7", "10", "100", "1000"}) {
    const Rational scale = Dec(scale_text);
    const int64_t reach = static_cast<int64_t>(60 * scale.convert_to<double>()) + 50;
    for (const char* confidence : kConfidences) {
      EXPECT_EQ(DiscreteLaplaceHalfWidth(scale, Dec(confidence)),
                BruteForceHalfWidth(LaplaceWeight(scale), reach, AlphaOf(confidence)))
          << "scale " << scale_text << ", confidence " << confidence;
    }
  }
}

TEST(ConfidenceDiscreteLaplace, KnownValue) {
  // scale 1, 95%: P(|X| > k) = 2 e^-(k+1) / (1 + e^-1) is 0.0727 at k = 2 and 0.0268 at k = 3.
  EXPECT_EQ(DiscreteLaplaceHalfWidth(Rational(1), Dec("0.95")), 3);
  // A tiny scale puts all mass on 0.
  EXPECT_EQ(DiscreteLaplaceHalfWidth(Dec("0.01"), Dec("0.95")), 0);
}

TEST(ConfidenceDiscreteLaplace, TailProbabilityMatchesBruteForce) {
  for (const char* scale_text : {"0.5", "3.7", "100"}) {
    const Rational scale = Dec(scale_text);
    const auto f = LaplaceWeight(scale);
    const int64_t reach = static_cast<int64_t>(80 * scale.convert_to<double>()) + 50 + 250;
    long double z = f(0);
    for (int64_t x = 1; x <= reach; ++x) z += 2 * f(x);
    for (int64_t k : {1, 2, 5, 17, 250}) {
      long double tail = 0;
      for (int64_t x = reach; x >= k; --x) tail += 2 * f(x);
      const double expected = static_cast<double>(tail / z);
      EXPECT_NEAR(DiscreteLaplaceTailProbability(scale, k), expected, 1e-12 * expected + 1e-300)
          << "scale " << scale_text << ", k " << k;
    }
    EXPECT_EQ(DiscreteLaplaceTailProbability(scale, 0), 1.0);
  }
}

TEST(ConfidenceDiscreteGaussian, HalfWidthMatchesBruteForce) {
  for (const char* sigma2_text : {"0.01", "0.25", "1", "2.25", "10", "100", "1000", "12345.6"}) {
    const Rational sigma2 = Dec(sigma2_text);
    const int64_t reach = static_cast<int64_t>(20 * std::sqrt(sigma2.convert_to<double>())) + 20;
    for (const char* confidence : kConfidences) {
      EXPECT_EQ(DiscreteGaussianHalfWidth(sigma2, Dec(confidence)),
                BruteForceHalfWidth(GaussianWeight(sigma2), reach, AlphaOf(confidence)))
          << "sigma^2 " << sigma2_text << ", confidence " << confidence;
    }
  }
}

// Beyond sigma = 1000 the half-width comes from integral bounds: never below
// the exact answer, and at most a couple of units above it.
TEST(ConfidenceDiscreteGaussian, LargeSigmaIsOutwardAndTight) {
  for (const char* sigma2_text : {"1000001", "4000000", "25000000"}) {
    const Rational sigma2 = Dec(sigma2_text);
    const int64_t reach = static_cast<int64_t>(12 * std::sqrt(sigma2.convert_to<double>()));
    for (const char* confidence : {"0.5", "0.95", "0.999"}) {
      const int64_t exact = BruteForceHalfWidth(GaussianWeight(sigma2), reach, AlphaOf(confidence));
      const int64_t got = DiscreteGaussianHalfWidth(sigma2, Dec(confidence));
      EXPECT_GE(got, exact) << "sigma^2 " << sigma2_text << ", confidence " << confidence;
      EXPECT_LE(got, exact + 2) << "sigma^2 " << sigma2_text << ", confidence " << confidence;
    }
  }
}

TEST(ConfidenceMonotone, InConfidenceAndScale) {
  const char* scales[] = {"0.5", "1", "2", "7.5", "20", "400", "2000000"};
  for (const auto& [name, width] :
       std::vector<std::pair<std::string, std::function<int64_t(const Rational&, const Rational&)>>>{
           {"laplace", DiscreteLaplaceHalfWidth}, {"gaussian", DiscreteGaussianHalfWidth}}) {
    for (size_t i = 0; i < std::size(scales); ++i) {
      for (size_t j = 0; j < std::size(kConfidences); ++j) {
        const int64_t k = width(Dec(scales[i]), Dec(kConfidences[j]));
        if (j + 1 < std::size(kConfidences)) {
          EXPECT_LE(k, width(Dec(scales[i]), Dec(kConfidences[j + 1]))) << name << " " << scales[i];
        }
        if (i + 1 < std::size(scales)) {
          EXPECT_LE(k, width(Dec(scales[i + 1]), Dec(kConfidences[j]))) << name << " " << kConfidences[j];
        }
      }
    }
  }
}

// Fraction of n draws inside [-k, k], as a z-score against `coverage`.
double CoverageZ(const std::vector<int64_t>& draws, int64_t k, double coverage) {
  int inside = 0;
  for (int64_t d : draws) inside += std::llabs(d) <= k;
  const double n = static_cast<double>(draws.size());
  return (inside - n * coverage) / std::sqrt(n * coverage * (1 - coverage));
}

TEST(ConfidenceCoverage, DiscreteLaplaceEmpiricalCoverageIsNominal) {
  const Rational scale = Dec("10");
  const Rational confidence = Dec("0.95");
  const DiscreteLaplaceSampler sampler(scale);
  SeededRandom rng(5);
  std::vector<int64_t> draws(20000);
  for (int64_t& d : draws) d = sampler.Sample(rng).convert_to<int64_t>();

  const int64_t k = DiscreteLaplaceHalfWidth(scale, confidence);
  const double exact_coverage = 1 - DiscreteLaplaceTailProbability(scale, k + 1);
  EXPECT_GE(exact_coverage, 0.95);
  EXPECT_LT(std::fabs(CoverageZ(draws, k, exact_coverage)), kZTwoSided);
  // Never conservative by more than one step: k - 1 would miss the level.
  EXPECT_LT(1 - DiscreteLaplaceTailProbability(scale, k), 0.95);

  // Negative control: the interval for a 1.25x smaller scale is too narrow,
  // and the coverage test must notice.
  const int64_t narrow = DiscreteLaplaceHalfWidth(scale / Rational(5, 4), confidence);
  EXPECT_LT(CoverageZ(draws, narrow, 0.95), -kZTwoSided);
}

TEST(ConfidenceCoverage, DiscreteGaussianEmpiricalCoverageIsNominal) {
  const Rational sigma2 = Dec("10");
  const Rational confidence = Dec("0.9");
  const DiscreteGaussianSampler sampler(sigma2);
  SeededRandom rng(6);
  std::vector<int64_t> draws(20000);
  for (int64_t& d : draws) d = sampler.Sample(rng).convert_to<int64_t>();

  const int64_t k = DiscreteGaussianHalfWidth(sigma2, confidence);
  // Exact coverage of [-k, k] by direct summation.
  const auto f = GaussianWeight(sigma2);
  long double z = 0, inside = 0;
  for (int64_t x = -200; x <= 200; ++x) {
    z += f(x);
    if (std::llabs(x) <= k) inside += f(x);
  }
  const double exact_coverage = static_cast<double>(inside / z);
  EXPECT_GE(exact_coverage, 0.9);
  EXPECT_LT(std::fabs(CoverageZ(draws, k, exact_coverage)), kZTwoSided);

  const int64_t narrow = DiscreteGaussianHalfWidth(sigma2 / Rational(25, 16), confidence);  // sigma / 1.25
  EXPECT_LT(CoverageZ(draws, narrow, 0.9), -kZTwoSided);
}

// ---- |X - cY|: the error of a noisy ratio (AVG) ----------------------------------

// Brute force over both pmfs on a wide window: P(|X - cY| > t).
long double BruteForceDifferenceMiss(long double bx, long double by, long double c, long double t) {
  auto pmf = [](long double b) {
    const int64_t reach = 45 * static_cast<int64_t>(b) + 45;
    std::vector<long double> p(2 * reach + 1);
    for (int64_t x = -reach; x <= reach; ++x)
      p[x + reach] = std::exp(-std::fabs(static_cast<long double>(x)) / b);
    return p;
  };
  const std::vector<long double> px = pmf(bx), py = pmf(by);
  const int64_t rx = static_cast<int64_t>(px.size() / 2), ry = static_cast<int64_t>(py.size() / 2);
  long double miss = 0, total = 0;
  for (int64_t y = -ry; y <= ry; ++y) {
    for (int64_t x = -rx; x <= rx; ++x) {
      const long double p = py[y + ry] * px[x + rx];
      total += p;
      if (std::fabs(static_cast<long double>(x) - c * static_cast<long double>(y)) > t) miss += p;
    }
  }
  return miss / total;
}

TEST(ConfidenceDifference, MatchesBruteForceAndSitsBelowTheUnionBound) {
  for (const auto& [bx, by, c] : std::vector<std::tuple<int, int, double>>{
           {30, 4, 0.0}, {30, 4, 2.5}, {12, 6, -7.25}, {5, 20, 1.0}, {90, 3, 40.0}}) {
    SCOPED_TRACE(std::to_string(bx) + " " + std::to_string(by) + " " + std::to_string(c));
    const Rational confidence = Dec("0.95");
    const long double h = DiscreteLaplaceDifferenceHalfWidth(Rational(bx), Rational(by), c, confidence);
    // At h the miss probability is within the level; 1% lower it is not.
    EXPECT_LE(BruteForceDifferenceMiss(bx, by, c, h), 0.05L + 1e-12L);
    EXPECT_GT(BruteForceDifferenceMiss(bx, by, c, h * 0.99L), 0.05L);
    // Never wider than the union bound it replaces.
    const Rational split = Dec("0.975");
    const long double union_bound = DiscreteLaplaceHalfWidth(Rational(bx), split) +
                                    std::fabs(c) * DiscreteLaplaceHalfWidth(Rational(by), split);
    EXPECT_LE(h, union_bound);
    if (c == 0) {
      EXPECT_EQ(h, DiscreteLaplaceHalfWidth(Rational(bx), confidence));
    }
  }
}

TEST(ConfidenceDifference, LargeCountScaleFallsBackToTheUnionBound) {
  const Rational confidence = Dec("0.95"), split = Dec("0.975");
  const long double h = DiscreteLaplaceDifferenceHalfWidth(Rational(50), Rational(5000), 3, confidence);
  EXPECT_EQ(h, DiscreteLaplaceHalfWidth(Rational(50), split) +
                   3.0L * DiscreteLaplaceHalfWidth(Rational(5000), split));
}

// Empirical check with the exact samplers (alpha = 1e-4 for the z-test), and
// a negative control: the half-width for the X term alone misses too often.
TEST(ConfidenceDifference, EmpiricalCoverageIsNominal) {
  const Rational bx(40), by(8);
  const long double c = 6;  // c * by = 48: both terms matter
  const DiscreteLaplaceSampler sx(bx), sy(by);
  SeededRandom rng(31);
  std::vector<long double> errors(20000);
  for (long double& e : errors) {
    e = static_cast<long double>(sx.Sample(rng).convert_to<int64_t>()) -
        c * static_cast<long double>(sy.Sample(rng).convert_to<int64_t>());
  }
  auto z_of = [&](long double t, double coverage) {
    double inside = 0;
    for (long double e : errors) inside += std::fabs(e) <= t;
    const double n = static_cast<double>(errors.size());
    return (inside - n * coverage) / std::sqrt(n * coverage * (1 - coverage));
  };
  const long double h = DiscreteLaplaceDifferenceHalfWidth(bx, by, c, Dec("0.95"));
  const double exact = 1 - static_cast<double>(BruteForceDifferenceMiss(40, 8, c, h));
  EXPECT_GE(exact, 0.95);
  EXPECT_LT(exact, 0.952);
  EXPECT_LT(std::fabs(z_of(h, exact)), kZTwoSided);
  const long double x_only = DiscreteLaplaceHalfWidth(bx, Dec("0.95"));
  EXPECT_LT(z_of(x_only, 0.95), -kZTwoSided);
}

// ---- validation ----------------------------------------------------------------

template <typename F>
void ExpectInvalid(F&& call, const std::string& fragment) {
  try {
    call();
    FAIL() << "expected invalid_mechanism mentioning \"" << fragment << "\"";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kInternal);
    EXPECT_EQ(std::string(Name(e.code())), "invalid_mechanism");
    EXPECT_NE(e.message().find(fragment), std::string::npos) << e.message();
  }
}

TEST(ConfidenceValidation, RejectsConfidenceZero) {
  ExpectInvalid([] { DiscreteLaplaceHalfWidth(Rational(1), Rational(0)); }, "strictly between 0 and 1");
}

TEST(ConfidenceValidation, RejectsConfidenceOne) {
  ExpectInvalid([] { DiscreteLaplaceHalfWidth(Rational(1), Rational(1)); }, "strictly between 0 and 1");
}

TEST(ConfidenceValidation, RejectsConfidenceAboveOne) {
  ExpectInvalid([] { DiscreteGaussianHalfWidth(Rational(1), Dec("1.5")); }, "strictly between 0 and 1");
}

TEST(ConfidenceValidation, RejectsNegativeConfidence) {
  ExpectInvalid([] { DiscreteGaussianHalfWidth(Rational(1), Dec("-0.5")); }, "strictly between 0 and 1");
}

TEST(ConfidenceValidation, RejectsNonPositiveLaplaceScale) {
  ExpectInvalid([] { DiscreteLaplaceHalfWidth(Rational(0), Dec("0.95")); }, "scale must be positive");
  ExpectInvalid([] { DiscreteLaplaceTailProbability(Dec("-1"), 3); }, "scale must be positive");
}

TEST(ConfidenceValidation, RejectsNonPositiveGaussianVariance) {
  ExpectInvalid([] { DiscreteGaussianHalfWidth(Rational(0), Dec("0.95")); }, "sigma^2 must be positive");
}

}  // namespace
}  // namespace dpql
