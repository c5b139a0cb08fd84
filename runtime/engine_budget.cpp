// Budgets as responses show them, and the catalog's dataset-wide cap in
// ledger units (engine.h).

#include <cmath>

#include "compiler/common/zcdp.h"
#include "runtime/engine.h"

namespace dpql {

namespace {

// An epsilon equivalent as a decimal with six places, rounded up (spent) or
// down (total, remaining) so the display never flatters the analyst's position.
std::string EquivalentEpsilon(double epsilon, bool round_up) {
  const double micro = round_up ? std::ceil(epsilon * 1e6) : std::floor(epsilon * 1e6);
  return FormatFixedPoint(static_cast<int64_t>(micro), 6);
}

// A ledger amount rounded down to whole units (caps are never raised by rounding).
int64_t UnitsDown(const Rational& value, int64_t scale) { return Floor(value * scale).convert_to<int64_t>(); }

}  // namespace

BudgetView ToBudgetView(const Budget& budget, const Dataset* dataset) {
  BudgetView view;
  view.dataset = budget.dataset;
  view.epsilon_total = budget.total.EpsilonString();
  view.epsilon_spent = budget.spent.EpsilonString();
  view.epsilon_remaining = budget.Remaining().EpsilonString();
  view.delta_total = budget.total.DeltaString();
  view.delta_spent = budget.spent.DeltaString();
  view.delta_remaining = budget.Remaining().DeltaString();
  if (dataset != nullptr && dataset->accounting == Accounting::kZcdp) {
    const Rational& delta = dataset->defaults.delta;  // > 0: the catalog checks it
    const BudgetCost remaining = budget.Remaining();
    view.accounting = "zcdp";
    view.rho_total = budget.total.RhoString();
    view.rho_spent = budget.spent.RhoString();
    view.rho_remaining = remaining.RhoString();
    view.epsilon_total = EquivalentEpsilon(EpsilonForRho(budget.total.Rho(), delta), false);
    view.epsilon_spent = EquivalentEpsilon(EpsilonForRho(budget.spent.Rho(), delta), true);
    view.epsilon_remaining = EquivalentEpsilon(EpsilonForRho(remaining.Rho(), delta), false);
    const std::string delta_text = BudgetCost{0, UnitsDown(delta, kPicoPerDelta), 0}.DeltaString();
    view.delta_total = delta_text;
    view.delta_spent = budget.spent.rho_pico > 0 ? delta_text : "0";
    view.delta_remaining = delta_text;
  }
  return view;
}

BudgetCap DatasetCap(const Dataset& dataset) {
  const PrivacyLimits& limits = dataset.limits;
  BudgetCap cap;
  if (dataset.accounting == Accounting::kZcdp) {
    if (limits.dataset_rho) {
      cap.rho_pico = UnitsDown(*limits.dataset_rho, kPicoPerRho);
    } else if (limits.dataset_epsilon) {
      const Rational delta = limits.dataset_delta.value_or(dataset.defaults.delta);
      cap.rho_pico = UnitsDown(RhoForEpsilonDelta(*limits.dataset_epsilon, delta), kPicoPerRho);
    }
    return cap;
  }
  if (limits.dataset_epsilon) cap.epsilon_micro = UnitsDown(*limits.dataset_epsilon, kMicroPerEpsilon);
  if (limits.dataset_delta) cap.delta_pico = UnitsDown(*limits.dataset_delta, kPicoPerDelta);
  return cap;
}

BudgetCap DatasetCap(const Dataset& dataset, TimePoint now) {
  BudgetCap cap = DatasetCap(dataset);
  cap.period = dataset.limits.dataset_period;
  if (cap.period != BudgetPeriod::kNone) cap.period_start = PeriodStart(cap.period, now);
  return cap;
}

}  // namespace dpql
