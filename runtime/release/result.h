#pragma once

// What a statement returns to a client: typed values and, for every noisy
// value, its confidence interval. Never row-level data.

#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "compiler/binder/bound.h"
#include "compiler/planner/plan.h"
#include "runtime/release/expected_error.h"

namespace dpql {

using Value = std::variant<std::monostate, int64_t, double, std::string, bool>;

struct ResultColumn {
  std::string name;
  ValueType type = ValueType::kText;
  bool noisy = false;  // carries noise, and so a confidence interval per value
};

struct Interval {
  double lower = 0;
  double upper = 0;
};

// Budget figures after a statement, as exact decimals.
// With zCDP accounting the budget is kept in rho; the epsilon and delta
// figures are then its (epsilon, delta) equivalents at the dataset's default
// delta (rho-zCDP implies (epsilon(rho, delta), delta)-DP, CKS20 Cor. 13).
struct BudgetView {
  std::string dataset;
  std::string epsilon_total, epsilon_spent, epsilon_remaining;
  std::string delta_total, delta_spent, delta_remaining;
  std::string accounting = "basic";                 // "basic" or "zcdp"
  std::string rho_total, rho_spent, rho_remaining;  // zcdp only; empty otherwise
  // A research project's budget (spent: this period); empty for the analyst's own.
  std::string project;
  std::string renews_on;  // "YYYY-MM-DD" when it is next granted anew; "" if never
  std::string ends_on;    // the project's last day
};

struct QueryResult {
  std::vector<ResultColumn> columns;
  std::vector<std::vector<Value>> rows;
  // Same shape as rows; set exactly for the cells of noisy columns.
  std::vector<std::vector<std::optional<Interval>>> intervals;
  Rational confidence{Rational(95, 100)};
  PrivacyCost cost{Rational(0), Rational(0)};
  bool cached = false;
  // The dpql.ledger row that paid for this answer; unset when nothing was
  // charged (a cached answer, a metadata statement, EXPLAIN).
  std::optional<int64_t> ledger_id;
  std::optional<BudgetView> budget;
  std::string explain;                         // EXPLAIN: the rendered plan
  std::vector<ExpectedError> expected_errors;  // EXPLAIN: accuracy before spending
  std::vector<std::string> notes;              // what a reader must know, e.g. suppressed groups
  // What contribution bounding may have left out (BiasNotes of the plan):
  // set on released, cached and stored answers and on EXPLAIN alike.
  std::vector<BiasNote> bias;
};

// Exact (noise-free) aggregates as PostgreSQL computed them: one row per
// output group, the keys as text and each measure as an integer. Never leaves
// the server.
struct ExactAggregates {
  std::vector<std::vector<std::optional<std::string>>> keys;
  std::vector<std::vector<BigInt>> measures;
  // [row][measure]: a histogram measure's cells (Measure::bins of them), empty
  // for every other measure. measures[row][m] then holds the cells' total.
  std::vector<std::vector<std::vector<BigInt>>> histograms;
};

}  // namespace dpql
