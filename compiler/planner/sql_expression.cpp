// Bind parameters, columns, expressions and key domains in the generated
// SQL. Identifiers come only from the catalog (validated as plain
// identifiers and double-quoted here); every literal and every number that
// shapes the bounding travels as a bind parameter.

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/planner/sql_writer.h"

namespace dpql {

std::string ExactDecimal(const Rational& value) {
  BigInt num = boost::multiprecision::numerator(value);
  BigInt den = boost::multiprecision::denominator(value);
  if (den == 1) return num.str();
  int digits = 0;
  BigInt scale = 1;
  while ((scale % den) != 0) {
    scale *= 10;
    if (++digits > 400) {
      throw DpqlError(ErrorCode::kInternal, "value has no exact decimal form");
    }
  }
  BigInt scaled = abs(num) * (scale / den);
  std::string text = scaled.str();
  if (static_cast<int>(text.size()) <= digits) {
    text = std::string(digits - text.size() + 1, '0') + text;
  }
  text.insert(text.size() - digits, ".");
  return (num < 0 ? "-" : "") + text;
}

std::string ArrayLiteral(const std::vector<std::string>& values) {
  std::string out = "{";
  for (size_t i = 0; i < values.size(); ++i) {
    if (i > 0) out += ',';
    out += '"';
    for (char c : values[i]) {
      if (c == '"' || c == '\\') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string SqlWriter::Param(const std::string& value, const char* type) {
  plan_.params.push_back(value);
  return "$" + std::to_string(plan_.params.size()) + "::" + type;
}

std::string SqlWriter::Column(const CatalogColumn& column) {
  return TableAlias(column) + "." + QuoteIdentifier(column.name);
}

// t for the private table, j1, j2, ... for the joined public tables. Each
// table appears once in a query, so a column's address says which.
std::string SqlWriter::TableAlias(const CatalogColumn& column) {
  const auto& joins = plan_.select.joins;
  for (size_t i = 0; i < joins.size(); ++i) {
    for (const auto& c : joins[i].table->columns) {
      if (&c == &column) return "j" + std::to_string(i + 1);
    }
  }
  return "t";
}

// Placeholders are numbered in the order they are created, so every piece
// is generated in the order it appears in the text (C++ leaves the order of
// evaluation inside one `a + b + c` expression unspecified).
std::string SqlWriter::Expr(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn:
      // A real column is compared in numeric, which holds every value of
      // PostgreSQL's real, double precision and numeric (NaN and infinities
      // included): a comparison in double precision would convert the other
      // side, and fail when it is out of double's range.
      return expr.type == ValueType::kReal ? Column(*expr.column) + "::numeric" : Column(*expr.column);
    case BoundExprKind::kLiteral:
      switch (expr.type) {
        case ValueType::kText: return Param(expr.literal, "text");
        case ValueType::kInt: return Param(expr.literal, "bigint");
        case ValueType::kReal: return Param(expr.literal, "numeric");
        case ValueType::kDate: return Param(expr.literal, "date");
        case ValueType::kBool: return Param(expr.literal, "boolean");
        case ValueType::kNull: return "NULL";
      }
      return "NULL";
    case BoundExprKind::kDateTrunc:
    case BoundExprKind::kBucket:
    case BoundExprKind::kExtract: return KeyFunction(expr);
    case BoundExprKind::kUnary:
      if (expr.op == Operator::kNot) break;
      return "(-" + ArithmeticOperand(*expr.children.at(0)) + ")";
    case BoundExprKind::kBinary:
      if (!IsArithmetic(expr.op)) break;
      {
        std::string left = ArithmeticOperand(*expr.children.at(0));
        std::string right = ArithmeticOperand(*expr.children.at(1));
        // NULL instead of an error on a zero divisor.
        if (expr.op == Operator::kDivide) return "(" + left + " / NULLIF(" + right + ", 0))";
        return "(" + left + " " + OperatorText(expr.op) + " " + right + ")";
      }
    default: break;
  }
  std::vector<std::string> c;
  for (const auto& child : expr.children) c.push_back(Expr(*child));
  switch (expr.kind) {
    case BoundExprKind::kUnary: return "(NOT " + c[0] + ")";
    case BoundExprKind::kBinary: return "(" + c[0] + " " + OperatorText(expr.op) + " " + c[1] + ")";
    case BoundExprKind::kBetween:
      return "(" + c[0] + (expr.negated ? " NOT" : "") + " BETWEEN " + c[1] + " AND " + c[2] + ")";
    case BoundExprKind::kIn: {
      std::string out = "(" + c[0] + (expr.negated ? " NOT IN (" : " IN (");
      for (size_t i = 1; i < c.size(); ++i) out += (i > 1 ? ", " : "") + c[i];
      return out + "))";
    }
    case BoundExprKind::kIsNull: return "(" + c[0] + (expr.negated ? " IS NOT NULL)" : " IS NULL)");
    case BoundExprKind::kLike: return "(" + c[0] + (expr.negated ? " NOT LIKE " : " LIKE ") + c[1] + ")";
    default: break;
  }
  throw DpqlError(ErrorCode::kInternal, "unknown bound expression");
}

// A key function (DATE_TRUNC, BUCKET, EXTRACT), guarded (see Guard).
std::string SqlWriter::KeyFunction(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kDateTrunc: {
      // A date truncated to its day is itself: no per-row conversion to
      // timestamp and back. The unit is the binder's lower-case field name.
      std::string date = Expr(*expr.children.at(0));
      std::string guard = Guard(expr, date);
      if (expr.name == "day") return "CASE WHEN " + guard + " THEN " + date + " END";
      std::string unit = Param(expr.name, "text");
      return "CASE WHEN " + guard + " THEN date_trunc(" + unit + ", " + date + "::timestamp)::date END";
    }
    case BoundExprKind::kBucket: {
      const BoundExpr& column = *expr.children.at(0);
      std::string value = Expr(column);
      std::string guard = Guard(expr, value);
      std::string width = Param(expr.literal, "numeric");
      std::string number = column.type == ValueType::kReal ? value : value + "::numeric";
      return "CASE WHEN " + guard + " THEN (floor(" + number + " / " + width + ") * " + width +
             ")::bigint END";
    }
    case BoundExprKind::kExtract: {
      // The field is one of a fixed list checked by the binder, never user text.
      std::string date = Expr(*expr.children.at(0));
      std::string guard = Guard(expr, date);
      return "CASE WHEN " + guard + " THEN extract(" + expr.name + " from " + date + ")::bigint END";
    }
    default: break;
  }
  throw DpqlError(ErrorCode::kInternal, "unknown key function");
}

// A key function's guard: its value is computed only on values inside
// KeyGuardRange (declared bounds, narrowed to where it cannot fail), and is
// NULL elsewhere, NaN and infinities included.
std::string SqlWriter::Guard(const BoundExpr& function, const std::string& value) {
  const GuardRange range = KeyGuardRange(function);
  std::string lower, upper;
  if (function.kind == BoundExprKind::kBucket) {
    const bool whole = function.children.at(0)->type == ValueType::kInt;
    lower = whole ? Param(Ceil(range.lower).str(), "bigint") : Param(ExactDecimal(range.lower), "numeric");
    upper = whole ? Param(Floor(range.upper).str(), "bigint") : Param(ExactDecimal(range.upper), "numeric");
  } else {
    lower = Param(FormatDate(Ceil(range.lower).convert_to<int64_t>()), "date");
    upper = Param(FormatDate(Floor(range.upper).convert_to<int64_t>()), "date");
  }
  return value + " BETWEEN " + lower + " AND " + upper;
}

// An operand of arithmetic, in numeric. A column is clamped to its
// declared bounds (NaN and infinities land on a bound) and rounded, so the
// binder's range for the whole expression holds whatever the rows hold
// (Binder::RangeOf); see docs/LANGUAGE.md, "Expressions that cannot fail".
std::string SqlWriter::ArithmeticOperand(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kColumn: {
      const CatalogColumn& column = *expr.column;
      std::string lower = Param(ExactDecimal(*column.lower), "numeric");
      std::string upper = Param(ExactDecimal(*column.upper), "numeric");
      const int places = column.type == ColumnType::kInt ? 0 : kArithmeticRealScale;
      return "round(LEAST(GREATEST(" + Column(column) + "::numeric, " + lower + "), " + upper + "), " +
             std::to_string(places) + ")";
    }
    case BoundExprKind::kLiteral: return Param(expr.literal, "numeric");
    case BoundExprKind::kBucket:
    case BoundExprKind::kExtract: return "(" + Expr(expr) + ")::numeric";
    default: return Expr(expr);  // arithmetic: already numeric
  }
}

std::string SqlWriter::KeyExpr(const BoundKey& key) {
  std::string sql = Expr(*key.expr);
  if (key.expr->kind == BoundExprKind::kColumn && key.expr->type == ValueType::kInt) {
    // Integers outside a bigint (a numeric column declared int) are NULL,
    // not an error.
    sql = "CASE WHEN " + sql + " BETWEEN -9223372036854775807 AND 9223372036854775807 THEN " + sql +
          "::bigint END";
  }
  return sql;
}

std::string SqlWriter::Domain(const BoundKey& key) {
  const KeyDomain& domain = key.domain;
  switch (domain.kind) {
    case KeyDomain::Kind::kList: {
      static const char* kCasts[] = {"text[]", "text[]", "bigint[]", "numeric[]", "date[]", "boolean[]"};
      return "SELECT unnest(" + Param(ArrayLiteral(domain.values), kCasts[static_cast<int>(key.expr->type)]) +
             ")";
    }
    case KeyDomain::Kind::kFromTable:
      return "SELECT DISTINCT " + QuoteIdentifier(domain.column) + " FROM " + QuoteIdentifier(domain.table) +
             " WHERE " + QuoteIdentifier(domain.column) + " IS NOT NULL";
    case KeyDomain::Kind::kIntRange: {
      std::string first = Param(domain.first.str(), "bigint");
      std::string last = Param(domain.last.str(), "bigint");
      std::string step = Param(domain.step.str(), "bigint");
      return "SELECT generate_series(" + first + ", " + last + ", " + step + ")";
    }
    case KeyDomain::Kind::kDateRange: {
      std::string first = Param(FormatDate(domain.first.convert_to<int64_t>()), "date");
      std::string last = Param(FormatDate(domain.last.convert_to<int64_t>()), "date");
      // PostgreSQL's interval input has no "quarter".
      std::string step = Param(domain.unit == "quarter" ? "3 months" : "1 " + domain.unit, "interval");
      return "SELECT generate_series(" + first + ", " + last + ", " + step + ")::date";
    }
    case KeyDomain::Kind::kBool: return "SELECT unnest(ARRAY[false, true])";
    case KeyDomain::Kind::kSelected: break;  // partition selection has no domain to enumerate
  }
  throw DpqlError(ErrorCode::kInternal, "unknown key domain");
}

}  // namespace dpql
