#pragma once

// Accuracy before spending: the error each released figure is expected to
// have, computed from the plan alone (public parameters: bounds, ε split,
// noise scale, confidence) — never from the data. EXPLAIN shows it.

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "compiler/planner/plan.h"

namespace dpql {

struct ExpectedError {
  std::string column;
  Rational confidence;
  // Counts and sums: the interval half-width every released value gets.
  std::optional<double> half_width;
  // Means and other ratios: the half-width depends on how many rows the
  // group holds; given for a few illustrative group sizes.
  std::vector<std::pair<int64_t, double>> by_group_size;
  std::string unit;  // what half_width measures, e.g. "rows", "people"
};

// One entry per noisy output column of the plan, in output order.
std::vector<ExpectedError> ExpectedErrors(const Plan& plan);

// RenderPlan(plan) followed by an "Expected error" section.
std::string ExplainPlan(const Plan& plan);

}  // namespace dpql
