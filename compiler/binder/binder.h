#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "compiler/ast/ast.h"
#include "compiler/binder/bound.h"
#include "compiler/catalog/catalog.h"
// Identifier comparison is case-insensitive (ASCII, LowerAscii), as catalog
// names are plain identifiers.
#include "compiler/common/text.h"

namespace dpql {

// Resolves a SELECT against one dataset of the catalog and enforces every
// rule that makes a query releasable. Throws DpqlError (kSemantic or kPrivacy)
// with the location of the offending text and what to write instead.
class Binder {
 public:
  explicit Binder(const Dataset& dataset) : dataset_(dataset) {}

  BoundSelect BindSelect(const ast::SelectStmt& select);

  // A table of FROM (the private table or a joined public one) and a column
  // name resolved to one of them.
  struct ScopeTable {
    const CatalogTable* table = nullptr;
    std::string alias;  // empty when there is none
  };
  struct ResolvedColumn {
    const CatalogTable* table = nullptr;
    const CatalogColumn* column = nullptr;
  };

 private:
  // bind_select.cpp: the clauses of SELECT, in the order they are bound.
  void BindFrom(const ast::SelectStmt& select, BoundSelect& bound);
  // The keys' canonical texts (Describe), in GROUP BY order.
  std::vector<std::string> BindGroupBy(const ast::SelectStmt& select, BoundSelect& bound);
  void BindSelectList(const ast::SelectStmt& select, const std::vector<std::string>& key_texts,
                      BoundSelect& bound);
  int BindKeyOutput(const ast::SelectStmt& select, const ast::Expr& expr,
                    const std::vector<std::string>& key_texts);
  const ast::SelectItem* FindAlias(const ast::SelectStmt& select, const ast::Expr& expr) const;

