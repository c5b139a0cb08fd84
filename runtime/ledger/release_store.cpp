#include "runtime/ledger/release_store.h"

#include <mutex>
#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "runtime/crypto/sha256.h"
#include "runtime/ledger/dataset_spend.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/transaction.h"

namespace dpql {

// Statements are constants: every value is a bind parameter.
const char* const kReleaseSchemaSql = R"SQL(
-- Releases: the guardian's grant for scheduled releases per dataset and what
-- releases spent (ledger units, as dpql.budgets).
CREATE TABLE IF NOT EXISTS dpql.release_accounts (
  dataset       text PRIMARY KEY CHECK (dataset <> ''),
  epsilon_total bigint NOT NULL DEFAULT 0,
  epsilon_spent bigint NOT NULL DEFAULT 0,
  delta_total   bigint NOT NULL DEFAULT 0,
  delta_spent   bigint NOT NULL DEFAULT 0,
  rho_total     bigint NOT NULL DEFAULT 0,
  rho_spent     bigint NOT NULL DEFAULT 0,
  CONSTRAINT release_accounts_valid CHECK (
    epsilon_total >= 0 AND epsilon_spent >= 0 AND epsilon_spent <= epsilon_total AND
    delta_total >= 0 AND delta_spent >= 0 AND delta_spent <= delta_total AND
    rho_total >= 0 AND rho_spent >= 0 AND rho_spent <= rho_total)
);

-- One row per release and parameter value: the durable key of a run. "paid"
-- rows were debited but their answer never released; "published" rows hold
-- the released answer (noisy figures and intervals only).
CREATE TABLE IF NOT EXISTS dpql.release_runs (
  release      text NOT NULL CHECK (release <> ''),
  parameters   text NOT NULL,
  day          date NOT NULL,
  dataset      text NOT NULL,
  epsilon      bigint NOT NULL CHECK (epsilon >= 0),
  delta        bigint NOT NULL CHECK (delta >= 0),
  rho          bigint NOT NULL CHECK (rho >= 0),
  state        text NOT NULL CHECK (state IN ('paid', 'published')),
  ledger_id    bigint NOT NULL,
  answer       jsonb,
  paid_at      timestamptz NOT NULL,
  published_at timestamptz,
  PRIMARY KEY (release, parameters),
  CHECK ((state = 'published') = (answer IS NOT NULL AND published_at IS NOT NULL))
);
CREATE INDEX IF NOT EXISTS release_runs_day ON dpql.release_runs (release, day);

-- A release's debit has no analyst: it names the release instead.
ALTER TABLE dpql.ledger ADD COLUMN IF NOT EXISTS release text;
ALTER TABLE dpql.ledger ALTER COLUMN analyst_id DROP NOT NULL;
DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'ledger_payer' AND conrelid = 'dpql.ledger'::regclass) THEN
    ALTER TABLE dpql.ledger ADD CONSTRAINT ledger_payer
      CHECK (analyst_id IS NOT NULL OR release IS NOT NULL);
  END IF;
END
$do$;
)SQL";

namespace {

constexpr const char* kAccountColumns =
    "dataset, epsilon_total, epsilon_spent, delta_total, delta_spent, rho_total, rho_spent";

constexpr const char* kRunColumns =
    "release, parameters, day::text, dataset, epsilon, delta, rho, state, ledger_id, paid_at::text, "
    "coalesce(published_at::text, ''), coalesce(answer::text, '')";

ReleaseAccount AccountFromRow(const pqxx::row& row) {
  ReleaseAccount account;
  account.dataset = row[0].as<std::string>();
  account.total = {row[1].as<int64_t>(), row[3].as<int64_t>(), row[5].as<int64_t>()};
  account.spent = {row[2].as<int64_t>(), row[4].as<int64_t>(), row[6].as<int64_t>()};
  return account;
}

ReleaseRunRow RunFromRow(const pqxx::row& row) {
  ReleaseRunRow run;
  run.release = row[0].as<std::string>();
  run.parameters = row[1].as<std::string>();
  run.day = row[2].as<std::string>();
  run.dataset = row[3].as<std::string>();
  run.cost = {row[4].as<int64_t>(), row[5].as<int64_t>(), row[6].as<int64_t>()};
  run.state = row[7].as<std::string>();
  run.ledger_id = row[8].as<int64_t>();
  run.paid_at = row[9].as<std::string>();
  run.published_at = row[10].as<std::string>();
  run.answer = row[11].as<std::string>();
  return run;
}

DpqlError Unreachable(const std::string& text) {
  return DatabaseUnavailable("cannot reach the budget database: " + OnOneLine(text) +
                             " (check --database, the config's `database` key, DPQL_DATABASE or the PG* "
                             "environment)");
}

const TransactionErrors kReleaseErrors = {
    .unreachable = &Unreachable,
    // A payment that did commit stays paid; its run is completed free later.
    .in_doubt = "the connection was lost while committing a release run: ",
    .not_initialised = "the release tables are missing in this database; run `dpqld admin init`",
    .database_error = "budget database error (releases): ",
};

// pg_try_advisory_lock key of the release scheduler's lease ("dpqlrels").
constexpr int64_t kLeaseKey = 0x6470716c72656c73;

}  // namespace

