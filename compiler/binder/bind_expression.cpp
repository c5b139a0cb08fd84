#include <cctype>

#include "compiler/binder/binder.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

bool IsNumeric(ValueType type) { return type == ValueType::kInt || type == ValueType::kReal; }

bool IsComparison(const std::string& op) {
  return op == "=" || op == "<>" || op == "<" || op == "<=" || op == ">" || op == ">=";
}

bool IsArithmetic(const std::string& op) { return op == "+" || op == "-" || op == "*" || op == "/"; }

BoundExprPtr Make(BoundExprKind kind, ValueType type, const SourceLocation& loc) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = kind;
  expr->type = type;
  expr->loc = loc;
  return expr;
}

}  // namespace

bool IsAggregateName(std::string_view name) {
  static const char* kNames[] = {"COUNT", "SUM", "AVG", "MIN", "MAX", "MEDIAN", "PERCENTILE",
                                 "VARIANCE", "STDDEV", "VAR", "VAR_POP", "VAR_SAMP",
                                 "STDDEV_POP", "STDDEV_SAMP", "ARRAY_AGG", "STRING_AGG"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

// Columns may come from the private table or a joined public table; see
// Resolve (bind_join.cpp) for qualifiers and ambiguity.
const CatalogColumn& Binder::ResolveColumn(const ast::Expr& expr) { return *Resolve(expr).column; }

BoundExprPtr Binder::BindColumn(const ast::Expr& expr, std::string_view clause) {
  ResolvedColumn resolved = Resolve(expr);
  const CatalogColumn& column = *resolved.column;
  auto bound = Make(BoundExprKind::kColumn, ToValueType(column.type), expr.loc);
  bound->name = column.name;
  bound->column = &column;
  bound->table = resolved.table;
  return bound;
}

BoundExprPtr Binder::BindLiteral(const ast::Expr& expr) {
  const ast::Literal& literal = expr.literal;
  switch (literal.kind) {
    case ast::LiteralKind::kNull:
      return Make(BoundExprKind::kLiteral, ValueType::kNull, expr.loc);
    case ast::LiteralKind::kInteger: {
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kInt, expr.loc);
      if (!ParseDecimal(literal.text) || literal.text.size() > 18) {
        bound->type = ValueType::kReal;  // too large for bigint: compare as numeric
      }
      bound->literal = literal.text;
      return bound;
    }
    case ast::LiteralKind::kDecimal: {
      if (!ParseDecimal(literal.text)) {
        throw DpqlError(ErrorKind::kSemantic, "invalid_number",
                        "invalid number " + literal.text, expr.loc);
      }
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kReal, expr.loc);
      bound->literal = literal.text;
      return bound;
    }
    case ast::LiteralKind::kString: {
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kText, expr.loc);
      bound->literal = literal.text;
      return bound;
    }
    case ast::LiteralKind::kDate: {
      if (!ParseDate(literal.text)) {
        throw DpqlError(ErrorKind::kSemantic, "invalid_date",
                        "invalid date '" + literal.text + "'; write DATE 'yyyy-mm-dd' with a real "
                        "calendar day, e.g. DATE '2026-11-27'",
                        expr.loc);
      }
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kDate, expr.loc);
      bound->literal = literal.text;
      return bound;
    }
    case ast::LiteralKind::kBoolean: {
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kBool, expr.loc);
      bound->literal = literal.boolean ? "true" : "false";
      return bound;
    }
  }
  throw DpqlError(ErrorKind::kInternal, "internal", "unknown literal kind", expr.loc);
}

void Binder::CheckComparable(const BoundExpr& left, const BoundExpr& right,
                             const SourceLocation& loc) {
  if (left.type == ValueType::kNull || right.type == ValueType::kNull) {
    throw DpqlError(ErrorKind::kSemantic, "null_comparison",
                    "comparing with NULL is never true; write IS NULL or IS NOT NULL", loc);
  }
  if (left.type == right.type || (IsNumeric(left.type) && IsNumeric(right.type))) return;
  std::string hint;
  if ((left.type == ValueType::kDate && right.type == ValueType::kText) ||
      (left.type == ValueType::kText && right.type == ValueType::kDate)) {
    hint = "; write a date as DATE 'yyyy-mm-dd'";
  } else if (right.type == ValueType::kText || left.type == ValueType::kText) {
    hint = "; quote text as 'value' only for text columns";
  }
  throw DpqlError(ErrorKind::kSemantic, "type_mismatch",
                  std::string("cannot compare ") + Describe(left) + " (" +
                      ValueTypeName(left.type) + ") with " + Describe(right) + " (" +
                      ValueTypeName(right.type) + ")" + hint,
                  loc);
}

