#include "runtime/executor/executor.h"

#include <pqxx/pqxx>

#include "compiler/common/error.h"

namespace dpql {

ExactAggregates Executor::RunExact(const Plan& plan) {
  auto connection = pool_.Acquire();
  ExactAggregates exact;
  try {
    pqxx::read_transaction txn(*connection);
    txn.exec0("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms_));
    pqxx::result rows = txn.exec_params(plan.sql, pqxx::prepare::make_dynamic_params(plan.params));
    const size_t keys = plan.select.keys.size();
    const size_t measures = plan.measures.size();
    if (rows.columns() != keys + measures) {
      throw DpqlError(ErrorKind::kInternal, "internal", "unexpected result shape");
    }
    exact.keys.reserve(rows.size());
    exact.measures.reserve(rows.size());
    for (const auto& row : rows) {
      std::vector<std::optional<std::string>> key_values;
      for (size_t k = 0; k < keys; ++k) {
        if (row[static_cast<int>(k)].is_null()) {
          key_values.emplace_back();
        } else {
          key_values.emplace_back(row[static_cast<int>(k)].c_str());
        }
      }
      std::vector<BigInt> measure_values;
      for (size_t m = 0; m < measures; ++m) {
        // Measures are whole numbers (sums of integers); numeric output may
        // still carry a ".0" suffix-free text, which BigInt parses directly.
        measure_values.emplace_back(row[static_cast<int>(keys + m)].c_str());
      }
      exact.keys.push_back(std::move(key_values));
      exact.measures.push_back(std::move(measure_values));
    }
    txn.commit();
  } catch (const DpqlError&) {
    throw;
  } catch (const pqxx::broken_connection& e) {
    connection.Discard();
    throw DpqlError(ErrorKind::kInternal, "database_unavailable",
                    "the connection to PostgreSQL was lost; try again");
  } catch (const pqxx::sql_error& e) {
    // PostgreSQL's message can quote values from the data (e.g. a failed cast
    // names the offending value), so it is never passed on: only the SQLSTATE.
    if (e.sqlstate() == "57014") {
      throw DpqlError(ErrorKind::kLimit, "query_timeout",
                      "the query took longer than the server's statement timeout; narrow it with "
                      "WHERE or use fewer groups");
    }
    throw DpqlError(ErrorKind::kInternal, "database_error",
                    "PostgreSQL could not run the query (SQLSTATE " + e.sqlstate() +
                        "); the server log has the details for an administrator");
  }
  return exact;
}

}  // namespace dpql
