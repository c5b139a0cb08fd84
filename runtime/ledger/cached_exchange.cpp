#include "runtime/ledger/cached_exchange.h"

#include <openssl/crypto.h>

#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "runtime/ledger/ledger_sql.h"
#include "runtime/pg/database_errors.h"

namespace dpql {

namespace {

constexpr const char* kStatementName = "dpql_cached_exchange";

// Data-modifying CTEs always run; `logged` inserts a row only when the token,
// the budget and the stored answer were all found. READ COMMITTED: every CTE
// reads the same snapshot, taken when the statement starts. Autocommit: the
// audit row is committed (synchronously, like every audit row) before the
// answer is sent. Authentication, the budget's columns and the audit row are
// the ledger's own (ledger_sql.h).
const std::string& ExchangeSql() {
  static const std::string sql = "WITH a (id, name, is_admin, revoked, created_at, token_hash) AS (\n  " +
                                 kAuthenticateSql +
                                 R"SQL(
), v AS (
  SELECT coalesce((SELECT version FROM dpql.data_versions WHERE dataset = $2::text), 1) AS version
), b AS (
  SELECT )SQL" + kBudgetColumns + R"SQL(
    FROM dpql.budgets WHERE analyst_id = (SELECT id FROM a) AND dataset = $2::text
), c AS (
  SELECT CASE WHEN c.data_version = $4::bigint THEN NULL ELSE c.answer::text END AS answer
    FROM dpql.answer_cache c JOIN v ON c.data_version = v.version
   WHERE c.dataset = $2::text AND c.plan_hash = decode($3::text, 'hex')
), logged AS (
  INSERT INTO )SQL" + kAuditTable +
                                 R"SQL(
  SELECT a.id, a.name, $5::text, $2::text, $6::text, 0, 0, 'cached', 200, '', 0 FROM a, b, c
  RETURNING id
)
SELECT a.id, a.name, a.is_admin, a.created_at, a.token_hash, v.version,
       b.dataset, b.epsilon_total, b.epsilon_spent, b.delta_total, b.delta_spent,
       b.rho_total, b.rho_spent, c.answer, l.id
  FROM v LEFT JOIN a ON true LEFT JOIN b ON true LEFT JOIN c ON true LEFT JOIN logged l ON true
)SQL";
  return sql;
}

}  // namespace

CachedExchangeResult RunCachedExchange(pqxx::connection& connection, const CachedExchangeRequest& request) {
  const std::string token_hash = request.token_hash.empty() ? Sha256Hex(request.token) : request.token_hash;
  pqxx::row row;
  try {
    connection.prepare(kStatementName, ExchangeSql());  // a no-op once defined on this connection
    pqxx::nontransaction txn(connection);
    row = txn.exec_prepared1(kStatementName, token_hash, request.dataset, request.plan_hash,
                             request.held_version, request.audit_source, request.audit_query);
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable("cannot reach the budget database: " + OnOneLine(e.what()));
  } catch (const pqxx::in_doubt_error& e) {
    throw DpqlError(ErrorCode::kDatabaseError,
                    std::string("the budget database lost the connection while committing: ") + e.what());
  } catch (const pqxx::sql_error& e) {
    if (e.sqlstate() == "3F000" || e.sqlstate() == "42P01") {
      throw DpqlError(ErrorCode::kLedgerNotInitialised,
                      "the budget ledger is not initialised in this database; run `dpqld admin init`");
    }
    throw DpqlError(ErrorCode::kDatabaseError, std::string("budget database error: ") + e.what());
  }

  CachedExchangeResult result;
  result.data_version = row[5].as<int64_t>();
  if (!row[0].is_null()) {
    // The index lookup already matched; compare again in constant time so the
    // decision never rests on a data-dependent early exit.
    const std::string stored = row[4].as<std::string>();
    if (stored.size() != token_hash.size() ||
        CRYPTO_memcmp(stored.data(), token_hash.data(), token_hash.size()) != 0) {
      throw DpqlError(ErrorCode::kInternal, "token hash lookup disagrees with its row");
    }
    Analyst analyst;
    analyst.id = row[0].as<int64_t>();
    analyst.name = row[1].as<std::string>();
    analyst.is_admin = row[2].as<bool>();
    analyst.created_at = row[3].as<std::string>();
    result.analyst = std::move(analyst);
  }
  if (!row[6].is_null()) {
    Budget budget;
    budget.dataset = row[6].as<std::string>();
    budget.total = {row[7].as<int64_t>(), row[9].as<int64_t>(), row[11].as<int64_t>()};
    budget.spent = {row[8].as<int64_t>(), row[10].as<int64_t>(), row[12].as<int64_t>()};
    result.budget = std::move(budget);
  }
  if (!row[14].is_null()) {
    result.served = true;
    result.audit_id = row[14].as<int64_t>();
    if (!row[13].is_null()) result.answer_text = row[13].as<std::string>();
  }
  return result;
}

}  // namespace dpql
