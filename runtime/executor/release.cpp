#include "runtime/executor/release.h"

#include <algorithm>
#include <cmath>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/noise/confidence.h"
#include "runtime/executor/postprocess.h"
#include "runtime/noise/samplers.h"

namespace dpql {

namespace {

Value KeyValue(const std::optional<std::string>& text, ValueType type) {
  if (!text) return std::monostate{};
  switch (type) {
    case ValueType::kInt: return static_cast<int64_t>(std::stoll(*text));
    case ValueType::kReal: return std::stod(*text);
    case ValueType::kBool: return *text == "true" || *text == "t";
    default: return *text;
  }
}

double ToReal(const BigInt& value, const Rational& grid) {
  return ToDouble(Rational(value) * grid);
}

struct Estimate {
  double value = 0;
  Interval ci;
};

// AVG: M + S'/N' for the noisy centred sum S' and count N'. With the true
// centred mean m = S/N, exactly (S' / N' - m) N' = X - m Y for the sum's and
// the count's noise X and Y, so the interval is the estimate +- h / N' with h
// the quantile of |X - m Y|, m taken at the estimate (docs/PRIVACY.md, "Means").
Estimate EstimateMean(const Plan& plan, const PlanOutput& out, const BigInt& sum,
                      const BigInt& count, const Rational& confidence) {
  const Measure& sum_measure = plan.measures[out.measure];
  const Measure& count_measure = plan.measures[out.count_measure];
  const double lower = ToDouble(out.lower), upper = ToDouble(out.upper);
  const double mid = ToDouble(BoundsMidpoint(*sum_measure.column));
  const double half = ToDouble(BoundsHalfRange(*sum_measure.column));
  if (count < 1) return {mid, {lower, upper}};
  const long double n = static_cast<long double>(ToDouble(Rational(count)));
  const long double grid = static_cast<long double>(ToDouble(sum_measure.grid));
  const long double centred = static_cast<long double>(ToReal(sum, sum_measure.grid)) / n;
  const long double plug_in = std::clamp<long double>(centred, -half, half);
  const long double h = DiscreteLaplaceDifferenceHalfWidth(
      sum_measure.scale, count_measure.scale, plug_in / grid, confidence);
  const long double width = h * grid / n;
  auto in_bounds = [&](long double v) {
    return std::clamp(static_cast<double>(mid + v), lower, upper);
  };
  return {in_bounds(centred), {in_bounds(centred - width), in_bounds(centred + width)}};
}

// VARIANCE: q - m^2 with the centred mean m = S1'/N' and the centred second
// moment q = offset + Q'/N', each clamped to its possible range. The interval
// is conservative: each of the three noisy figures within its own interval at
// 1 - (1 - confidence)/3 (so all three hold at once with the stated
// confidence), then the extreme values of q - m^2 over that box.
Estimate EstimateVariance(const Plan& plan, const PlanOutput& out, const BigInt& sum,
                          const BigInt& squares, const BigInt& count,
                          const Rational& confidence) {
  const Measure& sum_measure = plan.measures[out.measure];
  const Measure& squares_measure = plan.measures[out.squares_measure];
  const Measure& count_measure = plan.measures[out.count_measure];
  const CatalogColumn& column = *sum_measure.column;
  const double half = ToDouble(BoundsHalfRange(column));
  const double most = half * half;  // the largest variance values in [lower, upper] can have
  const double offset = ToDouble(SquaresOffset(column));
  if (count < 1) return {most / 2, {0, most}};
  const double n = ToDouble(Rational(count));
  const double s1 = ToReal(sum, sum_measure.grid), q_sum = ToReal(squares, squares_measure.grid);
  const double m = std::clamp(s1 / n, -half, half);
  const double q = std::clamp(offset + q_sum / n, 0.0, most);
  Estimate estimate{std::max(0.0, q - m * m), {0, most}};

  const Rational third = 1 - (1 - confidence) / 3;
  const double k_count = static_cast<double>(MeasureHalfWidth(count_measure, third));
  const double k_sum = ToDouble(Rational(MeasureHalfWidth(sum_measure, third)) * sum_measure.grid);
  const double k_squares =
      ToDouble(Rational(MeasureHalfWidth(squares_measure, third)) * squares_measure.grid);
  const double n_lo = n - k_count, n_hi = n + k_count;
  if (n_lo < 1) return estimate;  // the count may be near zero: nothing to divide by
  // The range of x / n over x in [a, b], n in [n_lo, n_hi] (n > 0): its corners.
  auto ratio = [&](double a, double b) {
    const double c[] = {a / n_lo, a / n_hi, b / n_lo, b / n_hi};
    return std::pair{*std::min_element(c, c + 4), *std::max_element(c, c + 4)};
  };
  auto [m_lo, m_hi] = ratio(s1 - k_sum, s1 + k_sum);
  m_lo = std::clamp(m_lo, -half, half);
  m_hi = std::clamp(m_hi, -half, half);
  auto [q_lo, q_hi] = ratio(q_sum - k_squares, q_sum + k_squares);
  q_lo = std::clamp(offset + q_lo, 0.0, most);
  q_hi = std::clamp(offset + q_hi, 0.0, most);
  const double nearest = m_lo <= 0 && m_hi >= 0 ? 0 : std::min(std::fabs(m_lo), std::fabs(m_hi));
  const double farthest = std::max(std::fabs(m_lo), std::fabs(m_hi));
  estimate.ci = {std::max(0.0, q_lo - farthest * farthest),
                 std::clamp(q_hi - nearest * nearest, 0.0, most)};
  return estimate;
}

Estimate SquareRoot(Estimate variance) {
  return {std::sqrt(variance.value), {std::sqrt(variance.ci.lower), std::sqrt(variance.ci.upper)}};
}

}  // namespace

std::optional<double> ExpectedHalfWidth(const Plan& plan, const PlanOutput& output,
                                        int64_t group_size) {
  const Rational& confidence = plan.select.privacy.confidence;
  switch (output.kind) {
    case OutputKind::kKey:
      return std::nullopt;
    case OutputKind::kCount:
      return static_cast<double>(MeasureHalfWidth(plan.measures[output.measure], confidence));
    case OutputKind::kSum: {
      const Measure& m = plan.measures[output.measure];
      return ToDouble(Rational(MeasureHalfWidth(m, confidence)) * m.grid);
    }
    case OutputKind::kAvg: {
      // The interval is widest when the mean sits at a bound.
      const Measure& sum = plan.measures[output.measure];
      const double half = ToDouble(BoundsHalfRange(*sum.column));
      if (group_size < 1) return half;
      const long double h = DiscreteLaplaceDifferenceHalfWidth(
          sum.scale, plan.measures[output.count_measure].scale,
          static_cast<long double>(half) / static_cast<long double>(ToDouble(sum.grid)),
          confidence);
      return std::min<double>(half, static_cast<double>(
                                        h * static_cast<long double>(ToDouble(sum.grid)) /
                                        static_cast<long double>(group_size)));
    }
    case OutputKind::kVariance:
    case OutputKind::kStddev: {
      // Noise-free figures of a group whose centred mean is 0 and whose
      // centred second moment equals the offset (every centred figure 0).
      Estimate e = EstimateVariance(plan, output, BigInt(0), BigInt(0),
                                    BigInt(std::max<int64_t>(group_size, 0)), confidence);
      if (output.kind == OutputKind::kStddev) e = SquareRoot(e);
      return (e.ci.upper - e.ci.lower) / 2;
    }
  }
  return std::nullopt;
}

int64_t MeasureHalfWidth(const Measure& measure, const Rational& confidence) {
  return DiscreteLaplaceHalfWidth(measure.scale, confidence);
}

QueryResult Release(const Plan& plan, const ExactAggregates& exact, RandomSource& rng) {
  const Rational& confidence = plan.select.privacy.confidence;
  std::vector<DiscreteLaplaceSampler> samplers;
  std::vector<int64_t> half_width;
  for (const Measure& m : plan.measures) {
    samplers.emplace_back(m.scale);
    half_width.push_back(MeasureHalfWidth(m, confidence));
  }

  QueryResult result;
  result.confidence = confidence;
  result.cost = plan.cost;
  for (const PlanOutput& out : plan.outputs) {
    result.columns.push_back({out.name, out.type, out.kind != OutputKind::kKey});
  }

  for (size_t r = 0; r < exact.measures.size(); ++r) {
    // One draw per measure per group, however many outputs use it.
    std::vector<BigInt> noisy(plan.measures.size());
    for (size_t m = 0; m < plan.measures.size(); ++m) {
      noisy[m] = exact.measures[r].at(m) + samplers[m].Sample(rng);
    }
    if (plan.partition_selection && noisy[plan.selection_measure] < plan.selection_threshold) {
      continue;  // too few people: the group is not released, not even its key
    }
    std::vector<Value> row;
    std::vector<std::optional<Interval>> intervals;
    for (const PlanOutput& out : plan.outputs) {
      switch (out.kind) {
        case OutputKind::kKey:
          row.push_back(KeyValue(exact.keys[r].at(out.key), out.type));
          intervals.emplace_back();
          break;
        case OutputKind::kCount: {
          BigInt value = std::max(BigInt(0), noisy[out.measure]);
          int64_t hw = half_width[out.measure];
          int64_t v = ToInt64(value).value_or(INT64_MAX);
          row.push_back(v);
          intervals.push_back(Interval{static_cast<double>(std::max<int64_t>(0, v - hw)),
                                       static_cast<double>(v) + static_cast<double>(hw)});
          break;
        }
        case OutputKind::kSum: {
          // A sum of values whose bounds share a sign has that sign: clamping
          // to it is post-processing and only removes impossible values.
          const Measure& m = plan.measures[out.measure];
          BigInt value = noisy[out.measure];
          const bool non_negative = *m.column->lower >= 0, non_positive = *m.column->upper <= 0;
          if (non_negative) value = std::max(BigInt(0), value);
          if (non_positive) value = std::min(BigInt(0), value);
          const double hw = ToDouble(Rational(half_width[out.measure]) * m.grid);
          const double v = ToReal(value, m.grid);
          Interval ci{v - hw, v + hw};
          if (non_negative) ci.lower = std::max(0.0, ci.lower);
          if (non_positive) ci.upper = std::min(0.0, ci.upper);
          if (out.type == ValueType::kInt) {
            row.push_back(ToInt64(value * Floor(m.grid)).value_or(0));
          } else {
            row.push_back(v);
          }
          intervals.push_back(ci);
          break;
        }
        case OutputKind::kAvg: {
          const Estimate e = EstimateMean(plan, out, noisy[out.measure],
                                          noisy[out.count_measure], confidence);
          row.push_back(e.value);
          intervals.push_back(e.ci);
          break;
        }
        case OutputKind::kVariance:
        case OutputKind::kStddev: {
          Estimate e = EstimateVariance(plan, out, noisy[out.measure],
                                        noisy[out.squares_measure], noisy[out.count_measure],
                                        confidence);
          if (out.kind == OutputKind::kStddev) e = SquareRoot(e);
          row.push_back(e.value);
          intervals.push_back(e.ci);
          break;
        }
      }
    }
    result.rows.push_back(std::move(row));
    result.intervals.push_back(std::move(intervals));
  }
  if (plan.partition_selection) {
    result.notes.push_back(
        "groups with few people are suppressed: a group is shown only when its noisy count of "
        "people reaches " +
        std::to_string(plan.selection_threshold) + " (private partition selection)");
  }
  PostProcess(plan.select, result);
  return result;
}

}  // namespace dpql
