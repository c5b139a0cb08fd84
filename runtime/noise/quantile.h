#pragma once

// A percentile read from a noisy histogram, with a confidence interval by test
// inversion. Everything here is post-processing of noisy cells and public
// parameters (scale, bins, p, confidence): no sampling and no exact data, so
// floating point is fine.
//
// Notation: cells Y_i = c_i + X_i for bins i = 0..B-1, X_i independent
// discrete Laplace at one scale. For a bin j the statistic
//   S(j) = sum_{i<=j} Y_i - p * sum_i Y_i = [C(j) - p N] + E(j),
//   E(j) = (1 - p) sum_{i<=j} X_i - p sum_{i>j} X_i,
// has noise E(j) whose distribution depends only on public parameters. The
// true percentile (the smallest value with at least p N rows at or below it,
// as PostgreSQL's percentile_disc) lies in the bin j* with C(j*) >= p N and
// C(j*-1) < p N; a bin j is kept in the interval unless S(j) < -q_j or
// S(j-1) >= q_{j-1}, each a one-sided test at level (1 - confidence) / 2.

#include <cstdint>
#include <vector>

#include "compiler/common/rational.h"

namespace dpql {

// q_j for j = 0..bins-1: P(E(j) >= q_j) is (1 - confidence) / 2 (E(j) is
// symmetric). Computed by the Cornish-Fisher expansion from E(j)'s exact
// variance and fourth cumulant: normal quantile plus the kurtosis correction,
// which is what matters when few cells dominate E(j) (p near 0 or 1).
std::vector<double> QuantileTestThresholds(const Rational& scale, int64_t bins, const Rational& p,
                                           const Rational& confidence);

struct QuantileEstimate {
  // The estimate: bin `bin`, at `fraction` (in (0, 1]) of its width.
  int64_t bin = 0;
  double fraction = 0.5;
  // The confidence interval as an inclusive range of bins; it always holds `bin`.
  int64_t lower_bin = 0;
  int64_t upper_bin = 0;
};

// `cells` are the noisy cells Y_i (any sign), `thresholds` from
// QuantileTestThresholds for the same p. The estimate uses the cells clamped
// to >= 0: the smallest bin where their running total reaches p times their
// total, interpolated linearly inside it. An empty histogram gives the middle
// of the range.
QuantileEstimate EstimateQuantile(const std::vector<BigInt>& cells, const Rational& p,
                                  const std::vector<double>& thresholds);

// The expected half-width, in bins, of the interval for a group of `rows`
// rows spread evenly over the bins: before any data is seen (EXPLAIN). The
// kept bins are those whose running count is within q of p * rows, about
// q * bins / rows bins on each side, plus one bin of resolution.
double QuantileExpectedHalfWidthBins(const Rational& scale, int64_t bins, const Rational& p,
                                     const Rational& confidence, int64_t rows);

namespace internal {
// Variance and fourth cumulant of the discrete Laplace with
// P(x) proportional to exp(-|x| / scale).
double DiscreteLaplaceVariance(const Rational& scale);
double DiscreteLaplaceFourthCumulant(const Rational& scale);
// Upper (1 - level) quantile of the standard normal, level in (0, 1).
double StandardNormalQuantile(double level);
}  // namespace internal

}  // namespace dpql
