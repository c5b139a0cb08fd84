// PlanSelect: a bound SELECT becomes the plan in four steps, each a function
// below: bound the groups one person can reach, plan the outputs and the
// measures they need, calibrate each measure (calibrate.cpp) to its share of
// the budget, and price the query.

#include <optional>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"
#include "compiler/common/zcdp.h"
#include "compiler/planner/calibrate.h"
#include "compiler/planner/plan.h"

namespace dpql {

namespace {

int FindOrAddMeasure(std::vector<Measure>& measures, MeasureKind kind, const CatalogColumn* column) {
  for (size_t i = 0; i < measures.size(); ++i) {
    if (measures[i].kind == kind && measures[i].column == column) return static_cast<int>(i);
  }
  Measure measure;
  measure.kind = kind;
  measure.column = column;
  measures.push_back(measure);
  return static_cast<int>(measures.size() - 1);
}

[[noreturn]] void FailPrivacy(ErrorCode code, const std::string& message, const SourceLocation& loc) {
  throw DpqlError(code, message, loc);
}

// The first key without a public domain (private partition selection), for
// messages; no location when there is none.
SourceLocation FirstSelectedKey(const BoundSelect& select) {
  for (const auto& key : select.keys) {
    if (key.domain.kind == KeyDomain::Kind::kSelected) return key.loc;
  }
  return {};
}

// The last such key: where a threshold that cannot be calibrated is reported.
SourceLocation LastSelectedKey(const BoundSelect& select) {
  SourceLocation loc;
  for (const auto& key : select.keys) {
    if (key.domain.kind == KeyDomain::Kind::kSelected) loc = key.loc;
  }
  return loc;
}

// Refusals that depend on the mechanism and the dataset's accounting, made
// before anything is calibrated.
void CheckMechanismFits(const BoundSelect& select, bool partition_selection) {
  if (select.privacy.mechanism == Mechanism::kGaussian) {
    for (const auto& aggregate : select.aggregates) {
      if (aggregate.kind != AggregateKind::kPercentile) continue;
      // The percentile's interval is calibrated to Laplace noise on its histogram.
      FailPrivacy(ErrorCode::kUnsupportedMechanism,
                  "mechanism = gaussian cannot be combined with MEDIAN or PERCENTILE (their noisy "
                  "histogram and its intervals use Laplace noise); use mechanism = laplace, or "
                  "ask for the percentile in a query of its own",
                  aggregate.loc);
    }
  }
  if (!partition_selection) return;
  const SourceLocation loc = FirstSelectedKey(select);
  if (select.privacy.mechanism == Mechanism::kGaussian) {
    FailPrivacy(ErrorCode::kUnsupportedMechanism,
                "mechanism = gaussian cannot be combined with a key without a public domain "
                "(private partition selection uses Laplace noise); use mechanism = laplace, or "
                "group by keys with a declared domain",
                loc);
  }
  if (select.dataset->placement.kind == Placement::kFederated) {
    FailPrivacy(ErrorCode::kPartitionSelectionFederated,
                "dataset " + select.dataset->name +
                    " is federated: one person may be counted at several sites, so a group's count "
                    "of people is no longer one person's at most, as private partition selection "
                    "needs; group by keys with a declared domain (e.g. BUCKET or a domain-declared column)",
                loc);
  }
  if (select.dataset->accounting == Accounting::kZcdp) {
    FailPrivacy(ErrorCode::kPartitionSelectionUnderZcdp,
                "dataset " + select.dataset->name +
                    " uses zCDP accounting, which cannot account private partition selection: "
                    "its (epsilon, delta) guarantee has no rho; group by keys with a declared "
                    "domain (e.g. BUCKET or a domain-declared column)",
                loc);
  }
}

// How many groups one person can reach: max_groups, or fewer when the whole
// output has fewer keys. Then the SQL need not drop anyone's groups.
void BoundGroups(const BoundSelect& select, Plan& plan) {
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
    throw DpqlError(ErrorCode::kTooManyGroups,
                    "the GROUP BY keys have " + total_keys.str() +
                        " combinations; use fewer or coarser keys (at most 100000 groups)",
                    select.keys.front().loc);
  }
  if (!plan.partition_selection && size_known && total_keys <= select.privacy.max_groups) {
    plan.groups_bound = total_keys.convert_to<int64_t>();
    plan.bound_groups = false;
  } else {
    plan.groups_bound = select.privacy.max_groups;
    // Declared structure proves nobody has more groups: nothing to drop.
    plan.bound_groups = !select.privacy.groups_exact;
  }
}

// One aggregate's output and the measures it reads (shared where possible:
// AVG(x) and COUNT(x) use the same count).
PlanOutput PlanAggregate(const BoundAggregate& aggregate, std::vector<Measure>& measures) {
  PlanOutput output;
  switch (aggregate.kind) {
    case AggregateKind::kCountStar:
      output.kind = OutputKind::kCount;
      output.measure = FindOrAddMeasure(measures, MeasureKind::kRowCount, nullptr);
      break;
    case AggregateKind::kCountColumn:
      output.kind = OutputKind::kCount;
      output.measure = FindOrAddMeasure(measures, MeasureKind::kValueCount, aggregate.column);
      break;
    case AggregateKind::kCountDistinctUnit:
      output.kind = OutputKind::kCount;
      output.measure = FindOrAddMeasure(measures, MeasureKind::kUnitCount, nullptr);
      break;
    case AggregateKind::kSum:
      output.kind = OutputKind::kSum;
      output.type = aggregate.column->type == ColumnType::kInt ? ValueType::kInt : ValueType::kReal;
      output.measure = FindOrAddMeasure(measures, MeasureKind::kSum, aggregate.column);
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
      output.measure = FindOrAddMeasure(measures, MeasureKind::kCentredSum, aggregate.column);
      output.count_measure = FindOrAddMeasure(measures, MeasureKind::kValueCount, aggregate.column);
      if (output.kind != OutputKind::kAvg) {
        output.squares_measure = FindOrAddMeasure(measures, MeasureKind::kCentredSquares, aggregate.column);
      }
      output.lower = *aggregate.column->lower;
      output.upper = *aggregate.column->upper;
      break;
    case AggregateKind::kPercentile:
      // Every percentile of one column reads the same noisy histogram.
      output.kind = OutputKind::kPercentile;
      output.type = aggregate.column->type == ColumnType::kInt ? ValueType::kInt : ValueType::kReal;
      output.measure = FindOrAddMeasure(measures, MeasureKind::kHistogram, aggregate.column);
      output.lower = *aggregate.column->lower;
      output.upper = *aggregate.column->upper;
      output.percentile = aggregate.percentile;
      break;
  }
  if (output.kind == OutputKind::kCount) output.type = ValueType::kInt;
  return output;
}

// The outputs in SELECT order and the measures they need; with partition
// selection also the count of people that decides which groups are released.
void PlanOutputs(const BoundSelect& select, Plan& plan) {
  for (const auto& out : select.outputs) {
    PlanOutput output;
    if (out.is_key) {
      output.kind = OutputKind::kKey;
      output.key = out.index;
      output.type = select.keys[out.index].expr->type;
    } else {
      output = PlanAggregate(select.aggregates[out.index], plan.measures);
    }
    output.name = out.name;
    plan.outputs.push_back(output);
  }
  if (plan.partition_selection) {
    // The noisy count of people per group decides which groups are released;
    // it is shared with COUNT(DISTINCT unit) when the query asks for that.
    plan.selection_measure = FindOrAddMeasure(plan.measures, MeasureKind::kUnitCount, nullptr);
  }
}

// Laplace: epsilon is split evenly between the measures (basic composition);
// a histogram is one measure: its cells share one sensitivity and one scale.
// Gaussian: the query's (epsilon, delta) becomes the largest rho that
// implies it (CKS20 Cor. 13), split evenly between the measures; zCDP
// composes by adding rho, so the measures together stay within (epsilon, delta).
// The epsilon share is set for both: the centred measures choose their grid by it.
BudgetShare SplitBudget(const PrivacyParams& privacy, int64_t measure_count) {
  BudgetShare share;
  share.epsilon = privacy.epsilon / measure_count;
  if (privacy.mechanism != Mechanism::kGaussian) return share;
  const Rational query_rho = RhoForEpsilonDelta(privacy.epsilon, privacy.delta);
  if (query_rho == 0) {
    FailPrivacy(ErrorCode::kEpsilonTooSmall,
                "epsilon " + ToDecimalString(privacy.epsilon) + " and delta " +
                    ToDecimalString(privacy.delta) +
                    " are too small for the gaussian mechanism; raise them or use laplace",
                {});
  }
  share.rho = query_rho / measure_count;
  return share;
}

// What the query costs, and with partition selection the threshold a group's
// noisy count of people must reach (the delta charged is the delta the
// threshold is computed for).
void PriceQuery(const BoundSelect& select, Plan& plan) {
  const PrivacyParams& privacy = select.privacy;
  const bool gaussian = privacy.mechanism == Mechanism::kGaussian;
  plan.cost.epsilon = privacy.epsilon;
  if (gaussian) {
    for (const Measure& measure : plan.measures) plan.cost.rho += measure.rho;
  }
  // Laplace is pure epsilon-DP; the Gaussian's (epsilon, delta) is what its
  // rho was calibrated to.
  plan.cost.delta = gaussian ? privacy.delta : Rational(0);
  if (!gaussian && select.dataset->accounting == Accounting::kZcdp) {
    plan.cost.rho = RhoOfPureDp(privacy.epsilon);
  }
  if (!plan.partition_selection) return;
  try {
    plan.selection_threshold = PartitionSelectionThreshold(plan.measures[plan.selection_measure].scale,
                                                           privacy.delta, plan.groups_bound);
  } catch (const DpqlError& e) {
    throw DpqlError(e.code(), e.message(), LastSelectedKey(select));
  }
  plan.cost.delta = privacy.delta;
}

// Everything PlanSelect decides, for the mechanism in select.privacy.
Plan PlanMeasures(const BoundSelect& select) {
  Plan plan;
  const PrivacyParams& privacy = select.privacy;
  BoundGroups(select, plan);
  PlanOutputs(select, plan);
  if (plan.measures.empty()) {
    // Keys only, every one from a public domain: the answer is the domain
    // itself, read from the catalog and public tables only. Nothing private
    // is released, so nothing is charged.
    plan.cost = {Rational(0), Rational(0)};
    return plan;
  }
  CheckMechanismFits(select, plan.partition_selection);
  const BudgetShare share = SplitBudget(privacy, static_cast<int64_t>(plan.measures.size()));
  for (auto& measure : plan.measures) {
    BoundContribution(measure, privacy, plan.groups_bound, share);
    // Federated: each site bounds a person's rows on its own, and one person
    // may be at max_sites_per_person sites, so their whole contribution is
    // at most that many sites' worth, in L1 and in L2 alike (docs/PRIVACY.md,
    // "Federated sites"). The SQL's per-site clamp stays per_group_bound.
    const BigInt sites = select.dataset->placement.max_sites_per_person;
    Calibrate(measure, privacy.mechanism, {measure.per_group_bound * sites, plan.groups_bound}, share);
  }
  PriceQuery(select, plan);
  return plan;
}

// The noise variance summed over the measures, in value units: 2 scale^2
// (discrete Laplace, to within its tiny discreteness) or sigma^2.
Rational NoiseVariance(const Plan& plan) {
  Rational total = 0;
  for (const Measure& m : plan.measures) {
    const Rational unit = m.mechanism == Mechanism::kGaussian ? m.sigma2 : 2 * m.scale * m.scale;
    total += unit * m.grid * m.grid;
  }
  return total;
}

// Whether `mechanism: auto` has a choice: delta to spend, and nothing that
// needs Laplace noise (percentiles, private partition selection).
bool MechanismChoice(const BoundSelect& select) {
  if (!select.privacy.mechanism_auto || select.privacy.delta <= 0 || select.aggregates.empty()) return false;
  for (const auto& aggregate : select.aggregates) {
    if (aggregate.kind == AggregateKind::kPercentile) return false;
  }
  for (const auto& key : select.keys) {
    if (key.domain.kind == KeyDomain::Kind::kSelected) return false;
  }
  return true;
}

}  // namespace

