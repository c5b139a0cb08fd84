#include "runtime/executor/executor.h"

#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "runtime/executor/database_errors.h"

namespace dpql {

namespace {

// The cells of one group's histogram from the SQL's "bin:count,..." text
// (NULL when the group has no rows with a value).
std::vector<BigInt> ParseHistogram(const pqxx::field& field, const Measure& measure) {
  std::vector<BigInt> cells(static_cast<size_t>(measure.bins), BigInt(0));
  if (field.is_null()) return cells;
  const std::string text = field.c_str();
  size_t pos = 0;
  while (pos < text.size()) {
    size_t colon = text.find(':', pos);
    size_t comma = text.find(',', pos);
    if (comma == std::string::npos) comma = text.size();
    if (colon == std::string::npos || colon > comma) {
      throw DpqlError(ErrorKind::kInternal, "internal", "unexpected histogram text");
    }
    const int64_t bin = std::stoll(text.substr(pos, colon - pos));
    if (bin < 0 || bin >= measure.bins) {
      throw DpqlError(ErrorKind::kInternal, "internal", "histogram bin out of range");
    }
    cells[static_cast<size_t>(bin)] = BigInt(text.substr(colon + 1, comma - colon - 1));
    pos = comma + 1;
  }
  return cells;
}

}  // namespace

ExactAggregates Executor::RunExact(const Plan& plan) {
  auto connection = pool_.Acquire();
  ExactAggregates exact;
  try {
    pqxx::read_transaction txn(*connection);
    txn.exec0("SET LOCAL statement_timeout = " + std::to_string(statement_timeout_ms_));
    pqxx::result rows = txn.exec_params(plan.sql, pqxx::prepare::make_dynamic_params(plan.params));
    const size_t keys = plan.select.keys.size();
    const size_t measures = plan.measures.size();
    std::vector<size_t> histogram_measures;
    for (size_t m = 0; m < measures; ++m) {
      if (plan.measures[m].kind == MeasureKind::kHistogram) histogram_measures.push_back(m);
    }
    if (rows.columns() != keys + measures + histogram_measures.size()) {
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
      // After the measures: one text column per histogram measure, in order.
      std::vector<std::vector<BigInt>> histograms(measures);
      for (size_t h = 0; h < histogram_measures.size(); ++h) {
        const size_t m = histogram_measures[h];
        histograms[m] = ParseHistogram(row[static_cast<int>(keys + measures + h)], plan.measures[m]);
      }
      exact.keys.push_back(std::move(key_values));
      exact.measures.push_back(std::move(measure_values));
      exact.histograms.push_back(std::move(histograms));
    }
    txn.commit();
  } catch (const DpqlError&) {
    throw;
  } catch (const pqxx::in_doubt_error& e) {
    // The read-only transaction's COMMIT met a lost connection: nothing to undo.
    connection.Discard();
    throw DpqlError(ErrorKind::kInternal, "database_unavailable",
                    "the connection to PostgreSQL was lost; try again");
  } catch (const pqxx::broken_connection& e) {
    connection.Discard();
    throw DpqlError(ErrorKind::kInternal, "database_unavailable",
                    "the connection to PostgreSQL was lost; try again");
  } catch (const pqxx::sql_error& e) {
    if (SessionEnded(e.sqlstate())) {
      connection.Discard();
      throw DpqlError(ErrorKind::kInternal, "database_unavailable",
                      "PostgreSQL ended the session (SQLSTATE " + e.sqlstate() + "); try again");
    }
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
