#pragma once

// The writer of a plan's SQL, inside the planner (GenerateSql is the public
// entry, plan.h). One class over three files, by concept:
//   sql_expression.cpp  bind parameters, columns, expressions, key domains
//   sql_measure.cpp     one person's bounded contribution to each measure
//   sql_generator.cpp   the statement, one method per CTE
// Identifiers come only from the catalog (validated as plain identifiers and
// double-quoted); every literal and every number that shapes the bounding
// travels as a bind parameter. Placeholders are numbered in the order they
// are created, so every piece is generated in the order it appears in the
// text.

#include <cstddef>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/planner/plan.h"

namespace dpql {

// An exact decimal rendering of a rational with a power-of-two (or any
// 2^a 5^b) denominator, as PostgreSQL's numeric input accepts.
std::string ExactDecimal(const Rational& value);

// A PostgreSQL array literal of text values ({"a","b"}).
std::string ArrayLiteral(const std::vector<std::string>& values);

class SqlWriter {
 public:
  explicit SqlWriter(Plan& plan) : plan_(plan) {}

  // Fills plan.sql (plan.params are appended as the text is written).
  void Generate();

 private:
  // Expressions (sql_expression.cpp).
  std::string Param(const std::string& value, const char* type);
  std::string Column(const CatalogColumn& column);
  std::string TableAlias(const CatalogColumn& column);
  std::string Expr(const BoundExpr& expr);
  std::string KeyFunction(const BoundExpr& expr);
  std::string Guard(const BoundExpr& function, const std::string& value);
  std::string ArithmeticOperand(const BoundExpr& expr);
  std::string KeyExpr(const BoundKey& key);
  std::string Domain(const BoundKey& key);

  // Measures (sql_measure.cpp).
  // A sum measure's per-row value as an exact integer times `scale`.
  struct IntegerRow {
    std::string expr;
    int scale = 1;
    bool fits_int32 = false;  // every per-row value is within a 32-bit integer
  };
  std::string MaxRows();  // the query's max_rows, as a bigint parameter
  std::string PerUnit(const Measure& measure, int index);
  std::string SumContribution(const Measure& measure, const std::string& value);
  std::string IntegerContribution(const IntegerRow& integer, const Measure& measure,
                                  const std::string& value);
  static std::string RoundedQuotient(const std::string& s, const std::string& d);
  std::string NumericPerRow(const Measure& measure, const std::string& value);
  std::optional<IntegerRow> IntegerPerRow(const Measure& measure, const std::string& value);
  std::string BinIndex(const Measure& measure);
  static std::string Bytewise(ValueType type);
  std::string UnitHash() const;
  ValueType UnitType() const;
  bool SingleBin(const Measure& measure) const;
  std::string Total(const Measure& measure, size_t index) const;

  // The statement, CTE by CTE (sql_generator.cpp).
  void RowsCte(std::ostringstream& sql);
  std::string PerUnitSelect(const std::string& rows, const std::string& condition, const std::string& indent);
  std::string WindowSelect(const std::string& units, const std::string& indent);
  void UnitsCte(std::ostringstream& sql);
  void GatedUnitsCte(std::ostringstream& sql);
  bool RowsAreUnits() const;
  std::string DomainSize();
  void HistogramCtes(std::ostringstream& sql);
  std::string HistogramColumns(bool scalar) const;
  void ScalarSelect(std::ostringstream& sql);
  void GroupsCte(std::ostringstream& sql);
  void SelectedGroupsSelect(std::ostringstream& sql);
  void DomainCte(std::ostringstream& sql);
  void DomainSelect(std::ostringstream& sql);

  Plan& plan_;
  // The statement's shape, set by Generate before any CTE is written.
  bool windowed_ = false;              // the max_groups window (step 3) runs
  bool gated_ = false;                 // ... only when a public table's domain is too large
  std::string key_list_;               // ", k0, k1, ..."
  std::string source_ = "dpql_units";  // the per-person rows the totals read
};

}  // namespace dpql
