#include "compiler/planner/calibrate.h"

#include <algorithm>
#include <cmath>

#include "compiler/common/error.h"

namespace dpql {

namespace {

BigInt MaxAbs(const Rational& lower, const Rational& upper) { return Ceil(std::max(abs(lower), abs(upper))); }

// The grid real values are snapped to: the largest power of two no larger than
// 1/1024 of the noise's scale, so rounding error is far below the noise.
// Integer columns keep a grid of 1.
Rational ChooseGrid(const CatalogColumn& column, const Rational& value_scale) {
  if (column.type == ColumnType::kInt) return Rational(1);
  Rational target = value_scale / 1024;
  if (target <= 0) return Rational(1);
  Rational grid(1);
  while (grid > target) grid /= 2;
  while (grid * 2 <= target) grid *= 2;
  return grid;
}

// ChooseGrid for a scale known by its square (the Gaussian's variance in
// value units), in exact arithmetic: the largest power of two whose square is
// at most variance / 1024^2.
Rational ChooseGridFromVariance(const CatalogColumn& column, const Rational& variance) {
  if (column.type == ColumnType::kInt) return Rational(1);
  const Rational target_squared = variance / (1024 * 1024);
  if (target_squared <= 0) return Rational(1);
  Rational grid(1);
  while (grid * grid > target_squared) grid /= 2;
  while (grid * grid * 4 <= target_squared) grid *= 2;
  return grid;
}

// Bins of a percentile's histogram: enough to resolve the declared range
// finely, few enough that the noise summed over the bins below the percentile
// stays small (its variance grows with the number of bins).
constexpr int64_t kMaxHistogramBins = 128;

// Equal bins over the column's declared bounds. Int columns get whole-number
// bins, so every bin holds the same number of possible values.
void ChooseBins(const CatalogColumn& column, Measure& measure) {
  if (column.type == ColumnType::kInt) {
    const BigInt lower = Ceil(*column.lower), upper = Floor(*column.upper);
    const BigInt values = upper >= lower ? upper - lower + 1 : BigInt(1);
    const BigInt width = (values + kMaxHistogramBins - 1) / kMaxHistogramBins;
    measure.bin_lower = Rational(lower);
    measure.bin_width = Rational(width);
    measure.bins = static_cast<int64_t>((values + width - 1) / width);
    return;
  }
  measure.bin_lower = *column.lower;
  if (*column.upper > *column.lower) {
    measure.bins = kMaxHistogramBins;
    measure.bin_width = (*column.upper - *column.lower) / kMaxHistogramBins;
  } else {
    measure.bins = 1;  // a single possible value
    measure.bin_width = 1;
  }
}

// Integer columns: the coarsest power-of-two grid, at most 1, of which every
// term is a multiple, so that centred values of integers are exact on it
// (x - M for the sum; x^2 - 2Mx + M^2 - offset for the squares). Bounds that
// are not dyadic fractions have no such grid and fall back to rounding.
Rational ExactGrid(const std::vector<Rational>& terms, const Rational& value_scale) {
  Rational grid(1);
  for (int halvings = 0; halvings <= 64; ++halvings, grid /= 2) {
    bool exact = true;
    for (const Rational& term : terms) {
      exact = exact && boost::multiprecision::denominator(Rational(term / grid)) == 1;
    }
    if (exact) return grid;
  }
  CatalogColumn real;
  real.type = ColumnType::kReal;
  return ChooseGrid(real, value_scale);
}

Rational CentredGrid(const Measure& measure, const Rational& value_scale) {
  const CatalogColumn& column = *measure.column;
  if (column.type != ColumnType::kInt) return ChooseGrid(column, value_scale);
  const Rational mid = BoundsMidpoint(column);
  if (measure.kind == MeasureKind::kCentredSum) {
    return ExactGrid({mid, *column.lower - mid}, value_scale);
  }
  const Rational offset = SquaresOffset(column);
  return ExactGrid({2 * mid, mid * mid - offset, offset}, value_scale);
}

// floor(log10(x)) for x > 0, exactly: from the digit counts of x's numerator
// and denominator, corrected by comparing x with the power of ten.
int64_t DecimalExponent(const Rational& x) {
  const BigInt num = boost::multiprecision::numerator(x);
  const BigInt den = boost::multiprecision::denominator(x);
  int64_t e = static_cast<int64_t>(num.str().size()) - static_cast<int64_t>(den.str().size());
  auto power = [](int64_t exponent) {
    const BigInt p = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(std::llabs(exponent)));
    return exponent < 0 ? Rational(BigInt(1), p) : Rational(p);
  };
  while (power(e) > x) --e;
  while (power(e + 1) <= x) ++e;
  return e;
}

}  // namespace

Rational RoundUpSignificant(const Rational& x) {
  if (x <= 0) {
    throw DpqlError(ErrorCode::kInvalidMechanism,
                    "RoundUpSignificant needs a positive value, got " + ToDecimalString(x));
  }
  const int64_t exponent = DecimalExponent(x) - 5;
  const BigInt power = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(std::llabs(exponent)));
  const Rational step = exponent < 0 ? Rational(BigInt(1), power) : Rational(power);
  return Rational(Ceil(x / step)) * step;
}

Rational BoundsMidpoint(const CatalogColumn& column) { return (*column.lower + *column.upper) / 2; }

Rational BoundsHalfRange(const CatalogColumn& column) { return (*column.upper - *column.lower) / 2; }

Rational SquaresOffset(const CatalogColumn& column) {
  const Rational half_range = BoundsHalfRange(column);
  return half_range * half_range / 2;
}

