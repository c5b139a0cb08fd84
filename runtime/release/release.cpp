#include "runtime/release/release.h"

#include <algorithm>
#include <cmath>
#include <optional>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/noise/confidence.h"
#include "runtime/noise/quantile.h"
#include "runtime/noise/samplers.h"
#include "runtime/release/postprocess.h"

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

double ToReal(const BigInt& value, const Rational& grid) { return ToDouble(Rational(value) * grid); }

// A percentile from its bin position: the value at `fraction` of bin `bin`
// (int columns: a whole number of the bin), and the interval's bins as values.
void ReleasePercentile(const PlanOutput& out, const Measure& histogram, const QuantileEstimate& estimate,
                       std::vector<Value>& row, std::vector<std::optional<Interval>>& intervals) {
  const Rational& lower = histogram.bin_lower;
  const Rational& width = histogram.bin_width;
  if (out.type == ValueType::kInt) {
    // Bin i holds lower + i*width .. lower + (i+1)*width - 1, capped at the upper bound.
    const int64_t w = ToInt64(Floor(width)).value_or(1);
    const int64_t base = ToInt64(Floor(lower)).value_or(0);
    const int64_t top = ToInt64(Floor(out.upper)).value_or(INT64_MAX);
    const int64_t offset =
        std::clamp<int64_t>(static_cast<int64_t>(std::ceil(estimate.fraction * w)) - 1, 0, w - 1);
    row.push_back(std::min(top, base + estimate.bin * w + offset));
    intervals.push_back(
        Interval{static_cast<double>(base + estimate.lower_bin * w),
                 static_cast<double>(std::min(top, base + (estimate.upper_bin + 1) * w - 1))});
    return;
  }
  const double l = ToDouble(lower), w = ToDouble(width), u = ToDouble(out.upper);
  const double value = l + (static_cast<double>(estimate.bin) + estimate.fraction) * w;
  row.push_back(std::min(u, value));
  intervals.push_back(Interval{l + static_cast<double>(estimate.lower_bin) * w,
                               std::min(u, l + static_cast<double>(estimate.upper_bin + 1) * w)});
}

struct Estimate {
  double value = 0;
  Interval ci;
};

// AVG: M + S'/N' for the noisy centred sum S' and count N'. With the true
// centred mean m = S/N, exactly (S' / N' - m) N' = X - m Y for the sum's and
// the count's noise X and Y, so the interval is the estimate +- h / N' with h
// the quantile of |X - m Y|, m taken at the estimate (docs/PRIVACY.md, "Means").
Estimate EstimateMean(const Plan& plan, const PlanOutput& out, const BigInt& sum, const BigInt& count,
                      const Rational& confidence) {
  const Measure& sum_measure = plan.measures[out.measure];
  const Measure& count_measure = plan.measures[out.count_measure];
  const double lower = ToDouble(out.lower), upper = ToDouble(out.upper);
  const double mid = ToDouble(BoundsMidpoint(*sum_measure.column));
  const double half = ToDouble(BoundsHalfRange(*sum_measure.column));
  if (count < 1) return {mid, {lower, upper}};
  const long double n = static_cast<long double>(ToDouble(Rational(count)));
  const long double grid = static_cast<long double>(ToDouble(sum_measure.grid));
  const long double centred = static_cast<long double>(ToReal(sum, sum_measure.grid)) / n;
  auto in_bounds = [&](long double v) { return std::clamp(static_cast<double>(mid + v), lower, upper); };
  if (sum_measure.mechanism != Mechanism::kLaplace) {
    // Gaussian noise: no calibrated ratio interval yet. Both noisy figures lie
    // within their own intervals at 1 - (1 - confidence)/2 (a union bound),
    // and the mean within the extreme ratios of that box: conservative.
    const Rational split = 1 - (1 - confidence) / 2;
    const long double s = centred * n;
    const long double k_sum = ToDouble(Rational(MeasureHalfWidth(sum_measure, split)) * sum_measure.grid);
    const long double k_count = static_cast<long double>(MeasureHalfWidth(count_measure, split));
    if (n - k_count < 1) return {in_bounds(centred), {lower, upper}};
    const long double corners[] = {(s - k_sum) / (n - k_count), (s - k_sum) / (n + k_count),
                                   (s + k_sum) / (n - k_count), (s + k_sum) / (n + k_count)};
    return {in_bounds(centred),
            {in_bounds(*std::min_element(corners, corners + 4)),
             in_bounds(*std::max_element(corners, corners + 4))}};
  }
  const long double plug_in = std::clamp<long double>(centred, -half, half);
  const long double h =
      DiscreteLaplaceDifferenceHalfWidth(sum_measure.scale, count_measure.scale, plug_in / grid, confidence);
  const long double width = h * grid / n;
  return {in_bounds(centred), {in_bounds(centred - width), in_bounds(centred + width)}};
}