void Binder::RequireBoolean(const BoundExpr& expr, std::string_view clause) {
  if (expr.type != ValueType::kBool) {
    throw DpqlError(ErrorKind::kSemantic, "type_mismatch",
                    std::string(clause) + " needs a condition (true or false), but " +
                        Describe(expr) + " is " + ValueTypeName(expr.type) +
                        "; compare it, e.g. " + Describe(expr) + " = ...",
                    expr.loc);
  }
}

BoundExprPtr Binder::BindComparison(const ast::Expr& expr, std::string_view clause) {
  auto left = BindRowExpr(*expr.args.at(0), clause);
  auto right = BindRowExpr(*expr.args.at(1), clause);
  CheckComparable(*left, *right, expr.loc);
  auto bound = Make(BoundExprKind::kBinary, ValueType::kBool, expr.loc);
  bound->op = expr.op;
  bound->children.push_back(std::move(left));
  bound->children.push_back(std::move(right));
  return bound;
}

BoundExprPtr Binder::BindRowExpr(const ast::Expr& expr, std::string_view clause) {
  switch (expr.kind) {
    case ast::ExprKind::kColumn:
      return BindColumn(expr, clause);
    case ast::ExprKind::kLiteral:
      return BindLiteral(expr);
    case ast::ExprKind::kStar:
      throw DpqlError(ErrorKind::kSemantic, "misplaced_star",
                      "* is only allowed inside COUNT(*)", expr.loc);
    case ast::ExprKind::kSubquery:
      throw DpqlError(ErrorKind::kSemantic, "subquery",
                      "subqueries are not supported; write one aggregate query over a private "
                      "table",
                      expr.loc);
    case ast::ExprKind::kFunction:
    case ast::ExprKind::kExtract: {
      if (expr.kind == ast::ExprKind::kFunction && IsAggregateName(expr.name)) {
        throw DpqlError(ErrorKind::kSemantic, "aggregate_not_allowed",
                        "aggregates such as " + expr.name + " are not allowed in " +
                            std::string(clause) + "; they belong in the select list",
                        expr.loc);
      }
      return BindKey(expr, "", /*need_domain=*/false).expr;
    }
    case ast::ExprKind::kUnary: {
      auto child = BindRowExpr(*expr.args.at(0), clause);
      if (expr.op == "NOT") {
        RequireBoolean(*child, "NOT");
        auto bound = Make(BoundExprKind::kUnary, ValueType::kBool, expr.loc);
        bound->op = "NOT";
        bound->children.push_back(std::move(child));
        return bound;
      }
      if (!IsNumeric(child->type)) {
        throw DpqlError(ErrorKind::kSemantic, "type_mismatch",
                        "unary " + expr.op + " needs a number, but " + Describe(*child) + " is " +
                            ValueTypeName(child->type),
                        expr.loc);
      }
      if (expr.op == "+") return child;
      auto bound = Make(BoundExprKind::kUnary, child->type, expr.loc);
      bound->op = "-";
      bound->children.push_back(std::move(child));
      return bound;
    }
    case ast::ExprKind::kBinary: {
      if (expr.op == "AND" || expr.op == "OR") {
        auto left = BindRowExpr(*expr.args.at(0), clause);
        auto right = BindRowExpr(*expr.args.at(1), clause);
        RequireBoolean(*left, expr.op);
        RequireBoolean(*right, expr.op);
        auto bound = Make(BoundExprKind::kBinary, ValueType::kBool, expr.loc);
        bound->op = expr.op;
        bound->children.push_back(std::move(left));
        bound->children.push_back(std::move(right));
        return bound;
      }
      if (IsComparison(expr.op)) return BindComparison(expr, clause);
      if (IsArithmetic(expr.op)) {
        auto left = BindRowExpr(*expr.args.at(0), clause);
        auto right = BindRowExpr(*expr.args.at(1), clause);
        for (const BoundExpr* side : {left.get(), right.get()}) {
          if (!IsNumeric(side->type)) {
            throw DpqlError(ErrorKind::kSemantic, "type_mismatch",
                            "arithmetic " + expr.op + " needs numbers, but " + Describe(*side) +
                                " is " + ValueTypeName(side->type),
                            side->loc);
          }
        }
        ValueType type = (left->type == ValueType::kInt && right->type == ValueType::kInt &&
                          expr.op != "/")
                             ? ValueType::kInt
                             : ValueType::kReal;
        auto bound = Make(BoundExprKind::kBinary, type, expr.loc);
        bound->op = expr.op;
        bound->children.push_back(std::move(left));
        bound->children.push_back(std::move(right));
        return bound;
      }
      throw DpqlError(ErrorKind::kSemantic, "unknown_operator",
                      "unknown operator " + expr.op, expr.loc);
    }
    case ast::ExprKind::kBetween: {
      auto value = BindRowExpr(*expr.args.at(0), clause);
      auto low = BindRowExpr(*expr.args.at(1), clause);
      auto high = BindRowExpr(*expr.args.at(2), clause);
      CheckComparable(*value, *low, expr.loc);
      CheckComparable(*value, *high, expr.loc);
      auto bound = Make(BoundExprKind::kBetween, ValueType::kBool, expr.loc);
      bound->negated = expr.negated;
      bound->children.push_back(std::move(value));
      bound->children.push_back(std::move(low));
      bound->children.push_back(std::move(high));
      return bound;
    }
    case ast::ExprKind::kIn: {
      auto bound = Make(BoundExprKind::kIn, ValueType::kBool, expr.loc);
      bound->negated = expr.negated;
      auto value = BindRowExpr(*expr.args.at(0), clause);
      for (size_t i = 1; i < expr.args.size(); ++i) {
        auto item = BindRowExpr(*expr.args[i], clause);
        CheckComparable(*value, *item, item->loc);
        bound->children.push_back(std::move(item));
      }
      bound->children.insert(bound->children.begin(), std::move(value));
      return bound;
    }
    case ast::ExprKind::kIsNull: {
      auto bound = Make(BoundExprKind::kIsNull, ValueType::kBool, expr.loc);
      bound->negated = expr.negated;
      bound->children.push_back(BindRowExpr(*expr.args.at(0), clause));
      return bound;
    }
    case ast::ExprKind::kLike: {
      auto value = BindRowExpr(*expr.args.at(0), clause);
      auto pattern = BindRowExpr(*expr.args.at(1), clause);
      for (const BoundExpr* side : {value.get(), pattern.get()}) {
        if (side->type != ValueType::kText) {
          throw DpqlError(ErrorKind::kSemantic, "type_mismatch",
                          "LIKE compares text, but " + Describe(*side) + " is " +
                              ValueTypeName(side->type),
                          side->loc);
        }
      }
      auto bound = Make(BoundExprKind::kLike, ValueType::kBool, expr.loc);
      bound->negated = expr.negated;
      bound->children.push_back(std::move(value));
      bound->children.push_back(std::move(pattern));
      return bound;
    }
  }
  throw DpqlError(ErrorKind::kInternal, "internal", "unknown expression kind", expr.loc);
}

