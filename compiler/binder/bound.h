#pragma once

// The binder's output: every name resolved against the catalog, every
// expression typed, every privacy rule checked. Nothing here refers to the AST
// except through source locations.

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast/operator.h"
#include "compiler/catalog/catalog.h"
#include "compiler/common/rational.h"
#include "compiler/common/source_location.h"

namespace dpql {

enum class ValueType { kNull, kText, kInt, kReal, kDate, kBool };

const char* ValueTypeName(ValueType type);
ValueType ToValueType(ColumnType type);

enum class BoundExprKind {
  kColumn,     // a column of the FROM table or of a joined public table
  kLiteral,    // a constant, always sent as a bind parameter
  kUnary,      // NOT, unary minus
  kBinary,     // AND OR = <> < <= > >= + - * /
  kBetween,    // children: value, low, high
  kIn,         // children: value, items...
  kIsNull,     // children: value
  kLike,       // children: value, pattern
  kBucket,     // floor(child / width) * width; width in `literal`
  kDateTrunc,  // date_trunc(unit, child)::date; unit in `name`
  kExtract,    // extract(field from child)::int; field in `name`
};

struct BoundExpr {
  BoundExprKind kind = BoundExprKind::kLiteral;
  ValueType type = ValueType::kNull;
  SourceLocation loc;
  std::string name;               // column name (as in the catalog), function unit/field
  Operator op = Operator::kNone;  // kUnary, kBinary
  std::string literal;            // literal value in PostgreSQL input syntax (for kBucket: the width)
  bool negated = false;
  const CatalogColumn* column = nullptr;  // kColumn
  const CatalogTable* table = nullptr;    // kColumn: the table the column belongs to
  std::vector<std::unique_ptr<BoundExpr>> children;
};

using BoundExprPtr = std::unique_ptr<BoundExpr>;

// Expressions evaluated on private rows cannot fail for any value a column
// holds: a failure would tell the analyst, outside the noise, that some row
// holds that value. Arithmetic is done in numeric on columns clamped to their
// declared bounds, real columns rounded to kArithmeticRealScale decimal
// places; the binder refuses arithmetic that could exceed 10^kArithmeticDigits.
constexpr int kArithmeticRealScale = 15;
constexpr int kArithmeticDigits = 1000;

// The largest magnitude and decimal places an arithmetic expression can reach.
struct ArithmeticRange {
  Rational magnitude;
  int places = 0;
};

// The values a key function (BUCKET, DATE_TRUNC, EXTRACT) is computed on:
// its column's declared bounds (numbers; dates in days since 1970-01-01),
// narrowed to where the function cannot fail (|x| <= 2^62 for BUCKET, years
// 1 to 9999 for dates), the same narrowing as the default when the column
// has no bounds. Outside it the function is NULL.
struct GuardRange {
  Rational lower, upper;
};
GuardRange KeyGuardRange(const BoundExpr& key_function);
// The largest magnitude a BUCKET or EXTRACT can take inside its guard range.
BigInt KeyFunctionMagnitude(const BoundExpr& key_function);

// The public set of values a group key can take. Every key of the domain is
// output, empty groups included, so that a group's absence reveals nothing.
struct KeyDomain {
  enum class Kind {
    kList,       // values declared in the catalog (`domain: [F, M, X]`)
    kFromTable,  // the distinct values of a public table's column (`domain_from`)
    kIntRange,   // first..last step `step` (int columns with bounds, BUCKET, EXTRACT)
    kDateRange,  // first..last by `unit` (date columns with bounds, DATE_TRUNC)
    kBool,       // false, true
    kSelected,   // no public domain: groups come from the data and pass private
                 // partition selection (a threshold on a noisy count of people)
  };
  Kind kind = Kind::kList;
  std::vector<std::string> values;  // kList
  std::string table, column;        // kFromTable
  BigInt first, last, step{1};      // kIntRange; kDateRange: days since 1970-01-01
  std::string unit = "day";         // kDateRange: day|week|month|year
  std::optional<BigInt> size;       // number of keys when known without the data
};

struct BoundKey {
  std::string name;  // output column name
  BoundExprPtr expr;
  KeyDomain domain;
  SourceLocation loc;
};

enum class AggregateKind {
  kCountStar,
  kCountColumn,
  kCountDistinctUnit,
  kSum,
  kAvg,
  kPercentile,  // MEDIAN(x) and PERCENTILE(x, p)
  kVariance,    // population variance of the clamped values
  kStddev,      // its square root
};

const char* AggregateKindName(AggregateKind kind);  // "COUNT(*)", "SUM", ...

struct BoundAggregate {
  AggregateKind kind = AggregateKind::kCountStar;
  const CatalogColumn* column = nullptr;  // argument, when there is one
  SourceLocation loc;
  Rational percentile{Rational(1, 2)};  // kPercentile: p, strictly between 0 and 1
};

// One output column: a group key or an aggregate.
struct BoundOutput {
  std::string name;
  bool is_key = false;
  int index = 0;  // into BoundSelect::keys or ::aggregates
  SourceLocation loc;
};

// HAVING over the noisy output: comparisons of output columns with literals,
// combined with AND, OR, NOT. Evaluated after noise — post-processing.
struct PostExpr {
  enum class Kind { kOutput, kLiteral, kNot, kAnd, kOr, kCompare, kBetween };
  Kind kind = Kind::kLiteral;
  int output = -1;                    // kOutput: index into BoundSelect::outputs
  ValueType type = ValueType::kNull;  // kLiteral
  std::string literal;                // kLiteral, in its source form
  Operator op = Operator::kNone;      // kCompare
  bool negated = false;               // kBetween
  std::vector<std::unique_ptr<PostExpr>> children;
  SourceLocation loc;
};

struct BoundOrder {
  int output = 0;  // index into BoundSelect::outputs
  bool descending = false;
};

// Where a contribution bound came from (EXPLAIN shows it).
enum class BoundSource {
  kDefault,      // the dataset's (or the table's) default
  kQuery,        // WITH PRIVACY (max_groups = ..., max_rows = ...)
  kDeclaration,  // derived from the catalog's declared structure and the query
};

struct PrivacyParams {
  Rational epsilon;
  Rational delta;
  Mechanism mechanism = Mechanism::kLaplace;
  int64_t max_groups = 1;
  int64_t max_rows = 1;
  Rational confidence{Rational(95, 100)};
  // The catalog's `mechanism: auto` and no `mechanism` in the query: the
  // planner picks the mechanism with the smaller noise (PlanSelect).
  bool mechanism_auto = false;
  // Whether the catalog's declared structure proves that no person can have
  // more than max_groups groups (max_rows rows in one group): the bound then
  // drops nothing and adds no bias. `*_reason` names the declaration and the
  // part of the query that gave it, for EXPLAIN.
  BoundSource max_groups_source = BoundSource::kDefault;
  BoundSource max_rows_source = BoundSource::kDefault;
  bool groups_exact = false;
  bool rows_exact = false;
  std::string groups_reason;
  std::string rows_reason;
};

// `JOIN <public table> ON <column> = <column>`: a public table joined to the
// private one. Each table appears once in a query, so a column's table
// identifies where it comes from.
struct BoundJoin {
  bool left = false;                    // LEFT JOIN: private rows without a match are kept
  const CatalogTable* table = nullptr;  // public (private: false)
  std::string alias;
  BoundExprPtr outer;  // the ON column of a table earlier in FROM
  BoundExprPtr inner;  // the ON column of `table`
  SourceLocation loc;
};

struct BoundSelect {
  const Dataset* dataset = nullptr;
  const CatalogTable* table = nullptr;
  std::string table_alias;
  std::vector<BoundJoin> joins;  // in FROM order; contribution bounds apply to the joined rows
  BoundExprPtr where;            // may be null
  std::vector<BoundKey> keys;
  std::vector<BoundAggregate> aggregates;
  std::vector<BoundOutput> outputs;
  std::unique_ptr<PostExpr> having;  // may be null
  std::vector<BoundOrder> order_by;
  std::optional<int64_t> limit;
  PrivacyParams privacy;
};

}  // namespace dpql
