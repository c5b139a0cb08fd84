// One person's bounded contribution to each measure, per group, in the
// generated SQL (step 2 of the statement, sql_generator.cpp), and the
// per-row values and bins it is computed from.

#include "compiler/common/error.h"
#include "compiler/planner/sql_writer.h"

namespace dpql {

namespace {

// Integers up to 2^62 in absolute value: sums and differences of two of
// them still fit in a bigint.
const BigInt kBigintSafe = BigInt(1) << 62;

}  // namespace

std::string SqlWriter::MaxRows() { return Param(std::to_string(plan_.select.privacy.max_rows), "bigint"); }

// One person's contribution to one group, computed over that person's rows
// of the group (dpql_rows grouped by unit and keys).
std::string SqlWriter::PerUnit(const Measure& measure, int index) {
  const std::string value = "v" + std::to_string(index);
  switch (measure.kind) {
    case MeasureKind::kRowCount: return "LEAST(count(*), " + MaxRows() + ")";
    case MeasureKind::kValueCount: return "LEAST(count(" + value + "), " + MaxRows() + ")";
    case MeasureKind::kUnitCount: return "1";
    case MeasureKind::kSum:
    case MeasureKind::kCentredSum:
    case MeasureKind::kCentredSquares: return SumContribution(measure, value);
    case MeasureKind::kHistogram:
      // The bins of at most max_rows of the person's rows, chosen by a hash
      // of the person and the bin: the choice depends only on the person's
      // own rows, and is not biased towards low or high values.
      // (The bin is a bigint, hashed with the person's hash as the seed.)
      if (SingleBin(measure)) {
        // One row: the bin whose (hash with its low 16 bits cleared, bin)
        // is least, as one min() over bigints (bins < 2^16) rather than a
        // sort per person and group; NULL when the person has no value.
        return "(min((hashint8extended(" + value + ", " + UnitHash() + ") & -65536) | " + value +
               ") & 65535)";
      }
      return "(array_agg(" + value + " ORDER BY hashint8extended(" + value + ", " + UnitHash() + "), " +
             value + ") FILTER (WHERE " + value +
             " IS NOT NULL))[1:" + Param(std::to_string(plan_.select.privacy.max_rows), "integer") + "]";
  }
  throw DpqlError(ErrorCode::kInternal, "unknown measure");
}

// A sum measure's contribution: the mean of the person's per-row values (the
// clamped value; for the centred measures its deviation from the midpoint of
// the bounds, or that squared less the offset) times min(rows, max_rows):
// max_rows rows' worth, in grid units, rounded, then clamped so the bound
// holds exactly whatever the rounding did. The mean is over the rows that
// have a value, as count(value) is (LEAST and GREATEST skip NULLs, so a NULL
// would otherwise count as a bound).
std::string SqlWriter::SumContribution(const Measure& measure, const std::string& value) {
  std::string bound_text = measure.per_group_bound.str();
  std::string contribution;
  if (auto integer = IntegerPerRow(measure, value)) {
    contribution = IntegerContribution(*integer, measure, value);
  } else {
    std::string per_row = NumericPerRow(measure, value);
    std::string rows = MaxRows();
    std::string grid = Param(ExactDecimal(measure.grid), "numeric");
    contribution = "round(coalesce(avg(" + per_row + ") FILTER (WHERE " + value +
                   " IS NOT NULL), 0) * LEAST(count(" + value + "), " + rows + ") / " + grid + ")";
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

// SumContribution for per-row values that are exact integers (IntegerPerRow),
// before the clamp to the per-group bound.
std::string SqlWriter::IntegerContribution(const IntegerRow& integer, const Measure& measure,
                                           const std::string& value) {
  std::string contribution;
  // sum(per row × scale) × min(n, max_rows) / (n × grid × scale),
  // rounded: the rows are summed as integers, the division is done
  // once per person and group. Per-row values that fit in an integer
  // are summed as integers (sum(integer) is a bigint, sum(bigint) a
  // numeric). Where that sum is a bigint and the divisor grid × scale
  // is whole, the rounding division is done in bigints (exact, see
  // RoundedQuotient) wherever no multiplication by max_rows is
  // needed: always for max_rows = 1, within max_rows rows otherwise.
  // Everything else is scaled in numeric: exact, and no overflow.
  std::string summed = "sum(" + integer.expr + (integer.fits_int32 ? "::integer" : "") + ") FILTER (WHERE " +
                       value + " IS NOT NULL)";
  const std::string exact_sum = "(" + summed + ")::numeric";  // for the numeric scalings
  std::string count = "count(" + value + ")";
  const Rational divisor_value = measure.grid * integer.scale;
  const bool whole_divisor = boost::multiprecision::denominator(divisor_value) == 1;
  if (integer.fits_int32 && whole_divisor && plan_.select.privacy.max_rows == 1) {
    // One row's worth: round(sum / (n × divisor)), all in bigints.
    std::string divisor = Param(numerator(divisor_value).str(), "bigint");
    contribution = "CASE WHEN " + count + " = 0 THEN 0 ELSE " +
                   RoundedQuotient(summed, "(" + count + " * " + divisor + ")") + " END";
  } else if (integer.fits_int32 && whole_divisor) {
    // Within max_rows rows: round(sum / divisor) in bigints; beyond
    // them the scaling by max_rows / n in numeric.
    std::string rows = MaxRows();
    std::string divisor = Param(numerator(divisor_value).str(), "bigint");
    std::string within = divisor_value == 1 ? "coalesce(" + summed + ", 0)"
                                            : RoundedQuotient("coalesce(" + summed + ", 0)", divisor);
    contribution = "CASE WHEN " + count + " <= " + rows + " THEN " + within + " ELSE round(" + exact_sum +
                   " * " + rows + " / (" + count + " * " + divisor + "))::bigint END";
  } else if (divisor_value == 1) {
    std::string rows = MaxRows();
    contribution = "CASE WHEN " + count + " <= " + rows + " THEN coalesce(" + summed + ", 0) ELSE round(" +
                   exact_sum + " * " + rows + " / " + count + ") END";
  } else {
    std::string rows = MaxRows();
    std::string divisor = Param(ExactDecimal(divisor_value), "numeric");
    contribution = "round(coalesce(" + exact_sum + ", 0) * LEAST(" + count + ", " + rows + ") / (GREATEST(" +
                   count + ", 1) * " + divisor + "))";
  }
  return contribution;
}

// round(s / d), halves away from zero as PostgreSQL's round(numeric), for
// a bigint s and a positive bigint d, in bigint arithmetic: the truncated
// quotient, plus one away from zero when the remainder is at least half of
// d. (|s % d| < d, so nothing here can overflow.)
std::string SqlWriter::RoundedQuotient(const std::string& s, const std::string& d) {
  return "(" + s + " / " + d + " + CASE WHEN 2 * abs(" + s + " % " + d + ") >= " + d + " THEN CASE WHEN " +
         s + " < 0 THEN -1 ELSE 1 END ELSE 0 END)";
}

// A sum measure's per-row value in numeric arithmetic (any column type).
std::string SqlWriter::NumericPerRow(const Measure& measure, const std::string& value) {
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
std::optional<SqlWriter::IntegerRow> SqlWriter::IntegerPerRow(const Measure& measure,
                                                              const std::string& value) {
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
  const bool narrow =
      measure.kind != MeasureKind::kCentredSquares && abs(lo) <= narrow_limit && abs(hi) <= narrow_limit;
  const char* type = narrow ? "integer" : "bigint";
  // (Each Param in its own statement: the parameters are numbered in order.)
  std::string lower = Param(lo.str(), type);
  std::string upper = Param(hi.str(), type);
  // The value is clamped, then made a whole number (as the cast to bigint
  // always did: clamping to whole bounds and rounding commute). A narrow
  // SUM is made an integer by the caller (fits_int32).
  // (Clamped in the column's own type, then cast: a value outside a bigint
  // must not reach the cast.)
  const std::string clamped =
      "LEAST(GREATEST(" + value + ", " + lower + "), " + upper + ")" + (narrow ? "" : "::bigint");
  if (measure.kind == MeasureKind::kSum) {
    return IntegerRow{clamped, 1, abs(lo) <= kInt32 && abs(hi) <= kInt32};
  }
  std::string bounds_sum = Param(BigInt(lo + hi).str(), type);
  std::string twice_deviation = "(2 * " + clamped + (narrow ? "::integer" : "") + " - " + bounds_sum + ")";
  if (measure.kind == MeasureKind::kCentredSum) {
    return IntegerRow{twice_deviation, 2, width <= kInt32};  // |D| <= width
  }
  std::string width_squared = Param(BigInt(width * width).str(), "bigint");
  return IntegerRow{"(2 * " + twice_deviation + " * " + twice_deviation + " - " + width_squared + ")", 8,
                    width * width <= kInt32};  // within [-width^2, width^2]
}

// The bin of a row's value clamped to the bounds, NULL for NULL (LEAST and
// GREATEST would turn a NULL into a bound, hence the CASE).
std::string SqlWriter::BinIndex(const Measure& measure) {
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
    return "CASE WHEN " + column + " IS NULL THEN NULL ELSE LEAST((LEAST(GREATEST(" + column + ", " + lower +
           "), " + upper + ")::bigint - " + lower + ") / " + width + ", " + last + ") END";
  }
  // Clamped first (NaN and infinities land on a bound), so the quotient is
  // at most bins whatever the column holds.
  std::string lower = Param(ExactDecimal(measure.bin_lower), "numeric");
  std::string upper = Param(ExactDecimal(*measure.column->upper), "numeric");
  std::string width = Param(ExactDecimal(measure.bin_width), "numeric");
  std::string last = Param(std::to_string(measure.bins - 1), "numeric");
  return "CASE WHEN " + column + " IS NULL THEN NULL ELSE LEAST(floor((LEAST(GREATEST(" + column +
         "::numeric, " + lower + "), " + upper + ") - " + lower + ") / " + width + "), " + last +
         ")::bigint END";
}

// COLLATE "C" for text: bytewise comparison, the cheapest sort order.
std::string SqlWriter::Bytewise(ValueType type) { return type == ValueType::kText ? " COLLATE \"C\"" : ""; }

// A 64-bit hash of the person (the privacy unit), by PostgreSQL's built-in
// extended hash functions on its binary form: where step 3 starts in the
// person's groups, and the seed that orders the person's rows for a
// histogram. Any deterministic function of the person's own rows will do.
std::string SqlWriter::UnitHash() const {
  return UnitType() == ValueType::kInt ? "hashint8extended(unit, 0)" : "hashtextextended(unit, 0)";
}

ValueType SqlWriter::UnitType() const {
  const BoundSelect& select = plan_.select;
  const CatalogColumn* unit = select.table->FindColumn(select.dataset->privacy_unit);
  return unit->type == ColumnType::kText ? ValueType::kText : ValueType::kInt;
}

// A histogram measure with max_rows = 1 holds one bin per person and
// group (a bigint, NULL for none) instead of an array of them.
bool SqlWriter::SingleBin(const Measure& measure) const {
  return measure.kind == MeasureKind::kHistogram && plan_.select.privacy.max_rows == 1 &&
         measure.bins <= 65536;
}

// A measure's total over one group's rows of `source`.
std::string SqlWriter::Total(const Measure& measure, size_t index) const {
  const std::string m = "m" + std::to_string(index);
  if (measure.kind != MeasureKind::kHistogram) return "sum(" + m + ")";
  return SingleBin(measure) ? "count(" + m + ")" : "sum(cardinality(" + m + "))";
}

}  // namespace dpql
