#include <algorithm>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

bool IsAggregateCall(const ast::Expr& expr) {
  return expr.kind == ast::ExprKind::kFunction && IsAggregateName(expr.name);
}

std::string DefaultKeyName(const ast::Expr& expr) {
  switch (expr.kind) {
    case ast::ExprKind::kColumn: return LowerAscii(expr.name);
    case ast::ExprKind::kExtract: return LowerAscii(expr.name);
    case ast::ExprKind::kFunction: return LowerAscii(expr.name);
    default: return "key";
  }
}

std::string DefaultAggregateName(const ast::Expr& expr) { return LowerAscii(expr.name); }

}  // namespace

const char* ValueTypeName(ValueType type) {
  switch (type) {
    case ValueType::kNull: return "null";
    case ValueType::kText: return "text";
    case ValueType::kInt: return "int";
    case ValueType::kReal: return "real";
    case ValueType::kDate: return "date";
    case ValueType::kBool: return "bool";
  }
  return "null";
}

ValueType ToValueType(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return ValueType::kText;
    case ColumnType::kInt: return ValueType::kInt;
    case ColumnType::kReal: return ValueType::kReal;
    case ColumnType::kDate: return ValueType::kDate;
    case ColumnType::kBool: return ValueType::kBool;
  }
  return ValueType::kNull;
}

const char* AggregateKindName(AggregateKind kind) {
  switch (kind) {
    case AggregateKind::kCountStar: return "COUNT(*)";
    case AggregateKind::kCountColumn: return "COUNT";
    case AggregateKind::kCountDistinctUnit: return "COUNT(DISTINCT)";
    case AggregateKind::kSum: return "SUM";
    case AggregateKind::kAvg: return "AVG";
    case AggregateKind::kPercentile: return "PERCENTILE";
    case AggregateKind::kVariance: return "VARIANCE";
    case AggregateKind::kStddev: return "STDDEV";
  }
  return "?";
}

BoundSelect Binder::BindSelect(const ast::SelectStmt& select) {
  BoundSelect bound;
  bound.dataset = &dataset_;
  BindFrom(select, bound);
  // Privacy options first: whether a key without a public domain can use
  // partition selection depends on delta.
  privacy_ = BindPrivacy(select.privacy);
  table_alias_ = select.from.alias;
  bound.table_alias = table_alias_;

  scope_ = {{table_, table_alias_}};
  BindJoins(select, bound);

  if (select.where) {
    bound.where = BindRowExpr(*select.where, "WHERE");
    RequireBoolean(*bound.where, "WHERE");
  }
  const std::vector<std::string> key_texts = BindGroupBy(select, bound);
  if (bound.where) NarrowKeyDomains(*bound.where, bound.keys);
  BindSelectList(select, key_texts, bound);
  BindPostProcessing(select, bound);
  bound.privacy = privacy_;
  DeriveBounds(bound);
  return bound;
}

void Binder::BindFrom(const ast::SelectStmt& select, BoundSelect& bound) {
  if (select.select_star) {
    throw DpqlError(ErrorCode::kSelectStar,
                    "SELECT * would release individual rows; DPQL releases only noisy aggregates. "
                    "Select aggregates instead, e.g. SELECT COUNT(*) FROM " +
                        select.from.name,
                    select.star_loc);
  }

  // FROM: one private table of the dataset.
  table_ = dataset_.FindTable(select.from.name);
  if (table_ == nullptr) {
    throw DpqlError(ErrorCode::kUnknownTable, UnknownTableMessage(dataset_, select.from.name),
                    select.from.loc);
  }
  if (!table_->is_private) {
    CheckJoinOrder(select);  // FROM wards JOIN admissions: say to swap them
    throw DpqlError(ErrorCode::kPublicTable,
                    "table " + table_->name + " is public reference data, not a private table; DESCRIBE " +
                        table_->name + " shows it, and a query must aggregate a private table",
                    select.from.loc);
  }
  bound.table = table_;
}

// A GROUP BY entry or select item may name a select item's alias.
const ast::SelectItem* Binder::FindAlias(const ast::SelectStmt& select, const ast::Expr& expr) const {
  if (expr.kind != ast::ExprKind::kColumn || !expr.qualifier.empty()) return nullptr;
  if (HasColumn(expr.name)) return nullptr;  // columns win, as in SQL
  for (const auto& item : select.items) {
    if (!item.alias.empty() && LowerAscii(item.alias) == LowerAscii(expr.name)) return &item;
  }
  return nullptr;
}

