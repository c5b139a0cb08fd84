#include "runtime/executor/public_rows.h"

#include <pqxx/pqxx>

#include <string>

#include "compiler/common/text.h"

namespace dpql {

PublicRows ReadPublicRows(pqxx::connection& connection, const CatalogTable& table, size_t max_rows,
                          int statement_timeout_ms) {
  // Every column as text, converted by its catalog type below; one row more
  // than asked for says whether the table was cut.
  std::string sql = "SELECT ";
  for (size_t c = 0; c < table.columns.size(); ++c) {
    sql += (c == 0 ? "" : ", ") + QuoteIdentifier(table.columns[c].name) + "::text";
  }
  sql += " FROM " + QuoteIdentifier(table.name) + " LIMIT " + std::to_string(max_rows + 1);
  pqxx::read_transaction txn(connection);
  txn.exec0("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms));
  pqxx::result result = txn.exec(sql);
  PublicRows out;
  for (const auto& row : result) {
    if (out.rows.size() == max_rows) {
      out.truncated = true;
      break;
    }
    std::vector<Value> values;
    values.reserve(table.columns.size());
    for (size_t c = 0; c < table.columns.size(); ++c) {
      const pqxx::field field = row[static_cast<int>(c)];
      if (field.is_null()) {
        values.emplace_back(std::monostate{});
        continue;
      }
      const std::string text = field.as<std::string>();
      switch (table.columns[c].type) {
        case ColumnType::kInt: values.emplace_back(static_cast<int64_t>(std::stoll(text))); break;
        case ColumnType::kReal: values.emplace_back(std::stod(text)); break;
        case ColumnType::kBool: values.emplace_back(text == "true" || text == "t"); break;
        case ColumnType::kText:
        case ColumnType::kDate: values.emplace_back(text); break;
      }
    }
    out.rows.push_back(std::move(values));
  }
  return out;
}

}  // namespace dpql