  // bind_expression.cpp
  // `clause` names where the expression is, for messages: "WHERE", "HAVING",
  // "ORDER BY" or kSelectListClause.
  BoundExprPtr BindRowExpr(const ast::Expr& expr, std::string_view clause);
  [[noreturn]] void RefuseAggregate(const ast::Expr& aggregate, std::string_view clause);
  BoundExprPtr BindColumn(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindLiteral(const ast::Expr& expr);
  BoundExprPtr BindUnary(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindLogical(const ast::Expr& expr, std::string_view clause);  // AND, OR
  BoundExprPtr BindComparison(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindArithmetic(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindBetween(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindIn(const ast::Expr& expr, std::string_view clause);
  BoundExprPtr BindLike(const ast::Expr& expr, std::string_view clause);
  void CheckComparable(const BoundExpr& left, const BoundExpr& right, const SourceLocation& loc);
  void RequireBoolean(const BoundExpr& expr, std::string_view clause);
  // Row expressions must be total (docs/LANGUAGE.md, "Expressions that cannot fail").
  void CheckNumberRange(const std::string& text, const SourceLocation& loc);
  void CheckLikePattern(const BoundExpr& pattern);
  void CheckArithmetic(const BoundExpr& expr);
  ArithmeticRange RangeOf(const BoundExpr& expr);

  // bind_key.cpp
  // A group key (need_domain) or, from WHERE, the same function as a plain scalar.
  BoundKey BindKey(const ast::Expr& expr, const std::string& name, bool need_domain = true);
  std::string UnknownFunctionMessage(const ast::Expr& expr) const;
  // One binder per key function; each fills key.expr and (need_domain) key.domain.
  void BindColumnKey(const ast::Expr& expr, bool need_domain, BoundKey& key);
  void BindBucketKey(const ast::Expr& expr, bool need_domain, BoundKey& key);
  void BindDateTruncKey(const ast::Expr& expr, bool need_domain, BoundKey& key);
  void BindExtractKey(const ast::Expr& expr, bool need_domain, BoundKey& key);
  // The column argument of a key function: a number (or a date) column, with
  // declared bounds when its domain is needed.
  BoundExprPtr BindKeyColumn(const ast::Expr& arg, std::string_view function, bool want_date,
                             bool need_domain);
  // key_domain.cpp
  KeyDomain ColumnDomain(const CatalogColumn& column, const SourceLocation& loc);

  // bind_aggregate.cpp
  BoundAggregate BindAggregate(const ast::Expr& expr);
  AggregateKind BindCountColumn(const ast::Expr& expr, const CatalogColumn& column);
  void CheckNumericArgument(const ast::Expr& expr, const CatalogColumn& column);
  Rational BindPercentileFraction(const ast::Expr& arg);

  // bind_postprocess.cpp: HAVING, ORDER BY, LIMIT over the output columns.
  void BindPostProcessing(const ast::SelectStmt& select, BoundSelect& bound);
  int ResolveOutput(const ast::Expr& expr, const BoundSelect& bound, std::string_view clause);
  std::unique_ptr<PostExpr> BindHaving(const ast::Expr& expr, const BoundSelect& bound);

  // bind_privacy.cpp
  PrivacyParams BindPrivacy(const std::vector<ast::PrivacyOption>& options);
  // declared_bounds.cpp: max_groups and max_rows from the table's declared
  // unique keys, the WHERE clause and the group keys.
  void DeriveBounds(BoundSelect& bound);

  // bind_join.cpp: the tables a column name may refer to, and the JOINs.
  ResolvedColumn Resolve(const ast::Expr& expr);
  bool HasColumn(std::string_view name) const;  // in any table of FROM
  void BindJoins(const ast::SelectStmt& select, BoundSelect& bound);
  void CheckJoinOrder(const ast::SelectStmt& select);
  void BindJoinCondition(const ast::Expr& condition, BoundJoin& join);
  bool IsPrivacyUnitName(std::string_view name) const;
  std::string UnknownQualifierMessage(const ast::Expr& expr) const;
  std::string JoinExample(const CatalogTable& table) const;
  std::string ElsewhereHint(const ast::Expr& expr) const;

  const CatalogColumn& ResolveColumn(const ast::Expr& expr);
  bool IsPrivacyUnit(const CatalogColumn& column) const;

  const Dataset& dataset_;
  PrivacyParams privacy_;
  const CatalogTable* table_ = nullptr;
  std::string table_alias_;
  // FROM's table first, then each joined table; while an ON condition is
  // bound, only the tables up to its JOIN are visible.
  std::vector<ScopeTable> scope_;
  size_t visible_ = 0;
};

// Shrinks the range domains of `keys` (a column, BUCKET, DATE_TRUNC or
// EXTRACT(YEAR) of an int or date column) to the values WHERE allows, read
// from its top-level AND conjuncts that compare the column with a constant
// (=, <, <=, >, >=, BETWEEN). Public information only (the query and the
// catalog): a row that passes WHERE has a key inside the narrowed domain, so
// no released group is lost, and noisy zeros for keys the filter excludes are
// not output. Throws DpqlError (kSemantic) when no key is left.
void NarrowKeyDomains(const BoundExpr& where, std::vector<BoundKey>& keys);

// True when `name` is one of the aggregate function names DPQL knows
// (including refused ones such as MIN and MAX).
bool IsAggregateName(std::string_view upper_name);

// The clause name BindRowExpr gets for a select item.
inline constexpr std::string_view kSelectListClause = "the select list";

// An aggregate call as written, for messages: "COUNT(*)", "SUM(age)",
// "PERCENTILE(age, 0.9)".
std::string AggregateText(const ast::Expr& aggregate);

// Canonical text of a bound expression, used to match select items with
// GROUP BY keys ("BUCKET(age, 10)").
std::string Describe(const BoundExpr& expr);

// "unknown table "admision" in dataset hospital; did you mean admissions?
// Tables: ...": every table of the dataset, private and public, listed.
std::string UnknownTableMessage(const Dataset& dataset, std::string_view name);

// "did you mean 'age'?" — the closest candidate by edit distance, or empty.
std::string ClosestName(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace dpql
