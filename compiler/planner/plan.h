#pragma once

// The aggregate plan: what PostgreSQL computes (with each person's
// contribution bounded), what noise each figure gets, and what it costs.

#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/binder/bound.h"

namespace dpql {

// A noise-free figure computed per group by the generated SQL, as an integer
// in units of `grid`.
enum class MeasureKind {
  kRowCount,    // rows, at most max_rows per person per group
  kValueCount,  // rows with a non-null value, at most max_rows per person per group
  kUnitCount,   // people: each person counts once per group
  kSum,         // clamped values, at most max_rows rows' worth per person per group
  kHistogram,   // rows per bin of a column's declared bounds, at most max_rows per person
                // per group: one measure with `bins` cells, each noised at the one scale
  // Centred on the midpoint M of the column's bounds (AVG, VARIANCE, STDDEV):
  // each value then moves the total by at most half the width of the bounds.
  kCentredSum,      // clamped value - M, at most max_rows rows' worth
  kCentredSquares,  // (clamped value - M)^2 - SquaresOffset, at most max_rows rows' worth
};

struct Measure {
  MeasureKind kind = MeasureKind::kRowCount;
  const CatalogColumn* column = nullptr;  // kValueCount, kSum
  Rational grid{1};                       // value of one integer unit of the measure
  BigInt per_group_bound;                 // one person's largest |contribution| to one group
  BigInt sensitivity;                     // L1 over all groups: groups_bound * per_group_bound
  Rational epsilon;                       // this measure's share of the query's epsilon
  Rational scale;                         // discrete Laplace scale: sensitivity / epsilon
  // kHistogram: `bins` equal bins of width `bin_width` from `bin_lower` (for int
  // columns whole numbers, bin i holding bin_lower + i*width .. + width - 1).
  // A person's rows add at most per_group_bound to the whole vector of one
  // group, so the vector's L1 sensitivity is `sensitivity`, like a count's.
  int64_t bins = 0;
  Rational bin_lower, bin_width;

  // mechanism = gaussian: discrete Gaussian noise with variance parameter
  // sigma2, calibrated to the L2 sensitivity (sqrt(groups_bound) *
  // per_group_bound, kept squared so it stays an exact integer). The measure
  // is rho-zCDP with rho = l2_sensitivity_squared / (2 sigma2) (CKS20 Thm. 14).
  Mechanism mechanism = Mechanism::kLaplace;
  BigInt l2_sensitivity_squared;
  Rational sigma2;
  Rational rho;
};

enum class OutputKind { kKey, kCount, kSum, kAvg, kPercentile, kVariance, kStddev };

struct PlanOutput {
  std::string name;
  OutputKind kind = OutputKind::kKey;
  ValueType type = ValueType::kInt;  // the released value's type
  int key = -1;                      // kKey: index into keys
  int measure = -1;                  // kCount, kSum; kAvg, kVariance, kStddev: the centred sum;
                                     // kPercentile: the histogram
  int count_measure = -1;            // kAvg, kVariance, kStddev: the count it divides by
  int squares_measure = -1;          // kVariance, kStddev: the centred sum of squares
  Rational lower, upper;             // kAvg, kVariance, kStddev: the column's bounds
  Rational percentile;               // kPercentile: p (MEDIAN: 1/2)
};

// Centred measures. The midpoint M = (lower + upper) / 2 of a column's bounds;
// every clamped value lies within BoundsHalfRange = (upper - lower) / 2 of it,
// so its squared deviation lies in [0, half_range^2] and, less the offset
// half_range^2 / 2, within half_range^2 / 2 of zero.
Rational BoundsMidpoint(const CatalogColumn& column);
Rational BoundsHalfRange(const CatalogColumn& column);
Rational SquaresOffset(const CatalogColumn& column);

struct PrivacyCost {
  Rational epsilon;
  Rational delta;
  // The query's zCDP cost: set for the Gaussian mechanism (the sum of its
  // measures' rho) and, in a dataset with zCDP accounting, for Laplace queries
  // (epsilon^2 / 2). 0 when the query is accounted in (epsilon, delta) only.
  Rational rho{0};
};

struct Plan {
  BoundSelect select;  // owns the bound expressions the SQL is generated from
  std::vector<Measure> measures;
  std::vector<PlanOutput> outputs;
  int64_t groups_bound = 1;   // most groups one person can contribute to
  bool bound_groups = false;  // whether the SQL must drop a person's extra groups

