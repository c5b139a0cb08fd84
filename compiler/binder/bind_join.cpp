// JOINs of public tables to the private table, and column names across the
// tables of FROM.
//
// Why only public tables: a public table is the same in every neighbouring
// dataset, so joining it is a fixed function applied to each private row (a
// row may become zero, one or several joined rows). The generated SQL bounds
// each person's contribution over the *joined* rows, so the sensitivities
// derived from max_rows and max_groups hold whatever the join did. Two private
// tables would let one person's rows in one table multiply another person's
// rows in the other; that needs bounds DPQL does not have yet, so it is
// refused.

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

std::string TableList(const std::vector<Binder::ScopeTable>& scope, size_t visible) {
  std::string list;
  for (size_t i = 0; i < visible; ++i) {
    list += (i ? ", " : "") + scope[i].table->name + (scope[i].alias.empty() ? "" : " AS " + scope[i].alias);
  }
  return list;
}

// What to write instead of an unqualified or ambiguous name: `alias.column`.
std::string Qualified(const Binder::ScopeTable& source, const std::string& column) {
  return (source.alias.empty() ? source.table->name : source.alias) + "." + column;
}

bool IsColumnEqualsColumn(const ast::Expr& condition) {
  return condition.kind == ast::ExprKind::kBinary && condition.op == Operator::kEqual &&
         condition.args.size() == 2 && condition.args[0]->kind == ast::ExprKind::kColumn &&
         condition.args[1]->kind == ast::ExprKind::kColumn;
}

}  // namespace

Binder::ResolvedColumn Binder::Resolve(const ast::Expr& expr) {
  if (scope_.empty()) {  // FROM not bound yet: programmer error
    throw DpqlError(ErrorCode::kInternal, "column resolved before FROM", expr.loc);
  }
  const size_t visible = visible_ == 0 ? scope_.size() : visible_;
  std::vector<const ScopeTable*> candidates;
  if (!expr.qualifier.empty()) {
    // An alias names its table; a table's own name works too (when no other
    // table has taken it as an alias).
    const std::string qualifier = LowerAscii(expr.qualifier);
    const ScopeTable* by_alias = nullptr;
    const ScopeTable* by_name = nullptr;
    for (size_t i = 0; i < visible; ++i) {
      if (!scope_[i].alias.empty() && LowerAscii(scope_[i].alias) == qualifier) {
        by_alias = &scope_[i];
      }
      if (LowerAscii(scope_[i].table->name) == qualifier) by_name = &scope_[i];
    }
    const ScopeTable* source = by_alias != nullptr ? by_alias : by_name;
    if (source == nullptr)
      throw DpqlError(ErrorCode::kUnknownQualifier, UnknownQualifierMessage(expr), expr.loc);
    candidates.push_back(source);
  } else {
    for (size_t i = 0; i < visible; ++i) candidates.push_back(&scope_[i]);
  }

  std::vector<ResolvedColumn> found;
  for (const ScopeTable* source : candidates) {
    if (const CatalogColumn* column = source->table->FindColumn(expr.name)) {
      found.push_back({source->table, column});
    }
  }
  if (found.size() > 1) {
    std::string options;
    for (size_t i = 0; i < found.size(); ++i) {
      const ScopeTable* source = nullptr;
      for (const ScopeTable* c : candidates) {
        if (c->table == found[i].table) source = c;
      }
      options += (i == 0                  ? ""
                  : i + 1 == found.size() ? " or "
                                          : ", ") +
                 Qualified(*source, found[i].column->name);
    }
    throw DpqlError(ErrorCode::kAmbiguousColumn,
                    "column " + expr.name + " is in more than one table; qualify it: " + options, expr.loc);
  }
  if (found.empty()) {
    std::vector<std::string> names;
    std::string tables;
    for (const ScopeTable* source : candidates) {
      for (const auto& c : source->table->columns) names.push_back(c.name);
      tables += (tables.empty() ? "" : ", ") + source->table->name;
    }
    std::string hint = ClosestName(expr.name, names);
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    throw DpqlError(ErrorCode::kUnknownColumn,
                    "unknown column \"" + expr.name + "\" in table" + (candidates.size() == 1 ? " " : "s ") +
                        tables + (hint.empty() ? "; columns: " + list : "; did you mean " + hint + "?") +
                        ElsewhereHint(expr),
                    expr.loc);
  }
  return found.front();
}

