// Contribution bounds from declared structure (docs/LANGUAGE.md, "Bounds
// from declared structure"). A table's `unique` keys are public facts: with
// unique (patient_id, day), a person has at most one row per day, so a query
// whose WHERE admits one day reads at most one row of each person, and one
// that admits N days at most N. Those bounds hold for every person, so the
// SQL drops nothing under them and the answer carries no bias from them.
// Only the catalog and the query are read, never the data; `dpqld admin
// check` verifies the declarations against the data.

#include "compiler/binder/binder.h"
#include "compiler/binder/key_domain.h"

namespace dpql {

namespace {

// A derived bound and the declaration and conditions that gave it.
struct Derived {
  BigInt bound;
  std::string reason;
};

std::string Plural(const BigInt& n, const std::string& word) {
  return n.str() + " " + word + (n == 1 ? "" : "s");
}

// Whether each group holds a single value of `column`: a key is the column
// itself or DATE_TRUNC('day', column), which is the column.
bool FixedInGroup(const std::vector<BoundKey>& keys, const CatalogColumn& column) {
  for (const BoundKey& key : keys) {
    const BoundExpr* expr = key.expr.get();
    if (expr->kind == BoundExprKind::kDateTrunc && expr->name == "day") expr = expr->children[0].get();
    if (expr->kind == BoundExprKind::kColumn && expr->column == &column) return true;
  }
  return false;
}

void KeepSmaller(std::optional<Derived>& best, Derived candidate) {
  if (!best || candidate.bound < best->bound) best = std::move(candidate);
}

// Applies a derived bound to the query's max_groups or max_rows: always when
// it is at most the query's own value (it is then the tighter sound bound);
// in place of a default when it is within the dataset's limit, so that
// nothing is dropped. The bound is then exact.
void Apply(const std::optional<Derived>& derived, int64_t limit, int64_t& value, BoundSource& source,
           bool& exact, std::string& reason) {
  if (!derived) return;
  const BigInt bound = derived->bound < 1 ? BigInt(1) : derived->bound;
  const bool fits = source == BoundSource::kQuery ? bound <= value : bound <= limit;
  if (!fits) return;
  value = bound.convert_to<int64_t>();
  source = BoundSource::kDeclaration;
  exact = true;
  reason = derived->reason;
}

}  // namespace

void Binder::DeriveBounds(BoundSelect& bound) {
  // A joined public table can repeat a private row (its join column need not
  // be unique), so a declaration about the private table says nothing then.
  if (!bound.joins.empty() || table_->unique.empty()) return;
  std::optional<Derived> rows_per_person, rows_per_group;
  for (const std::vector<std::string>& unique : table_->unique) {
    std::string columns;
    for (const std::string& name : unique) columns += (columns.empty() ? "" : ", ") + name;
    const std::string declared = table_->name + " is declared unique on (" + columns + ")";
    BigInt total = 1, per_group = 1;
    bool total_known = true, group_known = true;
    std::string total_why, group_why;
    for (const std::string& name : unique) {
      const CatalogColumn& column = *table_->FindColumn(name);
      if (IsPrivacyUnit(column)) continue;
      BoundExpr ref;
      ref.kind = BoundExprKind::kColumn;
      ref.type = ToValueType(column.type);
      ref.name = column.name;
      ref.column = &column;
      ref.table = table_;
      const std::optional<BigInt> admitted = AdmittedValueCount(bound.where.get(), ref);
      const std::string by_where =
          admitted ? "WHERE admits " + Plural(*admitted, "value") + " of " + column.name : "";
      if (admitted) {
        total *= *admitted;
        total_why += "; " + by_where;
      } else {
        total_known = false;
      }
      if (FixedInGroup(bound.keys, column)) {
        group_why += "; " + column.name + " is a group key";
      } else if (admitted) {
        per_group *= *admitted;
        group_why += "; " + by_where;
      } else {
        group_known = false;
      }
    }
    if (total_known) {
      KeepSmaller(rows_per_person, {total, declared + total_why + ", so each person has at most " +
                                               Plural(total, "row") + " in the query"});
    }
    if (group_known) {
      KeepSmaller(rows_per_group, {per_group, declared + group_why + ", so each person has at most " +
                                                  Plural(per_group, "row") + " in a group"});
    }
  }
  // A person's rows in the query bound their rows in a group, and their groups.
  if (rows_per_person && (!rows_per_group || rows_per_person->bound < rows_per_group->bound)) {
    rows_per_group = rows_per_person;
  }
  PrivacyParams& p = bound.privacy;
  const PrivacyLimits& limits = dataset_.limits;
  Apply(rows_per_person, limits.max_groups, p.max_groups, p.max_groups_source, p.groups_exact,
        p.groups_reason);
  Apply(rows_per_group, limits.max_rows, p.max_rows, p.max_rows_source, p.rows_exact, p.rows_reason);
}

}  // namespace dpql
