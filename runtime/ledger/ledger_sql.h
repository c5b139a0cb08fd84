#pragma once

// The ledger's SQL, shared by Ledger (ledger.cpp) and the cached exchange
// (cached_exchange.cpp), which runs the same authentication, budget read and
// audit insert in one statement. Private to runtime/ledger.
//
// Statements are constants: identifiers never come from input; every value
// is a bind parameter.

#include <string>

namespace dpql {

// A budget row as BudgetFromRow reads it.
inline constexpr const char* kBudgetColumns =
    "dataset, epsilon_total, epsilon_spent, delta_total, delta_spent, rho_total, rho_spent";
// An analyst row as AnalystFromRow reads it.
inline constexpr const char* kAnalystColumns = "id, name, is_admin, revoked_at IS NOT NULL, created_at::text";

// Authentication: the analyst whose unrevoked token's SHA-256 is $1 (hex),
// and that hash as stored (compared again in constant time), after the
// analyst's columns.
inline const std::string kAuthenticateSql =
    std::string("SELECT ") + kAnalystColumns +
    ", encode(token_hash, 'hex') FROM dpql.analysts WHERE token_hash = decode($1::text, 'hex') "
    "AND revoked_at IS NULL";

// The budget of analyst $1 on dataset $2.
inline const std::string kSelectBudgetSql =
    std::string("SELECT ") + kBudgetColumns + " FROM dpql.budgets WHERE analyst_id = $1 AND dataset = $2";

// An audit row, every column in this order.
inline constexpr const char* kAuditTable =
    "dpql.audit (analyst_id, analyst_name, source, dataset, query, epsilon, delta, outcome, status, "
    "detail, rho)";
inline const std::string kAuditInsertSql =
    std::string("INSERT INTO ") + kAuditTable +
    " VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

// The debit: one statement, so under READ COMMITTED a concurrent debit of the
// same row waits for the row lock and re-evaluates the WHERE clause against
// the committed new version — two debits can never both pass a check that
// only one of them fits. Zero rows returned = refused; nothing was written.
//
// The dataset-wide spend is a second row in the same transaction: Debit()
// locks it first (kLockDatasetSql) and the analyst's row second, always in
// that order, so concurrent debits cannot deadlock.
inline constexpr const char* kDebitSql = R"SQL(
WITH debited AS (
  UPDATE dpql.budgets AS b
     SET epsilon_spent = b.epsilon_spent + $3,
         delta_spent   = b.delta_spent + $4,
         rho_spent     = b.rho_spent + $5
   WHERE b.analyst_id = $1 AND b.dataset = $2
     AND b.epsilon_spent + $3 <= b.epsilon_total
     AND b.delta_spent + $4 <= b.delta_total
     AND b.rho_spent + $5 <= b.rho_total
     AND EXISTS (SELECT 1 FROM dpql.analysts a WHERE a.id = $1 AND a.revoked_at IS NULL)
  RETURNING b.dataset, b.epsilon_total, b.epsilon_spent, b.delta_total, b.delta_spent,
            b.rho_total, b.rho_spent, b.analyst_id
), written AS (
  INSERT INTO dpql.ledger (analyst_id, dataset, epsilon, delta, rho, query_hash, query_text)
  SELECT analyst_id, dataset, $3, $4, $5, decode($6, 'hex'), $7 FROM debited
  RETURNING id
)
SELECT d.dataset, d.epsilon_total, d.epsilon_spent, d.delta_total, d.delta_spent,
       d.rho_total, d.rho_spent, w.id
  FROM debited d CROSS JOIN written w
)SQL";

// The dataset's spend row: created on first use, then locked until commit.
// Every debit of the dataset takes this lock first, which serialises the
// dataset's debits — the cap check below it can then read and add safely.
inline constexpr const char* kLockDatasetSql =
    "INSERT INTO dpql.dataset_spend (dataset) VALUES ($1) ON CONFLICT (dataset) DO NOTHING";
inline constexpr const char* kSelectDatasetSql =
    "SELECT epsilon_spent, delta_spent, rho_spent FROM dpql.dataset_spend WHERE dataset = $1 FOR UPDATE";
// Adds to the lifetime spend and to the current period's (reset by
// LockDatasetSpend when a periodic cap's period has turned).
inline constexpr const char* kAddDatasetSql =
    "UPDATE dpql.dataset_spend SET epsilon_spent = epsilon_spent + $2, delta_spent = delta_spent + $3, "
    "rho_spent = rho_spent + $4, period_epsilon_spent = period_epsilon_spent + $2, "
    "period_delta_spent = period_delta_spent + $3, period_rho_spent = period_rho_spent + $4 "
    "WHERE dataset = $1 RETURNING epsilon_spent, delta_spent, rho_spent";
// A periodic cap: the period's spend starts again from zero once the period
// holding the debit ($2) is later than the one the row counts.
inline constexpr const char* kTurnDatasetPeriodSql =
    "UPDATE dpql.dataset_spend SET period_start = $2::timestamptz, period_epsilon_spent = 0, "
    "period_delta_spent = 0, period_rho_spent = 0 "
    "WHERE dataset = $1 AND (period_start IS NULL OR period_start < $2::timestamptz)";
inline constexpr const char* kSelectDatasetPeriodSql =
    "SELECT period_epsilon_spent, period_delta_spent, period_rho_spent FROM dpql.dataset_spend "
    "WHERE dataset = $1";

}  // namespace dpql
