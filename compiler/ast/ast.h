#pragma once

// The DPQL abstract syntax tree. Produced by compiler/parser (the only place
// that sees ANTLR), consumed by the binder. Every node keeps its location so
// that any later error can point at the text that caused it.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "compiler/ast/operator.h"
#include "compiler/common/source_location.h"

namespace dpql::ast {

enum class LiteralKind { kNull, kInteger, kDecimal, kString, kDate, kBoolean };

// Literal values are kept as their source text (digits, the unquoted string,
// yyyy-mm-dd): numbers stay exact until the binder gives them a type.
struct Literal {
  LiteralKind kind = LiteralKind::kNull;
  std::string text;
  bool boolean = false;
};

enum class ExprKind {
  kColumn,    // [qualifier.]name
  kLiteral,   // 42, 1.5, 'x', DATE '2026-01-01', TRUE, NULL
  kStar,      // * (only valid inside COUNT(*); SELECT * is refused by the binder)
  kFunction,  // name(args) — aggregates and key functions: COUNT, SUM, BUCKET, DATE_TRUNC, ...
  kExtract,   // EXTRACT(field FROM arg): name = field (upper case), args = {arg}
  kUnary,     // op: NOT, - or +
  kBinary,    // op: AND OR = <> < <= > >= + - * /
  kBetween,   // args = {value, low, high}; negated for NOT BETWEEN
  kIn,        // args = {value, item...}; negated for NOT IN
  kIsNull,    // args = {value}; negated for IS NOT NULL
  kLike,      // args = {value, pattern}; negated for NOT LIKE
  kSubquery,  // a parenthesised SELECT; parsed only so the binder can refuse it clearly
};

struct Expr {
  ExprKind kind = ExprKind::kLiteral;
  SourceLocation loc;
  std::string name;               // column name, function name (upper case), EXTRACT field
  std::string qualifier;          // table or alias qualifying a column, or empty
  Operator op = Operator::kNone;  // kUnary and kBinary
  Literal literal;
  bool distinct = false;  // COUNT(DISTINCT x)
  bool negated = false;   // NOT BETWEEN / NOT IN / IS NOT NULL / NOT LIKE
  std::vector<std::unique_ptr<Expr>> args;
};

using ExprPtr = std::unique_ptr<Expr>;

struct SelectItem {
  ExprPtr expr;
  std::string alias;  // empty when there is no AS
  SourceLocation alias_loc;
  SourceLocation loc;
};

enum class JoinKind { kInner, kLeft };

struct TableRef {
  std::string name;
  std::string alias;  // empty when there is none
  SourceLocation loc;
};

struct Join {
  JoinKind kind = JoinKind::kInner;
  TableRef table;
  ExprPtr condition;  // the ON expression
  SourceLocation loc;
};

struct OrderItem {
  ExprPtr expr;  // usually a column naming an output column or alias
  bool descending = false;
  SourceLocation loc;
};

// One `name = value` inside WITH PRIVACY (...). Values keep their source text.
struct PrivacyOption {
  std::string name;   // lower case: epsilon, delta, mechanism, max_groups, max_rows, confidence
  std::string value;  // the number's digits or the identifier (lower case)
  bool is_number = false;
  SourceLocation loc;        // of the whole option
  SourceLocation value_loc;  // of the value
};

struct SelectStmt {
  std::vector<SelectItem> items;
  bool select_star = false;  // SELECT * (refused by the binder with a hint)
  SourceLocation star_loc;
  TableRef from;
  std::vector<Join> joins;
  ExprPtr where;
  std::vector<ExprPtr> group_by;
  ExprPtr having;
  std::vector<OrderItem> order_by;
  std::optional<int64_t> limit;
  SourceLocation limit_loc;
  std::vector<PrivacyOption> privacy;
  SourceLocation privacy_loc;
  SourceLocation loc;
};

enum class StatementKind { kSelect, kExplain, kShowTables, kDescribe, kShowBudget };

struct Statement {
  StatementKind kind = StatementKind::kSelect;
  std::unique_ptr<SelectStmt> select;  // kSelect and kExplain
  std::string table;                   // kDescribe
  SourceLocation table_loc;            // kDescribe
  SourceLocation loc;
  std::string text;  // the statement's own source text (without the ';')
};

}  // namespace dpql::ast
