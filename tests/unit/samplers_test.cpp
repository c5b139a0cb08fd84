// Statistical and validation tests for the exact samplers.
//
// Every statistical check here runs at significance level alpha = 1e-4 on a
// fixed seed (so the outcome is deterministic), and each family has a negative
// control: the same samples compared against a wrong distribution (Laplace
// scale x1.25, Gaussian sigma^2 x1.25, Bernoulli exp(-1.1 gamma), a mean shifted
// by 1) must be rejected at that same level.

#include "runtime/noise/samplers.h"

#include <gtest/gtest.h>

#include <cmath>
#include <functional>
#include <map>
#include <ostream>
#include <string>
#include <vector>

#include "compiler/common/error.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr double kAlpha = 1e-4;
// Two-sided normal quantile for kAlpha: P(|Z| > 3.8906) = 1e-4.
constexpr double kZTwoSided = 3.8906;

Rational Dec(std::string_view text) { return ParseDecimal(text).value(); }

// A scale whose numerator and denominator exceed the machine-word fast path:
// value + 10^-digits.
Rational PlusTiny(const Rational& value, unsigned digits) {
  return value + Rational(BigInt(1), boost::multiprecision::pow(BigInt(10), digits));
}

// ---- chi-square machinery ------------------------------------------------------

// Regularised upper incomplete gamma Q(a, x): series below a + 1, Lentz's
// continued fraction above.
double UpperIncompleteGammaQ(double a, double x) {
  if (x <= 0) return 1.0;
  const double log_prefix = -x + a * std::log(x) - std::lgamma(a);
  if (x < a + 1) {
    double term = 1.0 / a, sum = term;
    for (int n = 1; n < 100000; ++n) {
      term *= x / (a + n);
      sum += term;
      if (std::fabs(term) < std::fabs(sum) * 1e-16) break;
    }
    return 1.0 - sum * std::exp(log_prefix);
  }
  const double tiny = 1e-300;
  double b = x + 1 - a, c = 1 / tiny, d = 1 / b, h = d;
  for (int i = 1; i < 100000; ++i) {
    const double an = -i * (i - a);
    b += 2;
    d = an * d + b;
    if (std::fabs(d) < tiny) d = tiny;
    c = b + an / c;
    if (std::fabs(c) < tiny) c = tiny;
    d = 1 / d;
    const double delta = d * c;
    h *= delta;
    if (std::fabs(delta - 1) < 1e-16) break;
  }
  return std::exp(log_prefix) * h;
}

struct ChiSquare {
  double statistic = 0;
  int df = 0;
  double p_value = 0;
};

// Goodness of fit of integer samples to a PMF symmetric about 0 and decreasing
// in |x|. Every x with expected count >= 10 gets its own bin; each side's
// remainder is one tail bin, merged into the outermost bin when its expected
// count is below 5.
ChiSquare ChiSquareFit(const std::vector<int64_t>& samples, const std::function<long double(int64_t)>& pmf) {
  const long double n = static_cast<long double>(samples.size());
  int64_t m = 0;
  while (n * pmf(m + 1) >= 10) ++m;
  long double core = 0;
  for (int64_t x = -m; x <= m; ++x) core += pmf(x);
  const long double tail = (1 - core) / 2;  // P(X > m) = P(X < -m)
  const bool merge_tails = n * tail < 5;

  std::map<int64_t, long double> observed;
  for (int64_t x = -m - 1; x <= m + 1; ++x) observed[x] = 0;
  for (int64_t s : samples) observed[s < -m ? -m - 1 : (s > m ? m + 1 : s)] += 1;
  if (merge_tails) {
    observed[m] += observed[m + 1];
    observed[-m] += observed[-m - 1];
    observed.erase(m + 1);
    observed.erase(-m - 1);
  }

  ChiSquare result;
  for (const auto& [x, count] : observed) {
    long double p = (x > m || x < -m) ? tail : pmf(x);
    if (merge_tails && (x == m || x == -m)) p += tail;
    const long double expected = n * p;
    result.statistic += static_cast<double>((count - expected) * (count - expected) / expected);
  }
  result.df = static_cast<int>(observed.size()) - 1;
  result.p_value = UpperIncompleteGammaQ(result.df / 2.0, result.statistic / 2.0);
  return result;
}

std::string Describe(const ChiSquare& c) {
  return "chi2 = " + std::to_string(c.statistic) + ", df = " + std::to_string(c.df) +
         ", p = " + std::to_string(c.p_value);
}

// P(x) = (1 - r)/(1 + r) r^|x|, r = exp(-1/b).
std::function<long double(int64_t)> LaplacePmf(const Rational& scale) {
  const long double b = scale.convert_to<long double>();
  const long double r = std::exp(-1.0L / b);
  const long double norm = (1 - r) / (1 + r);
  return [=](int64_t x) { return norm * std::pow(r, static_cast<long double>(std::llabs(x))); };
}

