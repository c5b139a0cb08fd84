#include "runtime/pg/readiness.h"

#include <pqxx/pqxx>

#include <algorithm>

#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "runtime/crypto/sha256.h"
#include "runtime/pg/database_errors.h"

namespace dpql {

namespace {

// "(SELECT "a", "b" FROM "t") AS s": reads the columns as generated SQL does.
std::string ReadColumns(const std::string& table, const std::vector<std::string>& columns,
                        const std::string& alias) {
  std::string list;
  for (const std::string& column : columns) {
    list += (list.empty() ? "" : ", ") + QuoteIdentifier(column);
  }
  if (list.empty()) list = "1";
  return "(SELECT " + list + " FROM " + QuoteIdentifier(table) + ") AS " + alias;
}

[[noreturn]] void ThrowSessionLost() {
  throw DatabaseUnavailable("the connection to PostgreSQL was lost; try again");
}

// Runs a statement that returns no row; "" when it ran, else the failure.
struct Failure {
  std::string sqlstate;
  std::string message;
};
std::optional<Failure> TryRead(pqxx::connection& connection, const std::string& sql) {
  try {
    pqxx::nontransaction txn(connection);
    txn.exec(sql);
    return std::nullopt;
  } catch (const pqxx::broken_connection&) {
    ThrowSessionLost();
  } catch (const pqxx::failure& error) {
    const std::string sqlstate = SqlStateOf(error);
    if (SessionEnded(sqlstate)) ThrowSessionLost();
    return Failure{sqlstate, DescribeForLog(error)};
  }
}

}  // namespace

std::string ReadinessProblem(const std::string& sqlstate) {
  if (sqlstate == "42501") {
    return "permission denied: the server's PostgreSQL role may not read it; grant it SELECT "
           "(dpqld admin grant-role, docs/OPERATIONS.md), e.g. again after reloading the data";
  }
  if (sqlstate == "42P01") {
    return "it does not exist (or is not on the role's search_path); load the data or fix the "
           "catalog";
  }
  if (sqlstate == "42703") {
    return "a column the catalog names does not exist; fix the table or the catalog";
  }
  if (sqlstate == "3F000") return "its schema does not exist; load the data or fix the catalog";
  if (sqlstate == "55000") {
    return "it cannot be read yet (e.g. a materialized view that is not populated: REFRESH "
           "MATERIALIZED VIEW)";
  }
  return "PostgreSQL refused to read it (SQLSTATE " + (sqlstate.empty() ? "unknown" : sqlstate) +
         "); the server log has PostgreSQL's message";
}

Readiness::Readiness(const Catalog& catalog) {
  for (const Dataset& dataset : catalog.datasets) {
    // A sharded or federated dataset's private tables are on its servers,
    // not here: the coordinator's probe reads its public tables, and the
    // servers' probe (through dpql.fan_out) reads them all.
    const bool fan_out = dataset.placement.kind != Placement::kSingle;
    std::string site_from;
    std::map<std::string, std::vector<std::string>> read;  // table -> columns, as named
    std::vector<std::string> order;
    auto add = [&](const std::string& table, const std::string& column) {
      auto [it, inserted] = read.try_emplace(table);
      if (inserted) order.push_back(table);
      if (std::find(it->second.begin(), it->second.end(), column) == it->second.end()) {
        it->second.push_back(column);
      }
    };
    for (const CatalogTable& table : dataset.tables) {
      read.try_emplace(table.name);
      if (std::find(order.begin(), order.end(), table.name) == order.end()) {
        order.push_back(table.name);
      }
      for (const CatalogColumn& column : table.columns) {
        add(table.name, column.name);
        if (!column.domain_from_table.empty()) {
          add(column.domain_from_table, column.domain_from_column);
        }
      }
    }
    std::string from;
    for (size_t i = 0; i < order.size(); ++i) {
      const std::string alias = "s" + std::to_string(i);
      site_from += (i == 0 ? "" : ", ") + ReadColumns(order[i], read[order[i]], alias);
      const CatalogTable* table = dataset.FindTable(order[i]);
      if (fan_out && table != nullptr && table->is_private) continue;
      sources_.push_back({dataset.name, order[i], read[order[i]]});
      from += (from.empty() ? "" : ", ") + ReadColumns(order[i], read[order[i]], alias);
    }
    DatasetProbe probe;
    if (fan_out) {
      std::string servers, quoted;
      for (const std::string& server : dataset.placement.servers) servers += (servers.empty() ? "" : ",") + server;
      for (char c : "SELECT 1 FROM " + site_from + " LIMIT 0") quoted += c == '\'' ? std::string("''") : std::string(1, c);
      probe.site_sql = "SELECT count(*) FROM dpql.fan_out('{" + servers + "}'::text[], 'x int', '" + quoted + "') AS t(x int)";
    }
    // LIMIT 0 stops before the first row (see readiness.h); the target list is
    // empty, so the statement's result type never changes with the tables'.
    probe.sql = "SELECT FROM " + (from.empty() ? std::string("(SELECT) AS s0") : from) + " LIMIT 0";
    // A name for this one SQL text in the whole process (Prepared()'s rule).
    probe.name = "dpql_ready_" + Sha256Hex(probe.sql).substr(0, 16);
    probes_[dataset.name] = std::move(probe);
  }
}

void Readiness::Probe(pqxx::connection& connection, const Dataset& dataset) const {
  auto found = probes_.find(dataset.name);
  if (found == probes_.end()) return;
  const DatasetProbe& probe = found->second;
  try {
    connection.prepare(probe.name, probe.sql);  // a no-op once defined on this connection
    pqxx::nontransaction txn(connection);
    txn.exec_prepared0(probe.name);
    if (!probe.site_sql.empty()) txn.exec(probe.site_sql);
  } catch (const pqxx::broken_connection&) {
    ThrowSessionLost();
  } catch (const pqxx::failure& error) {
    const std::string sqlstate = SqlStateOf(error);
    if (auto site = UnavailableSite(error.what())) throw SiteUnavailable(dataset, *site, true);
    if (SessionEnded(sqlstate)) ThrowSessionLost();
    throw DatabaseFailure(
        ErrorCode::kNotReady,
        "the server cannot read the tables of dataset " + dataset.name +
            " right now (an administrator may be reloading the data or changing grants); the "
            "query was not run and nothing was spent. Try again later: GET /readyz answers 200 "
            "once the server is ready",
        "dataset " + dataset.name + ": " + DescribeForLog(error));
  }
}

bool IsStandby(pqxx::connection& connection) {
  try {
    pqxx::nontransaction txn(connection);
    return txn.exec1("SELECT pg_is_in_recovery()")[0].as<bool>();
  } catch (const pqxx::broken_connection&) {
    ThrowSessionLost();
  } catch (const pqxx::failure& error) {
    if (SessionEnded(SqlStateOf(error))) ThrowSessionLost();
    throw DpqlError(ErrorCode::kDatabaseError, "pg_is_in_recovery() failed: " + DescribeForLog(error));
  }
}

ReadinessReport Readiness::Check(pqxx::connection& connection) const {
  ReadinessReport report;
  for (const Source& source : sources_) {
    std::optional<Failure> failure =
        TryRead(connection, "SELECT FROM " + ReadColumns(source.table, source.columns, "s") + " LIMIT 0");
    if (!failure) continue;
    TableProblem problem;
    problem.dataset = source.dataset;
    problem.table = source.table;
    problem.sqlstate = failure->sqlstate;
    problem.server_message = failure->message;
    // Which columns, when only some of them fail (a dropped column, a
    // column-level grant): each on its own.
    const bool per_column = failure->sqlstate == "42703" || failure->sqlstate == "42501";
    if (source.columns.size() > 1 && per_column) {
      std::vector<std::string> failing;
      for (const std::string& column : source.columns) {
        if (TryRead(connection, "SELECT FROM " + ReadColumns(source.table, {column}, "s") + " LIMIT 0")) {
          failing.push_back(column);
        }
      }
      if (failing.size() < source.columns.size()) problem.columns = std::move(failing);
    }
    problem.problem = ReadinessProblem(problem.sqlstate);
    report.problems.push_back(std::move(problem));
  }
  // A sharded or federated dataset's servers, each through dpql.fan_out.
  for (const auto& [dataset, probe] : probes_) {
    if (probe.site_sql.empty()) continue;
    std::optional<Failure> failure = TryRead(connection, probe.site_sql);
    if (!failure) continue;
    TableProblem problem;
    problem.dataset = dataset;
    problem.sqlstate = failure->sqlstate;
    problem.server_message = failure->message;
    if (auto site = UnavailableSite(failure->message)) {
      problem.table = "site " + *site;
      problem.problem = "the server cannot be reached; start it, or check its foreign server (dpqld admin add-server)";
    } else {
      problem.table = "its servers";
      problem.problem = ReadinessProblem(problem.sqlstate);
    }
    report.problems.push_back(std::move(problem));
  }
  return report;
}

std::string Readiness::LogLines(const ReadinessReport& report) {
  std::string out;
  for (const TableProblem& problem : report.problems) {
    if (!out.empty()) out += '\n';
    out += problem.dataset + "." + problem.table;
    if (!problem.columns.empty()) {
      out += " (columns";
      for (const std::string& column : problem.columns) out += " " + column;
      out += ")";
    }
    out += ": " + problem.server_message;
  }
  return out;
}

}  // namespace dpql
