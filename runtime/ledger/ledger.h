#pragma once

// The privacy-budget ledger, kept in PostgreSQL (schema `dpql`): analysts and
// their bearer-token hashes, per-analyst per-dataset budgets, the append-only
// ledger of debits, the audit log, and what each dataset has spent over all
// analysts (for the dataset-wide cap). Budgets are exact integers (micro-ε,
// pico-δ, pico-ρ); a debit is one atomic transaction that cannot overspend,
// committed before Debit() returns, and never refunded.
//
// The ledger does not know a dataset's accounting: a budget is a vector
// (ε, δ, ρ) and a debit must fit every component. Datasets with basic
// accounting are charged (ε, δ, 0), zCDP datasets (0, 0, ρ).
//
// Callers pass a libpq connection string, or lend a pooled pqxx connection
// (runtime/pg); they need not see libpqxx.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/common/rational.h"
#include "runtime/budget/budget_units.h"
#include "runtime/ledger/scram.h"
#include "runtime/ledger/tokens.h"
#include "runtime/pg/pqxx_fwd.h"

namespace dpql {

struct Analyst {
  int64_t id = 0;
  std::string name;
  bool is_admin = false;
  bool revoked = false;
  std::string created_at;  // PostgreSQL timestamptz text
};

// What the PostgreSQL wire protocol's login needs of an analyst: who they
// are (revoked ones too: the caller refuses them) and the SCRAM verifier of
// their token, absent for analysts created before schema version 5 who have
// not had a new token since.
struct Login {
  Analyst analyst;
  std::optional<scram::Verifier> verifier;
  std::string token_hash;  // SHA-256 of the current token, 64 hex digits
};

struct Budget {
  std::string dataset;
  BudgetCost total;
  BudgetCost spent;
  BudgetCost Remaining() const { return total - spent; }
};

struct AnalystBudgets {
  Analyst analyst;
  std::vector<Budget> budgets;  // ordered by dataset
};

struct DebitResult {
  enum class Outcome {
    kDebited,      // debited and committed
    kNoBudget,     // refused: no budget for this dataset, or the analyst is revoked
    kCapRefused,   // refused by the dataset-wide cap (the analyst's own budget untouched)
    kInsufficient  // refused: the analyst's remaining budget is smaller than the cost
  };
  Outcome outcome = Outcome::kNoBudget;  // every refusal changed nothing
  Budget budget;                         // after the debit (kDebited) or as it stood when refused
  BudgetCost dataset_spent;              // all analysts' spend on the dataset, after the debit or as it stood
  int64_t ledger_id = 0;                 // the ledger row written (kDebited only)

  bool ok() const { return outcome == Outcome::kDebited; }
  bool has_budget() const { return outcome != Outcome::kNoBudget; }
  bool cap_refused() const { return outcome == Outcome::kCapRefused; }
};

// One audit row. Never holds result values: only who, what was asked, what it
// cost and how it ended.
struct AuditRecord {
  int64_t id = 0;                     // assigned by the database
  std::string at;                     // assigned by the database (timestamptz text)
  std::optional<int64_t> analyst_id;  // unset when the caller was not authenticated
  std::string analyst_name;           // empty when unknown
  std::string source;                 // route or origin, e.g. "POST /v1/query", "admin"
  std::string dataset;
  std::string query;
  BudgetCost cost;
  std::string outcome;  // e.g. "ok", "cached", "budget_exhausted", "syntax_error"
  int status = 0;       // HTTP status (or 0)
  std::string detail;   // error message or note; never result values
};

struct AuditFilter {
  int limit = 50;
  std::optional<std::string> analyst_name;
  std::optional<int64_t> analyst_id;  // one analyst's own rows (GET /v1/history)
  std::optional<std::string> dataset;
};

class Ledger {
 public:
  // Opens its own connection ("" = libpq environment defaults). Throws
  // DatabaseUnavailable (runtime/pg/database_errors.h) if it cannot connect.
  explicit Ledger(const std::string& connection_string);
  // Borrows a connection owned by the caller (e.g. the executor's pool); the
  // connection must outlive the Ledger and not be used concurrently.
  explicit Ledger(pqxx::connection& connection);
  ~Ledger();
  Ledger(const Ledger&) = delete;
  Ledger& operator=(const Ledger&) = delete;

