#include <cctype>
#include <optional>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

// Refuses the aggregates DPQL knows but does not release, each with what to
// write instead.
void CheckSupportedAggregate(const ast::Expr& expr) {
  const std::string& name = expr.name;
  if (name == "MIN" || name == "MAX") {
    std::string argument =
        expr.args.empty() || expr.args[0]->kind != ast::ExprKind::kColumn ? "x" : expr.args[0]->name;
    throw DpqlError(ErrorCode::kMinMaxNotPrivate,
                    name +
                        " is not differentially private: it is decided by a single person's "
                        "value; use PERCENTILE(" +
                        argument + (name == "MIN" ? ", 0.05)" : ", 0.95)") + " instead",
                    expr.loc);
  }
  if (name == "VAR_POP" || name == "VAR_SAMP" || name == "VAR" || name == "STDDEV_POP" ||
      name == "STDDEV_SAMP") {
    const bool stddev = name.rfind("STDDEV", 0) == 0;
    throw DpqlError(ErrorCode::kUnsupportedAggregate,
                    name + " is not supported; write " + (stddev ? "STDDEV" : "VARIANCE") +
                        "(x), the population " + (stddev ? "standard deviation" : "variance") +
                        " (dividing by n; with noisy counts the n - 1 correction is far below "
                        "the noise)",
                    expr.loc);
  }
  const bool percentile = name == "MEDIAN" || name == "PERCENTILE";
  if (name != "COUNT" && name != "SUM" && name != "AVG" && name != "VARIANCE" && name != "STDDEV" &&
      !percentile) {
    throw DpqlError(ErrorCode::kUnsupportedAggregate,
                    name +
                        " is not supported by this release; use COUNT, SUM, AVG, VARIANCE, "
                        "STDDEV, MEDIAN or PERCENTILE",
                    expr.loc);
  }
}

// The kind of a numeric aggregate (its name was checked).
AggregateKind NumericAggregateKind(const std::string& name) {
  if (name == "MEDIAN" || name == "PERCENTILE") return AggregateKind::kPercentile;
  if (name == "SUM") return AggregateKind::kSum;
  if (name == "AVG") return AggregateKind::kAvg;
  if (name == "VARIANCE") return AggregateKind::kVariance;
  return AggregateKind::kStddev;
}

}  // namespace

BoundAggregate Binder::BindAggregate(const ast::Expr& expr) {
  BoundAggregate aggregate;
  aggregate.loc = expr.loc;
  const std::string& name = expr.name;
  CheckSupportedAggregate(expr);

  if (name == "COUNT" && expr.args.size() == 1 && expr.args[0]->kind == ast::ExprKind::kStar) {
    if (expr.distinct) {
      throw DpqlError(
          ErrorCode::kWrongArguments,
          "COUNT(DISTINCT *) is not valid; write COUNT(*) or COUNT(DISTINCT " + dataset_.privacy_unit + ")",
          expr.loc);
    }
    aggregate.kind = AggregateKind::kCountStar;
    return aggregate;
  }
  if (name == "PERCENTILE") {
    if (expr.args.size() != 2) {
      throw DpqlError(ErrorCode::kWrongArguments,
                      "PERCENTILE takes a column and a fraction, e.g. PERCENTILE(age, 0.9)", expr.loc);
    }
    aggregate.percentile = BindPercentileFraction(*expr.args[1]);
  } else if (expr.args.size() != 1) {
    throw DpqlError(ErrorCode::kWrongArguments,
                    name + " takes one column, e.g. " + name + "(age)" +
                        (name == "MEDIAN" ? "; for other fractions write PERCENTILE(age, 0.9)" : ""),
                    expr.loc);
  }
  const ast::Expr& arg = *expr.args[0];
  if (arg.kind == ast::ExprKind::kFunction && IsAggregateName(arg.name)) {
    throw DpqlError(ErrorCode::kNestedAggregate, "aggregates cannot be nested; " + name + " takes a column",
                    arg.loc);
  }
  if (arg.kind == ast::ExprKind::kStar) {
    throw DpqlError(ErrorCode::kMisplacedStar,
                    name + "(*) is not valid: * is only allowed in COUNT(*); write " + name +
                        (name == "PERCENTILE" ? "(age, 0.9)" : "(age)") + " with one of the table's columns",
                    arg.loc);
  }
  if (arg.kind != ast::ExprKind::kColumn) {
    throw DpqlError(ErrorCode::kUnsupportedArgument,
                    name +
                        " takes a column of the table (its declared bounds limit each "
                        "person's contribution), not an expression",
                    arg.loc);
  }
  const CatalogColumn& column = ResolveColumn(arg);
  aggregate.column = &column;
  if (name == "COUNT") {
    aggregate.kind = BindCountColumn(expr, column);
  } else {
    CheckNumericArgument(expr, column);
    aggregate.kind = NumericAggregateKind(name);
  }
  return aggregate;
}