// The store's connection and its transactions (runtime/pg/transaction.h).
struct ReleaseStore::Impl : TransactionRunner {
  using TransactionRunner::TransactionRunner;
};

ReleaseStore::ReleaseStore(const std::string& connection_string)
    : impl_(std::make_unique<Impl>(connection_string, kReleaseErrors)) {}

ReleaseStore::ReleaseStore(pqxx::connection& connection)
    : impl_(std::make_unique<Impl>(connection, kReleaseErrors)) {}

ReleaseStore::~ReleaseStore() = default;

ReleaseAccount ReleaseStore::Grant(const std::string& dataset, const BudgetCost& grant) {
  if (dataset.empty()) throw DpqlError(ErrorCode::kInvalidName, "dataset name must not be empty");
  if (grant.epsilon_micro < 0 || grant.delta_pico < 0 || grant.rho_pico < 0) {
    ThrowInvalidBudget("a grant must not be negative; budgets are never reduced");
  }
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::row row = txn.exec_params1(
        std::string("INSERT INTO dpql.release_accounts AS a (dataset, epsilon_total, delta_total, rho_total) "
                    "VALUES ($1, $2, $3, $4) ON CONFLICT (dataset) DO UPDATE "
                    "SET epsilon_total = a.epsilon_total + EXCLUDED.epsilon_total, "
                    "    delta_total = a.delta_total + EXCLUDED.delta_total, "
                    "    rho_total = a.rho_total + EXCLUDED.rho_total RETURNING ") +
            kAccountColumns,
        dataset, grant.epsilon_micro, grant.delta_pico, grant.rho_pico);
    return AccountFromRow(row);
  });
}

std::optional<ReleaseAccount> ReleaseStore::Account(const std::string& dataset) {
  return impl_->Run([&](pqxx::work& txn) -> std::optional<ReleaseAccount> {
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kAccountColumns + " FROM dpql.release_accounts WHERE dataset = $1", dataset);
    if (rows.empty()) return std::nullopt;
    return AccountFromRow(rows[0]);
  });
}

std::vector<ReleaseAccount> ReleaseStore::Accounts() {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<ReleaseAccount> out;
    for (const auto& row : txn.exec(std::string("SELECT ") + kAccountColumns +
                                    " FROM dpql.release_accounts ORDER BY dataset")) {
      out.push_back(AccountFromRow(row));
    }
    return out;
  });
}

ReleasePayment ReleaseStore::Pay(const std::string& release, const std::string& parameters,
                                 const std::string& day, const std::string& dataset, const BudgetCost& cost,
                                 const BudgetCap& cap, const std::string& query_text,
                                 const std::string& now) {
  if (cost.epsilon_micro < 0 || cost.delta_pico < 0 || cost.rho_pico < 0 ||
      cost.epsilon_micro > kMaxEpsilonMicro || cost.delta_pico > kMaxDeltaPico ||
      cost.rho_pico > kMaxRhoPico) {
    throw DpqlError(ErrorCode::kInvalidCost, "release cost out of range");
  }
  return impl_->Run([&](pqxx::work& txn) {
    ReleasePayment payment;
    // 1. The dataset's spend row first (the lock order every debit keeps):
    //    it serialises this dataset's debits, so the run row read below
    //    cannot be inserted by another payer until we commit.
    payment.dataset_spent = LockDatasetSpend(txn, dataset, cap);
    pqxx::result existing = txn.exec_params(
        "SELECT state, ledger_id FROM dpql.release_runs WHERE release = $1 AND parameters = $2", release,
        parameters);
    auto account_now = [&] {
      pqxx::result rows = txn.exec_params(
          std::string("SELECT ") + kAccountColumns + " FROM dpql.release_accounts WHERE dataset = $1",
          dataset);
      if (!rows.empty()) payment.account = AccountFromRow(rows[0]);
    };
    if (!existing.empty()) {
      payment.outcome = existing[0][0].as<std::string>() == "published"
                            ? ReleasePayment::Outcome::kAlreadyPublished
                            : ReleasePayment::Outcome::kAlreadyPaid;
      payment.ledger_id = existing[0][1].as<int64_t>();
      account_now();
      return payment;
    }
    // 2. The dataset-wide cap, under that lock.
    if (!cap.Allows(payment.dataset_spent, cost)) {
      payment.outcome = ReleasePayment::Outcome::kCapRefused;
      account_now();
      return payment;
    }
    // 3. The release account: a conditional UPDATE that cannot overspend.
    pqxx::result debited = txn.exec_params(
        std::string(
            "UPDATE dpql.release_accounts SET epsilon_spent = epsilon_spent + $2, "
            "delta_spent = delta_spent + $3, rho_spent = rho_spent + $4 "
            "WHERE dataset = $1 AND epsilon_spent + $2 <= epsilon_total AND delta_spent + $3 <= delta_total "
            "AND rho_spent + $4 <= rho_total RETURNING ") +
            kAccountColumns,
        dataset, cost.epsilon_micro, cost.delta_pico, cost.rho_pico);
    if (debited.empty()) {
      account_now();
      payment.outcome =
          payment.account ? ReleasePayment::Outcome::kAccountExhausted : ReleasePayment::Outcome::kNoAccount;
      return payment;
    }
    payment.account = AccountFromRow(debited[0]);
    // 4. The ledger row (no analyst: the release pays), then the run row.
    pqxx::row ledger = txn.exec_params1(
        "INSERT INTO dpql.ledger (analyst_id, release, dataset, epsilon, delta, rho, query_hash, query_text, "
        "created_at) VALUES (NULL, $1, $2, $3, $4, $5, decode($6, 'hex'), $7, $8::timestamptz) RETURNING id",
        release, dataset, cost.epsilon_micro, cost.delta_pico, cost.rho_pico, Sha256Hex(query_text),
        query_text, now);
    payment.ledger_id = ledger[0].as<int64_t>();
    txn.exec_params0(
        "INSERT INTO dpql.release_runs (release, parameters, day, dataset, epsilon, delta, rho, state, "
        "ledger_id, paid_at) VALUES ($1, $2, $3::date, $4, $5, $6, $7, 'paid', $8, $9::timestamptz)",
        release, parameters, day, dataset, cost.epsilon_micro, cost.delta_pico, cost.rho_pico,
        payment.ledger_id, now);
    // 5. The dataset's spend, still under its lock.
    payment.dataset_spent = AddDatasetSpend(txn, dataset, cost);
    payment.outcome = ReleasePayment::Outcome::kPaid;
    return payment;
  });
}

