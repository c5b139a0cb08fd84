#include <cctype>

#include "compiler/binder/binder.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

bool IsNumeric(ValueType type) { return type == ValueType::kInt || type == ValueType::kReal; }

BoundExprPtr Make(BoundExprKind kind, ValueType type, const SourceLocation& loc) {
  auto expr = std::make_unique<BoundExpr>();
  expr->kind = kind;
  expr->type = type;
  expr->loc = loc;
  return expr;
}

// `op` over one or two bound operands, in order.
BoundExprPtr MakeOperator(BoundExprKind kind, ValueType type, const SourceLocation& loc, Operator op,
                          BoundExprPtr first, BoundExprPtr second = nullptr) {
  auto expr = Make(kind, type, loc);
  expr->op = op;
  expr->children.push_back(std::move(first));
  if (second) expr->children.push_back(std::move(second));
  return expr;
}

// Numbers in a query: at most 10^308 in magnitude and 308 decimal places (the
// span of double precision), exact in PostgreSQL's numeric and far inside its range.
constexpr int kLiteralDigits = 308;

// The decimal places of an exact decimal value (its denominator is 2^a 5^b);
// more than `limit` when it has more than `limit`.
int DecimalPlaces(const Rational& value, int limit) {
  Rational scaled = value;
  for (int places = 0; places <= limit; ++places, scaled *= 10) {
    if (boost::multiprecision::denominator(scaled) == 1) return places;
  }
  return limit + 1;
}

BigInt PowerOfTen(int exponent) { return boost::multiprecision::pow(BigInt(10), exponent); }

}  // namespace

bool IsAggregateName(std::string_view name) {
  static const char* kNames[] = {"COUNT",      "SUM",         "AVG",       "MIN",       "MAX",     "MEDIAN",
                                 "PERCENTILE", "VARIANCE",    "STDDEV",    "VAR",       "VAR_POP", "VAR_SAMP",
                                 "STDDEV_POP", "STDDEV_SAMP", "ARRAY_AGG", "STRING_AGG"};
  for (const char* n : kNames) {
    if (name == n) return true;
  }
  return false;
}

