// The public domains of group keys: a column's own (ColumnDomain), narrowed
// by WHERE (NarrowKeyDomains), and the ranges key functions are computed on.

#include "compiler/binder/key_domain.h"

#include "compiler/binder/binder.h"
#include "compiler/common/date.h"
#include "compiler/common/error.h"

namespace dpql {

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
    domain.kind = column.type == ColumnType::kInt ? KeyDomain::Kind::kIntRange : KeyDomain::Kind::kDateRange;
    domain.first = Floor(*column.lower);
    domain.last = Floor(*column.upper);
    domain.size = domain.last - domain.first + 1;
    if (*domain.size > kMaxDomainSize) {
      throw DpqlError(ErrorCode::kDomainTooLarge,
                      column.name + " has " + domain.size->str() +
                          " possible values between its bounds; group by " +
                          (column.type == ColumnType::kInt ? "BUCKET(" + column.name + ", width)"
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
      hint =
          "a guardian can declare its public values in the catalog (domain: [...] or "
          "domain_from: table.column), or allow partition selection with WITH PRIVACY "
          "(delta = 1e-6)";
      break;
    default: hint = "a guardian can declare its bounds in the catalog (lower, upper)";
  }
  throw DpqlError(ErrorCode::kNoPublicDomain,
                  column.name +
                      " has no public domain, so the set of groups would reveal which values "
                      "occur in the data; " +
                      hint,
                  loc);
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
  return expr.kind == BoundExprKind::kColumn && expr.column == column.column && expr.table == column.table;
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
  if (expr.kind == BoundExprKind::kBinary && expr.op == Operator::kAnd) {
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
  if (expr.kind == BoundExprKind::kBetween && !expr.negated && SameColumn(*expr.children[0], column)) {
    Tighten(range, lower_of(LiteralValue(*expr.children[1], column.type), false),
            upper_of(LiteralValue(*expr.children[2], column.type), false));
    return;
  }
  if (expr.kind != BoundExprKind::kBinary || expr.children.size() != 2) return;
  Operator op = expr.op;
  const BoundExpr* value = expr.children[1].get();
  if (!SameColumn(*expr.children[0], column)) {
    if (!SameColumn(*expr.children[1], column)) return;
    value = expr.children[0].get();  // literal op column: mirror the operator
    op = Mirror(op);
  }
  std::optional<Rational> v = LiteralValue(*value, column.type);
  if (!v) return;
  // x = 50.5 on an int column admits nothing: lower 51 > upper 50, an empty domain.
  switch (op) {
    case Operator::kEqual: Tighten(range, lower_of(v, false), upper_of(v, false)); break;
    case Operator::kGreaterEqual: Tighten(range, lower_of(v, false), std::nullopt); break;
    case Operator::kGreater: Tighten(range, lower_of(v, true), std::nullopt); break;
    case Operator::kLessEqual: Tighten(range, std::nullopt, upper_of(v, false)); break;
    case Operator::kLess: Tighten(range, std::nullopt, upper_of(v, true)); break;
    default: break;
  }
}

// The fewest constants an `=` or `IN` conjunct of the AND tree allows.
void CollectListed(const BoundExpr& expr, const BoundExpr& column, std::optional<BigInt>& count) {
  auto tighten = [&](BigInt n) {
    if (!count || n < *count) count = n;
  };
  if (expr.kind == BoundExprKind::kBinary && expr.op == Operator::kAnd) {
    for (const auto& child : expr.children) CollectListed(*child, column, count);
    return;
  }
  if (expr.kind == BoundExprKind::kBinary && expr.op == Operator::kEqual && expr.children.size() == 2) {
    const BoundExpr& a = *expr.children[0];
    const BoundExpr& b = *expr.children[1];
    if ((SameColumn(a, column) && b.kind == BoundExprKind::kLiteral) ||
        (SameColumn(b, column) && a.kind == BoundExprKind::kLiteral)) {
      tighten(1);
    }
    return;
  }
  if (expr.kind == BoundExprKind::kIn && !expr.negated && SameColumn(*expr.children[0], column)) {
    for (size_t i = 1; i < expr.children.size(); ++i) {
      if (expr.children[i]->kind != BoundExprKind::kLiteral) return;
    }
    tighten(BigInt(expr.children.size() - 1));
  }
}

}  // namespace

std::optional<BigInt> AdmittedValueCount(const BoundExpr* where, const BoundExpr& column) {
  if (where == nullptr) return std::nullopt;
  std::optional<BigInt> count;
  CollectListed(*where, column, count);
  if (column.type == ValueType::kInt || column.type == ValueType::kDate) {
    ColumnRange range;
    CollectRange(*where, column, range);
    if (range.lower && range.upper) {
      // Whole numbers (days) from lower to upper: CollectRange rounded both inward.
      const BigInt values = *range.lower > *range.upper ? BigInt(0) : Floor(*range.upper) - Ceil(*range.lower) + 1;
      if (!count || values < *count) count = values;
    }
  }
  return count;
}

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
      auto text = [&](const BigInt& v) { return dates ? FormatDate(v.convert_to<int64_t>()) : v.str(); };
      throw DpqlError(ErrorCode::kEmptyDomain,
                      "the WHERE clause leaves " + Describe(expr) + " no value in its domain (" +
                          text(domain.first) + " to " + text(domain.last) +
                          ", from the bounds the catalog declares for " + column->name +
                          "); widen the condition, or ask a data guardian about the bounds",
                      key.loc);
    }
    domain.first = first;
    domain.last = last;
    domain.size =
        domain.kind == KeyDomain::Kind::kDateRange
            ? BigInt(CountSteps(first.convert_to<int64_t>(), last.convert_to<int64_t>(), domain.unit))
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
