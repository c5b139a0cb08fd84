#include <cmath>
#include <sstream>

#include "compiler/binder/binder.h"
#include "compiler/common/date.h"
#include "compiler/planner/plan.h"

namespace dpql {

namespace {

std::string DomainText(const KeyDomain& domain) {
  std::string size = !domain.size        ? "size known from the table"
                     : *domain.size == 1 ? "1 key"
                                         : domain.size->str() + " keys";
  switch (domain.kind) {
    case KeyDomain::Kind::kList: {
      std::string values;
      for (size_t i = 0; i < domain.values.size() && i < 8; ++i) {
        values += (i ? ", " : "") + domain.values[i];
      }
      if (domain.values.size() > 8) values += ", ...";
      return "declared values [" + values + "] (" + size + ")";
    }
    case KeyDomain::Kind::kFromTable:
      return "distinct " + domain.table + "." + domain.column + " (public table)";
    case KeyDomain::Kind::kIntRange:
      return domain.first.str() + " to " + domain.last.str() + " step " + domain.step.str() + " (" + size +
             ")";
    case KeyDomain::Kind::kDateRange:
      return "every " + domain.unit + " from " + FormatDate(domain.first.convert_to<int64_t>()) + " to " +
             FormatDate(domain.last.convert_to<int64_t>()) + " (" + size + ")";
    case KeyDomain::Kind::kBool: return "false, true (2 keys)";
    case KeyDomain::Kind::kSelected:
      return "no public domain: groups from the data, private partition selection";
  }
  return "?";
}

std::string MeasureText(const Measure& measure) {
  switch (measure.kind) {
    case MeasureKind::kRowCount: return "count of rows";
    case MeasureKind::kValueCount: return "count of " + measure.column->name;
    case MeasureKind::kUnitCount: return "count of people";
    case MeasureKind::kSum:
      return "sum of " + measure.column->name + " clamped to [" + measure.column->lower_text + ", " +
             measure.column->upper_text + "]" +
             (measure.grid != 1 ? ", in units of " + ToDecimalString(measure.grid) : "");
    case MeasureKind::kHistogram:
      return "histogram of " + measure.column->name + " clamped to [" + measure.column->lower_text + ", " +
             measure.column->upper_text + "], " + std::to_string(measure.bins) + " bin" +
             (measure.bins == 1 ? "" : "s") + " of width " + ToDecimalString(measure.bin_width) +
             ", each bin noised independently at the measure's scale";
    case MeasureKind::kCentredSum:
    case MeasureKind::kCentredSquares: {
      const CatalogColumn& column = *measure.column;
      const std::string deviation = "(" + column.name + " - " + ToDecimalString(BoundsMidpoint(column)) + ")";
      return (measure.kind == MeasureKind::kCentredSum
                  ? "sum of " + deviation
                  : "sum of " + deviation + "^2 - " + ToDecimalString(SquaresOffset(column))) +
             ", " + column.name + " clamped to [" + column.lower_text + ", " + column.upper_text + "]" +
             (measure.grid != 1 ? ", in units of " + ToDecimalString(measure.grid) : "");
    }
  }
  return "?";
}

// Where max_groups or max_rows came from, for EXPLAIN.
std::string BoundOrigin(BoundSource source, const std::string& reason, const CatalogTable& table,
                        const char* option) {
  switch (source) {
    case BoundSource::kDeclaration: return "from declared structure: " + reason;
    case BoundSource::kQuery: return std::string("WITH PRIVACY (") + option + " = ...)";
    case BoundSource::kDefault: break;
  }
  const bool table_default = std::string(option) == "max_groups" ? table.max_groups.has_value()
                                                                  : table.max_rows.has_value();
  return table_default ? "the catalog's default for table " + table.name : "the dataset's default";
}

}  // namespace

std::string RenderPlan(const Plan& plan, std::string_view accuracy) {
  const BoundSelect& select = plan.select;
  const PrivacyParams& privacy = select.privacy;
  std::ostringstream out;
  out << "Plan\n";
  out << "  table: " << select.table->name << " (private; privacy unit " << select.dataset->privacy_unit
      << ")\n";
  for (const BoundJoin& join : select.joins) {
    out << "  join: " << (join.left ? "LEFT JOIN " : "JOIN ") << join.table->name << " (public) ON "
        << join.outer->table->name << "." << join.outer->name << " = " << join.inner->table->name << "."
        << join.inner->name << "; contribution bounds apply to the joined rows\n";
  }
  if (select.where) out << "  filter: " << Describe(*select.where) << "\n";
  for (const auto& key : select.keys) {
    out << "  group key " << key.name << " = " << Describe(*key.expr) << ": " << DomainText(key.domain)
        << "\n";
  }
  if (plan.measures.empty()) {
    out << "  keys only, from public domains: the answer is the domain itself; no private row is "
           "read, no noise is added, nothing is charged\n";
  } else {
    out << "  contribution bounds: at most " << plan.groups_bound << " group"
        << (plan.groups_bound == 1 ? "" : "s") << " per person"
        << (plan.bound_groups ? " (extra groups dropped)" : "") << ", at most " << privacy.max_rows << " row"
        << (privacy.max_rows == 1 ? "" : "s") << " per person per group\n";
    out << "    max_groups " << privacy.max_groups << ": "
        << BoundOrigin(privacy.max_groups_source, privacy.groups_reason, *select.table, "max_groups") << "\n";
    out << "    max_rows " << privacy.max_rows << ": "
        << BoundOrigin(privacy.max_rows_source, privacy.rows_reason, *select.table, "max_rows") << "\n";
    for (const BiasNote& note : BiasNotes(plan)) {
      out << "  bias (" << note.code << "): " << note.message << "\n";
    }
    if (plan.partition_selection) {
      out << "  partition selection: a group is released only when its noisy count of people "
             "(m"
          << plan.selection_measure << ") is at least " << plan.selection_threshold << "; delta "
          << ToDecimalString(privacy.delta) << "\n";
    }
    const bool gaussian = privacy.mechanism == Mechanism::kGaussian;
    const char* plural = plan.measures.size() == 1 ? "" : "s";
    if (!plan.alternative_measures.empty()) {
      out << "  mechanism: auto (the catalog's default): " << (gaussian ? "discrete Gaussian" : "discrete Laplace")
          << " has less noise here than " << (gaussian ? "Laplace" : "the Gaussian")
          << " at this epsilon and delta; WITH PRIVACY (mechanism = " << (gaussian ? "laplace" : "gaussian")
          << ") asks for the other\n";
    }
    if (gaussian) {
      out << "  mechanism: discrete Gaussian, (epsilon " << ToDecimalString(privacy.epsilon) << ", delta "
          << ToDecimalString(privacy.delta) << ") as zCDP rho " << ToDecimalString(plan.cost.rho)
          << " split evenly over " << plan.measures.size() << " measure" << plural << "\n";
    } else {
      out << "  mechanism: discrete Laplace, epsilon " << ToDecimalString(privacy.epsilon)
          << " split evenly over " << plan.measures.size() << " measure" << plural << "\n";
    }
    const DataPlacement& placement = select.dataset->placement;
    const std::string sites =
        placement.max_sites_per_person > 1 ? " x " + std::to_string(placement.max_sites_per_person) + " sites" : "";
    if (placement.kind != Placement::kSingle) {
      out << "  " << (placement.kind == Placement::kSharded ? "sharded" : "federated") << ": the statement runs whole on "
          << placement.servers.size() << (placement.kind == Placement::kSharded ? " shards" : " sites") << " (";
      for (size_t i = 0; i < placement.servers.size(); ++i) out << (i ? ", " : "") << placement.servers[i];
      out << ") through dpql.fan_out; only their per-group totals are summed, before the noise";
      if (!sites.empty()) {
        out << "; one person may be at " << placement.max_sites_per_person
            << " sites, so every sensitivity is multiplied by " << placement.max_sites_per_person;
      }
      out << "\n";
    }
    for (size_t i = 0; i < plan.measures.size(); ++i) {
      const Measure& m = plan.measures[i];
      out << "  measure m" << i << ": " << MeasureText(m) << "; ";
      if (m.mechanism == Mechanism::kGaussian) {
        out << "L2 sensitivity sqrt(" << m.l2_sensitivity_squared.str() << ") (sqrt(" << plan.groups_bound
            << ") x " << m.per_group_bound.str() << sites << "), rho " << ToDecimalString(m.rho) << ", sigma^2 "
            << ToDecimalString(m.sigma2) << " (sigma "
            << ToDecimalString(Rational(std::sqrt(ToDouble(m.sigma2))), 6) << ")\n";
      } else {
        out << "sensitivity " << m.sensitivity.str() << " (" << plan.groups_bound << " x "
            << m.per_group_bound.str() << sites << "), epsilon " << ToDecimalString(m.epsilon) << ", noise scale "
            << ToDecimalString(m.scale) << "\n";
      }
    }
  }
  for (const PlanOutput& output : plan.outputs) {
    if (output.kind != OutputKind::kPercentile) continue;
    out << "  percentile " << output.name << ": fraction " << ToDecimalString(output.percentile)
        << " of the rows of m" << output.measure
        << ", read from the noisy histogram (post-processing, no extra cost)\n";
  }
  out << "  outputs:";
  for (size_t i = 0; i < plan.outputs.size(); ++i) out << (i ? ", " : " ") << plan.outputs[i].name;
  out << "\nCost\n  epsilon " << ToDecimalString(plan.cost.epsilon) << ", delta "
      << ToDecimalString(plan.cost.delta);
  if (plan.cost.rho > 0) out << ", rho " << ToDecimalString(plan.cost.rho);
  if (select.dataset->accounting == Accounting::kZcdp) {
    out << " (zCDP accounting: rho is charged)";
  }
  out << "\n" << accuracy << "SQL\n" << plan.sql << "\n";
  if (!plan.params.empty()) {
    out << "Parameters\n";
    for (size_t i = 0; i < plan.params.size(); ++i) {
      out << "  $" << (i + 1) << " = " << plan.params[i] << "\n";
    }
  }
  return out.str();
}

}  // namespace dpql