// P(x) = exp(-x^2 / 2 sigma^2) / Z with Z summed far into the tails.
std::function<long double(int64_t)> GaussianPmf(const Rational& sigma2) {
  const long double s2 = sigma2.convert_to<long double>();
  auto f = [s2](int64_t x) { return std::exp(-static_cast<long double>(x) * x / (2 * s2)); };
  const int64_t reach = static_cast<int64_t>(40 * std::sqrt(s2)) + 10;
  long double z = 0;
  for (int64_t x = -reach; x <= reach; ++x) z += f(x);
  return [=](int64_t x) { return f(x) / z; };
}

std::vector<int64_t> Draw(int n, uint64_t seed, const std::function<BigInt(RandomSource&)>& sampler) {
  SeededRandom rng(seed);
  std::vector<int64_t> out;
  out.reserve(n);
  for (int i = 0; i < n; ++i) out.push_back(sampler(rng).convert_to<int64_t>());
  return out;
}

// ---- discrete Laplace ----------------------------------------------------------

struct LaplaceCase {
  const char* name;
  Rational scale;
  bool big_path;  // force the arbitrary-precision path
  int samples;
};

// Failure messages show the case name rather than the struct bytes.
void PrintTo(const LaplaceCase& c, std::ostream* os) { *os << c.name; }

class SamplerDiscreteLaplaceFit : public ::testing::TestWithParam<LaplaceCase> {};

std::vector<int64_t> DrawLaplace(const LaplaceCase& c, uint64_t seed) {
  if (c.big_path) {
    return Draw(c.samples, seed,
                [&](RandomSource& rng) { return internal::SampleDiscreteLaplaceBigPath(c.scale, rng); });
  }
  const DiscreteLaplaceSampler sampler(c.scale);
  return Draw(c.samples, seed, [&](RandomSource& rng) { return sampler.Sample(rng); });
}

TEST_P(SamplerDiscreteLaplaceFit, MatchesExactPmf) {
  const LaplaceCase& c = GetParam();
  const std::vector<int64_t> samples = DrawLaplace(c, 20240601);
  const ChiSquare fit = ChiSquareFit(samples, LaplacePmf(c.scale));
  EXPECT_GT(fit.p_value, kAlpha) << c.name << ": " << Describe(fit);
}

TEST_P(SamplerDiscreteLaplaceFit, NegativeControlWrongScaleIsRejected) {
  const LaplaceCase& c = GetParam();
  const std::vector<int64_t> samples = DrawLaplace(c, 20240601);
  const ChiSquare fit = ChiSquareFit(samples, LaplacePmf(c.scale * Rational(5, 4)));
  EXPECT_LT(fit.p_value, kAlpha) << c.name << ": a 1.25x scale went undetected, " << Describe(fit);
}

INSTANTIATE_TEST_SUITE_P(
    Sampler, SamplerDiscreteLaplaceFit,
    ::testing::Values(LaplaceCase{"half", Dec("0.5"), false, 100000},
                      LaplaceCase{"third", Rational(1, 3), false, 100000},
                      LaplaceCase{"one", Dec("1"), false, 100000},
                      LaplaceCase{"three_point_seven", Dec("3.7"), false, 100000},
                      LaplaceCase{"ten", Dec("10"), false, 100000},
                      LaplaceCase{"one_over_point_one", Rational(1) / Dec("0.1"), false, 100000},
                      LaplaceCase{"hundred", Dec("100"), false, 200000},
                      LaplaceCase{"big_path_half", Dec("0.5"), true, 40000},
                      LaplaceCase{"big_path_three_point_seven", Dec("3.7"), true, 40000},
                      LaplaceCase{"big_path_hundred", Dec("100"), true, 40000},
                      // Numerator and denominator beyond 2^31 (fast path refuses).
                      LaplaceCase{"wide_three_point_seven", PlusTiny(Dec("3.7"), 20), false, 40000},
                      // Beyond 2^64: multi-word uniform draws.
                      LaplaceCase{"huge_ten", PlusTiny(Dec("10"), 30), false, 20000}),
    [](const ::testing::TestParamInfo<LaplaceCase>& info) { return std::string(info.param.name); });