// COUNT(column) counts rows with a value; COUNT(DISTINCT unit) counts people.
AggregateKind Binder::BindCountColumn(const ast::Expr& expr, const CatalogColumn& column) {
  if (!expr.distinct) return AggregateKind::kCountColumn;
  if (!IsPrivacyUnit(column)) {
    throw DpqlError(ErrorCode::kUnsupportedDistinct,
                    "COUNT(DISTINCT ...) counts people: write COUNT(DISTINCT " + dataset_.privacy_unit +
                        "), or COUNT(" + column.name + ") for the number of rows with a value",
                    expr.args[0]->loc);
  }
  return AggregateKind::kCountDistinctUnit;
}

// SUM, AVG, VARIANCE, STDDEV and the percentiles take a number column whose
// declared bounds limit each person's contribution.
void Binder::CheckNumericArgument(const ast::Expr& expr, const CatalogColumn& column) {
  const std::string& name = expr.name;
  const ast::Expr& arg = *expr.args[0];
  if (expr.distinct) {
    throw DpqlError(ErrorCode::kUnsupportedDistinct,
                    name + "(DISTINCT ...) is not supported; write " + name + "(" + column.name +
                        (name == "PERCENTILE" ? ", " + expr.args[1]->literal.text : "") + ")",
                    expr.loc);
  }
  if (IsPrivacyUnit(column)) {
    throw DpqlError(ErrorCode::kPrivacyUnitAggregate,
                    column.name + " identifies a person and cannot be aggregated with " + name +
                        "; count people with COUNT(DISTINCT " + column.name + ")",
                    arg.loc);
  }
  if (column.type != ColumnType::kInt && column.type != ColumnType::kReal) {
    throw DpqlError(
        ErrorCode::kTypeMismatch,
        name + " needs a number column, but " + column.name + " is " + ColumnTypeName(column.type), arg.loc);
  }
  if (!column.HasBounds()) {
    throw DpqlError(ErrorCode::kUnboundedColumn,
                    name + "(" + column.name +
                        ") needs bounds: one person could otherwise move "
                        "the result without limit; a guardian can declare lower and upper for " +
                        column.name + " in the catalog",
                    arg.loc);
  }
}

// The p of PERCENTILE(x, p): a number literal strictly between 0 and 1. It is
// part of the query's text, never of the data, so it shapes the plan freely.
Rational Binder::BindPercentileFraction(const ast::Expr& arg) {
  const bool number =
      arg.kind == ast::ExprKind::kLiteral &&
      (arg.literal.kind == ast::LiteralKind::kInteger || arg.literal.kind == ast::LiteralKind::kDecimal);
  std::optional<Rational> p = number ? ParseDecimal(arg.literal.text) : std::nullopt;
  if (!p) {
    throw DpqlError(ErrorCode::kInvalidPercentile,
                    "the second argument of PERCENTILE is the fraction of rows at or below the "
                    "result: write a number between 0 and 1, e.g. PERCENTILE(age, 0.9)",
                    arg.loc);
  }
  if (*p <= 0 || *p >= 1) {
    throw DpqlError(ErrorCode::kInvalidPercentile,
                    "PERCENTILE's fraction must be strictly between 0 and 1, got " + arg.literal.text +
                        "; write e.g. 0.5 for the median or 0.9 for the 90th percentile (MIN and "
                        "MAX are not private: use 0.05 or 0.95)",
                    arg.loc);
  }
  // A fraction with a huge denominator only makes the release arithmetic slow.
  if (boost::multiprecision::denominator(*p) > 1000000) {
    throw DpqlError(ErrorCode::kInvalidPercentile,
                    "PERCENTILE's fraction has too many digits; use at most 6 decimals, e.g. 0.95", arg.loc);
  }
  return *p;
}

}  // namespace dpql