// A qualifier that names no table of FROM: a table of the dataset that is
// not joined yet, or a misspelt alias.
std::string Binder::UnknownQualifierMessage(const ast::Expr& expr) const {
  const size_t visible = visible_ == 0 ? scope_.size() : visible_;
  const std::string where = visible == 1 ? "the table in FROM" : "a table in FROM or JOIN";
  std::string message =
      "\"" + expr.qualifier + "\" does not name " + where + " (" + TableList(scope_, visible) + ")";
  if (visible_ != 0) return message + "; an ON condition sees only the tables before it and the one it joins";
  const CatalogTable* table = dataset_.FindTable(expr.qualifier);
  if (table != nullptr && !table->is_private) {
    return message + "; " + table->name + " is a public table: join it first, " + JoinExample(*table);
  }
  if (table != nullptr) {
    return message + "; " + table->name +
           " is another private table, which cannot be joined; query it on its own";
  }
  std::vector<std::string> names;
  for (size_t i = 0; i < visible; ++i) {
    names.push_back(scope_[i].alias.empty() ? scope_[i].table->name : scope_[i].alias);
  }
  const std::string hint = ClosestName(expr.qualifier, names);
  return message + (hint.empty() ? "; qualify the column with one of them"
                                 : "; did you mean " + hint + "." + expr.name + "?");
}

// "e.g. JOIN wards ON admissions.ward_code = wards.ward_code", on a column
// the two tables share (not the privacy unit).
std::string Binder::JoinExample(const CatalogTable& table) const {
  const ScopeTable& from = scope_.front();
  const std::string from_name = from.alias.empty() ? from.table->name : from.alias;
  for (const auto& c : table.columns) {
    if (from.table->FindColumn(c.name) != nullptr && !IsPrivacyUnitName(c.name)) {
      return "e.g. JOIN " + table.name + " ON " + from_name + "." + c.name + " = " + table.name + "." +
             c.name;
    }
  }
  return "e.g. JOIN " + table.name + " ON " + from_name + ".column = " + table.name + ".column";
}

// For an unknown column: the public tables of the dataset, not in FROM, that
// have a column of that name (", a column of the public table wards: ...").
std::string Binder::ElsewhereHint(const ast::Expr& expr) const {
  if (!expr.qualifier.empty() || visible_ != 0) return "";
  for (const CatalogTable& table : dataset_.tables) {
    if (table.is_private || table.FindColumn(expr.name) == nullptr) continue;
    bool in_scope = false;
    for (const ScopeTable& source : scope_) in_scope = in_scope || source.table == &table;
    if (in_scope) continue;
    return " (" + table.name + "." + table.FindColumn(expr.name)->name + " is a column of the public table " +
           table.name + ": join it, " + JoinExample(table) + ")";
  }
  return "";
}

bool Binder::IsPrivacyUnitName(std::string_view name) const {
  return LowerAscii(name) == LowerAscii(dataset_.privacy_unit);
}

bool Binder::HasColumn(std::string_view name) const {
  for (const ScopeTable& source : scope_) {
    if (source.table->FindColumn(name) != nullptr) return true;
  }
  return false;
}

// FROM must name the private table; a public table there with a private one
// joined to it would put the private rows on the nullable side of the join
// (public LEFT JOIN private) or simply be the same join written backwards.
void Binder::CheckJoinOrder(const ast::SelectStmt& select) {
  for (const ast::Join& join : select.joins) {
    const CatalogTable* joined = dataset_.FindTable(join.table.name);
    if (joined == nullptr || !joined->is_private) continue;
    throw DpqlError(ErrorCode::kJoinOrder,
                    "the private table " + joined->name +
                        " must be the table in FROM, with "
                        "public tables joined to it (private rows may not be on the nullable side "
                        "of a join); write FROM " +
                        joined->name + " JOIN " + select.from.name + " ON ...",
                    join.table.loc);
  }
}