std::string AggregateText(const ast::Expr& aggregate) {
  std::string args;
  for (const auto& arg : aggregate.args) {
    std::string text = arg->kind == ast::ExprKind::kStar ? "*"
                       : arg->kind == ast::ExprKind::kColumn
                           ? (arg->qualifier.empty() ? "" : arg->qualifier + ".") + arg->name
                       : arg->kind == ast::ExprKind::kLiteral ? arg->literal.text
                                                              : "...";
    args += (args.empty() ? "" : ", ") + text;
  }
  return aggregate.name + "(" + (aggregate.distinct ? "DISTINCT " : "") + args + ")";
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
    case ast::LiteralKind::kNull: return Make(BoundExprKind::kLiteral, ValueType::kNull, expr.loc);
    case ast::LiteralKind::kInteger: {
      CheckNumberRange(literal.text, expr.loc);
      auto bound = Make(BoundExprKind::kLiteral, ValueType::kInt, expr.loc);
      if (!ParseDecimal(literal.text) || literal.text.size() > 18) {
        bound->type = ValueType::kReal;  // too large for bigint: compare as numeric
      }
      bound->literal = literal.text;
      return bound;
    }
    case ast::LiteralKind::kDecimal: {
      // A number token that does not parse has an exponent beyond any range
      // (1e5000): the same refusal as 1e400, number_out_of_range.
      CheckNumberRange(literal.text, expr.loc);
      if (!ParseDecimal(literal.text)) {
        throw DpqlError(ErrorCode::kInvalidNumber, "invalid number " + literal.text, expr.loc);
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
        throw DpqlError(ErrorCode::kInvalidDate,
                        "invalid date '" + literal.text +
                            "'; write DATE 'yyyy-mm-dd' with a real "
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
  throw DpqlError(ErrorCode::kInternal, "unknown literal kind", expr.loc);
}

void Binder::CheckComparable(const BoundExpr& left, const BoundExpr& right, const SourceLocation& loc) {
  if (left.type == ValueType::kNull || right.type == ValueType::kNull) {
    throw DpqlError(ErrorCode::kNullComparison,
                    "comparing with NULL is never true; write IS NULL or IS NOT NULL", loc);
  }
  if (left.type == right.type || (IsNumeric(left.type) && IsNumeric(right.type))) return;
  std::string hint;
  const BoundExpr& text = left.type == ValueType::kText ? left : right;
  const BoundExpr& other = left.type == ValueType::kText ? right : left;
  if (text.type != ValueType::kText) {
    // Neither side is text: e.g. a date with a number.
  } else if (other.type == ValueType::kDate) {
    hint = "; write a date as DATE 'yyyy-mm-dd', e.g. DATE '2026-11-27'";
  } else if (text.kind != BoundExprKind::kLiteral && other.kind == BoundExprKind::kLiteral) {
    // sex = 1: a text column with an unquoted value.
    hint = "; " + Describe(text) + " is text: quote the value, e.g. " + Describe(text) + " = '" +
           other.literal + "'";
  } else if (text.kind == BoundExprKind::kLiteral) {
    // age = 'old': a quoted value for a column of another type.
    hint = "; " + Describe(other) + " is " + ValueTypeName(other.type) + ": compare it with " +
           (IsNumeric(other.type) ? "a number, e.g. " + Describe(other) + " > 30" : "a value of that type") +
           ", not with quoted text";
  }
  throw DpqlError(ErrorCode::kTypeMismatch,
                  std::string("cannot compare ") + Describe(left) + " (" + ValueTypeName(left.type) +
                      ") with " + Describe(right) + " (" + ValueTypeName(right.type) + ")" + hint,
                  loc);
}

void Binder::RequireBoolean(const BoundExpr& expr, std::string_view clause) {
  if (expr.type != ValueType::kBool) {
    throw DpqlError(ErrorCode::kTypeMismatch,
                    std::string(clause) + " needs a condition (true or false), but " + Describe(expr) +
                        " is " + ValueTypeName(expr.type) + "; compare it, e.g. " + Describe(expr) + " = ...",
                    expr.loc);
  }
}

BoundExprPtr Binder::BindComparison(const ast::Expr& expr, std::string_view clause) {
  auto left = BindRowExpr(*expr.args.at(0), clause);
  auto right = BindRowExpr(*expr.args.at(1), clause);
  CheckComparable(*left, *right, expr.loc);
  return MakeOperator(BoundExprKind::kBinary, ValueType::kBool, expr.loc, expr.op, std::move(left),
                      std::move(right));
}

// An aggregate where a row expression is bound: a select item's aggregate
// reaches here only inside a larger expression (BindSelectList binds a bare
// one), WHERE runs before anything is aggregated, and HAVING and ORDER BY
// resolve their aggregates against the output first (ResolveOutput).
void Binder::RefuseAggregate(const ast::Expr& aggregate, std::string_view clause) {
  const std::string text = AggregateText(aggregate);
  if (clause == kSelectListClause) {
    throw DpqlError(ErrorCode::kAggregateInExpression,
                    text +
                        " cannot be part of an expression in the select list: DPQL adds noise to "
                        "each aggregate itself and releases it on its own; select " +
                        text + " alone and compute with the released value afterwards",
                    aggregate.loc);
  }
  if (clause == "WHERE") {
    throw DpqlError(ErrorCode::kAggregateNotAllowed,
                    text +
                        " cannot be used in WHERE, which chooses rows before anything is "
                        "aggregated; to keep only the groups whose noisy " +
                        text + " passes a test, select " + text + " and write HAVING " + text +
                        " > ... after GROUP BY",
                    aggregate.loc);
  }
  throw DpqlError(ErrorCode::kAggregateNotAllowed,
                  text + " cannot be used inside an expression in " + std::string(clause) + "; " +
                      std::string(clause) + " can name an output column or repeat a select item",
                  aggregate.loc);
}

BoundExprPtr Binder::BindRowExpr(const ast::Expr& expr, std::string_view clause) {
  switch (expr.kind) {
    case ast::ExprKind::kColumn: return BindColumn(expr, clause);
    case ast::ExprKind::kLiteral: return BindLiteral(expr);
    case ast::ExprKind::kStar:
      throw DpqlError(ErrorCode::kMisplacedStar, "* is only allowed inside COUNT(*)", expr.loc);
    case ast::ExprKind::kSubquery:
      throw DpqlError(ErrorCode::kSubquery,
                      "subqueries are not supported; write one aggregate query over a private "
                      "table",
                      expr.loc);
    case ast::ExprKind::kFunction:
    case ast::ExprKind::kExtract: {
      if (expr.kind == ast::ExprKind::kFunction && IsAggregateName(expr.name)) RefuseAggregate(expr, clause);
      return BindKey(expr, "", /*need_domain=*/false).expr;
    }
    case ast::ExprKind::kUnary: return BindUnary(expr, clause);
    case ast::ExprKind::kBinary:
      if (IsLogical(expr.op)) return BindLogical(expr, clause);
      if (IsComparison(expr.op)) return BindComparison(expr, clause);
      if (IsArithmetic(expr.op)) return BindArithmetic(expr, clause);
      throw DpqlError(ErrorCode::kUnknownOperator, "unknown operator " + OperatorText(expr.op), expr.loc);
    case ast::ExprKind::kBetween: return BindBetween(expr, clause);
    case ast::ExprKind::kIn: return BindIn(expr, clause);
    case ast::ExprKind::kIsNull: {
      auto bound = Make(BoundExprKind::kIsNull, ValueType::kBool, expr.loc);
      bound->negated = expr.negated;
      bound->children.push_back(BindRowExpr(*expr.args.at(0), clause));
      return bound;
    }
    case ast::ExprKind::kLike: return BindLike(expr, clause);
  }
  throw DpqlError(ErrorCode::kInternal, "unknown expression kind", expr.loc);
}

BoundExprPtr Binder::BindUnary(const ast::Expr& expr, std::string_view clause) {
  auto child = BindRowExpr(*expr.args.at(0), clause);
  if (expr.op == Operator::kNot) {
    RequireBoolean(*child, "NOT");
    return MakeOperator(BoundExprKind::kUnary, ValueType::kBool, expr.loc, Operator::kNot, std::move(child));
  }
  if (!IsNumeric(child->type)) {
    throw DpqlError(ErrorCode::kTypeMismatch,
                    "unary " + OperatorText(expr.op) + " needs a number, but " + Describe(*child) + " is " +
                        ValueTypeName(child->type),
                    expr.loc);
  }
  if (expr.op == Operator::kPlus) return child;
  if (child->kind == BoundExprKind::kLiteral) {
    // A negative number is a literal, not arithmetic: the column it is
    // compared with is then compared in its own type.
    child->literal = child->literal.front() == '-' ? child->literal.substr(1) : "-" + child->literal;
    child->loc = expr.loc;
    return child;
  }
  const ValueType type = child->type;  // read before `child` is moved into the node
  auto bound = MakeOperator(BoundExprKind::kUnary, type, expr.loc, Operator::kMinus, std::move(child));
  CheckArithmetic(*bound);
  return bound;
}

BoundExprPtr Binder::BindLogical(const ast::Expr& expr, std::string_view clause) {
  auto left = BindRowExpr(*expr.args.at(0), clause);
  auto right = BindRowExpr(*expr.args.at(1), clause);
  RequireBoolean(*left, OperatorText(expr.op));
  RequireBoolean(*right, OperatorText(expr.op));
  return MakeOperator(BoundExprKind::kBinary, ValueType::kBool, expr.loc, expr.op, std::move(left),
                      std::move(right));
}

BoundExprPtr Binder::BindArithmetic(const ast::Expr& expr, std::string_view clause) {
  auto left = BindRowExpr(*expr.args.at(0), clause);
  auto right = BindRowExpr(*expr.args.at(1), clause);
  for (const BoundExpr* side : {left.get(), right.get()}) {
    if (!IsNumeric(side->type)) {
      throw DpqlError(ErrorCode::kTypeMismatch,
                      "arithmetic " + OperatorText(expr.op) + " needs numbers, but " + Describe(*side) +
                          " is " + ValueTypeName(side->type),
                      side->loc);
    }
  }
  ValueType type =
      (left->type == ValueType::kInt && right->type == ValueType::kInt && expr.op != Operator::kDivide)
          ? ValueType::kInt
          : ValueType::kReal;
  auto bound =
      MakeOperator(BoundExprKind::kBinary, type, expr.loc, expr.op, std::move(left), std::move(right));
  CheckArithmetic(*bound);
  return bound;
}

BoundExprPtr Binder::BindBetween(const ast::Expr& expr, std::string_view clause) {
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

BoundExprPtr Binder::BindIn(const ast::Expr& expr, std::string_view clause) {
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

BoundExprPtr Binder::BindLike(const ast::Expr& expr, std::string_view clause) {
  auto value = BindRowExpr(*expr.args.at(0), clause);
  auto pattern = BindRowExpr(*expr.args.at(1), clause);
  for (const BoundExpr* side : {value.get(), pattern.get()}) {
    if (side->type != ValueType::kText) {
      throw DpqlError(ErrorCode::kTypeMismatch,
                      "LIKE compares text, but " + Describe(*side) + " is " + ValueTypeName(side->type),
                      side->loc);
    }
  }
  CheckLikePattern(*pattern);
  auto bound = Make(BoundExprKind::kLike, ValueType::kBool, expr.loc);
  bound->negated = expr.negated;
  bound->children.push_back(std::move(value));
  bound->children.push_back(std::move(pattern));
  return bound;
}

void Binder::CheckNumberRange(const std::string& text, const SourceLocation& loc) {
  std::optional<Rational> value = text.size() <= 4 * kLiteralDigits ? ParseDecimal(text) : std::nullopt;
  if (!value || abs(*value) > Rational(PowerOfTen(kLiteralDigits)) ||
      DecimalPlaces(*value, kLiteralDigits) > kLiteralDigits) {
    throw DpqlError(ErrorCode::kNumberOutOfRange,
                    "the number " + (text.size() > 40 ? text.substr(0, 37) + "..." : text) +
                        " is outside DPQL's range; numbers have at most " + std::to_string(kLiteralDigits) +
                        " digits before and " + std::to_string(kLiteralDigits) + " after the decimal point",
                    loc);
  }
}

// PostgreSQL fails on `LIKE` patterns that end in an unpaired escape
// character; the pattern must be a literal so that this is known here, and
// whether the query fails never depends on the rows.
void Binder::CheckLikePattern(const BoundExpr& pattern) {
  if (pattern.kind != BoundExprKind::kLiteral) {
    throw DpqlError(ErrorCode::kLikePatternNotLiteral,
                    "the pattern of LIKE must be a quoted text, e.g. postcode_district LIKE "
                    "'AB%'; a pattern taken from a column could fail on some rows' values",
                    pattern.loc);
  }
  size_t trailing = 0;
  for (auto it = pattern.literal.rbegin(); it != pattern.literal.rend() && *it == '\\'; ++it) {
    ++trailing;
  }
  if (trailing % 2 == 1) {
    throw DpqlError(ErrorCode::kInvalidLikePattern,
                    "the LIKE pattern '" + pattern.literal +
                        "' ends with the escape character \\; write \\\\ for a backslash, "
                        "\\% or \\_ for a literal % or _",
                    pattern.loc);
  }
}

// Arithmetic runs in PostgreSQL's numeric on columns clamped to their
// declared bounds and rounded (see SqlWriter::ArithmeticOperand), so the
// largest magnitude and the number of decimal places every subexpression can
// reach follow from the catalog and the literals alone. Refusing what could
// come near numeric's limit (10^131072) makes arithmetic total: no row's
// value can make it fail.
ArithmeticRange Binder::RangeOf(const BoundExpr& expr) {
  switch (expr.kind) {
    case BoundExprKind::kLiteral: {
      const Rational value = *ParseDecimal(expr.literal);
      return {Rational(abs(value)), DecimalPlaces(value, kLiteralDigits)};
    }
    case BoundExprKind::kColumn: {
      const CatalogColumn& column = *expr.column;
      if (!column.HasBounds()) {
        throw DpqlError(ErrorCode::kArithmeticNeedsBounds,
                        "arithmetic on " + Describe(expr) +
                            " needs its declared bounds (lower and upper in the catalog); "
                            "compare the column itself instead, e.g. " +
                            Describe(expr) + " > 10",
                        expr.loc);
      }
      const Rational lower = abs(*column.lower), upper = abs(*column.upper);
      return {std::max(lower, upper), column.type == ColumnType::kInt ? 0 : kArithmeticRealScale};
    }
    case BoundExprKind::kBucket:
    case BoundExprKind::kExtract: {
      // Whole numbers no larger than the key's guard range allows.
      return {Rational(KeyFunctionMagnitude(expr)), 0};
    }
    case BoundExprKind::kUnary: return RangeOf(*expr.children.at(0));
    case BoundExprKind::kBinary: {
      const ArithmeticRange left = RangeOf(*expr.children.at(0));
      const ArithmeticRange right = RangeOf(*expr.children.at(1));
      if (expr.op == Operator::kPlus || expr.op == Operator::kMinus) {
        return {left.magnitude + right.magnitude, std::max(left.places, right.places)};
      }
      if (expr.op == Operator::kTimes) {
        // numeric rounds a product to 16383 places rather than fail.
        return {left.magnitude * right.magnitude, std::min(left.places + right.places, 16383)};
      }
      // x / y with y != 0 (NULLIF): |y| is at least 10^-places(y); numeric
      // gives a quotient at most 1000 decimal places.
      return {left.magnitude * Rational(PowerOfTen(right.places)), 1000};
    }
    default: break;
  }
  throw DpqlError(ErrorCode::kInternal, "no range for this expression", expr.loc);
}

void Binder::CheckArithmetic(const BoundExpr& expr) {
  static const Rational kLimit(PowerOfTen(kArithmeticDigits));
  const ArithmeticRange range = RangeOf(expr);
  if (range.magnitude > kLimit) {
    throw DpqlError(ErrorCode::kArithmeticOutOfRange,
                    Describe(expr) + " could reach " + std::to_string(kArithmeticDigits) +
                        "+ digits on some values of its columns' declared bounds; DPQL refuses "
                        "arithmetic it cannot prove stays in range (divide by a literal or a "
                        "column with narrower bounds, or compare the columns directly)",
                    expr.loc);
  }
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
    case BoundExprKind::kUnary: return expr.op == Operator::kNot ? "NOT " + child(0) : "-" + child(0);
    case BoundExprKind::kBinary: return "(" + child(0) + " " + OperatorText(expr.op) + " " + child(1) + ")";
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