bool ReleaseStore::Publish(const std::string& release, const std::string& parameters,
                           const std::string& answer, const std::string& now) {
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(
        "UPDATE dpql.release_runs SET state = 'published', answer = $3::jsonb, published_at = "
        "$4::timestamptz "
        "WHERE release = $1 AND parameters = $2 AND state = 'paid' RETURNING 1",
        release, parameters, answer, now);
    return !rows.empty();
  });
}

std::optional<ReleaseRunRow> ReleaseStore::Find(const std::string& release, const std::string& parameters) {
  return impl_->Run([&](pqxx::work& txn) -> std::optional<ReleaseRunRow> {
    pqxx::result rows = txn.exec_params(std::string("SELECT ") + kRunColumns +
                                            " FROM dpql.release_runs WHERE release = $1 AND parameters = $2",
                                        release, parameters);
    if (rows.empty()) return std::nullopt;
    return RunFromRow(rows[0]);
  });
}

std::vector<ReleaseRunRow> ReleaseStore::Published(const std::string& release, const std::string& from,
                                                   const std::string& to, int limit) {
  const char* from_param = from.empty() ? nullptr : from.c_str();
  const char* to_param = to.empty() ? nullptr : to.c_str();
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<ReleaseRunRow> out;
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kRunColumns +
            " FROM dpql.release_runs WHERE release = $1 AND state = 'published' "
            "AND ($2::date IS NULL OR day >= $2::date) AND ($3::date IS NULL OR day <= $3::date) "
            "ORDER BY day, parameters LIMIT $4",
        release, from_param, to_param, limit);
    for (const auto& row : rows) out.push_back(RunFromRow(row));
    return out;
  });
}

std::optional<ReleaseRunRow> ReleaseStore::Latest(const std::string& release) {
  return impl_->Run([&](pqxx::work& txn) -> std::optional<ReleaseRunRow> {
    pqxx::result rows =
        txn.exec_params(std::string("SELECT ") + kRunColumns +
                            " FROM dpql.release_runs WHERE release = $1 AND state = 'published' "
                            "ORDER BY day DESC, parameters DESC LIMIT 1",
                        release);
    if (rows.empty()) return std::nullopt;
    return RunFromRow(rows[0]);
  });
}

ReleaseLease::ReleaseLease(std::string connection_string)
    : connection_string_(std::move(connection_string)) {}

ReleaseLease::~ReleaseLease() = default;

bool ReleaseLease::Hold() {
  try {
    if (connection_ && !connection_->is_open()) {
      connection_.reset();
      held_ = false;
    }
    if (!connection_) {
      connection_ = std::make_unique<pqxx::connection>(connection_string_);
      held_ = false;
    }
    pqxx::nontransaction txn(*connection_);
    if (held_) {
      // Still ours while the session lives; a round trip proves it does.
      txn.exec("SELECT 1");
      return true;
    }
    pqxx::row row = txn.exec_params1("SELECT pg_try_advisory_lock($1)", kLeaseKey);
    held_ = row[0].as<bool>();
    return held_;
  } catch (const std::exception&) {
    connection_.reset();
    held_ = false;
    return false;
  }
}

}  // namespace dpql
