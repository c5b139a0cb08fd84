// Group keys and key functions: a column, BUCKET, DATE_TRUNC or EXTRACT. One
// binder per key function behind BindKey's dispatch; their domains come from
// key_domain.cpp.

#include <cctype>

#include "compiler/binder/binder.h"
#include "compiler/binder/key_domain.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

// A key function's domain must stay within kMaxDomainSize keys; `key` is the
// key as written, `fix` what it has too many of and what to write instead.
void CheckDomainSize(const KeyDomain& domain, const std::string& key, const char* fix,
                     const SourceLocation& loc) {
  if (*domain.size > kMaxDomainSize) {
    throw DpqlError(ErrorCode::kDomainTooLarge, key + " has " + domain.size->str() + fix, loc);
  }
}

// A key function's expression over its bound column.
BoundExprPtr KeyExpr(BoundExprKind kind, ValueType type, const SourceLocation& loc, BoundExprPtr column) {
  auto bound = std::make_unique<BoundExpr>();
  bound->kind = kind;
  bound->type = type;
  bound->loc = loc;
  bound->children.push_back(std::move(column));
  return bound;
}

}  // namespace

BoundKey Binder::BindKey(const ast::Expr& expr, const std::string& name, bool need_domain) {
  // The key functions by name; EXTRACT has its own syntax (and AST kind).
  struct KeyFunction {
    const char* name;
    void (Binder::*bind)(const ast::Expr&, bool, BoundKey&);
  };
  static const KeyFunction kKeyFunctions[] = {{"BUCKET", &Binder::BindBucketKey},
                                              {"DATE_TRUNC", &Binder::BindDateTruncKey}};
  BoundKey key;
  key.name = name;
  key.loc = expr.loc;
  switch (expr.kind) {
    case ast::ExprKind::kColumn: BindColumnKey(expr, need_domain, key); return key;
    case ast::ExprKind::kFunction:
      for (const KeyFunction& function : kKeyFunctions) {
        if (expr.name == function.name) {
          (this->*function.bind)(expr, need_domain, key);
          return key;
        }
      }
      throw DpqlError(ErrorCode::kUnknownFunction, UnknownFunctionMessage(expr), expr.loc);
    case ast::ExprKind::kExtract: BindExtractKey(expr, need_domain, key); return key;
    default: break;
  }
  const bool position =
      expr.kind == ast::ExprKind::kLiteral && expr.literal.kind == ast::LiteralKind::kInteger;
  throw DpqlError(ErrorCode::kUnsupportedKey,
                  std::string(position ? "GROUP BY " + expr.literal.text +
                                             " would group by a position, which DPQL does not support; write "
                                             "the key itself. "
                                       : "") +
                      "GROUP BY takes columns with a public domain, BUCKET(x, width), "
                      "DATE_TRUNC('month', d) and EXTRACT(YEAR FROM d), e.g. GROUP BY sex",
                  expr.loc);
}

// "unknown function COUNTT; did you mean COUNT? DPQL has ...": the usual SQL
// spelling of a DPQL function when there is one (YEAR(d)), else the closest
// name, then every function DPQL has.
std::string Binder::UnknownFunctionMessage(const ast::Expr& expr) const {
  const std::string argument =
      !expr.args.empty() && expr.args[0]->kind == ast::ExprKind::kColumn ? expr.args[0]->name : "";
  const std::string date = argument.empty() ? "d" : argument;
  const std::string number = argument.empty() ? "x" : argument;
  std::string hint;
  for (const char* field : {"YEAR", "QUARTER", "MONTH", "WEEK", "DAY"}) {
    if (expr.name == field) hint = "EXTRACT(" + expr.name + " FROM " + date + ")";
  }
  if (expr.name == "DATE_PART") hint = "EXTRACT(YEAR FROM " + date + ") (or MONTH, DAY, ...)";
  if (expr.name == "WIDTH_BUCKET" || expr.name == "FLOOR" || expr.name == "ROUND" || expr.name == "TRUNC") {
    hint = "BUCKET(" + number + ", width)";
  }
  if (expr.name == "COUNT_DISTINCT" || expr.name == "APPROX_COUNT_DISTINCT" || expr.name == "NDV") {
    hint = "COUNT(DISTINCT " + dataset_.privacy_unit + ")";
  }
  if (hint.empty()) {
    // What DPQL can answer; MIN and MAX are known but refused, so never suggested.
    static const std::vector<std::string> kFunctions = {"COUNT",      "SUM",    "AVG",        "VARIANCE",
                                                        "STDDEV",     "MEDIAN", "PERCENTILE", "BUCKET",
                                                        "DATE_TRUNC", "EXTRACT"};
    hint = ClosestName(expr.name, kFunctions);
  }
  return "unknown function " + expr.name + (hint.empty() ? ";" : "; did you mean " + hint + "?") +
         " DPQL has the aggregates COUNT(*), COUNT(column), COUNT(DISTINCT " + dataset_.privacy_unit +
         "), SUM, AVG, VARIANCE, STDDEV, MEDIAN and PERCENTILE(column, fraction), and the key functions "
         "BUCKET(x, width), DATE_TRUNC('month', d) and EXTRACT(YEAR FROM d)";
}