// Mean zero and sign symmetry, with a shifted-mean negative control.
TEST(SamplerDiscreteLaplaceMoments, MeanIsZeroAndSignsAreBalanced) {
  const Rational scale = Dec("10");
  const int n = 200000;
  const std::vector<int64_t> samples =
      Draw(n, 7, [&](RandomSource& rng) { return SampleDiscreteLaplace(scale, rng); });
  const double r = std::exp(-1.0 / 10);
  const double sd = std::sqrt(2 * r) / (1 - r);  // Var = 2r / (1 - r)^2
  double sum = 0;
  int positive = 0, negative = 0;
  for (int64_t s : samples) {
    sum += static_cast<double>(s);
    positive += s > 0;
    negative += s < 0;
  }
  const double z_mean = (sum / n) / (sd / std::sqrt(n));
  EXPECT_LT(std::fabs(z_mean), kZTwoSided) << "mean " << sum / n;
  const double nonzero = positive + negative;
  const double z_sign = (positive - nonzero / 2) / std::sqrt(nonzero / 4);
  EXPECT_LT(std::fabs(z_sign), kZTwoSided) << positive << " positive vs " << negative << " negative";

  // Negative control: the same test on samples shifted by +1 must fail.
  const double z_shifted = ((sum + n) / n) / (sd / std::sqrt(n));
  EXPECT_GT(std::fabs(z_shifted), kZTwoSided);
}

// ---- discrete Gaussian ---------------------------------------------------------

struct GaussianCase {
  const char* name;
  Rational sigma2;
  bool big_path;
  int samples;
};
void PrintTo(const GaussianCase& c, std::ostream* os) { *os << c.name; }

class SamplerDiscreteGaussianFit : public ::testing::TestWithParam<GaussianCase> {};

std::vector<int64_t> DrawGaussian(const GaussianCase& c, uint64_t seed) {
  if (c.big_path) {
    return Draw(c.samples, seed,
                [&](RandomSource& rng) { return internal::SampleDiscreteGaussianBigPath(c.sigma2, rng); });
  }
  const DiscreteGaussianSampler sampler(c.sigma2);
  return Draw(c.samples, seed, [&](RandomSource& rng) { return sampler.Sample(rng); });
}

TEST_P(SamplerDiscreteGaussianFit, MatchesExactPmf) {
  const GaussianCase& c = GetParam();
  const ChiSquare fit = ChiSquareFit(DrawGaussian(c, 99), GaussianPmf(c.sigma2));
  EXPECT_GT(fit.p_value, kAlpha) << c.name << ": " << Describe(fit);
}

TEST_P(SamplerDiscreteGaussianFit, NegativeControlWrongVarianceIsRejected) {
  const GaussianCase& c = GetParam();
  const ChiSquare fit = ChiSquareFit(DrawGaussian(c, 99), GaussianPmf(c.sigma2 * Rational(5, 4)));
  EXPECT_LT(fit.p_value, kAlpha) << c.name << ": a 1.25x variance went undetected, " << Describe(fit);
}

INSTANTIATE_TEST_SUITE_P(
    Sampler, SamplerDiscreteGaussianFit,
    ::testing::Values(GaussianCase{"quarter", Dec("0.25"), false, 60000},
                      GaussianCase{"one", Dec("1"), false, 60000},
                      GaussianCase{"two_point_two_five", Dec("2.25"), false, 60000},
                      GaussianCase{"hundred", Dec("100"), false, 100000},
                      GaussianCase{"big_path_two_point_two_five", Dec("2.25"), true, 30000},
                      GaussianCase{"big_path_ten", Dec("10"), true, 30000},
                      GaussianCase{"wide_seven_thirds", PlusTiny(Rational(7, 3), 25), false, 30000}),
    [](const ::testing::TestParamInfo<GaussianCase>& info) { return std::string(info.param.name); });

// ---- Bernoulli and Bernoulli(exp(-gamma)) --------------------------------------

// |observed - n p| / sqrt(n p (1 - p)), the normal approximation to the binomial.
double BinomialZ(int successes, int n, double p) { return (successes - n * p) / std::sqrt(n * p * (1 - p)); }

struct ExpCase {
  const char* name;
  Rational gamma;
  bool big_path;
};
void PrintTo(const ExpCase& c, std::ostream* os) { *os << c.name; }

class SamplerBernoulliExpFrequency : public ::testing::TestWithParam<ExpCase> {};

TEST_P(SamplerBernoulliExpFrequency, MatchesExpMinusGamma) {
  const ExpCase& c = GetParam();
  const int n = 100000;
  SeededRandom rng(31337);
  int successes = 0;
  for (int i = 0; i < n; ++i) {
    successes +=
        c.big_path ? internal::SampleBernoulliExpBigPath(c.gamma, rng) : SampleBernoulliExp(c.gamma, rng);
  }
  const double gamma = c.gamma.convert_to<double>();
  EXPECT_LT(std::fabs(BinomialZ(successes, n, std::exp(-gamma))), kZTwoSided)
      << c.name << ": " << successes << " of " << n;
  // Negative control: exp(-1.1 gamma) must be rejected on the same data.
  EXPECT_GT(std::fabs(BinomialZ(successes, n, std::exp(-1.1 * gamma))), kZTwoSided)
      << c.name << ": exp(-1.1 gamma) went undetected";
}