void Binder::BindJoins(const ast::SelectStmt& select, BoundSelect& bound) {
  for (const ast::Join& join : select.joins) {
    const CatalogTable* table = dataset_.FindTable(join.table.name);
    if (table == nullptr) {
      std::vector<std::string> names;
      std::string publics;
      for (const auto& t : dataset_.tables) {
        names.push_back(t.name);
        if (!t.is_private) publics += (publics.empty() ? "" : ", ") + t.name;
      }
      std::string hint = ClosestName(join.table.name, names);
      throw DpqlError(ErrorCode::kUnknownTable,
                      "unknown table \"" + join.table.name + "\" in dataset " + dataset_.name +
                          (hint.empty() ? "" : "; did you mean " + hint + "?") +
                          (publics.empty() ? "; this dataset has no public tables to join"
                                           : "; public tables that can be joined: " + publics),
                      join.table.loc);
    }
    if (table->is_private) {
      throw DpqlError(ErrorCode::kPrivateJoin,
                      "cannot join " + table->name + " to " + table_->name +
                          ": both are private, and joining two private tables is not supported "
                          "(one person's rows could multiply another's beyond the contribution "
                          "bounds); join only public tables (private: false), and query " +
                          table->name + " on its own",
                      join.table.loc);
    }
    for (const ScopeTable& source : scope_) {
      if (source.table == table) {
        throw DpqlError(ErrorCode::kDuplicateJoin,
                        table->name +
                            " is already in FROM; each table may appear once in a "
                            "query",
                        join.table.loc);
      }
      std::string alias = LowerAscii(join.table.alias.empty() ? table->name : join.table.alias);
      if (!source.alias.empty() && LowerAscii(source.alias) == alias) {
        throw DpqlError(ErrorCode::kDuplicateAlias,
                        "the name " + alias + " is already used for " + source.table->name + "; give " +
                            table->name + " another alias",
                        join.table.loc);
      }
    }
    scope_.push_back({table, join.table.alias});

    BoundJoin bound_join;
    bound_join.left = join.kind == ast::JoinKind::kLeft;
    bound_join.table = table;
    bound_join.alias = join.table.alias;
    bound_join.loc = join.loc;
    BindJoinCondition(*join.condition, bound_join);
    bound.joins.push_back(std::move(bound_join));
  }
}

// ON <column> = <column>: one column of the joined table, one of a table
// before it. Anything else (other operators, constants, several conditions)
// belongs in WHERE.
void Binder::BindJoinCondition(const ast::Expr& condition, BoundJoin& join) {
  const ScopeTable& joined = scope_.back();
  std::string example_column = "column";
  for (const auto& c : joined.table->columns) {
    bool shared = false;
    for (size_t i = 0; i + 1 < scope_.size(); ++i) {
      shared = shared || scope_[i].table->FindColumn(c.name) != nullptr;
    }
    if (shared && !IsPrivacyUnitName(c.name)) {
      example_column = c.name;
      break;
    }
  }
  const std::string example =
      "e.g. ON " + Qualified(scope_.front(), example_column) + " = " + Qualified(joined, example_column);
  if (!IsColumnEqualsColumn(condition)) {
    throw DpqlError(ErrorCode::kJoinCondition,
                    "a JOIN's ON condition must be one column equal to another, " + example +
                        "; put other conditions in WHERE",
                    condition.loc);
  }
  visible_ = scope_.size();
  BoundExprPtr left = BindColumn(*condition.args[0], "ON");
  BoundExprPtr right = BindColumn(*condition.args[1], "ON");
  visible_ = 0;
  if ((left->table == joined.table) == (right->table == joined.table)) {
    throw DpqlError(ErrorCode::kJoinCondition,
                    "the ON condition must compare a column of " + joined.table->name +
                        " with a column of a table before it, " + example,
                    condition.loc);
  }
  if (left->table == joined.table) std::swap(left, right);
  CheckComparable(*left, *right, condition.loc);
  if (IsPrivacyUnit(*left->column)) {
    throw DpqlError(ErrorCode::kPrivacyUnitJoin,
                    "joining on " + left->column->name +
                        " would attach per-person data to each person's rows, like grouping "
                        "by the privacy unit; join on a public attribute such as a code",
                    left->loc);
  }
  join.outer = std::move(left);
  join.inner = std::move(right);
}

}  // namespace dpql