std::vector<std::string> Binder::BindGroupBy(const ast::SelectStmt& select, BoundSelect& bound) {
  std::vector<std::string> key_texts;
  for (const auto& group : select.group_by) {
    const ast::Expr* expr = group.get();
    std::string name;
    if (const ast::SelectItem* item = FindAlias(select, *group)) {
      expr = item->expr.get();
      name = item->alias;
    }
    if (IsAggregateCall(*expr)) {
      throw DpqlError(ErrorCode::kAggregateInGroupBy,
                      "GROUP BY cannot use an aggregate; group by a column, BUCKET, DATE_TRUNC or "
                      "EXTRACT",
                      expr->loc);
    }
    if (name.empty()) name = DefaultKeyName(*expr);
    BoundKey key = BindKey(*expr, name);
    std::string text = Describe(*key.expr);
    if (std::find(key_texts.begin(), key_texts.end(), text) != key_texts.end()) {
      throw DpqlError(ErrorCode::kDuplicateGroupKey,
                      "GROUP BY lists " + text + " twice; remove the repeated key", expr->loc);
    }
    key_texts.push_back(text);
    bound.keys.push_back(std::move(key));
  }
  return key_texts;
}

// The select list: aggregates, and group keys repeated.
void Binder::BindSelectList(const ast::SelectStmt& select, const std::vector<std::string>& key_texts,
                            BoundSelect& bound) {
  for (const auto& item : select.items) {
    const ast::Expr& expr = *item.expr;
    BoundOutput output;
    output.loc = item.loc;
    if (expr.kind == ast::ExprKind::kSubquery) {
      throw DpqlError(ErrorCode::kSubquery,
                      "subqueries are not supported; write one aggregate query over a private "
                      "table",
                      expr.loc);
    }
    if (IsAggregateCall(expr)) {
      bound.aggregates.push_back(BindAggregate(expr));
      output.is_key = false;
      output.index = static_cast<int>(bound.aggregates.size() - 1);
      output.name = item.alias.empty() ? DefaultAggregateName(expr) : item.alias;
      bound.outputs.push_back(std::move(output));
      continue;
    }
    output.is_key = true;
    output.index = BindKeyOutput(select, expr, key_texts);
    output.name = item.alias.empty() ? bound.keys[output.index].name : item.alias;
    bound.outputs.push_back(std::move(output));
  }
  // Every item is an aggregate or a GROUP BY key (BindKeyOutput refuses
  // the rest), so a select list without an aggregate is keys only: the
  // planner releases the keys of a public domain for free, or those private
  // partition selection keeps.
}

// A select item that is not an aggregate must be one of the GROUP BY keys:
// the index of that key.
int Binder::BindKeyOutput(const ast::SelectStmt& select, const ast::Expr& expr,
                          const std::vector<std::string>& key_texts) {
  const ast::Expr* key_expr = &expr;
  if (const ast::SelectItem* aliased = FindAlias(select, expr)) key_expr = aliased->expr.get();
  BoundExprPtr as_row = BindRowExpr(*key_expr, kSelectListClause);
  if (as_row->kind == BoundExprKind::kColumn && IsPrivacyUnit(*as_row->column)) {
    throw DpqlError(ErrorCode::kPrivacyUnitOutput,
                    as_row->column->name +
                        " identifies a person and cannot be output; count people with "
                        "COUNT(DISTINCT " +
                        as_row->column->name + ")",
                    expr.loc);
  }
  std::string text = Describe(*as_row);
  auto found = std::find(key_texts.begin(), key_texts.end(), text);
  if (found == key_texts.end()) {
    throw DpqlError(ErrorCode::kNotAggregate,
                    text +
                        " is neither an aggregate nor a GROUP BY key, so it would release "
                        "row-level values; add it to GROUP BY or aggregate it (e.g. COUNT(*), "
                        "AVG(...))",
                    expr.loc);
  }
  return static_cast<int>(found - key_texts.begin());
}

// The private table's own unit column: a joined public table's column of the
// same name identifies nobody (and cannot be counted as people).
bool Binder::IsPrivacyUnit(const CatalogColumn& column) const {
  return &column == table_->FindColumn(dataset_.privacy_unit);
}

std::string UnknownTableMessage(const Dataset& dataset, std::string_view name) {
  std::vector<std::string> names;
  for (const auto& t : dataset.tables) names.push_back(t.name);
  const std::string hint = ClosestName(name, names);
  std::string list;
  for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
  return "unknown table \"" + std::string(name) + "\" in dataset " + dataset.name +
         (hint.empty() ? ";" : "; did you mean " + hint + "?") + " Tables: " + list +
         " (SHOW TABLES lists them)";
}

std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates) {
  std::string target = LowerAscii(name);
  std::string best;
  size_t best_distance = std::max<size_t>(2, target.size() / 3) + 1;
  for (const auto& candidate : candidates) {
    size_t distance = EditDistance(target, LowerAscii(candidate));
    if (distance < best_distance) {
      best_distance = distance;
      best = candidate;
    }
  }
  return best;
}

}  // namespace dpql
