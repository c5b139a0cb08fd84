#include <cctype>

#include "compiler/binder/binder.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

// The most keys one query may output; beyond this a result is more noise than
// signal and the generated domain would be large.
constexpr int64_t kMaxDomainSize = 100000;

// date_trunc(unit, day) in days since 1970-01-01, as PostgreSQL computes it.
int64_t TruncateDays(int64_t days, const std::string& unit) {
  if (unit == "day") return days;
  if (unit == "week") return days - ((days % 7 + 7 + 3) % 7);  // back to Monday (1970-01-01 is a Thursday)
  CivilDate date = CivilFromDays(days);
  if (unit == "month") return DaysFromCivil({date.year, date.month, 1});
  if (unit == "quarter") return DaysFromCivil({date.year, (date.month - 1) / 3 * 3 + 1, 1});
  return DaysFromCivil({date.year, 1, 1});  // year
}

int64_t CountSteps(int64_t first, int64_t last, const std::string& unit) {
  if (unit == "day") return last - first + 1;
  if (unit == "week") return (last - first) / 7 + 1;
  CivilDate a = CivilFromDays(first), b = CivilFromDays(last);
  int64_t months = (b.year - a.year) * 12 + (b.month - a.month);
  if (unit == "month") return months + 1;
  if (unit == "quarter") return months / 3 + 1;
  return b.year - a.year + 1;
}

}  // namespace

KeyDomain Binder::ColumnDomain(const CatalogColumn& column, const SourceLocation& loc) {
  KeyDomain domain;
  if (!column.domain.empty()) {
    domain.kind = KeyDomain::Kind::kList;
    domain.values = column.domain;
    domain.size = BigInt(column.domain.size());
    return domain;
  }
  if (!column.domain_from_table.empty()) {
    domain.kind = KeyDomain::Kind::kFromTable;
    // The names as the catalog declares the table and column (the catalog
    // checked that they exist; `domain_from` may spell them in another case).
    const CatalogTable* source = dataset_.FindTable(column.domain_from_table);
    const CatalogColumn* source_column =
        source != nullptr ? source->FindColumn(column.domain_from_column) : nullptr;
    domain.table = source != nullptr ? source->name : column.domain_from_table;
    domain.column = source_column != nullptr ? source_column->name : column.domain_from_column;
    return domain;
  }
  if (column.type == ColumnType::kBool) {
    domain.kind = KeyDomain::Kind::kBool;
    domain.size = BigInt(2);
    return domain;
  }
  if ((column.type == ColumnType::kInt || column.type == ColumnType::kDate) && column.HasBounds()) {
    domain.kind = column.type == ColumnType::kInt ? KeyDomain::Kind::kIntRange
                                                  : KeyDomain::Kind::kDateRange;
    domain.first = Floor(*column.lower);
    domain.last = Floor(*column.upper);
    domain.size = domain.last - domain.first + 1;
    if (*domain.size > kMaxDomainSize) {
      throw DpqlError(ErrorCode::kDomainTooLarge,
                      column.name + " has " + domain.size->str() +
                          " possible values between its bounds; group by " +
                          (column.type == ColumnType::kInt
                               ? "BUCKET(" + column.name + ", width)"
                               : "DATE_TRUNC('month', " + column.name + ")") +
                          " instead",
                      loc);
    }
    return domain;
  }
  if (privacy_.delta > 0 && column.type != ColumnType::kReal) {
    // Private partition selection: only groups with enough people survive.
    domain.kind = KeyDomain::Kind::kSelected;
    return domain;
  }
  std::string hint;
  switch (column.type) {
    case ColumnType::kReal:
      hint = "group by BUCKET(" + column.name + ", width) (the catalog must declare its bounds)";
      break;
    case ColumnType::kText:
      hint = "a guardian can declare its public values in the catalog (domain: [...] or "
             "domain_from: table.column), or allow partition selection with WITH PRIVACY "
             "(delta = 1e-6)";
      break;
    default:
      hint = "a guardian can declare its bounds in the catalog (lower, upper)";
  }
  throw DpqlError(ErrorCode::kNoPublicDomain,
                  column.name +
                      " has no public domain, so the set of groups would reveal which values "
                      "occur in the data; " +
                      hint,
                  loc);
}