BoundExprPtr Binder::BindKeyColumn(const ast::Expr& arg, std::string_view function, bool want_date,
                                   bool need_domain) {
  if (arg.kind != ast::ExprKind::kColumn) {
    throw DpqlError(ErrorCode::kUnsupportedArgument,
                    std::string(function) + " takes a column of the table, not an expression, e.g. " +
                        (want_date ? std::string(function) + "(... admitted_on)" : "BUCKET(age, 10)"),
                    arg.loc);
  }
  BoundExprPtr column = BindColumn(arg, "GROUP BY");
  bool ok = want_date ? column->type == ValueType::kDate
                      : (column->type == ValueType::kInt || column->type == ValueType::kReal);
  if (!ok) {
    throw DpqlError(ErrorCode::kTypeMismatch,
                    std::string(function) + " needs a " + (want_date ? "date" : "number") + " column, but " +
                        column->name + " is " + ValueTypeName(column->type),
                    arg.loc);
  }
  if (need_domain && !column->column->HasBounds()) {
    throw DpqlError(ErrorCode::kNoPublicDomain,
                    column->name + " has no declared bounds, so " + std::string(function) +
                        " groups would reveal which values occur; a guardian can declare "
                        "lower and upper in the catalog",
                    arg.loc);
  }
  return column;
}

void Binder::BindColumnKey(const ast::Expr& expr, bool need_domain, BoundKey& key) {
  key.expr = BindColumn(expr, "GROUP BY");
  if (LowerAscii(key.expr->column->name) == LowerAscii(dataset_.privacy_unit)) {
    throw DpqlError(ErrorCode::kPrivacyUnitKey,
                    "grouping by " + key.expr->column->name +
                        " would release one figure per person; count people with "
                        "COUNT(DISTINCT " +
                        key.expr->column->name + ") instead",
                    expr.loc);
  }
  if (!need_domain) return;
  const CatalogTable& table = *key.expr->table;
  if (!table.is_private && !key.expr->column->HasDomain()) {
    // A joined public table's column: its keys are that column's
    // distinct values, read from the public table, every one output.
    key.domain.kind = KeyDomain::Kind::kFromTable;
    key.domain.table = table.name;
    key.domain.column = key.expr->column->name;
  } else {
    key.domain = ColumnDomain(*key.expr->column, expr.loc);
  }
}

void Binder::BindBucketKey(const ast::Expr& expr, bool need_domain, BoundKey& key) {
  if (expr.args.size() != 2) {
    throw DpqlError(ErrorCode::kWrongArguments, "BUCKET takes a column and a width, e.g. BUCKET(age, 10)",
                    expr.loc);
  }
  auto column = BindKeyColumn(*expr.args[0], "BUCKET", false, need_domain);
  const ast::Expr& width_expr = *expr.args[1];
  auto width =
      width_expr.kind == ast::ExprKind::kLiteral && width_expr.literal.kind == ast::LiteralKind::kInteger
          ? ParseDecimal(width_expr.literal.text)
          : std::nullopt;
  if (!width || *width <= 0 || *width > Rational(1000000000)) {
    throw DpqlError(ErrorCode::kInvalidBucketWidth,
                    "the BUCKET width must be a positive whole number, e.g. BUCKET(age, 10)", width_expr.loc);
  }
  BigInt w = boost::multiprecision::numerator(*width);
  if (need_domain) {
    const CatalogColumn& c = *column->column;
    key.domain.kind = KeyDomain::Kind::kIntRange;
    key.domain.first = Floor(*c.lower / Rational(w)) * w;
    key.domain.last = Floor(*c.upper / Rational(w)) * w;
    key.domain.step = w;
    key.domain.size = (key.domain.last - key.domain.first) / w + 1;
    CheckDomainSize(key.domain, "BUCKET(" + c.name + ", " + w.str() + ")", " buckets; choose a wider bucket",
                    expr.loc);
  }
  key.expr = KeyExpr(BoundExprKind::kBucket, ValueType::kInt, expr.loc, std::move(column));
  key.expr->literal = w.str();
}

