#include <algorithm>
#include <cmath>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"
#include "compiler/planner/plan.h"

namespace dpql {

namespace {

BigInt MaxAbs(const Rational& lower, const Rational& upper) {
  return Ceil(std::max(abs(lower), abs(upper)));
}

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

int FindOrAddMeasure(std::vector<Measure>& measures, MeasureKind kind,
                     const CatalogColumn* column) {
  for (size_t i = 0; i < measures.size(); ++i) {
    if (measures[i].kind == kind && measures[i].column == column) return static_cast<int>(i);
  }
  Measure measure;
  measure.kind = kind;
  measure.column = column;
  measures.push_back(measure);
  return static_cast<int>(measures.size() - 1);
}

}  // namespace

Rational BoundsMidpoint(const CatalogColumn& column) {
  return (*column.lower + *column.upper) / 2;
}

Rational BoundsHalfRange(const CatalogColumn& column) {
  return (*column.upper - *column.lower) / 2;
}

Rational SquaresOffset(const CatalogColumn& column) {
  const Rational half_range = BoundsHalfRange(column);
  return half_range * half_range / 2;
}

int64_t PartitionSelectionThreshold(const Rational& scale, const Rational& delta,
                                    int64_t max_groups) {
  // Per-group delta so that max_groups groups together stay within delta
  // (Google partition-selection.h): 1 - (1 - delta)^(1/max_groups).
  const long double d = static_cast<long double>(ToDouble(delta));
  const long double per_group = -std::expm1(std::log1p(-d) / max_groups);
  // A group held by one person is released when 1 + X >= T, X discrete
  // Laplace with r = exp(-1/scale): P(X >= k) = r^k / (1 + r) for k >= 1.
  const long double log_r = -1.0L / static_cast<long double>(ToDouble(scale));
  const long double r = std::exp(log_r);
  long double k = std::ceil(std::log(per_group * (1 + r)) / log_r);
  if (k < 1) k = 1;
  // Outward: one more step than the floating-point estimate, so rounding in
  // this (public-parameter) arithmetic can only make the threshold stricter.
  return static_cast<int64_t>(k) + 2;
}

Plan PlanSelect(BoundSelect select) {
  Plan plan;
  const PrivacyParams& privacy = select.privacy;

  // How many groups one person can reach: max_groups, or fewer when the whole
  // output has fewer keys. Then the SQL need not drop anyone's groups.
  BigInt total_keys = 1;
  bool size_known = true;
  for (const auto& key : select.keys) {
    if (key.domain.kind == KeyDomain::Kind::kSelected) plan.partition_selection = true;
    if (!key.domain.size) {
      size_known = false;
    } else {
      total_keys *= *key.domain.size;
    }
  }
  if (size_known && total_keys > 100000) {
    throw DpqlError(ErrorKind::kPrivacy, "too_many_groups",
                    "the GROUP BY keys have " + total_keys.str() +
                        " combinations; use fewer or coarser keys (at most 100000 groups)",
                    select.keys.front().loc);
  }
  if (!plan.partition_selection && size_known && total_keys <= privacy.max_groups) {
    plan.groups_bound = total_keys.convert_to<int64_t>();
    plan.bound_groups = false;
  } else {
    plan.groups_bound = privacy.max_groups;
    plan.bound_groups = true;
  }

  // Outputs and the measures they need (shared where possible: AVG(x) and
  // COUNT(x) use the same count).
  for (const auto& out : select.outputs) {
    PlanOutput output;
    output.name = out.name;
    if (out.is_key) {
      output.kind = OutputKind::kKey;
      output.key = out.index;
      output.type = select.keys[out.index].expr->type;
      plan.outputs.push_back(output);
      continue;
    }
    const BoundAggregate& aggregate = select.aggregates[out.index];
    switch (aggregate.kind) {
      case AggregateKind::kCountStar:
        output.kind = OutputKind::kCount;
        output.measure = FindOrAddMeasure(plan.measures, MeasureKind::kRowCount, nullptr);
        break;
      case AggregateKind::kCountColumn:
        output.kind = OutputKind::kCount;
        output.measure =
            FindOrAddMeasure(plan.measures, MeasureKind::kValueCount, aggregate.column);
        break;
      case AggregateKind::kCountDistinctUnit:
        output.kind = OutputKind::kCount;
        output.measure = FindOrAddMeasure(plan.measures, MeasureKind::kUnitCount, nullptr);
        break;
      case AggregateKind::kSum:
        output.kind = OutputKind::kSum;
        output.type = aggregate.column->type == ColumnType::kInt ? ValueType::kInt : ValueType::kReal;
        output.measure = FindOrAddMeasure(plan.measures, MeasureKind::kSum, aggregate.column);
        break;
      case AggregateKind::kAvg:
      case AggregateKind::kVariance:
      case AggregateKind::kStddev:
        // Sums centred on the bounds' midpoint: half the noise of an
        // uncentred sum when the bounds are [0, U] (see docs/PRIVACY.md).
        output.kind = aggregate.kind == AggregateKind::kAvg        ? OutputKind::kAvg
                      : aggregate.kind == AggregateKind::kVariance ? OutputKind::kVariance
                                                                    : OutputKind::kStddev;
        output.type = ValueType::kReal;
        output.measure =
            FindOrAddMeasure(plan.measures, MeasureKind::kCentredSum, aggregate.column);
        output.count_measure =
            FindOrAddMeasure(plan.measures, MeasureKind::kValueCount, aggregate.column);
        if (output.kind != OutputKind::kAvg) {
          output.squares_measure =
              FindOrAddMeasure(plan.measures, MeasureKind::kCentredSquares, aggregate.column);
        }
        output.lower = *aggregate.column->lower;
        output.upper = *aggregate.column->upper;
        break;
    }
    if (output.kind == OutputKind::kCount) output.type = ValueType::kInt;
    plan.outputs.push_back(output);
  }

  if (plan.partition_selection) {
    // The noisy count of people per group decides which groups are released;
    // it is shared with COUNT(DISTINCT unit) when the query asks for that.
    plan.selection_measure = FindOrAddMeasure(plan.measures, MeasureKind::kUnitCount, nullptr);
  }

  // Epsilon is split evenly between the measures (basic composition).
  const Rational share = privacy.epsilon / static_cast<int64_t>(plan.measures.size());
  for (auto& measure : plan.measures) {
    measure.epsilon = share;
    switch (measure.kind) {
      case MeasureKind::kRowCount:
      case MeasureKind::kValueCount:
        measure.per_group_bound = privacy.max_rows;
        break;
      case MeasureKind::kUnitCount:
        measure.per_group_bound = 1;
        break;
      case MeasureKind::kSum: {
        const CatalogColumn& column = *measure.column;
        BigInt value_bound = MaxAbs(*column.lower, *column.upper) * privacy.max_rows;
        Rational value_scale = Rational(value_bound * plan.groups_bound) / share;
        measure.grid = ChooseGrid(column, value_scale);
        measure.per_group_bound = Ceil(Rational(value_bound) / measure.grid);
        break;
      }
      case MeasureKind::kCentredSum:
      case MeasureKind::kCentredSquares: {
        const CatalogColumn& column = *measure.column;
        const Rational per_row = measure.kind == MeasureKind::kCentredSum
                                     ? BoundsHalfRange(column)
                                     : SquaresOffset(column);
        const Rational value_bound = per_row * privacy.max_rows;
        measure.grid = CentredGrid(measure, value_bound * plan.groups_bound / share);
        measure.per_group_bound = Ceil(value_bound / measure.grid);
        break;
      }
    }
    if (measure.per_group_bound == 0) measure.per_group_bound = 1;  // keeps the scale positive
    measure.sensitivity = measure.per_group_bound * plan.groups_bound;
    measure.scale = Rational(measure.sensitivity) / measure.epsilon;
  }

  plan.cost.epsilon = privacy.epsilon;
  plan.cost.delta = 0;  // the Laplace mechanism is pure epsilon-DP
  if (plan.partition_selection) {
    plan.selection_threshold =
        PartitionSelectionThreshold(plan.measures[plan.selection_measure].scale, privacy.delta,
                                    plan.groups_bound);
    plan.cost.delta = privacy.delta;
  }
  plan.select = std::move(select);
  return plan;
}

Plan CompileSelect(const Dataset& dataset, const ast::SelectStmt& select) {
  Binder binder(dataset);
  Plan plan = PlanSelect(binder.BindSelect(select));
  GenerateSql(plan);
  return plan;
}

}  // namespace dpql