BoundKey Binder::BindKey(const ast::Expr& expr, const std::string& name, bool need_domain) {
  BoundKey key;
  key.name = name;
  key.loc = expr.loc;

  auto bounded_column = [&](const ast::Expr& arg, std::string_view function,
                            bool want_date) -> BoundExprPtr {
    if (arg.kind != ast::ExprKind::kColumn) {
      throw DpqlError(ErrorCode::kUnsupportedKey,
                      std::string(function) + " takes a column here, e.g. " +
                          (want_date ? std::string(function) + "(... admitted_on)"
                                     : "BUCKET(age, 10)"),
                      arg.loc);
    }
    BoundExprPtr column = BindColumn(arg, "GROUP BY");
    bool ok = want_date ? column->type == ValueType::kDate
                        : (column->type == ValueType::kInt || column->type == ValueType::kReal);
    if (!ok) {
      throw DpqlError(ErrorCode::kTypeMismatch,
                      std::string(function) + " needs a " + (want_date ? "date" : "number") +
                          " column, but " + column->name + " is " + ValueTypeName(column->type),
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
  };

  switch (expr.kind) {
    case ast::ExprKind::kColumn: {
      key.expr = BindColumn(expr, "GROUP BY");
      if (LowerAscii(key.expr->column->name) == LowerAscii(dataset_.privacy_unit)) {
        throw DpqlError(ErrorCode::kPrivacyUnitKey,
                        "grouping by " + key.expr->column->name +
                            " would release one figure per person; count people with "
                            "COUNT(DISTINCT " +
                            key.expr->column->name + ") instead",
                        expr.loc);
      }
      if (need_domain) {
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
      return key;
    }
    case ast::ExprKind::kFunction: {
      if (expr.name == "BUCKET") {
        if (expr.args.size() != 2) {
          throw DpqlError(ErrorCode::kWrongArguments,
                          "BUCKET takes a column and a width, e.g. BUCKET(age, 10)", expr.loc);
        }
        auto column = bounded_column(*expr.args[0], "BUCKET", false);
        const ast::Expr& width_expr = *expr.args[1];
        auto width = width_expr.kind == ast::ExprKind::kLiteral &&
                             width_expr.literal.kind == ast::LiteralKind::kInteger
                         ? ParseDecimal(width_expr.literal.text)
                         : std::nullopt;
        if (!width || *width <= 0 || *width > Rational(1000000000)) {
          throw DpqlError(ErrorCode::kInvalidBucketWidth,
                          "the BUCKET width must be a positive whole number, e.g. BUCKET(age, 10)",
                          width_expr.loc);
        }
        BigInt w = boost::multiprecision::numerator(*width);
        if (need_domain) {
          const CatalogColumn& c = *column->column;
          key.domain.kind = KeyDomain::Kind::kIntRange;
          key.domain.first = Floor(*c.lower / Rational(w)) * w;
          key.domain.last = Floor(*c.upper / Rational(w)) * w;
          key.domain.step = w;
          key.domain.size = (key.domain.last - key.domain.first) / w + 1;
          if (*key.domain.size > kMaxDomainSize) {
            throw DpqlError(ErrorCode::kDomainTooLarge,
                            "BUCKET(" + c.name + ", " + w.str() + ") has " +
                                key.domain.size->str() + " buckets; choose a wider bucket",
                            expr.loc);
          }
        }
        key.expr = std::make_unique<BoundExpr>();
        key.expr->kind = BoundExprKind::kBucket;
        key.expr->type = ValueType::kInt;
        key.expr->loc = expr.loc;
        key.expr->literal = w.str();
        key.expr->children.push_back(std::move(column));
        return key;
      }
      if (expr.name == "DATE_TRUNC") {
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
        auto column = bounded_column(*expr.args[1], "DATE_TRUNC", true);
        if (need_domain) {
          const CatalogColumn& c = *column->column;
          int64_t first = TruncateDays(Floor(*c.lower).convert_to<int64_t>(), unit);
          int64_t last = TruncateDays(Floor(*c.upper).convert_to<int64_t>(), unit);
          key.domain.kind = KeyDomain::Kind::kDateRange;
          key.domain.unit = unit;
          key.domain.first = first;
          key.domain.last = last;
          key.domain.size = CountSteps(first, last, unit);
          if (*key.domain.size > kMaxDomainSize) {
            throw DpqlError(ErrorCode::kDomainTooLarge,
                            "DATE_TRUNC('" + unit + "', " + c.name + ") has " +
                                key.domain.size->str() + " values; use a coarser unit",
                            expr.loc);
          }
        }
        key.expr = std::make_unique<BoundExpr>();
        key.expr->kind = BoundExprKind::kDateTrunc;
        key.expr->type = ValueType::kDate;
        key.expr->loc = expr.loc;
        key.expr->name = unit;
        key.expr->children.push_back(std::move(column));
        return key;
      }
      throw DpqlError(ErrorCode::kUnknownFunction,
                      "unknown function " + expr.name +
                          "; DPQL has the aggregates COUNT, SUM, AVG and the key functions "
                          "BUCKET(x, width), DATE_TRUNC('month', d), EXTRACT(YEAR FROM d)",
                      expr.loc);
    }
    case ast::ExprKind::kExtract: {
      struct Field {
        const char* name;
        int64_t first, last;
      };
      static const Field kFields[] = {{"YEAR", 0, 0},  {"QUARTER", 1, 4}, {"MONTH", 1, 12},
                                      {"WEEK", 1, 53}, {"DAY", 1, 31},    {"DOW", 0, 6},
                                      {"ISODOW", 1, 7}, {"DOY", 1, 366}};
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
        throw DpqlError(ErrorCode::kWrongArguments,
                        "EXTRACT takes one date, e.g. EXTRACT(YEAR FROM admitted_on)", expr.loc);
      }
      bool saved = need_domain;
      need_domain = need_domain && std::string(field->name) == "YEAR";  // others are fixed ranges
      auto column = bounded_column(*expr.args[0], "EXTRACT", true);
      need_domain = saved;
      if (need_domain) {
        key.domain.kind = KeyDomain::Kind::kIntRange;
        if (std::string(field->name) == "YEAR") {
          const CatalogColumn& c = *column->column;
          key.domain.first = CivilFromDays(Floor(*c.lower).convert_to<int64_t>()).year;
          key.domain.last = CivilFromDays(Floor(*c.upper).convert_to<int64_t>()).year;
        } else {
          key.domain.first = field->first;
          key.domain.last = field->last;
        }
        key.domain.size = key.domain.last - key.domain.first + 1;
      }
      key.expr = std::make_unique<BoundExpr>();
      key.expr->kind = BoundExprKind::kExtract;
      key.expr->type = ValueType::kInt;
      key.expr->loc = expr.loc;
      key.expr->name = field->name;
      key.expr->children.push_back(std::move(column));
      return key;
    }
    default:
      break;
  }
  throw DpqlError(ErrorCode::kUnsupportedKey,
                  "GROUP BY supports columns with a public domain, BUCKET(x, width), "
                  "DATE_TRUNC('month', d) and EXTRACT(YEAR FROM d)",
                  expr.loc);
}

namespace {

// What the WHERE clause's top-level conjuncts say about one column: every row
// that passes has lower <= column <= upper (either may be missing).
struct ColumnRange {
  std::optional<Rational> lower, upper;
};

// A literal's value on the column's scale: numbers as they are, dates in days
// since 1970-01-01. nullopt for anything else (the conjunct is then ignored,
// which only keeps the domain larger).
std::optional<Rational> LiteralValue(const BoundExpr& expr, ValueType column_type) {
  if (expr.kind != BoundExprKind::kLiteral) return std::nullopt;
  if (column_type == ValueType::kDate) {
    if (expr.type != ValueType::kDate) return std::nullopt;
    std::optional<int64_t> days = ParseDate(expr.literal);
    return days ? std::optional<Rational>(Rational(*days)) : std::nullopt;
  }
  if (expr.type != ValueType::kInt && expr.type != ValueType::kReal) return std::nullopt;
  return ParseDecimal(expr.literal);
}

bool SameColumn(const BoundExpr& expr, const BoundExpr& column) {
  return expr.kind == BoundExprKind::kColumn && expr.column == column.column &&
         expr.table == column.table;
}

void Tighten(ColumnRange& range, std::optional<Rational> lower, std::optional<Rational> upper) {
  if (lower && (!range.lower || *lower > *range.lower)) range.lower = lower;
  if (upper && (!range.upper || *upper < *range.upper)) range.upper = upper;
}

// Walks the AND tree of WHERE. On an int or date column the bounds are whole
// numbers, rounded inward to the values the condition admits (x > 50.5 is
// x >= 51, x < 50.5 is x <= 50; dates are whole days); on a real column a
// strict bound stays inclusive (a superset, never too small).
void CollectRange(const BoundExpr& expr, const BoundExpr& column, ColumnRange& range) {
  const bool discrete = column.type == ValueType::kInt || column.type == ValueType::kDate;
  if (expr.kind == BoundExprKind::kBinary && expr.op == "AND") {
    for (const auto& child : expr.children) CollectRange(*child, column, range);
    return;
  }
  // The smallest admitted value >= v (or > v when strict), the largest <= v
  // (or < v). Only discrete columns round; a real column keeps v.
  auto at_least = [&](const Rational& v, bool strict) {
    if (!discrete) return v;
    return Rational(strict ? Floor(v) + 1 : Ceil(v));
  };
  auto at_most = [&](const Rational& v, bool strict) {
    if (!discrete) return v;
    return Rational(strict ? Ceil(v) - 1 : Floor(v));
  };
  auto lower_of = [&](const std::optional<Rational>& v, bool strict) {
    return v ? std::optional<Rational>(at_least(*v, strict)) : std::nullopt;
  };
  auto upper_of = [&](const std::optional<Rational>& v, bool strict) {
    return v ? std::optional<Rational>(at_most(*v, strict)) : std::nullopt;
  };
  if (expr.kind == BoundExprKind::kBetween && !expr.negated &&
      SameColumn(*expr.children[0], column)) {
    Tighten(range, lower_of(LiteralValue(*expr.children[1], column.type), false),
            upper_of(LiteralValue(*expr.children[2], column.type), false));
    return;
  }
  if (expr.kind != BoundExprKind::kBinary || expr.children.size() != 2) return;
  std::string op = expr.op;
  const BoundExpr* value = expr.children[1].get();
  if (!SameColumn(*expr.children[0], column)) {
    if (!SameColumn(*expr.children[1], column)) return;
    value = expr.children[0].get();  // literal op column: mirror the operator
    if (op == "<") op = ">";
    else if (op == "<=") op = ">=";
    else if (op == ">") op = "<";
    else if (op == ">=") op = "<=";
  }
  std::optional<Rational> v = LiteralValue(*value, column.type);
  if (!v) return;
  // x = 50.5 on an int column admits nothing: lower 51 > upper 50, an empty domain.
  if (op == "=") Tighten(range, lower_of(v, false), upper_of(v, false));
  else if (op == ">=") Tighten(range, lower_of(v, false), std::nullopt);
  else if (op == ">") Tighten(range, lower_of(v, true), std::nullopt);
  else if (op == "<=") Tighten(range, std::nullopt, upper_of(v, false));
  else if (op == "<") Tighten(range, std::nullopt, upper_of(v, true));
}

}  // namespace

void NarrowKeyDomains(const BoundExpr& where, std::vector<BoundKey>& keys) {
  for (BoundKey& key : keys) {
    KeyDomain& domain = key.domain;
    if (domain.kind != KeyDomain::Kind::kIntRange && domain.kind != KeyDomain::Kind::kDateRange) {
      continue;
    }
    const BoundExpr& expr = *key.expr;
    const BoundExpr* column = nullptr;
    if (expr.kind == BoundExprKind::kColumn) column = &expr;
    const bool year = expr.kind == BoundExprKind::kExtract && expr.name == "YEAR";
    if (expr.kind == BoundExprKind::kBucket || expr.kind == BoundExprKind::kDateTrunc || year) {
      column = expr.children[0].get();
    }
    // Other EXTRACT fields are not monotone in the date.
    if (column == nullptr || column->kind != BoundExprKind::kColumn) continue;
    ColumnRange range;
    CollectRange(where, *column, range);
    if (!range.lower && !range.upper) continue;
    // No value passes (e.g. age = 50.5 on an int column): not even one key.
    const bool none = range.lower && range.upper && *range.lower > *range.upper;

    // The keys those column values can reach: the key functions are monotone.
    BigInt first = domain.first, last = domain.last;
    if (domain.kind == KeyDomain::Kind::kDateRange) {
      auto truncate = [&](const BigInt& days) {
        return BigInt(TruncateDays(days.convert_to<int64_t>(), domain.unit));
      };
      if (range.lower) first = std::max(first, truncate(Ceil(*range.lower)));
      if (range.upper) last = std::min(last, truncate(Floor(*range.upper)));
    } else if (year) {
      auto year_of = [](const BigInt& days) {
        return BigInt(CivilFromDays(days.convert_to<int64_t>()).year);
      };
      if (range.lower) first = std::max(first, year_of(Ceil(*range.lower)));
      if (range.upper) last = std::min(last, year_of(Floor(*range.upper)));
    } else {
      const Rational step(domain.step);
      const bool whole = column->type == ValueType::kInt;
      if (range.lower) {
        Rational low = whole ? Rational(Ceil(*range.lower)) : *range.lower;
        first = std::max(first, Floor(low / step) * domain.step);
      }
      if (range.upper) last = std::min(last, Floor(*range.upper / step) * domain.step);
    }
    if (none || first > last) {
      const bool dates = domain.kind == KeyDomain::Kind::kDateRange;
      auto text = [&](const BigInt& v) {
        return dates ? FormatDate(v.convert_to<int64_t>()) : v.str();
      };
      throw DpqlError(ErrorCode::kEmptyDomain,
                      "the WHERE clause leaves " + Describe(expr) + " no value in its domain (" +
                          text(domain.first) + " to " + text(domain.last) +
                          ", from the bounds the catalog declares for " + column->name +
                          "); widen the condition, or ask a data guardian about the bounds",
                      key.loc);
    }
    domain.first = first;
    domain.last = last;
    domain.size = domain.kind == KeyDomain::Kind::kDateRange
                      ? BigInt(CountSteps(first.convert_to<int64_t>(),
                                          last.convert_to<int64_t>(), domain.unit))
                      : (last - first) / domain.step + 1;
  }
}

GuardRange KeyGuardRange(const BoundExpr& key_function) {
  const CatalogColumn& column = *key_function.children.at(0)->column;
  GuardRange range;
  if (key_function.kind == BoundExprKind::kBucket) {
    // floor(x / width) * width stays within a bigint for |x| <= 2^62.
    const Rational limit(BigInt(1) << 62);
    const Rational negative_limit = -limit;
    range.lower = column.lower ? std::max(*column.lower, negative_limit) : negative_limit;
    range.upper = column.upper ? std::min(*column.upper, limit) : limit;
    return range;
  }
  // Dates of years 1 to 9999: date_trunc's conversion to a timestamp and
  // back cannot fail on them, and extract gives a finite number.
  const Rational first(DaysFromCivil({1, 1, 1})), last(DaysFromCivil({9999, 12, 31}));
  range.lower = column.lower ? std::max(*column.lower, first) : first;
  range.upper = column.upper ? std::min(*column.upper, last) : last;
  return range;
}

BigInt KeyFunctionMagnitude(const BoundExpr& key_function) {
  if (key_function.kind == BoundExprKind::kExtract) return 9999;  // years; other fields are smaller
  const GuardRange range = KeyGuardRange(key_function);
  const Rational lower = abs(range.lower), upper = abs(range.upper);
  return Ceil(std::max(lower, upper)) + BigInt(key_function.literal);
}

}  // namespace dpql
