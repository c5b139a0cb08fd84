// SQL generation. Identifiers come only from the catalog (validated as plain
// identifiers and double-quoted here); every literal and every number that
// shapes the bounding travels as a bind parameter.

#include <algorithm>
#include <optional>
#include <sstream>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/planner/plan.h"

namespace dpql {

namespace {

// An exact decimal rendering of a rational with a power-of-two (or any
// 2^a 5^b) denominator, as PostgreSQL's numeric input accepts.
std::string ExactDecimal(const Rational& value) {
  BigInt num = boost::multiprecision::numerator(value);
  BigInt den = boost::multiprecision::denominator(value);
  if (den == 1) return num.str();
  int digits = 0;
  BigInt scale = 1;
  while ((scale % den) != 0) {
    scale *= 10;
    if (++digits > 400) {
      throw DpqlError(ErrorKind::kInternal, "internal", "value has no exact decimal form");
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

class SqlWriter {
 public:
  explicit SqlWriter(Plan& plan) : plan_(plan) {}

  std::string Param(const std::string& value, const char* type) {
    plan_.params.push_back(value);
    return "$" + std::to_string(plan_.params.size()) + "::" + type;
  }

  std::string Column(const CatalogColumn& column) {
    return TableAlias(column) + "." + QuoteIdentifier(column.name);
  }

  // t for the private table, j1, j2, ... for the joined public tables. Each
  // table appears once in a query, so a column's address says which.
  std::string TableAlias(const CatalogColumn& column) {
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
  std::string Expr(const BoundExpr& expr) {
    switch (expr.kind) {
      case BoundExprKind::kColumn:
        // A real column is compared in numeric, which holds every value of
        // PostgreSQL's real, double precision and numeric (NaN and infinities
        // included): a comparison in double precision would convert the other
        // side, and fail when it is out of double's range.
        return expr.type == ValueType::kReal ? Column(*expr.column) + "::numeric"
                                             : Column(*expr.column);
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
      case BoundExprKind::kDateTrunc: {
        // A date truncated to its day is itself: no per-row conversion to
        // timestamp and back. The unit is the binder's lower-case field name.
        std::string date = Expr(*expr.children.at(0));
        std::string guard = Guard(expr, date);
        if (expr.name == "day") return "CASE WHEN " + guard + " THEN " + date + " END";
        std::string unit = Param(expr.name, "text");
        return "CASE WHEN " + guard + " THEN date_trunc(" + unit + ", " + date +
               "::timestamp)::date END";
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
        return "CASE WHEN " + guard + " THEN extract(" + expr.name + " from " + date +
               ")::bigint END";
      }
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
      default:
        break;
    }
    std::vector<std::string> c;
    for (const auto& child : expr.children) c.push_back(Expr(*child));
    switch (expr.kind) {
      case BoundExprKind::kUnary:
        return "(NOT " + c[0] + ")";
      case BoundExprKind::kBinary:
        return "(" + c[0] + " " + OperatorText(expr.op) + " " + c[1] + ")";
      case BoundExprKind::kBetween:
        return "(" + c[0] + (expr.negated ? " NOT" : "") + " BETWEEN " + c[1] + " AND " + c[2] + ")";
      case BoundExprKind::kIn: {
        std::string out = "(" + c[0] + (expr.negated ? " NOT IN (" : " IN (");
        for (size_t i = 1; i < c.size(); ++i) out += (i > 1 ? ", " : "") + c[i];
        return out + "))";
      }
      case BoundExprKind::kIsNull:
        return "(" + c[0] + (expr.negated ? " IS NOT NULL)" : " IS NULL)");
      case BoundExprKind::kLike:
        return "(" + c[0] + (expr.negated ? " NOT LIKE " : " LIKE ") + c[1] + ")";
      default:
        break;
    }
    throw DpqlError(ErrorKind::kInternal, "internal", "unknown bound expression");
  }

  // A key function's guard: its value is computed only on values inside
  // KeyGuardRange (declared bounds, narrowed to where it cannot fail), and is
  // NULL elsewhere, NaN and infinities included.
  std::string Guard(const BoundExpr& function, const std::string& value) {
    const GuardRange range = KeyGuardRange(function);
    std::string lower, upper;
    if (function.kind == BoundExprKind::kBucket) {
      const bool whole = function.children.at(0)->type == ValueType::kInt;
      lower = whole ? Param(Ceil(range.lower).str(), "bigint")
                    : Param(ExactDecimal(range.lower), "numeric");
      upper = whole ? Param(Floor(range.upper).str(), "bigint")
                    : Param(ExactDecimal(range.upper), "numeric");
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
  std::string ArithmeticOperand(const BoundExpr& expr) {
    switch (expr.kind) {
      case BoundExprKind::kColumn: {
        const CatalogColumn& column = *expr.column;
        std::string lower = Param(ExactDecimal(*column.lower), "numeric");
        std::string upper = Param(ExactDecimal(*column.upper), "numeric");
        const int places = column.type == ColumnType::kInt ? 0 : kArithmeticRealScale;
        return "round(LEAST(GREATEST(" + Column(column) + "::numeric, " + lower + "), " + upper +
               "), " + std::to_string(places) + ")";
      }
      case BoundExprKind::kLiteral:
        return Param(expr.literal, "numeric");
      case BoundExprKind::kBucket:
      case BoundExprKind::kExtract:
        return "(" + Expr(expr) + ")::numeric";
      default:
        return Expr(expr);  // arithmetic: already numeric
    }
  }

  std::string KeyExpr(const BoundKey& key) {
    std::string sql = Expr(*key.expr);
    if (key.expr->kind == BoundExprKind::kColumn && key.expr->type == ValueType::kInt) {
      // Integers outside a bigint (a numeric column declared int) are NULL,
      // not an error.
      sql = "CASE WHEN " + sql + " BETWEEN -9223372036854775807 AND 9223372036854775807 THEN " +
            sql + "::bigint END";
    }
    return sql;
  }

  std::string Domain(const BoundKey& key) {
    const KeyDomain& domain = key.domain;
    switch (domain.kind) {
      case KeyDomain::Kind::kList: {
        static const char* kCasts[] = {"text[]", "text[]", "bigint[]", "numeric[]", "date[]",
                                       "boolean[]"};
        return "SELECT unnest(" +
               Param(ArrayLiteral(domain.values), kCasts[static_cast<int>(key.expr->type)]) + ")";
      }
      case KeyDomain::Kind::kFromTable:
        return "SELECT DISTINCT " + QuoteIdentifier(domain.column) + " FROM " +
               QuoteIdentifier(domain.table) + " WHERE " + QuoteIdentifier(domain.column) +
               " IS NOT NULL";
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
        std::string step =
            Param(domain.unit == "quarter" ? "3 months" : "1 " + domain.unit, "interval");
        return "SELECT generate_series(" + first + ", " + last + ", " + step + ")::date";
      }
      case KeyDomain::Kind::kBool:
        return "SELECT unnest(ARRAY[false, true])";
      case KeyDomain::Kind::kSelected:
        break;  // partition selection has no domain to enumerate
    }
    throw DpqlError(ErrorKind::kInternal, "internal", "unknown key domain");
  }

  // One person's contribution to one group, computed over that person's rows
  // of the group (dpql_rows grouped by unit and keys).
  std::string PerUnit(const Measure& measure, int index) {
    const std::string value = "v" + std::to_string(index);
    auto max_rows = [&] { return Param(std::to_string(plan_.select.privacy.max_rows), "bigint"); };
    switch (measure.kind) {
      case MeasureKind::kRowCount:
        return "LEAST(count(*), " + max_rows() + ")";
      case MeasureKind::kValueCount:
        return "LEAST(count(" + value + "), " + max_rows() + ")";
      case MeasureKind::kUnitCount:
        return "1";
      case MeasureKind::kSum:
      case MeasureKind::kCentredSum:
      case MeasureKind::kCentredSquares: {
        // The mean of the person's per-row values (the clamped value; for the
        // centred measures its deviation from the midpoint of the bounds, or
        // that squared less the offset) times min(rows, max_rows): max_rows
        // rows' worth, in grid units, rounded, then clamped so the bound holds
        // exactly whatever the rounding did. The mean is over the rows that
        // have a value, as count(value) is (LEAST and GREATEST skip NULLs, so
        // a NULL would otherwise count as a bound).
        std::string bound_text = measure.per_group_bound.str();
        std::string contribution;
        if (auto integer = IntegerPerRow(measure, value)) {
          // sum(per row × scale) × min(n, max_rows) / (n × grid × scale),
          // rounded: the rows are summed as integers, the division is done
          // once per person and group. Per-row values that fit in an integer
          // are summed as integers (sum(integer) is a bigint, sum(bigint) a
          // numeric). Where that sum is a bigint and the divisor grid × scale
          // is whole, the rounding division is done in bigints (exact, see
          // RoundedQuotient) wherever no multiplication by max_rows is
          // needed: always for max_rows = 1, within max_rows rows otherwise.
          // Everything else is scaled in numeric: exact, and no overflow.
          std::string summed = "sum(" + integer->expr + (integer->fits_int32 ? "::integer" : "") +
                               ") FILTER (WHERE " + value + " IS NOT NULL)";
          const std::string exact_sum = "(" + summed + ")::numeric";  // for the numeric scalings
          std::string count = "count(" + value + ")";
          const Rational divisor_value = measure.grid * integer->scale;
          const bool whole_divisor = boost::multiprecision::denominator(divisor_value) == 1;
          if (integer->fits_int32 && whole_divisor && plan_.select.privacy.max_rows == 1) {
            // One row's worth: round(sum / (n × divisor)), all in bigints.
            std::string divisor = Param(numerator(divisor_value).str(), "bigint");
            contribution = "CASE WHEN " + count + " = 0 THEN 0 ELSE " +
                           RoundedQuotient(summed, "(" + count + " * " + divisor + ")") + " END";
          } else if (integer->fits_int32 && whole_divisor) {
            // Within max_rows rows: round(sum / divisor) in bigints; beyond
            // them the scaling by max_rows / n in numeric.
            std::string rows = max_rows();
            std::string divisor = Param(numerator(divisor_value).str(), "bigint");
            std::string within = divisor_value == 1 ? "coalesce(" + summed + ", 0)"
                                                    : RoundedQuotient("coalesce(" + summed + ", 0)",
                                                                      divisor);
            contribution = "CASE WHEN " + count + " <= " + rows + " THEN " + within +
                           " ELSE round(" + exact_sum + " * " + rows + " / (" + count + " * " +
                           divisor + "))::bigint END";
          } else if (divisor_value == 1) {
            std::string rows = max_rows();
            contribution = "CASE WHEN " + count + " <= " + rows + " THEN coalesce(" + summed +
                           ", 0) ELSE round(" + exact_sum + " * " + rows + " / " + count + ") END";
          } else {
            std::string rows = max_rows();
            std::string divisor = Param(ExactDecimal(divisor_value), "numeric");
            contribution = "round(coalesce(" + exact_sum + ", 0) * LEAST(" + count + ", " + rows +
                           ") / (GREATEST(" + count + ", 1) * " + divisor + "))";
          }
        } else {
          std::string per_row = NumericPerRow(measure, value);
          std::string rows = max_rows();
          std::string grid = Param(ExactDecimal(measure.grid), "numeric");
          contribution = "round(coalesce(avg(" + per_row + ") FILTER (WHERE " +
                         value + " IS NOT NULL), 0) * LEAST(count(" + value + "), " + rows +
                         ") / " + grid + ")";
        }
        // The bound is a whole number, so the clamped contribution is one: a
        // bigint when it fits, which the group totals then sum cheaply.
        if (measure.per_group_bound <= kBigintSafe) {
          std::string bound = Param(bound_text, "bigint");
          return "LEAST(GREATEST(" + contribution + ", -" + bound + "), " + bound + ")::bigint";
        }
        std::string bound = Param(bound_text, "numeric");
        return "LEAST(GREATEST(" + contribution + ", -" + bound + "), " + bound + ")";
      }
      case MeasureKind::kHistogram:
        // The bins of at most max_rows of the person's rows, chosen by a hash
        // of the person and the bin: the choice depends only on the person's
        // own rows, and is not biased towards low or high values.
        // (The bin is a bigint, hashed with the person's hash as the seed.)
        if (SingleBin(measure)) {
          // One row: the bin whose (hash with its low 16 bits cleared, bin)
          // is least, as one min() over bigints (bins < 2^16) rather than a
          // sort per person and group; NULL when the person has no value.
          return "(min((hashint8extended(" + value + ", " + UnitHash() + ") & -65536) | " +
                 value + ") & 65535)";
        }
        return "(array_agg(" + value + " ORDER BY hashint8extended(" + value + ", " +
               UnitHash() + "), " + value + ") FILTER (WHERE " + value +
               " IS NOT NULL))[1:" +
               Param(std::to_string(plan_.select.privacy.max_rows), "integer") + "]";
    }
    throw DpqlError(ErrorKind::kInternal, "internal", "unknown measure");
  }

  // round(s / d), halves away from zero as PostgreSQL's round(numeric), for
  // a bigint s and a positive bigint d, in bigint arithmetic: the truncated
  // quotient, plus one away from zero when the remainder is at least half of
  // d. (|s % d| < d, so nothing here can overflow.)
  static std::string RoundedQuotient(const std::string& s, const std::string& d) {
    return "(" + s + " / " + d + " + CASE WHEN 2 * abs(" + s + " % " + d + ") >= " + d +
           " THEN CASE WHEN " + s + " < 0 THEN -1 ELSE 1 END ELSE 0 END)";
  }

  // Integers up to 2^62 in absolute value: sums and differences of two of
  // them still fit in a bigint.
  static inline const BigInt kBigintSafe = BigInt(1) << 62;

  // A sum measure's per-row value in numeric arithmetic (any column type).
  std::string NumericPerRow(const Measure& measure, const std::string& value) {
    const CatalogColumn& column = *measure.column;
    std::string lower = Param(ExactDecimal(*column.lower), "numeric");
    std::string upper = Param(ExactDecimal(*column.upper), "numeric");
    std::string clamped = "LEAST(GREATEST(" + value + "::numeric, " + lower + "), " + upper + ")";
    if (measure.kind == MeasureKind::kSum) return clamped;
    std::string mid = Param(ExactDecimal(BoundsMidpoint(column)), "numeric");
    std::string deviation = "(" + clamped + " - " + mid + ")";
    if (measure.kind == MeasureKind::kCentredSum) return deviation;
    std::string offset = Param(ExactDecimal(SquaresOffset(column)), "numeric");
    return deviation + " * " + deviation + " - " + offset;
  }

  // For an int column, a sum measure's per-row value times a small constant
  // `scale` is an exact integer: with x the clamped value and lo, hi the
  // bounds, D = 2x - (lo + hi) is twice the deviation from the midpoint, and
  //   kSum:            x                   (scale 1)
  //   kCentredSum:     D                   (scale 2; x - mid = D / 2)
  //   kCentredSquares: 2 D^2 - (hi - lo)^2 (scale 8; (x - mid)^2 - offset
  //                                         = D^2 / 4 - (hi - lo)^2 / 8)
  // PostgreSQL then sums bigints (in 128-bit accumulators) where it would
  // otherwise convert and add numerics row by row. nullopt when the bounds
  // are too wide for every per-row value to fit in a bigint.
  struct IntegerRow {
    std::string expr;
    int scale = 1;
    bool fits_int32 = false;  // every per-row value is within a 32-bit integer
  };
  std::optional<IntegerRow> IntegerPerRow(const Measure& measure, const std::string& value) {
    const CatalogColumn& column = *measure.column;
    if (column.type != ColumnType::kInt) return std::nullopt;
    const BigInt lo = boost::multiprecision::numerator(*column.lower);
    const BigInt hi = boost::multiprecision::numerator(*column.upper);
    if (boost::multiprecision::denominator(*column.lower) != 1 ||
        boost::multiprecision::denominator(*column.upper) != 1) {
      return std::nullopt;
    }
    const BigInt kLimit = BigInt(1) << 60;  // |2x - (lo + hi)| < 2^62
    if (abs(lo) > kLimit || abs(hi) > kLimit) return std::nullopt;
    const BigInt width = hi - lo;
    if (measure.kind == MeasureKind::kCentredSquares && width > (BigInt(1) << 30)) {
      return std::nullopt;  // 2 D^2 <= 2 width^2 must stay under 2^62
    }
    const BigInt kInt32 = (BigInt(1) << 31) - 1;
    // Bounds this small keep x and 2x - (lo + hi) within a 32-bit integer:
    // the clamp and the sum's per-row arithmetic then stay in the column's
    // own integer type, with no conversion to bigint and back per row.
    const BigInt narrow_limit = measure.kind == MeasureKind::kSum ? kInt32 : BigInt(1) << 28;
    const bool narrow = measure.kind != MeasureKind::kCentredSquares && abs(lo) <= narrow_limit &&
                        abs(hi) <= narrow_limit;
    const char* type = narrow ? "integer" : "bigint";
    // (Each Param in its own statement: the parameters are numbered in order.)
    std::string lower = Param(lo.str(), type);
    std::string upper = Param(hi.str(), type);
    // The value is clamped, then made a whole number (as the cast to bigint
    // always did: clamping to whole bounds and rounding commute). A narrow
    // SUM is made an integer by the caller (fits_int32).
    // (Clamped in the column's own type, then cast: a value outside a bigint
    // must not reach the cast.)
    const std::string clamped = "LEAST(GREATEST(" + value + ", " + lower + "), " + upper + ")" +
                                (narrow ? "" : "::bigint");
    if (measure.kind == MeasureKind::kSum) {
      return IntegerRow{clamped, 1, abs(lo) <= kInt32 && abs(hi) <= kInt32};
    }
    std::string bounds_sum = Param(BigInt(lo + hi).str(), type);
    std::string twice_deviation =
        "(2 * " + clamped + (narrow ? "::integer" : "") + " - " + bounds_sum + ")";
    if (measure.kind == MeasureKind::kCentredSum) {
      return IntegerRow{twice_deviation, 2, width <= kInt32};  // |D| <= width
    }
    std::string width_squared = Param(BigInt(width * width).str(), "bigint");
    return IntegerRow{"(2 * " + twice_deviation + " * " + twice_deviation + " - " + width_squared + ")",
                      8, width * width <= kInt32};  // within [-width^2, width^2]
  }

  // The bin of a row's value clamped to the bounds, NULL for NULL (LEAST and
  // GREATEST would turn a NULL into a bound, hence the CASE).
  std::string BinIndex(const Measure& measure) {
    const std::string column = Column(*measure.column);
    // An int column's bins are whole (ChooseBins): bigint division, which
    // truncates towards zero, is the floor for every value at or above the
    // lower bound, and values below it land in bin 0 either way.
    if (measure.column->type == ColumnType::kInt &&
        boost::multiprecision::denominator(measure.bin_lower) == 1 &&
        boost::multiprecision::denominator(measure.bin_width) == 1 &&
        abs(measure.bin_lower) <= Rational(BigInt(1) << 60) &&
        abs(*measure.column->upper) <= Rational(BigInt(1) << 60)) {
      // Clamped to the bounds in the column's own type before the cast, so
      // no value can overflow the cast or the subtraction.
      std::string lower = Param(numerator(measure.bin_lower).str(), "bigint");
      std::string upper = Param(Floor(*measure.column->upper).str(), "bigint");
      std::string width = Param(numerator(measure.bin_width).str(), "bigint");
      std::string last = Param(std::to_string(measure.bins - 1), "bigint");
      return "CASE WHEN " + column + " IS NULL THEN NULL ELSE LEAST((LEAST(GREATEST(" + column +
             ", " + lower + "), " + upper + ")::bigint - " + lower + ") / " + width + ", " + last +
             ") END";
    }
    // Clamped first (NaN and infinities land on a bound), so the quotient is
    // at most bins whatever the column holds.
    std::string lower = Param(ExactDecimal(measure.bin_lower), "numeric");
    std::string upper = Param(ExactDecimal(*measure.column->upper), "numeric");
    std::string width = Param(ExactDecimal(measure.bin_width), "numeric");
    std::string last = Param(std::to_string(measure.bins - 1), "numeric");
    return "CASE WHEN " + column + " IS NULL THEN NULL ELSE LEAST(floor((LEAST(GREATEST(" +
           column + "::numeric, " + lower + "), " + upper + ") - " + lower + ") / " + width +
           "), " + last + ")::bigint END";
  }

  // COLLATE "C" for text: bytewise comparison, the cheapest sort order.
  static std::string Bytewise(ValueType type) {
    return type == ValueType::kText ? " COLLATE \"C\"" : "";
  }

  // A 64-bit hash of the person (the privacy unit), by PostgreSQL's built-in
  // extended hash functions on its binary form: where step 3 starts in the
  // person's groups, and the seed that orders the person's rows for a
  // histogram. Any deterministic function of the person's own rows will do.
  std::string UnitHash() const {
    return UnitType() == ValueType::kInt ? "hashint8extended(unit, 0)"
                                         : "hashtextextended(unit, 0)";
  }

  ValueType UnitType() const {
    const BoundSelect& select = plan_.select;
    const CatalogColumn* unit = select.table->FindColumn(select.dataset->privacy_unit);
    return unit->type == ColumnType::kText ? ValueType::kText : ValueType::kInt;
  }

  // A histogram measure with max_rows = 1 holds one bin per person and
  // group (a bigint, NULL for none) instead of an array of them.
  bool SingleBin(const Measure& measure) const {
    return measure.kind == MeasureKind::kHistogram && plan_.select.privacy.max_rows == 1 &&
           measure.bins <= 65536;
  }

  // A measure's total over one group's rows of `source`.
  std::string Total(const Measure& measure, size_t index) const {
    const std::string m = "m" + std::to_string(index);
    if (measure.kind != MeasureKind::kHistogram) return "sum(" + m + ")";
    return SingleBin(measure) ? "count(" + m + ")" : "sum(cardinality(" + m + "))";
  }

  // Per histogram measure i: dpql_hist<i> with one row per group and the
  // group's non-empty bins as text "bin:count,..." in column h<i>.
  void HistogramCtes(std::ostringstream& sql, const std::string& source,
                     const std::string& key_list) {
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
      const std::string keys = key_list.empty() ? "" : key_list.substr(2);
      sql << ",\ndpql_hist" << i << " AS (\n  SELECT " << (keys.empty() ? "" : keys + ", ")
          << "string_agg(c.bin::text || ':' || c.n::text, ',' ORDER BY c.bin) AS h" << i
          << "\n  FROM (\n    SELECT " << (keys.empty() ? "" : keys + ", ");
      if (SingleBin(plan_.measures[i])) {
        sql << "m" << i << " AS bin, count(*) AS n\n    FROM " << source << "\n    WHERE m" << i
            << " IS NOT NULL\n    GROUP BY " << (keys.empty() ? "" : keys + ", ") << "m" << i
            << "\n  ) c";
      } else {
        sql << "b.bin, count(*) AS n\n    FROM " << source << ", unnest(m" << i
            << ") AS b(bin)\n    GROUP BY " << (keys.empty() ? "" : keys + ", ") << "b.bin\n  ) c";
      }
      if (!keys.empty()) sql << "\n  GROUP BY " << keys;
      sql << "\n)";
    }
  }

  // The histogram columns of the final SELECT, after the measures.
  std::string HistogramColumns(bool scalar) const {
    std::string out;
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
      const std::string h = "h" + std::to_string(i);
      out += scalar ? ", (SELECT " + h + " FROM dpql_hist" + std::to_string(i) + ") AS " + h
                    : ", " + h;
    }
    return out;
  }

  void Generate() {
    const BoundSelect& select = plan_.select;
    const auto& keys = select.keys;
    std::ostringstream sql;

    // 1. The rows: the privacy unit, the keys and the aggregated columns.
    const CatalogColumn* unit = select.table->FindColumn(select.dataset->privacy_unit);
    // A text unit is compared bytewise (COLLATE "C") everywhere below: the
    // same equality as any deterministic collation, so the same people, but
    // the cheapest to sort by in the window of step 3; and with a
    // nondeterministic column collation it still makes every step agree on
    // who is one person.
    // Keys whose domain is a public table's column have no size until the
    // query runs. When the window would bind only if that table has more
    // keys than max_groups, the SQL counts them in its own snapshot and runs
    // the window only then (step 3).
    const bool windowed = plan_.bound_groups && !keys.empty();
    const bool gated = windowed && !plan_.partition_selection &&
                       std::any_of(keys.begin(), keys.end(),
                                   [](const BoundKey& key) { return !key.domain.size; });
    sql << "WITH dpql_rows AS " << (gated ? "NOT MATERIALIZED " : "") << "(\n  SELECT "
        << Column(*unit)
        << (unit->type == ColumnType::kText ? " COLLATE \"C\"" : "") << " AS unit";
    // Text keys are bytewise too: the per-person grouping, the window of
    // step 3 and an index on (unit, keys) COLLATE "C" then share one order.
    for (size_t i = 0; i < keys.size(); ++i) {
      const ValueType type = keys[i].expr->type;
      const bool wrap = type == ValueType::kText && keys[i].expr->kind != BoundExprKind::kColumn;
      sql << ", " << (wrap ? "(" + KeyExpr(keys[i]) + ")" : KeyExpr(keys[i])) << Bytewise(type)
          << " AS k" << i;
    }
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      if (plan_.measures[i].kind == MeasureKind::kHistogram) {
        sql << ", " << BinIndex(plan_.measures[i]) << " AS v" << i;
      } else if (plan_.measures[i].column != nullptr) {
        sql << ", " << Column(*plan_.measures[i].column) << " AS v" << i;
      }
    }
    sql << "\n  FROM " << QuoteIdentifier(select.table->name) << " AS t";
    // Public tables joined here, before any bounding: the bounds below apply
    // to each person's joined rows, however many a join made of them.
    for (const BoundJoin& join : select.joins) {
      std::string outer = Expr(*join.outer);
      std::string inner = Expr(*join.inner);
      sql << "\n  " << (join.left ? "LEFT JOIN " : "JOIN ") << QuoteIdentifier(join.table->name)
          << " AS " << TableAlias(*join.inner->column) << " ON " << outer << " = " << inner;
    }
    std::vector<std::string> conditions;
    conditions.push_back(Column(*unit) + " IS NOT NULL");
    if (select.where) conditions.push_back(Expr(*select.where));
    sql << "\n  WHERE ";
    for (size_t i = 0; i < conditions.size(); ++i) sql << (i ? " AND " : "") << conditions[i];
    // With the max_groups window (step 3), the rows in the window's order:
    // PostgreSQL then groups them by a sorted aggregate whose output needs
    // no second sort, or reads them so from an index on (unit, keys); left
    // to itself it hashes first and sorts the groups after.
    std::string key_list;
    for (size_t i = 0; i < keys.size(); ++i) key_list += ", k" + std::to_string(i);
    if (windowed && !gated) sql << "\n  ORDER BY unit" << key_list;
    sql << "\n)";

    // 2. One row per (person, group): the person's bounded contribution, from
    //    `rows` with `condition` (if any) as a further filter.
    std::string measure_list;
    for (size_t i = 0; i < plan_.measures.size(); ++i) measure_list += ", m" + std::to_string(i);
    auto per_unit = [&](const std::string& rows, const std::string& condition,
                        const std::string& indent) {
      std::ostringstream out;
      out << "SELECT unit" << key_list;
      for (size_t i = 0; i < plan_.measures.size(); ++i) {
        out << ", " << PerUnit(plan_.measures[i], static_cast<int>(i)) << " AS m" << i;
      }
      out << "\n" << indent << "FROM " << rows;
      std::vector<std::string> filters;
      for (size_t i = 0; i < keys.size(); ++i) {
        filters.push_back("k" + std::to_string(i) + " IS NOT NULL");
      }
      if (!condition.empty()) filters.push_back(condition);
      for (size_t i = 0; i < filters.size(); ++i) {
        out << (i ? " AND " : "\n" + indent + "WHERE ") << filters[i];
      }
      out << "\n" << indent << "GROUP BY unit" << key_list;
      return out.str();
    };

    // 3. At most max_groups groups per person: of the person's g groups in
    //    key order, the max_groups that follow, cyclically, a starting place
    //    chosen by a hash of the person (its low 32 bits modulo g). The choice
    //    depends only on that person's own rows, so the bound is sound; the
    //    starting place spreads what is dropped evenly over the person's keys
    //    instead of always dropping the same ones (a person with g > max_groups
    //    keeps each of their keys in about max_groups / g of cases). Key order
    //    (text bytewise) is the order the per-person grouping can deliver: with
    //    an index on (unit, keys) the rows arrive in it and the window needs no
    //    sort at all (docs/OPERATIONS.md, "Indexes"); without one it sorts on
    //    the cheapest keys there are.
    std::string order;
    for (size_t i = 0; i < keys.size(); ++i) order += (i ? ", k" : "k") + std::to_string(i);
    auto window = [&](const std::string& units, const std::string& indent) {
      std::ostringstream out;
      out << "SELECT * FROM (\n" << indent << "  SELECT u.*, row_number() OVER w AS dpql_rank, "
          << "count(*) OVER w AS dpql_keys\n" << indent << "  FROM " << units << "\n" << indent
          << "  WINDOW w AS (PARTITION BY unit ORDER BY " << order
          << " ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING)\n" << indent << ") r\n"
          << indent << "WHERE (dpql_rank - 1 + (" << UnitHash()
          << " & 4294967295) % dpql_keys) % dpql_keys < "
          << Param(std::to_string(plan_.groups_bound), "bigint");
      return out.str();
    };

    std::string source = "dpql_units";
    if (gated) {
      // The domain's size, read in this statement's snapshot: the keys output
      // below are exactly these. With at most max_groups of them nobody can
      // reach more released groups than the planner's bound, and step 3 is
      // skipped; which branch runs depends on the public table only.
      std::string size;
      BigInt known = 1;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (keys[i].domain.size) {
          known *= *keys[i].domain.size;
          continue;
        }
        size += (size.empty() ? "" : " * ") + std::string("(SELECT count(*) FROM (") +
                Domain(keys[i]) + ") AS d)";
      }
      if (known != 1) size += " * " + Param(known.str(), "bigint");
      const std::string bound = Param(std::to_string(plan_.groups_bound), "bigint");
      const std::string ordered = "(SELECT * FROM dpql_rows ORDER BY unit" + key_list + ") s";
      sql << ",\ndpql_units AS (\n  " << per_unit("dpql_rows", size + " <= " + bound, "  ")
          << "\n  UNION ALL\n  SELECT unit" << key_list << measure_list << " FROM (\n    "
          << window("(\n        " + per_unit(ordered, size + " > " + bound, "        ") +
                        "\n      ) u",
                    "    ")
          << "\n  ) b\n)";
    } else {
      sql << ",\ndpql_units AS (\n  " << per_unit("dpql_rows", "", "  ") << "\n)";
      if (windowed) {
        sql << ",\ndpql_bounded AS (\n  " << window("dpql_units u", "  ") << "\n)";
        source = "dpql_bounded";
      }
    }

    HistogramCtes(sql, source, key_list);
    if (keys.empty()) {
      sql << "\nSELECT ";
      for (size_t i = 0; i < plan_.measures.size(); ++i) {
        sql << (i ? ", " : "") << "coalesce(" << Total(plan_.measures[i], i) << ", 0) AS m" << i;
      }
      sql << HistogramColumns(true);
      sql << "\nFROM " << source;
      plan_.sql = sql.str();
      return;
    }

    // 4. Totals per group, then every key of the public domain, empty ones too.
    sql << ",\ndpql_groups AS (\n  SELECT " << key_list.substr(2);
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      sql << ", " << Total(plan_.measures[i], i) << " AS m" << i;
    }
    sql << "\n  FROM " << source << "\n  GROUP BY " << key_list.substr(2) << "\n)";
    if (plan_.partition_selection) {
      // No public domain: the groups come from the data, and Release() keeps
      // only those whose noisy count of people reaches the threshold.
      sql << "\nSELECT ";
      for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "k" << i << "::text";
      for (size_t i = 0; i < plan_.measures.size(); ++i) sql << ", m" << i;
      sql << HistogramColumns(false);
      sql << "\nFROM dpql_groups";
      for (size_t i = 0; i < plan_.measures.size(); ++i) {
        if (plan_.measures[i].kind != MeasureKind::kHistogram) continue;
        sql << "\nLEFT JOIN dpql_hist" << i << " USING (" << key_list.substr(2) << ")";
      }
      sql << "\nORDER BY " << key_list.substr(2);
      plan_.sql = sql.str();
      return;
    }
    sql << ",\ndpql_domain AS (\n  SELECT ";
    for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d" << i << ".k" << i;
    sql << "\n  FROM ";
    for (size_t i = 0; i < keys.size(); ++i) {
      sql << (i ? "\n  CROSS JOIN " : "") << "(" << Domain(keys[i]) << ") AS d" << i << "(k"
          << i << ")";
    }
    sql << "\n)\nSELECT ";
    for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i << "::text";
    for (size_t i = 0; i < plan_.measures.size(); ++i) {
      sql << ", coalesce(g.m" << i << ", 0) AS m" << i;
    }
    sql << HistogramColumns(false);
    sql << "\nFROM dpql_domain d LEFT JOIN dpql_groups g ON ";
    for (size_t i = 0; i < keys.size(); ++i) {
      sql << (i ? " AND " : "") << "g.k" << i << " = d.k" << i << Bytewise(keys[i].expr->type);
    }
    for (size_t m = 0; m < plan_.measures.size(); ++m) {
      if (plan_.measures[m].kind != MeasureKind::kHistogram) continue;
      sql << "\nLEFT JOIN dpql_hist" << m << " h" << m << "_ ON ";
      for (size_t i = 0; i < keys.size(); ++i) {
        sql << (i ? " AND " : "") << "h" << m << "_.k" << i << " = d.k" << i
            << Bytewise(keys[i].expr->type);
      }
    }
    sql << "\nORDER BY ";
    for (size_t i = 0; i < keys.size(); ++i) sql << (i ? ", " : "") << "d.k" << i;
    plan_.sql = sql.str();
  }

 private:
  Plan& plan_;
};

}  // namespace

void GenerateSql(Plan& plan) {
  plan.sql.clear();
  plan.params.clear();
  SqlWriter(plan).Generate();
}

}  // namespace dpql
