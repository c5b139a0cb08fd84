#pragma once

// Releases in the ledger (docs/PRIVACY.md, "Releases"): each dataset's
// release account (dpql.release_accounts: the guardian's grant for releases
// and what releases spent) and the release runs (dpql.release_runs, one row
// per release and parameter value — the durable idempotency key).
//
// A run is paid once: Pay locks the dataset's spend row, checks the
// dataset-wide cap, debits the release account, appends the dpql.ledger row
// (analyst_id NULL, `release` set) and inserts the run row "paid", in one
// transaction. Publish stores the released answer and marks the run
// "published" (only a "paid" run; the first publication stays). A run found
// "paid" was never released: the caller completes it without paying again.
// The stored answer is opaque text (JSON made by runtime/cache/release_answer.h).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "runtime/budget/budget_units.h"
#include "runtime/pg/pqxx_fwd.h"

namespace dpql {

// The release schema (created by CreateSchema, idempotent; upgrades a
// version-2 database in place).
extern const char* const kReleaseSchemaSql;

struct ReleaseAccount {
  std::string dataset;
  BudgetCost total;
  BudgetCost spent;
  BudgetCost Remaining() const { return total - spent; }
};

struct ReleaseRunRow {
  std::string release;
  std::string parameters;  // the durable key's parameter part, e.g. "day=2026-11-27"
  std::string day;         // YYYY-MM-DD
  std::string dataset;
  BudgetCost cost;
  std::string state;  // "paid" or "published"
  int64_t ledger_id = 0;
  std::string paid_at, published_at;  // timestamptz text; published_at empty while paid
  std::string answer;                 // the stored answer; empty while paid
};

struct ReleasePayment {
  enum class Outcome {
    kPaid,              // debited now: run the queries and publish
    kAlreadyPaid,       // paid before but never published: complete it, free
    kAlreadyPublished,  // nothing to do
    kNoAccount,         // refused: the dataset has no release account
    kAccountExhausted,  // refused: the release account has too little left
    kCapRefused,        // refused: the dataset-wide cap
  };
  Outcome outcome = Outcome::kNoAccount;
  std::optional<ReleaseAccount> account;  // as it stands after (or when refused)
  BudgetCost dataset_spent;
  int64_t ledger_id = 0;  // the debit (kPaid, kAlreadyPaid, kAlreadyPublished)
};

class ReleaseStore {
 public:
  // Opens its own connection ("" = libpq environment defaults).
  explicit ReleaseStore(const std::string& connection_string);
  // Borrows a connection (e.g. from the engine's pool); not used concurrently.
  explicit ReleaseStore(pqxx::connection& connection);
  ~ReleaseStore();
  ReleaseStore(const ReleaseStore&) = delete;
  ReleaseStore& operator=(const ReleaseStore&) = delete;

  // Adds `grant` to the dataset's release account (creating it).
  ReleaseAccount Grant(const std::string& dataset, const BudgetCost& grant);
  std::optional<ReleaseAccount> Account(const std::string& dataset);
  std::vector<ReleaseAccount> Accounts();

  // Pays for run (release, parameters) once, in one transaction (see above).
  // `now` is the injected clock's time (timestamptz text).
  ReleasePayment Pay(const std::string& release, const std::string& parameters, const std::string& day,
                     const std::string& dataset, const BudgetCost& cost, const BudgetCap& cap,
                     const std::string& query_text, const std::string& now);
  // Stores the answer of a "paid" run; false when it was published already
  // (this answer is then discarded, never released).
  bool Publish(const std::string& release, const std::string& parameters, const std::string& answer,
               const std::string& now);

  std::optional<ReleaseRunRow> Find(const std::string& release, const std::string& parameters);
  // Published runs of `release` with from <= day <= to ("" = open), by day.
  std::vector<ReleaseRunRow> Published(const std::string& release, const std::string& from,
                                       const std::string& to, int limit);
  // The newest published run of `release` (by day), if any.
  std::optional<ReleaseRunRow> Latest(const std::string& release);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// A lease in PostgreSQL: a session-level advisory lock held on a dedicated
// connection, so that of several dpqld on one ledger one runs the scheduled
// releases. The lock ends with the session: a killed holder's lease passes
// to another instance at its next attempt.
class ReleaseLease {
 public:
  explicit ReleaseLease(std::string connection_string);
  ~ReleaseLease();
  ReleaseLease(const ReleaseLease&) = delete;
  ReleaseLease& operator=(const ReleaseLease&) = delete;
  // Whether this instance holds the lease (taking it when free). A lost
  // connection loses the lease; the next call reconnects and tries again.
  // Throws nothing.
  bool Hold();

 private:
  std::string connection_string_;
  std::unique_ptr<pqxx::connection> connection_;
  bool held_ = false;
};

}  // namespace dpql
