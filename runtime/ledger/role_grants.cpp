#include "runtime/ledger/role_grants.h"

#include <pqxx/pqxx>

#include <set>
#include <utility>

#include "compiler/common/error.h"

namespace dpql {
namespace {

// What the server does with each dpql table (runtime/ledger/ledger.cpp,
// runtime/cache/answer_cache.cpp). No DELETE or TRUNCATE anywhere; ledger and
// audit are append-only (their triggers refuse UPDATE and DELETE anyway), so
// they get no UPDATE. SELECT is needed for reads, RETURNING and FOR UPDATE.
// Analysts, grants and data-version bumps are `dpqld admin` work, not the
// server's, so analysts and data_versions are read-only here.
const std::vector<std::pair<std::string, std::string>>& DpqlTablePrivileges() {
  static const std::vector<std::pair<std::string, std::string>> privileges = {
      {"schema_version", "SELECT"},                 // the server checks the schema is initialised
      {"analysts", "SELECT"},                       // token authentication; SCRAM verifiers (login)
      {"budgets", "SELECT, UPDATE"},                // the conditional debit
      {"ledger", "SELECT, INSERT"},                 // one row per charge (RETURNING id)
      {"audit", "SELECT, INSERT"},                  // one row per request; the admin audit route
      {"dataset_spend", "SELECT, INSERT, UPDATE"},  // the dataset-wide cap, locked FOR UPDATE
      {"data_versions", "SELECT"},                  // the cache key's data version
      {"answer_cache", "SELECT, INSERT"},           // repeats are served from here
      {"projects", "SELECT, UPDATE"},               // research projects: the conditional debit, renewal
      {"project_members", "SELECT"},                // who may spend a project's budget
      {"budget_requests", "SELECT, INSERT"},        // analysts file requests; guardians decide (admin)
      {"release_accounts", "SELECT, UPDATE"},       // the scheduler's debit (grants are admin work)
      {"release_runs", "SELECT, INSERT, UPDATE"},   // paid, then published
  };
  return privileges;
}

// Only with `grant-role --guardian-console`: the guardian page's changes, made
// by the server for an administrator's token (each audited). Removing a member
// is the one DELETE a server role may then make.
const std::vector<std::pair<std::string, std::string>>& GuardianConsolePrivileges() {
  static const std::vector<std::pair<std::string, std::string>> privileges = {
      {"projects", "INSERT"},                 // create
      {"project_members", "INSERT, DELETE"},  // add and remove members
      {"budget_requests", "UPDATE"},          // approve or decline
      {"budgets", "INSERT"},                  // an approved request on an analyst's own budget
  };
  return privileges;
}

DpqlError Failure(ErrorCode code, const std::string& message) { return DpqlError(code, message); }

}  // namespace

namespace {

std::vector<std::string> BuildStatements(const std::string& connection_string, const std::string& role,
                                         const std::vector<std::string>& tables, bool guardian_console) {
  pqxx::connection connection(connection_string);
  pqxx::read_transaction txn(connection);
  pqxx::result found = txn.exec_params("SELECT rolsuper FROM pg_roles WHERE rolname = $1", role);
  if (found.empty()) {
    throw Failure(ErrorCode::kUnknownRole,
                  "role '" + role + "' does not exist; create it first (CREATE ROLE ... LOGIN)");
  }
  if (found[0][0].as<bool>()) {
    throw Failure(
        ErrorCode::kSuperuserRole,
        "role '" + role + "' is a superuser, which no grant can restrict; give dpqld an ordinary role");
  }
  // Privileges inherited from another role (e.g. pg_read_all_data) would
  // survive every revoke below, so such a role is refused.
  pqxx::result member_of = txn.exec_params(
      "SELECT g.rolname FROM pg_auth_members m JOIN pg_roles g ON g.oid = m.roleid "
      "JOIN pg_roles r ON r.oid = m.member WHERE r.rolname = $1 ORDER BY 1 LIMIT 1",
      role);
  if (!member_of.empty()) {
    throw Failure(ErrorCode::kRoleMembership,
                  "role '" + role + "' is a member of role '" + member_of[0][0].as<std::string>() +
                      "', whose privileges no grant here can restrict; give dpqld a role that "
                      "is a member of no other role");
  }
  if (txn.exec("SELECT to_regnamespace('dpql')")[0][0].is_null()) {
    throw Failure(ErrorCode::kNotInitialised, "the dpql schema does not exist; run `dpqld admin init` first");
  }
  const std::string quoted_role = txn.quote_name(role);

  // The catalog's tables, resolved as the server's unqualified names are.
  std::vector<std::pair<std::string, std::string>> resolved;  // (schema, table), unquoted
  std::set<std::string> schemas;
  for (const std::string& table : tables) {
    pqxx::result row = txn.exec_params(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.oid = to_regclass(quote_ident($1))",
        table);
    if (row.empty()) {
      throw Failure(ErrorCode::kCatalogTableMissing,
                    "catalog table '" + table +
                        "' is not in the database (search_path); load the data or fix the catalog");
    }
    std::string schema = row[0][0].as<std::string>();
    if (schema == "dpql")
      throw Failure(ErrorCode::kCatalogTableMissing, "catalog table '" + table + "' is in the dpql schema");
    resolved.emplace_back(schema, row[0][1].as<std::string>());
    schemas.insert(schema);
  }

  std::vector<std::string> sql;
  // Start from nothing in every schema involved, so a rerun (or an earlier
  // broad grant) leaves exactly the list below.
  for (const std::string& schema : schemas) {
    sql.push_back("REVOKE ALL ON ALL TABLES IN SCHEMA " + txn.quote_name(schema) + " FROM " + quoted_role);
    sql.push_back("REVOKE ALL ON ALL SEQUENCES IN SCHEMA " + txn.quote_name(schema) + " FROM " + quoted_role);
    sql.push_back("REVOKE CREATE ON SCHEMA " + txn.quote_name(schema) + " FROM " + quoted_role);
  }
  sql.push_back("REVOKE ALL ON ALL TABLES IN SCHEMA dpql FROM " + quoted_role);
  sql.push_back("REVOKE ALL ON ALL SEQUENCES IN SCHEMA dpql FROM " + quoted_role);
  sql.push_back("REVOKE CREATE ON SCHEMA dpql FROM " + quoted_role);
  const std::string database = txn.quote_name(txn.exec("SELECT current_database()")[0][0].as<std::string>());
  sql.push_back("REVOKE ALL ON DATABASE " + database + " FROM " + quoted_role);

  sql.push_back("GRANT CONNECT ON DATABASE " + database + " TO " + quoted_role);
  for (const std::string& schema : schemas) {
    sql.push_back("GRANT USAGE ON SCHEMA " + txn.quote_name(schema) + " TO " + quoted_role);
  }
  for (const auto& [schema, table] : resolved) {
    sql.push_back("GRANT SELECT ON TABLE " + txn.quote_name(schema) + "." + txn.quote_name(table) + " TO " +
                  quoted_role);
  }
  sql.push_back("GRANT USAGE ON SCHEMA dpql TO " + quoted_role);
  for (const auto& [table, privileges] : DpqlTablePrivileges()) {
    sql.push_back("GRANT " + privileges + " ON TABLE dpql." + txn.quote_name(table) + " TO " + quoted_role);
  }
  std::vector<std::string> sequences = {"ledger", "audit", "budget_requests"};
  if (guardian_console) {
    for (const auto& [table, privileges] : GuardianConsolePrivileges()) {
      sql.push_back("GRANT " + privileges + " ON TABLE dpql." + txn.quote_name(table) + " TO " + quoted_role);
    }
    sequences.push_back("projects");
  }
  // The bigserial ids of the rows the server inserts.
  for (const std::string& table : sequences) {
    pqxx::row sequence =
        txn.exec_params1("SELECT pg_get_serial_sequence($1, 'id')", std::string("dpql.") + table);
    if (sequence[0].is_null()) continue;
    sql.push_back("GRANT USAGE, SELECT ON SEQUENCE " + sequence[0].as<std::string>() + " TO " + quoted_role);
  }
  return sql;
}

}  // namespace

std::vector<std::string> RoleGrantStatements(const std::string& connection_string, const std::string& role,
                                             const std::vector<std::string>& tables, bool guardian_console) {
  try {
    return BuildStatements(connection_string, role, tables, guardian_console);
  } catch (const pqxx::failure& e) {
    throw Failure(ErrorCode::kDatabaseError,
                  std::string("cannot read the database's roles and tables: ") + e.what());
  }
}

void ApplyRoleGrants(const std::string& connection_string, const std::vector<std::string>& statements) {
  try {
    pqxx::connection connection(connection_string);
    pqxx::work txn(connection);
    for (const std::string& statement : statements) txn.exec0(statement);
    txn.commit();
  } catch (const pqxx::failure& e) {
    throw Failure(
        ErrorCode::kDatabaseError,
        std::string("the grants were not applied (run as a superuser or the tables' owner): ") + e.what());
  }
}

}  // namespace dpql