  // Private partition selection (keys without a public domain): a group is
  // released only when its noisy count of people (measure `selection_measure`)
  // reaches `selection_threshold`.
  bool partition_selection = false;
  int selection_measure = -1;
  int64_t selection_threshold = 0;
  PrivacyCost cost;
  // With `mechanism: auto`, the other mechanism's measures and cost at the
  // same (epsilon, delta), for EXPLAIN to compare; empty when there was no
  // choice (the query named a mechanism, delta is 0, or it needs Laplace).
  std::vector<Measure> alternative_measures;
  PrivacyCost alternative_cost;

  // Generated by GenerateSql: text with $n placeholders and the bind values.
  std::string sql;
  std::vector<std::string> params;
};

// Turns a bound SELECT into a plan: measures, sensitivities, the split of
// epsilon, the cost. Pure; no database.
Plan PlanSelect(BoundSelect select);

// `mechanism: auto` chose the Gaussian, and whoever pays has less delta left
// than it costs: the plan swaps to its alternative, Laplace at the same
// epsilon and delta 0, with the same SQL (bounding does not depend on the
// mechanism). Returns whether it swapped. The choice rests on the payer's
// own budget and the public plan only, never on the data.
bool FallBackToDeltaFreeMechanism(Plan& plan);

// Fills plan.sql and plan.params (sql_generator.cpp). For a sharded or
// federated dataset, the statement for one database wrapped by WrapForFanOut.
void GenerateSql(Plan& plan);

// Wraps plan.sql, generated for one database, so that it runs whole on each
// of the dataset's servers and only the per-group totals are combined, on
// the server's own database (sql_fan_out.cpp). No change for a dataset in
// one database, or for a keys-only plan (it reads public tables only).
void WrapForFanOut(Plan& plan);

// The smallest noisy count of people at which a group is released, such that
// a group held by a single person appears with probability at most
// delta / max_groups (at most Google's 1 - (1 - delta)^(1/max_groups);
// Laplace partition selection, partition-selection.h, with the discrete
// Laplace tail), plus one step of margin. Throws DpqlError (kPrivacy,
// "selection_threshold_out_of_range") when the parameters are out of range
// or the threshold would exceed 10^15; never returns an unchecked value.
int64_t PartitionSelectionThreshold(const Rational& scale, const Rational& delta, int64_t max_groups);

// x > 0 rounded up to six significant decimal digits, in exact arithmetic
// (the Gaussian's sigma^2: readable, and never smaller than calibrated).
Rational RoundUpSignificant(const Rational& x);

// Parse + bind + plan + SQL for one SELECT of `dataset`.
Plan CompileSelect(const Dataset& dataset, const ast::SelectStmt& select);

// Human-readable plan: keys and their domains, measures with sensitivity,
// epsilon share and noise scale, the bounding steps, the cost and the SQL.
// `accuracy` (text computed by the runtime, e.g. the expected error of each
// output) is shown right after the cost.
std::string RenderPlan(const Plan& plan, std::string_view accuracy = {});

// Where contribution bounding can make an answer differ from the same query
// without bounds: a person's groups beyond max_groups dropped
// ("groups_dropped"), rows beyond max_rows in a group not counted
// ("rows_capped"), values clamped to their declared bounds
// ("values_clamped"). `code` is stable; `message` is one sentence in the
// analyst's terms with what to do; `outputs` names the output columns it affects.
struct BiasNote {
  std::string code;
  std::string message;
  std::vector<std::string> outputs;
};

// The plan's bias notes, at most one per code, in the order above; none for a
// bound the catalog's declared structure proves exact (groups_exact,
// rows_exact). Pure (bias_notes.cpp).
std::vector<BiasNote> BiasNotes(const Plan& plan);

}  // namespace dpql
