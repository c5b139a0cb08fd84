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
// Only this folder and runtime/executor see libpqxx; callers pass a libpq
// connection string (or, from the executor, a borrowed pqxx connection).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/common/rational.h"

// libpqxx 6.4's own declarations, so callers holding a pqxx::connection need
// not include <pqxx/pqxx> here.
namespace pqxx {
class connect_direct;
template <typename CONNECTPOLICY>
class basic_connection_base;
using connection = basic_connection_base<connect_direct>;
}  // namespace pqxx

namespace dpql {

// Budget amounts in the ledger's exact units.
inline constexpr int64_t kMicroPerEpsilon = 1'000'000;           // 1 ε = 10^6 micro-ε
inline constexpr int64_t kPicoPerDelta = 1'000'000'000'000;       // 1 δ = 10^12 pico-δ
inline constexpr int64_t kPicoPerRho = 1'000'000'000'000;         // 1 ρ = 10^12 pico-ρ
// Upper bounds on a single grant or cost, so sums stay far from BIGINT overflow.
inline constexpr int64_t kMaxEpsilonMicro = 1'000'000 * kMicroPerEpsilon;  // ε <= 10^6
inline constexpr int64_t kMaxDeltaPico = kPicoPerDelta;                    // δ <= 1
inline constexpr int64_t kMaxRhoPico = 1'000'000 * kPicoPerRho;            // ρ <= 10^6

struct BudgetCost {
  int64_t epsilon_micro = 0;
  int64_t delta_pico = 0;
  int64_t rho_pico = 0;

  // The cost of a query: each component rounded UP to the next unit, so the
  // ledger never records less than was spent. Throws DpqlError (kInternal)
  // on a negative or absurdly large cost — a bug in the caller.
  static BudgetCost FromCost(const Rational& epsilon, const Rational& delta,
                             const Rational& rho = 0);

  // A grant: converted exactly, or refused with a DpqlError (kSemantic,
  // code "invalid_budget") saying e.g. "epsilon must be a multiple of 0.000001".
  static BudgetCost FromGrant(const Rational& epsilon, const Rational& delta,
                              const Rational& rho = 0);

  Rational Epsilon() const { return Rational(epsilon_micro) / kMicroPerEpsilon; }
  Rational Delta() const { return Rational(delta_pico) / kPicoPerDelta; }
  Rational Rho() const { return Rational(rho_pico) / kPicoPerRho; }
  std::string EpsilonString() const;  // exact decimal: "1.5", "0.000001"
  std::string DeltaString() const;    // exact decimal: "0.000001", "0"
  std::string RhoString() const;      // exact decimal: "0.0125"

  bool operator==(const BudgetCost&) const = default;
};

BudgetCost operator+(const BudgetCost& a, const BudgetCost& b);
BudgetCost operator-(const BudgetCost& a, const BudgetCost& b);

// Exact decimal rendering of `units / 10^scale` with trailing zeros removed.
std::string FormatFixedPoint(int64_t units, int scale);

struct Analyst {
  int64_t id = 0;
  std::string name;
  bool is_admin = false;
  bool revoked = false;
  std::string created_at;  // PostgreSQL timestamptz text
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

// A dataset-wide cap on what all analysts together may spend on one dataset
// (catalog `limits.dataset_*`). An unset component is unlimited.
struct BudgetCap {
  std::optional<int64_t> epsilon_micro, delta_pico, rho_pico;

  // Whether spending `cost` on top of `spent` stays within every set component.
  bool Allows(const BudgetCost& spent, const BudgetCost& cost) const;
};

struct DebitResult {
  bool ok = false;           // true: debited and committed; false: refused, nothing changed
  bool has_budget = false;   // false: the analyst has no budget for this dataset (or is revoked)
  bool cap_refused = false;  // refused by the dataset-wide cap (the analyst's own budget untouched)
  Budget budget;             // after the debit (ok) or as it stood when refused
  BudgetCost dataset_spent;  // all analysts' spend on the dataset, after the debit or as it stood
  int64_t ledger_id = 0;     // the ledger row written (ok only)
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
  std::optional<std::string> dataset;
};

class Ledger {
 public:
  // Opens its own connection ("" = libpq environment defaults). Throws
  // DpqlError (kInternal, "database_unavailable") if it cannot connect.
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
  // ("dpql_" + 43 base64url chars). Only the token's SHA-256 is stored.
  // Throws DpqlError: "duplicate_analyst" if the name is taken, "invalid_name".
  std::string AddAnalyst(const std::string& name, const std::string& dataset, const BudgetCost& grant,
                         bool is_admin);
  // Adds `grant` to the analyst's total on `dataset` (creating the row).
  // Returns the budget after the grant. Throws "unknown_analyst", "analyst_revoked".
  Budget Grant(const std::string& name, const std::string& dataset, const BudgetCost& grant);
  // Revokes the analyst's token. Budgets and ledger rows stay. Returns false if
  // the analyst was already revoked. Throws "unknown_analyst".
  bool Revoke(const std::string& name);

  std::vector<AnalystBudgets> List();
  std::optional<Analyst> FindAnalyst(const std::string& name);

  // The analyst whose (unrevoked) token this is, or nullopt.
  std::optional<Analyst> Authenticate(std::string_view token);

  std::optional<Budget> GetBudget(int64_t analyst_id, const std::string& dataset);
  std::vector<Budget> GetBudgets(int64_t analyst_id);

  // Atomically spends `cost` from the analyst's budget on `dataset` and from
  // the dataset's total over all analysts, and appends a ledger row, committed
  // before returning. Refused (ok == false) when it would overspend the
  // analyst's budget or `cap`, when there is no budget row, or when the
  // analyst is revoked; a refusal changes nothing. Both rows are locked in a
  // fixed order (the dataset's row, then the analyst's), so concurrent debits
  // neither overspend nor deadlock. Call before any noise is drawn.
  DebitResult Debit(int64_t analyst_id, const std::string& dataset, const BudgetCost& cost,
                    std::string_view query_text, const BudgetCap& cap = {});

  // What all analysts together have spent on `dataset` (zero if nothing yet).
  BudgetCost DatasetSpent(const std::string& dataset);

  // Appends an audit row; returns its id.
  int64_t WriteAudit(const AuditRecord& record);
  // Newest first.
  std::vector<AuditRecord> Audit(const AuditFilter& filter);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Token helpers (exposed for tests): a fresh random token, and its SHA-256.
std::string NewToken();
std::string Sha256Hex(std::string_view data);

}  // namespace dpql