std::string Describe(const BoundExpr& expr) {
  auto child = [&](size_t i) { return Describe(*expr.children.at(i)); };
  switch (expr.kind) {
    case BoundExprKind::kColumn:
      // A joined public table's columns are named with their table: the
      // private table may have a column of the same name (ward_code).
      return expr.table != nullptr && !expr.table->is_private ? expr.table->name + "." + expr.name
                                                               : expr.name;
    case BoundExprKind::kLiteral:
      switch (expr.type) {
        case ValueType::kText: return "'" + expr.literal + "'";
        case ValueType::kDate: return "DATE '" + expr.literal + "'";
        case ValueType::kNull: return "NULL";
        default: return expr.literal;
      }
    case BoundExprKind::kUnary: return expr.op == "NOT" ? "NOT " + child(0) : "-" + child(0);
    case BoundExprKind::kBinary: return "(" + child(0) + " " + expr.op + " " + child(1) + ")";
    case BoundExprKind::kBetween:
      return child(0) + (expr.negated ? " NOT" : "") + " BETWEEN " + child(1) + " AND " + child(2);
    case BoundExprKind::kIn: {
      std::string out = child(0) + (expr.negated ? " NOT IN (" : " IN (");
      for (size_t i = 1; i < expr.children.size(); ++i) out += (i > 1 ? ", " : "") + child(i);
      return out + ")";
    }
    case BoundExprKind::kIsNull: return child(0) + (expr.negated ? " IS NOT NULL" : " IS NULL");
    case BoundExprKind::kLike: return child(0) + (expr.negated ? " NOT LIKE " : " LIKE ") + child(1);
    case BoundExprKind::kBucket: return "BUCKET(" + child(0) + ", " + expr.literal + ")";
    case BoundExprKind::kDateTrunc: return "DATE_TRUNC('" + expr.name + "', " + child(0) + ")";
    case BoundExprKind::kExtract: return "EXTRACT(" + expr.name + " FROM " + child(0) + ")";
  }
  return "?";
}

}  // namespace dpql