// `mechanism: auto`: both mechanisms at the query's (epsilon, delta), and the
// one with the smaller total noise variance. The Gaussian's L2 sensitivity
// grows with the square root of the groups one person reaches, Laplace's L1
// with their number, so series over many days get the Gaussian. Both plans
// come from public parameters only.
Plan PlanSelect(BoundSelect select) {
  Plan plan;
  if (MechanismChoice(select)) {
    select.privacy.mechanism = Mechanism::kLaplace;
    Plan laplace = PlanMeasures(select);
    select.privacy.mechanism = Mechanism::kGaussian;
    std::optional<Plan> calibrated;
    try {
      calibrated = PlanMeasures(select);
    } catch (const DpqlError&) {
      // (epsilon, delta) too small for the Gaussian: Laplace, without a choice.
      select.privacy.mechanism = Mechanism::kLaplace;
      laplace.select = std::move(select);
      return laplace;
    }
    Plan gaussian = std::move(*calibrated);
    const bool pick_gaussian = NoiseVariance(gaussian) < NoiseVariance(laplace);
    plan = std::move(pick_gaussian ? gaussian : laplace);
    Plan& other = pick_gaussian ? laplace : gaussian;
    plan.alternative_measures = std::move(other.measures);
    plan.alternative_cost = other.cost;
    select.privacy.mechanism = pick_gaussian ? Mechanism::kGaussian : Mechanism::kLaplace;
  } else {
    plan = PlanMeasures(select);
  }
  plan.select = std::move(select);
  return plan;
}

bool FallBackToDeltaFreeMechanism(Plan& plan) {
  PrivacyParams& privacy = plan.select.privacy;
  if (!privacy.mechanism_auto || privacy.mechanism != Mechanism::kGaussian) return false;
  if (plan.alternative_measures.size() != plan.measures.size() || plan.alternative_cost.delta != 0) return false;
  std::swap(plan.measures, plan.alternative_measures);
  std::swap(plan.cost, plan.alternative_cost);
  privacy.mechanism = Mechanism::kLaplace;
  return true;
}

Plan CompileSelect(const Dataset& dataset, const ast::SelectStmt& select) {
  Binder binder(dataset);
  Plan plan = PlanSelect(binder.BindSelect(select));
  GenerateSql(plan);
  return plan;
}

}  // namespace dpql
