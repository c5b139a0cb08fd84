#include "runtime/pg/declarations.h"

#include <optional>
#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "compiler/common/text.h"

namespace dpql {

namespace {

std::string Join(const std::vector<std::string>& items, const std::string& separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// A declared bound as a SQL constant of the column's type.
std::string BoundLiteral(pqxx::work& txn, const CatalogColumn& column, const std::string& text) {
  return txn.quote(text) + (column.type == ColumnType::kDate ? "::date" : "::numeric");
}

// The one statement that counts the rows (or, for a unique key, the
// combinations of values) that contradict a declaration of `table`.
std::string CheckSql(pqxx::work& txn, const CatalogTable& table, const std::vector<std::string>& unique, const CatalogColumn* column,
                     DeclarationFinding::Kind kind) {
  const std::string from = QuoteIdentifier(table.name);
  switch (kind) {
    case DeclarationFinding::Kind::kUnique: {
      std::vector<std::string> quoted, not_null;
      for (const std::string& name : unique) {
        quoted.push_back(QuoteIdentifier(name));
        not_null.push_back(QuoteIdentifier(name) + " IS NOT NULL");
      }
      return "SELECT count(*) FROM (SELECT 1 FROM " + from + " WHERE " + Join(not_null, " AND ") +
             " GROUP BY " + Join(quoted, ", ") + " HAVING count(*) > 1) AS d";
    }
    case DeclarationFinding::Kind::kBounds: {
      const std::string c = QuoteIdentifier(column->name);
      return "SELECT count(*) FROM " + from + " WHERE " + c + " < " +
             BoundLiteral(txn, *column, column->lower_text) + " OR " + c + " > " +
             BoundLiteral(txn, *column, column->upper_text);
    }
    case DeclarationFinding::Kind::kDomain: {
      const std::string c = QuoteIdentifier(column->name);
      if (!column->domain_from_table.empty()) {
        const std::string source = QuoteIdentifier(column->domain_from_column);
        return "SELECT count(*) FROM " + from + " AS t WHERE t." + c + " IS NOT NULL AND NOT EXISTS (SELECT 1 FROM " +
               QuoteIdentifier(column->domain_from_table) + " AS p WHERE p." + source + " = t." + c + ")";
      }
      std::vector<std::string> values;
      for (const std::string& value : column->domain) values.push_back(txn.quote(value));
      return "SELECT count(*) FROM " + from + " WHERE " + c + " IS NOT NULL AND " + c +
             "::text <> ALL (ARRAY[" + Join(values, ", ") + "]::text[])";
    }
  }
  return "";
}

}  // namespace

std::vector<DeclarationFinding> CheckDeclarations(const std::string& connection_string, const Dataset& dataset) {
  std::optional<pqxx::connection> connection;
  try {
    connection.emplace(connection_string);
  } catch (const pqxx::failure& e) {
    throw DpqlError(ErrorCode::kDatabaseError, std::string("cannot connect to the database: ") + e.what());
  }
  std::vector<DeclarationFinding> findings;
  pqxx::work txn(*connection);
  auto run = [&](const CatalogTable& table, DeclarationFinding finding, const std::string& sql) {
    try {
      finding.count = txn.exec1(sql)[0].as<int64_t>();
    } catch (const pqxx::failure& e) {
      throw DpqlError(ErrorCode::kDatabaseError, "cannot check " + dataset.name + "." + table.name + " (" +
                                                     finding.declaration + "): " + e.what());
    }
    findings.push_back(std::move(finding));
  };
  for (const CatalogTable& table : dataset.tables) {
    for (const std::vector<std::string>& unique : table.unique) {
      DeclarationFinding finding{DeclarationFinding::Kind::kUnique, table.name,
                                 "unique (" + Join(unique, ", ") + ")", 0};
      run(table, finding, CheckSql(txn, table, unique, nullptr, finding.kind));
    }
    for (const CatalogColumn& column : table.columns) {
      if (column.HasBounds()) {
        DeclarationFinding finding{DeclarationFinding::Kind::kBounds, table.name,
                                   column.name + " in [" + column.lower_text + ", " + column.upper_text + "]", 0};
        run(table, finding, CheckSql(txn, table, {}, &column, finding.kind));
      }
      if (column.HasDomain()) {
        const std::string values = !column.domain_from_table.empty()
                                       ? column.domain_from_table + "." + column.domain_from_column
                                       : "[" + Join(column.domain, ", ") + "]";
        DeclarationFinding finding{DeclarationFinding::Kind::kDomain, table.name, column.name + " in " + values, 0};
        run(table, finding, CheckSql(txn, table, {}, &column, finding.kind));
      }
    }
  }
  txn.commit();
  return findings;
}

}  // namespace dpql