  // Creates schema `dpql` and its tables if missing, and upgrades an older
  // dpql schema in place (ADD COLUMN IF NOT EXISTS). Idempotent; safe to run
  // concurrently (takes an advisory lock). Refuses a newer schema version.
  void Init();

  // Creates an analyst with a budget on `dataset` and returns the bearer token
  // ("dpql_" + 43 base64url chars). Only the token's SHA-256 and its SCRAM
  // verifier (salted PBKDF2) are stored.
  // Throws DpqlError: "duplicate_analyst" if the name is taken, "invalid_name".
  std::string AddAnalyst(const std::string& name, const std::string& dataset, const BudgetCost& grant,
                         bool is_admin);
  // Replaces an unrevoked analyst's token with a new one (new hash, new SCRAM
  // verifier) and returns it; the old token stops authenticating at once.
  // Budgets and ledger rows stay. Throws "unknown_analyst", "analyst_revoked".
  std::string NewToken(const std::string& name);
  // Adds `grant` to the analyst's total on `dataset` (creating the row).
  // Returns the budget after the grant. Throws "unknown_analyst", "analyst_revoked".
  Budget Grant(const std::string& name, const std::string& dataset, const BudgetCost& grant);
  // Revokes the analyst's token. Budgets and ledger rows stay. Returns false if
  // the analyst was already revoked. Throws "unknown_analyst".
  bool Revoke(const std::string& name);

  std::vector<AnalystBudgets> List();
  [[nodiscard]] std::optional<Analyst> FindAnalyst(const std::string& name);

  // The analyst whose (unrevoked) token this is, or nullopt.
  [[nodiscard]] std::optional<Analyst> Authenticate(std::string_view token);
  // The same by the token's SHA-256 (64 hex digits), as a PostgreSQL session
  // keeps it after its login: a revoked analyst or a replaced token no longer
  // matches.
  [[nodiscard]] std::optional<Analyst> AuthenticateHash(std::string_view token_hash_hex);
  // The analyst named `name` with their SCRAM verifier, in one SELECT; nullopt
  // for an unknown name. Revoked analysts are returned (analyst.revoked).
  // Throws DpqlError "database_error" when the stored verifier is malformed.
  [[nodiscard]] std::optional<Login> FindLogin(const std::string& name);

  [[nodiscard]] std::optional<Budget> GetBudget(int64_t analyst_id, const std::string& dataset);
  std::vector<Budget> GetBudgets(int64_t analyst_id);

  // Atomically spends `cost` from the analyst's budget on `dataset` and from
  // the dataset's total over all analysts, and appends a ledger row, committed
  // before returning. Refused (outcome != kDebited) when it would overspend the
  // analyst's budget or `cap`, when there is no budget row, or when the
  // analyst is revoked; a refusal changes nothing. Both rows are locked in a
  // fixed order (the dataset's row, then the analyst's), so concurrent debits
  // neither overspend nor deadlock. Call before any noise is drawn.
  [[nodiscard]] DebitResult Debit(int64_t analyst_id, const std::string& dataset, const BudgetCost& cost,
                                  std::string_view query_text, const BudgetCap& cap = {});

  // What all analysts together have spent on `dataset` (zero if nothing yet).
  [[nodiscard]] BudgetCost DatasetSpent(const std::string& dataset);

  // Appends an audit row; returns its id.
  int64_t WriteAudit(const AuditRecord& record);
  // Newest first.
  [[nodiscard]] std::vector<AuditRecord> Audit(const AuditFilter& filter);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpql
