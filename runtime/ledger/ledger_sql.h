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

// Version 4: Ledger::Debit in one statement, so one round trip: the steps
// it took as five statements in one transaction (lock the dataset's spend
// row, turn its period, check the dataset-wide cap, kDebitSql's conditional
// debit and ledger insert, add to the dataset's spend), in the same order
// and under the same locks, inside a function called in autocommit. A NULL
// cap component is no cap; a NULL period start, a lifetime cap. Returns one
// row: the outcome ('debited', 'insufficient', 'cap_refused', 'no_budget'),
// the budget after the debit (or as it stands), the ledger id (NULL unless
// debited) and the dataset's spend (after the debit, or as the cap saw it).
// The analyst's debit is one conditional UPDATE: under READ COMMITTED a
// concurrent debit of the same row waits for the row lock and re-evaluates
// the WHERE clause against the committed new version, so two debits can
// never both pass a check only one of them fits; no row = refused, nothing
// written. The dataset's row is always locked before the analyst's, so
// concurrent debits cannot deadlock.
inline constexpr const char* kDebitFunctionSql = R"SQL(
CREATE OR REPLACE FUNCTION dpql.debit(
    p_analyst bigint, p_dataset text, p_epsilon bigint, p_delta bigint, p_rho bigint,
    p_query_hash text, p_query text,
    p_cap_epsilon bigint, p_cap_delta bigint, p_cap_rho bigint, p_period_start timestamptz)
  RETURNS TABLE (o_outcome text, o_dataset text, o_epsilon_total bigint, o_epsilon_spent bigint,
                 o_delta_total bigint, o_delta_spent bigint, o_rho_total bigint, o_rho_spent bigint,
                 o_ledger_id bigint, o_dataset_epsilon bigint, o_dataset_delta bigint, o_dataset_rho bigint)
  LANGUAGE plpgsql AS $fn$
#variable_conflict use_column
DECLARE
  budget record;
BEGIN
  -- 1. The dataset's row first (fixed lock order: dataset, then analyst).
  INSERT INTO dpql.dataset_spend (dataset) VALUES (p_dataset) ON CONFLICT (dataset) DO NOTHING;
  SELECT epsilon_spent, delta_spent, rho_spent INTO o_dataset_epsilon, o_dataset_delta, o_dataset_rho
    FROM dpql.dataset_spend WHERE dataset = p_dataset FOR UPDATE;
  IF p_period_start IS NOT NULL THEN
    UPDATE dpql.dataset_spend SET period_start = p_period_start, period_epsilon_spent = 0,
           period_delta_spent = 0, period_rho_spent = 0
     WHERE dataset = p_dataset AND (period_start IS NULL OR period_start < p_period_start);
    SELECT period_epsilon_spent, period_delta_spent, period_rho_spent
      INTO o_dataset_epsilon, o_dataset_delta, o_dataset_rho
      FROM dpql.dataset_spend WHERE dataset = p_dataset;
  END IF;
  -- 2. The cap, checked under that lock: a refusal writes nothing.
  IF (p_cap_epsilon IS NULL OR o_dataset_epsilon + p_epsilon <= p_cap_epsilon)
     AND (p_cap_delta IS NULL OR o_dataset_delta + p_delta <= p_cap_delta)
     AND (p_cap_rho IS NULL OR o_dataset_rho + p_rho <= p_cap_rho) THEN
    -- 3. The analyst's own budget: one conditional UPDATE joined with the ledger insert.
    WITH debited AS (
      UPDATE dpql.budgets AS b
         SET epsilon_spent = b.epsilon_spent + p_epsilon,
             delta_spent   = b.delta_spent + p_delta,
             rho_spent     = b.rho_spent + p_rho
       WHERE b.analyst_id = p_analyst AND b.dataset = p_dataset
         AND b.epsilon_spent + p_epsilon <= b.epsilon_total
         AND b.delta_spent + p_delta <= b.delta_total
         AND b.rho_spent + p_rho <= b.rho_total
         AND EXISTS (SELECT 1 FROM dpql.analysts a WHERE a.id = p_analyst AND a.revoked_at IS NULL)
      RETURNING b.dataset, b.epsilon_total, b.epsilon_spent, b.delta_total, b.delta_spent,
                b.rho_total, b.rho_spent, b.analyst_id
    ), written AS (
      INSERT INTO dpql.ledger (analyst_id, dataset, epsilon, delta, rho, query_hash, query_text)
      SELECT d.analyst_id, d.dataset, p_epsilon, p_delta, p_rho, decode(p_query_hash, 'hex'), p_query
        FROM debited d
      RETURNING id
    )
    SELECT d.dataset, d.epsilon_total, d.epsilon_spent, d.delta_total, d.delta_spent, d.rho_total,
           d.rho_spent, w.id
      INTO o_dataset, o_epsilon_total, o_epsilon_spent, o_delta_total, o_delta_spent, o_rho_total,
           o_rho_spent, o_ledger_id
      FROM debited d CROSS JOIN written w;
    IF FOUND THEN
      -- 4. The dataset's spend, still under its lock.
      UPDATE dpql.dataset_spend
         SET epsilon_spent = epsilon_spent + p_epsilon, delta_spent = delta_spent + p_delta,
             rho_spent = rho_spent + p_rho, period_epsilon_spent = period_epsilon_spent + p_epsilon,
             period_delta_spent = period_delta_spent + p_delta, period_rho_spent = period_rho_spent + p_rho
       WHERE dataset = p_dataset
      RETURNING epsilon_spent, delta_spent, rho_spent INTO o_dataset_epsilon, o_dataset_delta, o_dataset_rho;
      o_outcome := 'debited';
      RETURN NEXT;
      RETURN;
    END IF;
    o_outcome := 'insufficient';
  ELSE
    o_outcome := 'cap_refused';
  END IF;
  -- Refused: the budget as it stands (nothing was written).
  SELECT b.dataset, b.epsilon_total, b.epsilon_spent, b.delta_total, b.delta_spent, b.rho_total, b.rho_spent
    INTO budget
    FROM dpql.budgets b
   WHERE b.analyst_id = p_analyst AND b.dataset = p_dataset
     AND EXISTS (SELECT 1 FROM dpql.analysts a WHERE a.id = p_analyst AND a.revoked_at IS NULL);
  IF NOT FOUND THEN
    o_outcome := 'no_budget';
  ELSE
    o_dataset := budget.dataset;
    o_epsilon_total := budget.epsilon_total;
    o_epsilon_spent := budget.epsilon_spent;
    o_delta_total := budget.delta_total;
    o_delta_spent := budget.delta_spent;
    o_rho_total := budget.rho_total;
    o_rho_spent := budget.rho_spent;
  END IF;
  RETURN NEXT;
END
$fn$;
)SQL";

// Calls dpql.debit: its row in the order above.
inline constexpr const char* kCallDebitSql =
    "SELECT o_outcome, o_dataset, o_epsilon_total, o_epsilon_spent, o_delta_total, o_delta_spent, o_rho_total, "
    "o_rho_spent, o_ledger_id, o_dataset_epsilon, o_dataset_delta, o_dataset_rho "
    "FROM dpql.debit($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11::timestamptz)";

}  // namespace dpql
