#include "runtime/noise/quantile.h"

#include <algorithm>
#include <cmath>

#include "compiler/common/error.h"

namespace dpql {

namespace internal {

// The discrete Laplace is G1 - G2 for independent geometrics with
// P(G = k) = (1 - r) r^k, r = exp(-1 / scale). Its odd cumulants vanish and
// its even ones are twice the geometric's:
//   kappa2 = 2 r / (1 - r)^2,  kappa4 = 2 r (1 + 4 r + r^2) / (1 - r)^4.
double DiscreteLaplaceVariance(const Rational& scale) {
  const long double b = scale.convert_to<long double>();
  const long double r = std::exp(-1.0L / b);
  const long double q = -std::expm1(-1.0L / b);  // 1 - r without cancellation
  return static_cast<double>(2 * r / (q * q));
}

double DiscreteLaplaceFourthCumulant(const Rational& scale) {
  const long double b = scale.convert_to<long double>();
  const long double r = std::exp(-1.0L / b);
  const long double q = -std::expm1(-1.0L / b);
  return static_cast<double>(2 * r * (1 + 4 * r + r * r) / (q * q * q * q));
}

double StandardNormalQuantile(double level) {
  // Bisection on Phi(z) = erfc(-z / sqrt 2) / 2: slow but exact to the last
  // bits, and it runs once per (bin, percentile) of a query.
  long double lo = -40, hi = 40;
  for (int i = 0; i < 200; ++i) {
    const long double mid = (lo + hi) / 2;
    const long double phi = std::erfc(-mid / std::sqrt(2.0L)) / 2;
    (phi < level ? lo : hi) = mid;
  }
  return static_cast<double>((lo + hi) / 2);
}

}  // namespace internal

std::vector<double> QuantileTestThresholds(const Rational& scale, int64_t bins, const Rational& p,
                                           const Rational& confidence) {
  if (scale <= 0 || bins < 1 || p <= 0 || p >= 1 || confidence <= 0 || confidence >= 1) {
    throw DpqlError(ErrorCode::kInvalidMechanism,
                    "percentile thresholds need scale > 0, bins >= 1, p and confidence in (0, 1)");
  }
  const double k2 = internal::DiscreteLaplaceVariance(scale);
  const double k4 = internal::DiscreteLaplaceFourthCumulant(scale);
  const double alpha = ToDouble(1 - confidence);
  const double z = internal::StandardNormalQuantile(1 - alpha / 2);
  const double below = ToDouble(1 - p), above = ToDouble(p);  // weights of the two sides
  std::vector<double> thresholds(static_cast<size_t>(bins));
  for (int64_t j = 0; j < bins; ++j) {
    const double left = static_cast<double>(j + 1), right = static_cast<double>(bins - j - 1);
    const double variance = k2 * (below * below * left + above * above * right);
    const double cumulant4 =
        k4 * (below * below * below * below * left + above * above * above * above * right);
    const double sigma = std::sqrt(variance);
    // Cornish-Fisher with zero skewness: z + (z^3 - 3 z) * excess_kurtosis / 24.
    const double kurtosis = variance > 0 ? cumulant4 / (variance * variance) : 0;
    const double q = sigma * (z + (z * z * z - 3 * z) * kurtosis / 24);
    thresholds[static_cast<size_t>(j)] = std::max(0.0, q);
  }
  return thresholds;
}

QuantileEstimate EstimateQuantile(const std::vector<BigInt>& cells, const Rational& p,
                                  const std::vector<double>& thresholds) {
  const size_t bins = cells.size();
  if (bins == 0 || thresholds.size() != bins) {
    throw DpqlError(ErrorCode::kInternal, "histogram and thresholds disagree");
  }
  const long double fraction = p.convert_to<long double>();
  std::vector<long double> raw(bins), clamped(bins);
  long double raw_total = 0, clamped_total = 0;
  for (size_t i = 0; i < bins; ++i) {
    raw[i] = cells[i].convert_to<long double>();
    clamped[i] = std::max(0.0L, raw[i]);
    raw_total += raw[i];
    clamped_total += clamped[i];
  }

  QuantileEstimate estimate;
  if (clamped_total <= 0) {
    estimate.bin = static_cast<int64_t>(bins / 2);
    estimate.fraction = bins % 2 == 1 ? 0.5 : 1e-9;  // the middle of the range
  } else {
    const long double target = fraction * clamped_total;
    long double below = 0;
    size_t j = 0;
    while (j + 1 < bins && below + clamped[j] < target) below += clamped[j++];
    estimate.bin = static_cast<int64_t>(j);
    const long double f = clamped[j] > 0 ? (target - below) / clamped[j] : 1;
    estimate.fraction = static_cast<double>(std::clamp(f, 1e-9L, 1.0L));
  }

  // Test inversion on the raw cells, whose noise is exactly E(j).
  int64_t lower = -1, upper = -1;
  long double running = 0, previous_statistic = 0;
  for (size_t j = 0; j < bins; ++j) {
    running += raw[j];
    const long double statistic = running - fraction * raw_total;
    const bool at_or_above = j + 1 == bins || statistic >= -thresholds[j];
    const bool previous_below = j == 0 || previous_statistic < thresholds[j - 1];
    if (at_or_above && previous_below) {
      if (lower < 0) lower = static_cast<int64_t>(j);
      upper = static_cast<int64_t>(j);
    }
    previous_statistic = statistic;
  }
  // The kept bins need not be contiguous; the interval spans them all, and
  // the estimate's bin (a superset can only cover more often).
  estimate.lower_bin = lower < 0 ? estimate.bin : std::min(lower, estimate.bin);
  estimate.upper_bin = upper < 0 ? estimate.bin : std::max(upper, estimate.bin);
  return estimate;
}

double QuantileExpectedHalfWidthBins(const Rational& scale, int64_t bins, const Rational& p,
                                     const Rational& confidence, int64_t rows) {
  const std::vector<double> q = QuantileTestThresholds(scale, bins, p, confidence);
  // The percentile's bin when rows are spread evenly.
  int64_t j = static_cast<int64_t>(std::ceil(ToDouble(p) * static_cast<double>(bins))) - 1;
  j = std::clamp<int64_t>(j, 0, bins - 1);
  const double per_bin = static_cast<double>(std::max<int64_t>(rows, 1)) / static_cast<double>(bins);
  const double spread = q[static_cast<size_t>(j)] / per_bin + 1;
  return std::min(spread, static_cast<double>(bins));
}

}  // namespace dpql
