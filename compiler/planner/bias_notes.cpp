// The bias notes of a plan (plan.h, BiasNotes): what contribution bounding
// may leave out of an answer, said in the analyst's terms. They describe the
// plan only — the bounds and the catalog's declarations — never the data.

#include <optional>
#include <string>
#include <vector>

#include "compiler/common/text.h"
#include "compiler/planner/plan.h"

namespace dpql {

namespace {

// The privacy unit as a noun: "patient_id" -> "patient", "person" -> "person".
struct UnitNoun {
  std::string one, many;
};

UnitNoun NounOf(const std::string& privacy_unit) {
  std::string one = LowerAscii(privacy_unit);
  if (one.size() > 3 && one.ends_with("_id")) one.resize(one.size() - 3);
  for (char& c : one) {
    if (c == '_') c = ' ';
  }
  if (one == "person") return {one, "people"};
  return {one, one + (one.ends_with("s") ? "es" : "s")};
}

std::string Plural(int64_t n, const std::string& one, const std::string& many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

// An aggregate output as the analyst wrote it: "AVG(length_of_stay)", with
// its alias when it has one ("COUNT(*) (admissions)").
std::string Subject(const Plan& plan, size_t output) {
  const BoundOutput& bound = plan.select.outputs[output];
  const BoundAggregate& aggregate = plan.select.aggregates[bound.index];
  std::string function = AggregateKindName(aggregate.kind);
  std::string text;
  if (aggregate.column == nullptr) {
    text = function;  // COUNT(*); COUNT(DISTINCT unit), which no note names
  } else if (aggregate.kind == AggregateKind::kPercentile) {
    function = aggregate.percentile == Rational(1, 2) ? "MEDIAN" : "PERCENTILE";
    text = function + "(" + aggregate.column->name +
           (function == "MEDIAN" ? "" : ", " + ToDecimalString(aggregate.percentile)) + ")";
  } else {
    text = function + "(" + aggregate.column->name + ")";
  }
  const std::string default_name =
      LowerAscii(aggregate.kind == AggregateKind::kCountStar ? std::string("count") : function);
  if (plan.outputs[output].name != default_name) text += " (" + plan.outputs[output].name + ")";
  return text;
}

// What max_rows does to one output; empty when it does nothing to it.
std::string RowsClause(const Plan& plan, size_t output, const UnitNoun& unit) {
  const PlanOutput& out = plan.outputs[output];
  const int64_t n = plan.select.privacy.max_rows;
  if (out.kind == OutputKind::kKey) return {};
  if (out.kind == OutputKind::kCount && plan.measures[out.measure].kind == MeasureKind::kUnitCount) {
    return {};  // COUNT(DISTINCT unit): one per person and group whatever max_rows is
  }
  const std::string subject = Subject(plan, output);
  switch (out.kind) {
    case OutputKind::kCount: {
      const Measure& measure = plan.measures[out.measure];
      if (measure.kind == MeasureKind::kRowCount) {
        return n == 1 ? subject + " counts " + unit.many + " with a row in the group, not rows"
                      : subject + " counts at most " + std::to_string(n) + " of a " + unit.one +
                            "'s rows in a group";
      }
      if (measure.kind == MeasureKind::kValueCount) {
        const std::string& column = measure.column->name;
        return n == 1 ? subject + " counts " + unit.many + " with a " + column + " in the group, not rows"
                      : subject + " counts at most " + std::to_string(n) + " of a " + unit.one + "'s " +
                            column + " values in a group";
      }
      return {};  // COUNT(DISTINCT unit): one per person and group whatever max_rows is
    }
    case OutputKind::kSum: {
      const std::string& column = plan.measures[out.measure].column->name;
      return n == 1 ? subject + " adds each " + unit.one + "'s average " + column +
                          " in the group, not every row"
                    : subject + " adds at most " + std::to_string(n) + " rows' worth per " + unit.one +
                          " (their average " + column + " times their rows, up to " + std::to_string(n) + ")";
    }
    case OutputKind::kAvg:
    case OutputKind::kVariance:
    case OutputKind::kStddev:
      return n == 1 ? subject + " weighs every " + unit.one + " the same, however many rows they have"
                    : subject + " counts a " + unit.one + "'s rows in a group as at most " +
                          std::to_string(n) + ", at their own average";
    case OutputKind::kPercentile:
      return n == 1 ? subject + " is over one row per " + unit.one
                    : subject + " is over at most " + std::to_string(n) + " rows per " + unit.one;
    case OutputKind::kKey: return {};
  }
  return {};
}

std::string JoinClauses(const std::vector<std::string>& clauses) {
  std::string out;
  for (size_t i = 0; i < clauses.size(); ++i) out += (i ? "; " : "") + clauses[i];
  return out;
}

std::vector<std::string> AggregateOutputs(const Plan& plan) {
  std::vector<std::string> out;
  for (const PlanOutput& output : plan.outputs) {
    if (output.kind != OutputKind::kKey) out.push_back(output.name);
  }
  return out;
}

std::optional<BiasNote> GroupsDropped(const Plan& plan, const UnitNoun& unit) {
  const PrivacyParams& privacy = plan.select.privacy;
  if (!plan.bound_groups || privacy.groups_exact) return std::nullopt;
  const int64_t n = plan.groups_bound;
  BiasNote note;
  note.code = "groups_dropped";
  note.message = "each " + unit.one + " counts in at most " + Plural(n, "group", "groups") +
                 " (max_groups = " + std::to_string(n) + "); a " + unit.one +
                 "'s further groups are not counted \u2014 raise max_groups if " + unit.many + " have more";
  note.outputs = AggregateOutputs(plan);
  return note;
}

std::optional<BiasNote> RowsCapped(const Plan& plan, const UnitNoun& unit) {
  const PrivacyParams& privacy = plan.select.privacy;
  if (privacy.rows_exact) return std::nullopt;
  BiasNote note;
  std::vector<std::string> clauses;
  for (size_t i = 0; i < plan.outputs.size(); ++i) {
    std::string clause = RowsClause(plan, i, unit);
    if (clause.empty()) continue;
    clauses.push_back(std::move(clause));
    note.outputs.push_back(plan.outputs[i].name);
  }
  if (clauses.empty()) return std::nullopt;
  const int64_t n = privacy.max_rows;
  note.code = "rows_capped";
  note.message = "at most " + Plural(n, "row", "rows") + " per " + unit.one + " per group " +
                 (n == 1 ? "is" : "are") + " counted (max_rows = " + std::to_string(n) +
                 "): " + JoinClauses(clauses) + " \u2014 raise max_rows if " + unit.many +
                 " have more rows in a group";
  return note;
}

std::optional<BiasNote> ValuesClamped(const Plan& plan) {
  std::vector<const CatalogColumn*> columns;
  BiasNote note;
  for (const PlanOutput& output : plan.outputs) {
    if (output.kind == OutputKind::kKey || output.kind == OutputKind::kCount) continue;
    const CatalogColumn* column = plan.measures[output.measure].column;
    if (column == nullptr || !column->lower || !column->upper) continue;
    note.outputs.push_back(output.name);
    bool known = false;
    for (const CatalogColumn* seen : columns) known = known || seen == column;
    if (!known) columns.push_back(column);
  }
  if (columns.empty()) return std::nullopt;
  std::vector<std::string> ranges;
  for (size_t i = 0; i < columns.size(); ++i) {
    ranges.push_back((i ? "of " : "") + columns[i]->name + " outside [" + columns[i]->lower_text + ", " +
                     columns[i]->upper_text + "]");
  }
  std::string listed;
  for (size_t i = 0; i < ranges.size(); ++i) {
    listed += (i == 0 ? "" : i + 1 == ranges.size() ? " and " : ", ") + ranges[i];
  }
  note.code = "values_clamped";
  note.message = "values of " + listed + " are clamped to the bounds declared in the catalog";
  return note;
}

}  // namespace

std::vector<BiasNote> BiasNotes(const Plan& plan) {
  std::vector<BiasNote> notes;
  if (plan.select.dataset == nullptr) return notes;
  const UnitNoun unit = NounOf(plan.select.dataset->privacy_unit);
  for (std::optional<BiasNote> note :
       {GroupsDropped(plan, unit), RowsCapped(plan, unit), ValuesClamped(plan)}) {
    if (note) notes.push_back(std::move(*note));
  }
  return notes;
}

}  // namespace dpql
