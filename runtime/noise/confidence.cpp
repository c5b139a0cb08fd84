#include "runtime/noise/confidence.h"

#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "compiler/common/error.h"

namespace dpql {

namespace {

// Relative slack applied against us: long double logs and exps are accurate to
// a few ulps (~1e-18), so a margin of 1e-12 can only widen an interval, and
// only when the exact answer sits within 1e-12 of an integer boundary.
constexpr long double kSlack = 1e-12L;

[[noreturn]] void Invalid(const std::string& message) {
  throw DpqlError(ErrorCode::kInvalidMechanism, message);
}

// alpha = 1 - confidence, as a positive long double.
long double Alpha(const Rational& confidence) {
  if (confidence <= 0 || confidence >= 1) {
    Invalid("confidence must be strictly between 0 and 1, got " + ToDecimalString(confidence) +
            "; write e.g. confidence = 0.95");
  }
  const long double alpha = Rational(1 - confidence).convert_to<long double>();
  if (!(alpha > 0)) {
    Invalid("confidence " + ToDecimalString(confidence, 30) +
            " is too close to 1 for an interval; use at most 1 - 1e-4000");
  }
  return alpha;
}

// A scale or variance as a long double, refused unless finite and positive:
// the loops and tails below assume both (the binder's floors and ceilings on
// epsilon and delta keep every real scale far inside that range).
long double FiniteScale(const Rational& value, const char* what) {
  const long double v = value.convert_to<long double>();
  if (!std::isfinite(v) || !(v > 0)) {
    Invalid(std::string("the ") + what + " " + ToDecimalString(value) +
            " is out of the range confidence intervals are computed for");
  }
  return v;
}

int64_t ToHalfWidth(long double k, const char* what) {
  if (!(k < 9.0e18L)) {
    Invalid(std::string("the ") + what +
            " confidence half-width does not fit a 64-bit integer; the noise scale is far too large");
  }
  return k <= 0 ? 0 : static_cast<int64_t>(k);
}

}  // namespace

int64_t DiscreteLaplaceHalfWidth(const Rational& scale, const Rational& confidence) {
  if (scale <= 0) {
    Invalid("discrete Laplace scale must be positive, got " + ToDecimalString(scale));
  }
  const long double alpha = Alpha(confidence);
  const long double b = FiniteScale(scale, "discrete Laplace scale");
  const long double r = std::exp(-1.0L / b);
  // P(|X| > k) = 2 r^(k+1) / (1 + r) <= alpha
  //   <=>  k + 1 >= b * (ln 2 - ln(1 + r) - ln alpha).
  const long double needed = b * (std::log(2.0L) - std::log1p(r) - std::log(alpha));
  const long double outward = needed * (1 + kSlack) + kSlack;
  return ToHalfWidth(std::ceil(outward) - 1, "discrete Laplace");
}

double DiscreteLaplaceTailProbability(const Rational& scale, int64_t k) {
  if (scale <= 0) {
    Invalid("discrete Laplace scale must be positive, got " + ToDecimalString(scale));
  }
  if (k <= 0) return 1.0;
  const long double b = FiniteScale(scale, "discrete Laplace scale");
  const long double r = std::exp(-1.0L / b);
  return static_cast<double>(2 * std::exp(-static_cast<long double>(k) / b) / (1 + r));
}

long double DiscreteLaplaceDifferenceHalfWidth(const Rational& scale_x, const Rational& scale_y,
                                               long double c, const Rational& confidence) {
  if (scale_x <= 0 || scale_y <= 0) {
    Invalid("discrete Laplace scales must be positive, got " + ToDecimalString(scale_x) + " and " +
            ToDecimalString(scale_y));
  }
  const long double alpha = Alpha(confidence);
  c = std::fabs(c);  // Y is symmetric: X - cY and X + cY have one distribution
  if (!(c > 0)) return static_cast<long double>(DiscreteLaplaceHalfWidth(scale_x, confidence));
  // P(|X| > a) <= alpha/2 and P(|Y| > b) <= alpha/2 give P(|X - cY| > a + cb) <= alpha.
  const Rational split = 1 - (1 - confidence) / 2;
  const long double union_bound = static_cast<long double>(DiscreteLaplaceHalfWidth(scale_x, split)) +
                                  c * static_cast<long double>(DiscreteLaplaceHalfWidth(scale_y, split));

  const long double bx = FiniteScale(scale_x, "discrete Laplace scale");
  const long double by = FiniteScale(scale_y, "discrete Laplace scale");
  const long double rx = std::exp(-1.0L / bx), ry = std::exp(-1.0L / by);
  // Y beyond +-K has mass 2 ry^(K+1) / (1 + ry) <= alpha * 1e-4; it is
  // counted as missing, which can only widen the interval.
  const long double terms = std::ceil(by * (std::log(2.0L) - std::log(alpha * 1e-4L)));
  constexpr long double kMaxTerms = 4096;  // bounds the work: ~10 evaluations of 2K+1 terms
  if (!(terms <= kMaxTerms)) return union_bound;
  const int64_t k_max = static_cast<int64_t>(terms);
  std::vector<long double> pmf(k_max + 1);  // P(Y = y) for y = 0..K
  for (int64_t y = 0; y <= k_max; ++y) {
    pmf[y] = (1 - ry) / (1 + ry) * std::exp(-static_cast<long double>(y) / by);
  }
  const long double truncated = 2 * std::exp(-static_cast<long double>(k_max + 1) / by) / (1 + ry);
  // P(X > u) for real u: P(X >= floor(u) + 1); P(X >= k) = rx^k / (1 + rx)
  // for k >= 1 and 1 - rx^(1 - k) / (1 + rx) otherwise. Double precision is
  // ample for these terms (the sum is kept in long double) and much faster.
  const double inv_bx = static_cast<double>(1 / bx);
  const double inv_1prx = static_cast<double>(1 / (1 + rx));
  auto above = [&](long double u) -> double {
    const double k = std::floor(static_cast<double>(u)) + 1;
    if (k >= 1) return k * inv_bx > 700 ? 0.0 : std::exp(-k * inv_bx) * inv_1prx;
    return (1 - k) * inv_bx > 700 ? 1.0 : 1 - std::exp(-(1 - k) * inv_bx) * inv_1prx;
  };
  // P(|X - cY| > t) = sum_y P(Y = y) (P(X > t + cy) + P(X > t - cy)); the
  // terms for y and -y are equal.
  auto miss = [&](long double t) {
    long double total = 0;
    for (int64_t y = k_max; y >= 1; --y) {
      const long double cy = c * static_cast<long double>(y);
      total += pmf[y] * (above(t + cy) + above(t - cy));
    }
    return truncated + 2 * total + pmf[0] * 2 * above(t);
  };
  const long double target = alpha * (1 - kSlack);
  if (miss(0) <= target) return 0;
  long double lo = 0, hi = union_bound;  // invariant: miss(lo) > target >= miss(hi)
  if (!(miss(hi) <= target)) return union_bound;
  while (hi - lo > 1e-3L * hi) {
    const long double mid = (lo + hi) / 2;
    (miss(mid) <= target ? hi : lo) = mid;
  }
  return hi;
}

int64_t DiscreteGaussianHalfWidth(const Rational& sigma2, const Rational& confidence) {
  if (sigma2 <= 0) {
    Invalid("discrete Gaussian variance sigma^2 must be positive, got " + ToDecimalString(sigma2));
  }
  const long double alpha = Alpha(confidence);
  const long double target = alpha * (1 - kSlack);
  const long double s2 = FiniteScale(sigma2, "discrete Gaussian variance");
  const long double sigma = std::sqrt(s2);
  auto density = [s2](long double x) { return std::exp(-x * x / (2 * s2)); };

  if (s2 <= 1e6L) {
    // Sum the unnormalised PMF f(x) = exp(-x^2 / 2 sigma^2) up to M, where
    // f(M) <= alpha * e^-60. Both errors point outward: the normaliser Z omits
    // the far tail (so Z is a lower bound), and the tail sum adds an upper
    // bound of the omitted part, integral_M^inf f <= f(M) sigma^2 / M.
    const long double nats = -std::log(alpha) + 60;
    const int64_t m = static_cast<int64_t>(std::ceil(std::sqrt(2 * s2 * nats))) + 2;
    long double half = 0;  // sum_{x=1..M} f(x), smallest terms first
    for (int64_t x = m; x >= 1; --x) half += density(static_cast<long double>(x));
    const long double z = 1 + 2 * half;
    long double tail = density(static_cast<long double>(m)) * s2 / static_cast<long double>(m);
    int64_t k = m;  // P(|X| > M) <= 2 * tail / Z, far below alpha
    // tail = sum_{x > k} f(x); walk k down while P(|X| > k - 1) is still small enough.
    while (k > 0) {
      const long double wider = tail + density(static_cast<long double>(k));
      if (2 * wider / z > target) break;
      tail = wider;
      --k;
    }
    return k;
  }

  // Large sigma: bound the sums by integrals of the decreasing f (x > 0):
  //   sum_{x > k} f(x) <= integral_k^inf f = sigma sqrt(pi/2) erfc(k / (sigma sqrt 2)),
  //   Z >= 1 + 2 integral_1^inf f.
  // The bound is loose by about f(k) relative to the tail, i.e. by ~k/sigma^2,
  // which for sigma > 1000 widens the interval by at most a unit or so.
  const long double root2 = std::sqrt(2.0L);
  const long double half_pi_root = std::sqrt(std::acos(-1.0L) / 2);
  const long double z = 1 + 2 * sigma * half_pi_root * std::erfc(1 / (sigma * root2));
  auto tail_ok = [&](long double k) {
    const long double tail = sigma * half_pi_root * std::erfc(k / (sigma * root2));
    return 2 * tail / z <= target;
  };
  long double hi = std::ceil(sigma * std::sqrt(2 * (-std::log(alpha) + 5))) + 1;
  while (!tail_ok(hi)) hi *= 2;
  long double lo = 0;  // invariant: tail_ok(hi); lo == 0 or !tail_ok(lo)
  if (tail_ok(lo)) return 0;
  while (hi - lo > 1) {
    const long double mid = std::floor((lo + hi) / 2);
    (tail_ok(mid) ? hi : lo) = mid;
  }
  return ToHalfWidth(hi, "discrete Gaussian");
}

}  // namespace dpql