INSTANTIATE_TEST_SUITE_P(
    Sampler, SamplerBernoulliExpFrequency,
    ::testing::Values(ExpCase{"half", Dec("0.5"), false}, ExpCase{"one", Dec("1"), false},
                      ExpCase{"seven_thirds", Rational(7, 3), false},
                      ExpCase{"two_point_five", Dec("2.5"), false}, ExpCase{"five", Dec("5"), false},
                      ExpCase{"big_path_half", Dec("0.5"), true},
                      ExpCase{"big_path_seven_thirds", Rational(7, 3), true},
                      ExpCase{"wide_half", PlusTiny(Dec("0.5"), 30), false}),
    [](const ::testing::TestParamInfo<ExpCase>& info) { return std::string(info.param.name); });

TEST(SamplerBernoulliExp, GammaZeroAlwaysSucceeds) {
  SeededRandom rng(1);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_TRUE(SampleBernoulliExp(Rational(0), rng));
    ASSERT_TRUE(internal::SampleBernoulliExpBigPath(Rational(0), rng));
  }
}

TEST(SamplerBernoulli, EndpointsAreCertain) {
  SeededRandom rng(2);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_FALSE(SampleBernoulli(Rational(0), rng));
    ASSERT_TRUE(SampleBernoulli(Rational(1), rng));
  }
}

TEST(SamplerBernoulli, FrequencyMatchesProbability) {
  const int n = 100000;
  for (const Rational& p : {Rational(1, 3), Dec("0.05"), PlusTiny(Rational(1, 3), 40)}) {
    SeededRandom rng(3);
    int successes = 0;
    for (int i = 0; i < n; ++i) successes += SampleBernoulli(p, rng);
    const double pd = p.convert_to<double>();
    EXPECT_LT(std::fabs(BinomialZ(successes, n, pd)), kZTwoSided) << "p = " << pd;
    EXPECT_GT(std::fabs(BinomialZ(successes, n, 1.25 * pd)), kZTwoSided) << "1.25 p undetected, p = " << pd;
  }
}

// ---- the seeded test RNG -------------------------------------------------------

TEST(SamplerTestRng, SameSeedSameStreamDifferentSeedDifferentStream) {
  SeededRandom a(42), b(42), c(43);
  bool any_difference = false;
  for (int i = 0; i < 100; ++i) {
    const uint64_t x = a.NextUint64();
    EXPECT_EQ(x, b.NextUint64());
    any_difference |= x != c.NextUint64();
  }
  EXPECT_TRUE(any_difference);
}

// ---- validation: one test per failure ------------------------------------------

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

TEST(SamplerValidation, BernoulliRejectsNegativeProbability) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleBernoulli(Dec("-0.1"), rng); }, "must be in [0, 1]");
}

TEST(SamplerValidation, BernoulliRejectsProbabilityAboveOne) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleBernoulli(Dec("1.5"), rng); }, "must be in [0, 1]");
}

TEST(SamplerValidation, BernoulliExpRejectsNegativeGamma) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleBernoulliExp(Dec("-1"), rng); }, "gamma >= 0");
  ExpectInvalid([&] { internal::SampleBernoulliExpBigPath(Dec("-1"), rng); }, "gamma >= 0");
}

TEST(SamplerValidation, DiscreteLaplaceRejectsZeroScale) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleDiscreteLaplace(Rational(0), rng); }, "scale must be positive");
}

TEST(SamplerValidation, DiscreteLaplaceRejectsNegativeScale) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleDiscreteLaplace(Dec("-2"), rng); }, "scale must be positive");
  ExpectInvalid([&] { internal::SampleDiscreteLaplaceBigPath(Dec("-2"), rng); }, "scale must be positive");
}

TEST(SamplerValidation, DiscreteLaplaceSamplerValidatesAtConstruction) {
  ExpectInvalid([] { DiscreteLaplaceSampler sampler(Rational(0)); }, "scale must be positive");
}

TEST(SamplerValidation, DiscreteGaussianRejectsZeroVariance) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleDiscreteGaussian(Rational(0), rng); }, "sigma^2 must be positive");
}

TEST(SamplerValidation, DiscreteGaussianRejectsNegativeVariance) {
  SeededRandom rng(0);
  ExpectInvalid([&] { SampleDiscreteGaussian(Dec("-3"), rng); }, "sigma^2 must be positive");
  ExpectInvalid([&] { internal::SampleDiscreteGaussianBigPath(Dec("-3"), rng); }, "sigma^2 must be positive");
}

}  // namespace
}  // namespace dpql
