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

}  // namespace

int64_t MeasureHalfWidth(const Measure& measure, const Rational& confidence) {
  return DiscreteLaplaceHalfWidth(measure.scale, confidence);
}

NoiseSpec MeasureNoise(const Measure& measure) { return NoiseSpec::Laplace(measure.scale); }

QueryResult Release(const Plan& plan, const ExactAggregates& exact, RandomSource& rng) {
  DirectNoise direct(rng);
  return Release(plan, exact, direct);
}

QueryResult Release(const Plan& plan, const ExactAggregates& exact, NoiseSource& noise) {
  const Rational& confidence = plan.select.privacy.confidence;
  // AVG combines two noisy figures; each gets half the miss probability so
  // that both hold together with at least the requested confidence.
  const Rational split_confidence = 1 - (1 - confidence) / 2;

  std::vector<NoiseSpec> noise_specs;
  std::vector<int64_t> half_width, split_half_width;
  for (const Measure& m : plan.measures) {
    noise_specs.push_back(MeasureNoise(m));
    half_width.push_back(MeasureHalfWidth(m, confidence));
    split_half_width.push_back(MeasureHalfWidth(m, split_confidence));
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
      noisy[m] = exact.measures[r].at(m) + noise.Draw(noise_specs[m]);
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
          const Measure& sum = plan.measures[out.measure];
          const double lower = ToDouble(out.lower), upper = ToDouble(out.upper);
          const double s = ToReal(noisy[out.measure], sum.grid);
          const double c = ToDouble(Rational(noisy[out.count_measure]));
          double mean = c >= 1 ? s / c : (lower + upper) / 2;
          mean = std::clamp(mean, lower, upper);
          row.push_back(mean);
          const double hw_s = ToDouble(Rational(split_half_width[out.measure]) * sum.grid);
          const double hw_c = static_cast<double>(split_half_width[out.count_measure]);
          Interval ci{lower, upper};
          if (c - hw_c >= 1) {
            double corners[] = {(s - hw_s) / (c - hw_c), (s - hw_s) / (c + hw_c),
                                (s + hw_s) / (c - hw_c), (s + hw_s) / (c + hw_c)};
            ci.lower = std::clamp(*std::min_element(std::begin(corners), std::end(corners)),
                                  lower, upper);
            ci.upper = std::clamp(*std::max_element(std::begin(corners), std::end(corners)),
                                  lower, upper);
          }
          intervals.push_back(ci);
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