void Binder::BindDateTruncKey(const ast::Expr& expr, bool need_domain, BoundKey& key) {
  static const char* kUnits[] = {"day", "week", "month", "quarter", "year"};
  const ast::Expr* unit_expr = expr.args.size() == 2 ? expr.args[0].get() : nullptr;
  std::string unit = unit_expr != nullptr && unit_expr->kind == ast::ExprKind::kLiteral &&
                             unit_expr->literal.kind == ast::LiteralKind::kString
                         ? LowerAscii(unit_expr->literal.text)
                         : "";
  bool known = false;
  for (const char* u : kUnits) known = known || unit == u;
  if (!known) {
    throw DpqlError(ErrorCode::kWrongArguments,
                    "DATE_TRUNC takes a unit ('day', 'week', 'month', 'quarter' or 'year') "
                    "and a date column, e.g. DATE_TRUNC('month', admitted_on)",
                    unit_expr != nullptr ? unit_expr->loc : expr.loc);
  }
  auto column = BindKeyColumn(*expr.args[1], "DATE_TRUNC", true, need_domain);
  if (need_domain) {
    const CatalogColumn& c = *column->column;
    int64_t first = TruncateDays(Floor(*c.lower).convert_to<int64_t>(), unit);
    int64_t last = TruncateDays(Floor(*c.upper).convert_to<int64_t>(), unit);
    key.domain.kind = KeyDomain::Kind::kDateRange;
    key.domain.unit = unit;
    key.domain.first = first;
    key.domain.last = last;
    key.domain.size = CountSteps(first, last, unit);
    CheckDomainSize(key.domain, "DATE_TRUNC('" + unit + "', " + c.name + ")", " values; use a coarser unit",
                    expr.loc);
  }
  key.expr = KeyExpr(BoundExprKind::kDateTrunc, ValueType::kDate, expr.loc, std::move(column));
  key.expr->name = unit;
}

void Binder::BindExtractKey(const ast::Expr& expr, bool need_domain, BoundKey& key) {
  struct Field {
    const char* name;
    int64_t first, last;
  };
  static const Field kFields[] = {{"YEAR", 0, 0}, {"QUARTER", 1, 4}, {"MONTH", 1, 12}, {"WEEK", 1, 53},
                                  {"DAY", 1, 31}, {"DOW", 0, 6},     {"ISODOW", 1, 7}, {"DOY", 1, 366}};
  const Field* field = nullptr;
  for (const Field& f : kFields) {
    if (expr.name == f.name) field = &f;
  }
  if (field == nullptr) {
    throw DpqlError(ErrorCode::kWrongArguments,
                    "EXTRACT supports YEAR, QUARTER, MONTH, WEEK, DAY, DOW, ISODOW and DOY, "
                    "e.g. EXTRACT(MONTH FROM admitted_on)",
                    expr.loc);
  }
  if (expr.args.size() != 1) {
    throw DpqlError(ErrorCode::kWrongArguments, "EXTRACT takes one date, e.g. EXTRACT(YEAR FROM admitted_on)",
                    expr.loc);
  }
  const bool year = std::string(field->name) == "YEAR";
  // Only YEAR's range depends on the column's bounds; the others are fixed.
  auto column = BindKeyColumn(*expr.args[0], "EXTRACT", true, need_domain && year);
  if (need_domain) {
    key.domain.kind = KeyDomain::Kind::kIntRange;
    if (year) {
      const CatalogColumn& c = *column->column;
      key.domain.first = CivilFromDays(Floor(*c.lower).convert_to<int64_t>()).year;
      key.domain.last = CivilFromDays(Floor(*c.upper).convert_to<int64_t>()).year;
    } else {
      key.domain.first = field->first;
      key.domain.last = field->last;
    }
    key.domain.size = key.domain.last - key.domain.first + 1;
  }
  key.expr = KeyExpr(BoundExprKind::kExtract, ValueType::kInt, expr.loc, std::move(column));
  key.expr->name = field->name;
}

}  // namespace dpql