int64_t PartitionSelectionThreshold(const Rational& scale, const Rational& delta, int64_t max_groups) {
  // The binder and the catalog keep epsilon and delta within their floors and
  // ceilings, so these refusals are for parameters nothing should produce;
  // they keep every step below finite and in range rather than trusting that.
  auto refuse = [&](const std::string& why) -> int64_t {
    throw DpqlError(ErrorCode::kSelectionThresholdOutOfRange,
                    "private partition selection cannot be calibrated for noise scale " +
                        ToDecimalString(scale) + ", delta " + ToDecimalString(delta) + " and max_groups " +
                        std::to_string(max_groups) + " (" + why +
                        "); raise epsilon or lower max_groups, or group by keys with a declared "
                        "domain");
  };
  if (scale <= 0 || delta <= 0 || delta >= 1 || max_groups < 1) refuse("parameters out of range");
  // Per-group delta delta / max_groups: never more than the 1 - (1 - delta)^(1/max_groups)
  // of Google's partition-selection.h (Bernoulli's inequality), so the
  // max_groups groups one person can create together stay within delta;
  // exact, so the target is never rounded up.
  //
  // A group held by one person is released when 1 + X >= T, X discrete
  // Laplace with r = exp(-1/scale): P(X >= k) = r^k / (1 + r) for k >= 1.
  // The smallest k with P(X >= k) <= delta / max_groups is
  //   k* = ceil(scale * (ln(max_groups / delta) - ln(1 + r))).
  const long double s = scale.convert_to<long double>();
  const long double log_target = std::log(static_cast<long double>(max_groups)) -
                                 std::log(delta.convert_to<long double>());  // ln(G / delta)
  const long double log1p_r = std::log1p(std::exp(-1 / s));                  // ln(1 + r), in (0, ln 2]
  const long double estimate = s * (log_target - log1p_r);
  // Long double logs, exps and products are accurate to a few ulps (~1e-18
  // relative); the margin is far above that, so k is never below k*.
  const long double margin = 1e-9L * (1 + s * (std::fabs(log_target) + 1));
  const long double k = std::ceil(estimate + margin);
  if (!std::isfinite(s) || !std::isfinite(log_target) || !std::isfinite(log1p_r) || !std::isfinite(k)) {
    return refuse("the arithmetic left the range of long double");
  }
  // At most 10^15 people: exact in a double, and far above any real group.
  constexpr long double kMaxThreshold = 1e15L;
  if (k > kMaxThreshold) return refuse("the threshold would exceed 10^15 people");
  // One more step than the smallest safe threshold k* + 1: a margin beyond the
  // one in k (DpAuditTest's negative control lowers the threshold by two).
  return (k < 1 ? 1 : static_cast<int64_t>(k)) + 2;
}

void BoundContribution(Measure& measure, const PrivacyParams& privacy, int64_t groups_bound,
                       const BudgetShare& share) {
  const bool gaussian = privacy.mechanism == Mechanism::kGaussian;
  switch (measure.kind) {
    case MeasureKind::kRowCount:
    case MeasureKind::kValueCount: measure.per_group_bound = privacy.max_rows; break;
    case MeasureKind::kUnitCount: measure.per_group_bound = 1; break;
    case MeasureKind::kSum: {
      const CatalogColumn& column = *measure.column;
      BigInt value_bound = MaxAbs(*column.lower, *column.upper) * privacy.max_rows;
      // The grid is a precision choice only (sensitivity is computed in its
      // units); for the Gaussian it is chosen from sigma^2 in value units.
      measure.grid = gaussian
                         ? ChooseGridFromVariance(
                               column, Rational(value_bound * value_bound * groups_bound) / (2 * share.rho))
                         : ChooseGrid(column, Rational(value_bound * groups_bound) / share.epsilon);
      measure.per_group_bound = Ceil(Rational(value_bound) / measure.grid);
      break;
    }
    case MeasureKind::kHistogram:
      // One row adds 1 to one bin: a person's kept rows change the group's
      // whole vector by at most max_rows in L1, however many bins there are.
      measure.per_group_bound = privacy.max_rows;
      ChooseBins(*measure.column, measure);
      break;
    case MeasureKind::kCentredSum:
    case MeasureKind::kCentredSquares: {
      const CatalogColumn& column = *measure.column;
      const Rational per_row =
          measure.kind == MeasureKind::kCentredSum ? BoundsHalfRange(column) : SquaresOffset(column);
      const Rational value_bound = per_row * privacy.max_rows;
      measure.grid = CentredGrid(measure, value_bound * groups_bound / share.epsilon);
      measure.per_group_bound = Ceil(value_bound / measure.grid);
      break;
    }
  }
  if (measure.per_group_bound == 0) measure.per_group_bound = 1;  // keeps the scale positive
}

void Calibrate(Measure& measure, Mechanism mechanism, const Sensitivity& sensitivity,
               const BudgetShare& share) {
  measure.mechanism = mechanism;
  measure.sensitivity = sensitivity.per_group * sensitivity.groups;
  if (mechanism == Mechanism::kGaussian) {
    // L2: one person moves at most `groups` groups, each by at most
    // per_group, so the squared L2 norm is at most their product.
    measure.l2_sensitivity_squared = sensitivity.groups * sensitivity.per_group * sensitivity.per_group;
    measure.sigma2 = RoundUpSignificant(Rational(measure.l2_sensitivity_squared) / (2 * share.rho));
    measure.rho = Rational(measure.l2_sensitivity_squared) / (2 * measure.sigma2);
    return;
  }
  measure.epsilon = share.epsilon;
  measure.scale = Rational(measure.sensitivity) / measure.epsilon;
}

}  // namespace dpql
