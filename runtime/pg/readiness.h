#pragma once

// Whether the server's PostgreSQL role can read every table and column the
// catalog names — checked without reading a single row.
//
// Every statement here ends in LIMIT 0: PostgreSQL parses it (a missing table
// or column fails), plans it, checks the role's privileges on every relation
// at executor start (permission denied fails) and opens the scans (a
// materialized view not yet populated fails), then stops before its first
// row: no expression is evaluated on any row. So whether a probe fails, and
// how, depends on the schema and the grants, never on the data; a query it
// refuses is refused before its debit (Engine::RunSelect), at no cost.
//
// Probe() is the engine's per-query gate: one prepared statement per dataset
// (one round trip). Check() goes table by table and column by column to say
// which fail, for GET /readyz and the server log.

#include <map>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "runtime/pg/connection_pool.h"

namespace dpql {

struct TableProblem {
  std::string dataset;
  std::string table;
  std::vector<std::string> columns;  // the failing columns when only some fail; empty: the table
  std::string sqlstate;
  std::string problem;         // what is wrong and what to do; no PostgreSQL text
  std::string server_message;  // PostgreSQL's message: for the server log only
};

struct ReadinessReport {
  std::vector<TableProblem> problems;
  bool ready() const { return problems.empty(); }
};

class Readiness {
 public:
  explicit Readiness(const Catalog& catalog);

  // Throws DatabaseFailure "not_ready" when PostgreSQL refuses to read any of
  // `dataset`'s tables and columns (its admin_detail has PostgreSQL's
  // SQLSTATE and message), or DpqlError "database_unavailable" when the
  // session is lost. Reads no row.
  void Probe(pqxx::connection& connection, const Dataset& dataset) const;

  // Every dataset's tables, one statement each; the columns of a failing
  // table one by one. Throws DpqlError "database_unavailable" when the session
  // is lost. Reads no row.
  ReadinessReport Check(pqxx::connection& connection) const;

  // One line per problem, "hospital.admissions: SQLSTATE 42501: permission
  // denied for table admissions", for the server log.
  static std::string LogLines(const ReadinessReport& report);

 private:
  // A table and the columns of it that generated SQL may read (its catalog
  // columns, and any column another table's `domain_from` names).
  struct Source {
    std::string dataset;
    std::string table;
    std::vector<std::string> columns;
  };
  struct DatasetProbe {
    std::string name;  // the prepared statement's name on each connection
    std::string sql;
    // A sharded or federated dataset: the same probe on every server, through
    // dpql.fan_out (runtime/pg/fan_out.h); "" otherwise.
    std::string site_sql;
  };

  std::vector<Source> sources_;
  std::map<std::string, DatasetProbe> probes_;  // by dataset name
};

// The public text for a readiness failure with this SQLSTATE.
std::string ReadinessProblem(const std::string& sqlstate);

// Whether the server on `connection` is a hot standby (pg_is_in_recovery()):
// what a streaming read replica is (`replica` in dpqld.yaml). Throws
// DpqlError "database_unavailable" when the session is lost.
bool IsStandby(pqxx::connection& connection);

}  // namespace dpql
