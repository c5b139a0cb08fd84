#include "runtime/release/expected_error.h"

#include <algorithm>
#include <cmath>
#include <sstream>

#include "runtime/release/release.h"

namespace dpql {

namespace {

// Group sizes at which the error of a mean is illustrated.
constexpr int64_t kGroupSizes[] = {100, 1000, 10000};

std::string FormatHalfWidth(double value) {
  std::ostringstream out;
  out.precision(value >= 100 ? 0 : 3);
  if (value >= 100) {
    out << std::fixed << value;
  } else {
    out << value;
  }
  return out.str();
}

std::string MeasureUnit(const Measure& measure) {
  switch (measure.kind) {
    case MeasureKind::kRowCount: return "rows";
    case MeasureKind::kValueCount: return "values";
    case MeasureKind::kUnitCount: return "people";
    case MeasureKind::kSum:
    case MeasureKind::kCentredSum:
    case MeasureKind::kCentredSquares:
    case MeasureKind::kHistogram: return measure.column->name;
  }
  return "";
}

// `mechanism: auto`: each count's and sum's error under both mechanisms,
// with the cost of each, so the analyst can choose.
std::string CompareMechanisms(const Plan& plan) {
  if (plan.alternative_measures.empty()) return "";
  const Rational& confidence = plan.select.privacy.confidence;
  const bool gaussian = plan.select.privacy.mechanism == Mechanism::kGaussian;
  auto cost = [](const PrivacyCost& c) {
    return "epsilon " + ToDecimalString(c.epsilon) + ", delta " + ToDecimalString(c.delta);
  };
  auto errors = [&](const std::vector<Measure>& measures) {
    std::string text;
    for (const PlanOutput& out : plan.outputs) {
      if (out.kind != OutputKind::kCount && out.kind != OutputKind::kSum) continue;
      const Measure& m = measures.at(out.measure);
      text += (text.empty() ? "" : ", ") + out.name + " ± " +
              FormatHalfWidth(ToDouble(Rational(MeasureHalfWidth(m, confidence)) * m.grid));
    }
    return text.empty() ? std::string("(means and percentiles: see above)") : text;
  };
  std::ostringstream out;
  out << "  mechanisms at this epsilon (mechanism: auto chose the smaller noise):\n"
      << "    " << (gaussian ? "gaussian (chosen)" : "laplace (chosen)") << ": " << errors(plan.measures) << "; costs "
      << cost(plan.cost) << "\n"
      << "    " << (gaussian ? "laplace" : "gaussian") << ": " << errors(plan.alternative_measures) << "; costs "
      << cost(plan.alternative_cost) << "\n";
  return out.str();
}

}  // namespace

std::vector<ExpectedError> ExpectedErrors(const Plan& plan) {
  const Rational& confidence = plan.select.privacy.confidence;
  std::vector<ExpectedError> errors;
  for (const PlanOutput& out : plan.outputs) {
    if (out.kind == OutputKind::kKey) continue;
    ExpectedError error;
    error.column = out.name;
    error.confidence = confidence;
    const Measure& measure = plan.measures.at(out.measure);
    switch (out.kind) {
      case OutputKind::kKey: break;
      case OutputKind::kCount:
      case OutputKind::kSum:
        error.half_width = ToDouble(Rational(MeasureHalfWidth(measure, confidence)) * measure.grid);
        error.unit = MeasureUnit(measure);
        break;
      case OutputKind::kAvg:
      case OutputKind::kVariance:
      case OutputKind::kStddev:
      case OutputKind::kPercentile:
        // A ratio's (or a percentile's) error shrinks with the group's size, which is private.
        for (int64_t n : kGroupSizes) {
          error.by_group_size.emplace_back(n, ExpectedHalfWidth(plan, out, n).value_or(0));
        }
        error.unit = measure.column->name;
        break;
    }
    errors.push_back(std::move(error));
  }
  return errors;
}

std::string ExplainPlan(const Plan& plan) {
  std::ostringstream out;
  std::vector<ExpectedError> errors = ExpectedErrors(plan);
  if (errors.empty()) return RenderPlan(plan);
  out << "Expected error (" << ToDecimalString(plan.select.privacy.confidence * 100)
      << "% of released values lie within this of the bounded exact value)\n";
  for (const ExpectedError& error : errors) {
    out << "  " << error.column << ": ";
    if (error.half_width) {
      out << "± " << FormatHalfWidth(*error.half_width) << " " << error.unit;
    } else {
      for (size_t i = 0; i < error.by_group_size.size(); ++i) {
        const auto& [n, h] = error.by_group_size[i];
        out << (i ? ", " : "") << "± " << FormatHalfWidth(h) << " at " << n << " rows";
      }
      out << " (depends on the group's size)";
    }
    out << "\n";
  }
  if (plan.partition_selection) {
    out << "  groups with fewer than about " << plan.selection_threshold
        << " people are likely to be suppressed\n";
  }
  out << CompareMechanisms(plan);
  return RenderPlan(plan, out.str());
}

}  // namespace dpql
