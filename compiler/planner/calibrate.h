#pragma once

// Calibration of one measure, inside the planner: the bound on one person's
// contribution to a group (with the grid or the bins it is counted in) and
// the noise that bound and the measure's share of the budget call for. Like
// the mechanism builders of Google's differential-privacy library, it takes
// the mechanism, the sensitivity and the share, and returns the calibrated
// measure; PlanSelect (planner.cpp) decides the share and the bound on groups.

#include <cstdint>

#include "compiler/planner/plan.h"

namespace dpql {

// A measure's share of the query's budget. Laplace: epsilon, split evenly
// between the measures (basic composition). Gaussian: rho, the largest rho
// implying the query's (epsilon, delta), split evenly (zCDP composes by
// adding rho).
struct BudgetShare {
  Rational epsilon;
  Rational rho;  // set for the Gaussian only
};

// How far one person can move a measure: at most `per_group` in each of at
// most `groups` groups.
struct Sensitivity {
  BigInt per_group;
  int64_t groups = 1;
};

// The per-group bound of `measure` for these privacy parameters (with the
// grid it is counted in, or a histogram's bins), never 0.
void BoundContribution(Measure& measure, const PrivacyParams& privacy, int64_t groups_bound,
                       const BudgetShare& share);

// Sets the measure's mechanism, sensitivities and noise: the Laplace scale
// sensitivity / epsilon, or the Gaussian's sigma^2 and the rho it costs.
void Calibrate(Measure& measure, Mechanism mechanism, const Sensitivity& sensitivity,
               const BudgetShare& share);

}  // namespace dpql