// VARIANCE: q - m^2 with the centred mean m = S1'/N' and the centred second
// moment q = offset + Q'/N', each clamped to its possible range. The interval
// is conservative: each of the three noisy figures within its own interval at
// 1 - (1 - confidence)/3 (so all three hold at once with the stated
// confidence), then the extreme values of q - m^2 over that box.
Estimate EstimateVariance(const Plan& plan, const PlanOutput& out, const BigInt& sum, const BigInt& squares,
                          const BigInt& count, const Rational& confidence) {
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
  estimate.ci = {std::max(0.0, q_lo - farthest * farthest), std::clamp(q_hi - nearest * nearest, 0.0, most)};
  return estimate;
}

Estimate SquareRoot(Estimate variance) {
  return {std::sqrt(variance.value), {std::sqrt(variance.ci.lower), std::sqrt(variance.ci.upper)}};
}

}  // namespace

std::optional<double> ExpectedHalfWidth(const Plan& plan, const PlanOutput& output, int64_t group_size) {
  const Rational& confidence = plan.select.privacy.confidence;
  switch (output.kind) {
    case OutputKind::kKey: return std::nullopt;
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
      if (sum.mechanism != Mechanism::kLaplace) {
        // The union bound the Gaussian release uses, to first order.
        const Rational split = 1 - (1 - confidence) / 2;
        const double k_sum = ToDouble(Rational(MeasureHalfWidth(sum, split)) * sum.grid);
        const double k_count =
            static_cast<double>(MeasureHalfWidth(plan.measures[output.count_measure], split));
        return std::min(half, (k_sum + half * k_count) / static_cast<double>(group_size));
      }
      const long double h = DiscreteLaplaceDifferenceHalfWidth(
          sum.scale, plan.measures[output.count_measure].scale,
          static_cast<long double>(half) / static_cast<long double>(ToDouble(sum.grid)), confidence);
      return std::min<double>(half, static_cast<double>(h * static_cast<long double>(ToDouble(sum.grid)) /
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
    case OutputKind::kPercentile: {
      // Assumes the group's rows spread evenly over the histogram's bins.
      const Measure& m = plan.measures[output.measure];
      const double bins = QuantileExpectedHalfWidthBins(m.scale, m.bins, output.percentile, confidence,
                                                        std::max<int64_t>(group_size, 1));
      return std::min(bins, static_cast<double>(m.bins)) * ToDouble(m.bin_width);
    }
  }
  return std::nullopt;
}

int64_t MeasureHalfWidth(const Measure& measure, const Rational& confidence) {
  if (measure.mechanism == Mechanism::kGaussian) {
    return DiscreteGaussianHalfWidth(measure.sigma2, confidence);
  }
  return DiscreteLaplaceHalfWidth(measure.scale, confidence);
}

// The exact distribution of a measure's noise, by its mechanism.
NoiseSpec MeasureNoise(const Measure& measure) {
  return measure.mechanism == Mechanism::kGaussian ? NoiseSpec::Gaussian(measure.sigma2)
                                                   : NoiseSpec::Laplace(measure.scale);
}

QueryResult Release(const Plan& plan, const ExactAggregates& exact, RandomSource& rng) {
  DirectNoise direct(rng);
  return Release(plan, exact, direct);
}

namespace {

// What every group's release needs of the plan's measures and outputs, from
// public parameters only: the same for every group.
struct ReleaseParameters {
  std::vector<NoiseSpec> noise;                 // per measure
  std::vector<int64_t> half_width;              // per measure, at the plan's confidence
  std::vector<std::vector<double>> thresholds;  // per output: a percentile's test thresholds
};

ReleaseParameters Parameters(const Plan& plan) {
  const Rational& confidence = plan.select.privacy.confidence;
  ReleaseParameters parameters;
  for (const Measure& m : plan.measures) {
    parameters.noise.push_back(MeasureNoise(m));
    parameters.half_width.push_back(MeasureHalfWidth(m, confidence));
  }
  parameters.thresholds.resize(plan.outputs.size());
  for (size_t o = 0; o < plan.outputs.size(); ++o) {
    const PlanOutput& out = plan.outputs[o];
    if (out.kind != OutputKind::kPercentile) continue;
    const Measure& m = plan.measures[out.measure];
    parameters.thresholds[o] = QuantileTestThresholds(m.scale, m.bins, out.percentile, confidence);
  }
  return parameters;
}

// One group's noisy measures: one draw per measure, however many outputs use
// it, and one per cell of a histogram.
struct NoisyGroup {
  std::vector<BigInt> measures;
  std::vector<std::vector<BigInt>> cells;  // histogram measures only
};

NoisyGroup DrawNoise(const Plan& plan, const ExactAggregates& exact, size_t r,
                     const ReleaseParameters& parameters, NoiseSource& noise) {
  NoisyGroup noisy{std::vector<BigInt>(plan.measures.size()),
                   std::vector<std::vector<BigInt>>(plan.measures.size())};
  for (size_t m = 0; m < plan.measures.size(); ++m) {
    if (plan.measures[m].kind == MeasureKind::kHistogram) {
      // One independent draw per cell, all at the histogram's one scale:
      // the L1 sensitivity of the whole vector is the measure's sensitivity.
      noisy.cells[m] = exact.histograms.at(r).at(m);
      for (BigInt& cell : noisy.cells[m]) cell += noise.Draw(parameters.noise[m]);
      continue;
    }
    noisy.measures[m] = exact.measures[r].at(m) + noise.Draw(parameters.noise[m]);
  }
  return noisy;
}

// A noisy count, clamped to >= 0, and its interval.
void ReleaseCount(const BigInt& noisy, int64_t hw, std::vector<Value>& row,
                  std::vector<std::optional<Interval>>& intervals) {
  BigInt value = std::max(BigInt(0), noisy);
  int64_t v = ToInt64(value).value_or(INT64_MAX);
  row.push_back(v);
  intervals.push_back(Interval{static_cast<double>(std::max<int64_t>(0, v - hw)),
                               static_cast<double>(v) + static_cast<double>(hw)});
}

// A noisy sum and its interval. A sum of values whose bounds share a sign has
// that sign: clamping to it is post-processing and only removes impossible values.
void ReleaseSum(const PlanOutput& out, const Measure& m, BigInt value, int64_t half_width,
                std::vector<Value>& row, std::vector<std::optional<Interval>>& intervals) {
  const bool non_negative = *m.column->lower >= 0, non_positive = *m.column->upper <= 0;
  if (non_negative) value = std::max(BigInt(0), value);
  if (non_positive) value = std::min(BigInt(0), value);
  const double hw = ToDouble(Rational(half_width) * m.grid);
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
}

// One released row: each output from the group's keys and noisy measures.
void ReleaseRow(const Plan& plan, const std::vector<std::optional<std::string>>& keys,
                const NoisyGroup& noisy, const ReleaseParameters& parameters, QueryResult& result) {
  const Rational& confidence = plan.select.privacy.confidence;
  std::vector<Value> row;
  std::vector<std::optional<Interval>> intervals;
  for (size_t o = 0; o < plan.outputs.size(); ++o) {
    const PlanOutput& out = plan.outputs[o];
    switch (out.kind) {
      case OutputKind::kKey:
        row.push_back(KeyValue(keys.at(out.key), out.type));
        intervals.emplace_back();
        break;
      case OutputKind::kCount:
        ReleaseCount(noisy.measures[out.measure], parameters.half_width[out.measure], row, intervals);
        break;
      case OutputKind::kSum:
        ReleaseSum(out, plan.measures[out.measure], noisy.measures[out.measure],
                   parameters.half_width[out.measure], row, intervals);
        break;
      case OutputKind::kAvg: {
        const Estimate e = EstimateMean(plan, out, noisy.measures[out.measure],
                                        noisy.measures[out.count_measure], confidence);
        row.push_back(e.value);
        intervals.push_back(e.ci);
        break;
      }
      case OutputKind::kVariance:
      case OutputKind::kStddev: {
        Estimate e =
            EstimateVariance(plan, out, noisy.measures[out.measure], noisy.measures[out.squares_measure],
                             noisy.measures[out.count_measure], confidence);
        if (out.kind == OutputKind::kStddev) e = SquareRoot(e);
        row.push_back(e.value);
        intervals.push_back(e.ci);
        break;
      }
      case OutputKind::kPercentile: {
        const QuantileEstimate estimate =
            EstimateQuantile(noisy.cells[out.measure], out.percentile, parameters.thresholds[o]);
        ReleasePercentile(out, plan.measures[out.measure], estimate, row, intervals);
        break;
      }
    }
  }
  result.rows.push_back(std::move(row));
  result.intervals.push_back(std::move(intervals));
}

}  // namespace

QueryResult ReleaseAggregates(const Plan& plan, const ExactAggregates& exact, NoiseSource& noise,
                              std::vector<std::vector<BigInt>>* noisy_measures) {
  const ReleaseParameters parameters = Parameters(plan);
  QueryResult result;
  result.confidence = plan.select.privacy.confidence;
  result.cost = plan.cost;
  for (const PlanOutput& out : plan.outputs) {
    result.columns.push_back({out.name, out.type, out.kind != OutputKind::kKey});
  }
  for (size_t r = 0; r < exact.measures.size(); ++r) {
    const NoisyGroup noisy = DrawNoise(plan, exact, r, parameters, noise);
    if (plan.partition_selection && noisy.measures[plan.selection_measure] < plan.selection_threshold) {
      continue;  // too few people: the group is not released, not even its key
    }
    ReleaseRow(plan, exact.keys[r], noisy, parameters, result);
    if (noisy_measures != nullptr) noisy_measures->push_back(noisy.measures);
  }
  if (plan.partition_selection) {
    result.notes.push_back(
        "groups with few people are suppressed: a group is shown only when its noisy count of "
        "people reaches " +
        std::to_string(plan.selection_threshold) + " (private partition selection)");
  }
  result.bias = BiasNotes(plan);
  return result;
}

QueryResult Release(const Plan& plan, const ExactAggregates& exact, NoiseSource& noise) {
  QueryResult result = ReleaseAggregates(plan, exact, noise);
  PostProcess(plan.select, result);
  return result;
}

}  // namespace dpql
