#include "runtime/ledger/ledger.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>

#include <array>
#include <mutex>
#include <pqxx/pqxx>
#include <stdexcept>
#include <type_traits>

#include "compiler/common/error.h"
#include "runtime/executor/database_errors.h"
#include "runtime/executor/prepared.h"
#include "runtime/random/random_source.h"

namespace dpql {
namespace {

// Bump when the schema changes; Init() refuses a database with a newer one.
constexpr int kSchemaVersion = 2;  // 2: rho columns, dataset_spend
// pg_advisory_xact_lock key serialising concurrent Init() calls ("dpqlinit").
constexpr int64_t kInitLockKey = 0x6470716c696e6974;
constexpr size_t kTokenBytes = 32;  // 256 bits
constexpr std::string_view kTokenPrefix = "dpql_";
constexpr size_t kMaxTokenLength = 256;
constexpr size_t kMaxNameLength = 200;

// Statements are constants: identifiers never come from input; every value
// is a bind parameter.
constexpr const char* kInitSql = R"SQL(
CREATE SCHEMA IF NOT EXISTS dpql;

CREATE TABLE IF NOT EXISTS dpql.schema_version (
  version    integer PRIMARY KEY,
  applied_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dpql.analysts (
  id         bigserial PRIMARY KEY,
  name       text NOT NULL UNIQUE CHECK (name <> ''),
  token_hash bytea NOT NULL UNIQUE CHECK (length(token_hash) = 32),
  is_admin   boolean NOT NULL DEFAULT false,
  created_at timestamptz NOT NULL DEFAULT now(),
  revoked_at timestamptz
);

-- Units: epsilon in micro-epsilon (1e-6), delta in pico-delta (1e-12).
CREATE TABLE IF NOT EXISTS dpql.budgets (
  analyst_id    bigint NOT NULL REFERENCES dpql.analysts (id),
  dataset       text NOT NULL CHECK (dataset <> ''),
  epsilon_total bigint NOT NULL DEFAULT 0,
  epsilon_spent bigint NOT NULL DEFAULT 0,
  delta_total   bigint NOT NULL DEFAULT 0,
  delta_spent   bigint NOT NULL DEFAULT 0,
  PRIMARY KEY (analyst_id, dataset),
  CONSTRAINT budgets_nonnegative CHECK (
    epsilon_total >= 0 AND epsilon_spent >= 0 AND delta_total >= 0 AND delta_spent >= 0),
  CONSTRAINT budgets_not_overspent CHECK (
    epsilon_spent <= epsilon_total AND delta_spent <= delta_total)
);

CREATE TABLE IF NOT EXISTS dpql.ledger (
  id         bigserial PRIMARY KEY,
  analyst_id bigint NOT NULL REFERENCES dpql.analysts (id),
  dataset    text NOT NULL,
  epsilon    bigint NOT NULL CHECK (epsilon >= 0),
  delta      bigint NOT NULL CHECK (delta >= 0),
  query_hash bytea NOT NULL,
  query_text text NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_analyst_dataset ON dpql.ledger (analyst_id, dataset);

CREATE TABLE IF NOT EXISTS dpql.audit (
  id           bigserial PRIMARY KEY,
  at           timestamptz NOT NULL DEFAULT now(),
  analyst_id   bigint REFERENCES dpql.analysts (id),
  analyst_name text NOT NULL DEFAULT '',
  source       text NOT NULL DEFAULT '',
  dataset      text NOT NULL DEFAULT '',
  query        text NOT NULL DEFAULT '',
  epsilon      bigint NOT NULL DEFAULT 0,
  delta        bigint NOT NULL DEFAULT 0,
  outcome      text NOT NULL,
  status       integer NOT NULL DEFAULT 0,
  detail       text NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS audit_at ON dpql.audit (at DESC, id DESC);

-- Version 2: zCDP budgets in pico-rho (1e-12) and the dataset-wide spend.
-- ADD COLUMN IF NOT EXISTS upgrades a version-1 schema in place; rerunning is a no-op.
ALTER TABLE dpql.budgets ADD COLUMN IF NOT EXISTS rho_total bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.budgets ADD COLUMN IF NOT EXISTS rho_spent bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.ledger ADD COLUMN IF NOT EXISTS rho bigint NOT NULL DEFAULT 0;
ALTER TABLE dpql.audit ADD COLUMN IF NOT EXISTS rho bigint NOT NULL DEFAULT 0;

DO $do$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'budgets_rho_valid' AND conrelid = 'dpql.budgets'::regclass) THEN
    ALTER TABLE dpql.budgets ADD CONSTRAINT budgets_rho_valid
      CHECK (rho_total >= 0 AND rho_spent >= 0 AND rho_spent <= rho_total);
  END IF;
  IF NOT EXISTS (SELECT 1 FROM pg_constraint
                 WHERE conname = 'ledger_rho_nonnegative' AND conrelid = 'dpql.ledger'::regclass) THEN
    ALTER TABLE dpql.ledger ADD CONSTRAINT ledger_rho_nonnegative CHECK (rho >= 0);
  END IF;
  -- What all analysts together have spent per dataset, for the dataset-wide
  -- cap. Created with the ledger's totals so an upgraded database counts the
  -- spending from before the upgrade too.
  IF to_regclass('dpql.dataset_spend') IS NULL THEN
    CREATE TABLE dpql.dataset_spend (
      dataset       text PRIMARY KEY CHECK (dataset <> ''),
      epsilon_spent bigint NOT NULL DEFAULT 0 CHECK (epsilon_spent >= 0),
      delta_spent   bigint NOT NULL DEFAULT 0 CHECK (delta_spent >= 0),
      rho_spent     bigint NOT NULL DEFAULT 0 CHECK (rho_spent >= 0)
    );
    INSERT INTO dpql.dataset_spend (dataset, epsilon_spent, delta_spent, rho_spent)
      SELECT dataset, sum(epsilon), sum(delta), sum(rho) FROM dpql.ledger GROUP BY dataset;
  END IF;
END
$do$;

-- The ledger and the audit log are append-only: rows are never changed or removed.
CREATE OR REPLACE FUNCTION dpql.refuse_change() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  RAISE EXCEPTION 'dpql.% is append-only: % is not allowed', TG_TABLE_NAME, TG_OP
    USING ERRCODE = 'integrity_constraint_violation';
END
$fn$;

DO $do$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['ledger', 'audit'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = t || '_append_only' AND tgrelid = ('dpql.' || t)::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE UPDATE OR DELETE ON dpql.%I '
                     'FOR EACH ROW EXECUTE FUNCTION dpql.refuse_change()', t || '_append_only', t);
    END IF;
    IF NOT EXISTS (SELECT 1 FROM pg_trigger
                   WHERE tgname = t || '_no_truncate' AND tgrelid = ('dpql.' || t)::regclass) THEN
      EXECUTE format('CREATE TRIGGER %I BEFORE TRUNCATE ON dpql.%I '
                     'FOR EACH STATEMENT EXECUTE FUNCTION dpql.refuse_change()', t || '_no_truncate', t);
    END IF;
  END LOOP;
END
$do$;
)SQL";

// The answer cache (runtime/cache): each dataset's data version, and released
// answers keyed by (dataset, data version, SHA-256 of the canonical plan).
// Answers hold only released values (noisy figures, intervals, released keys),
// never exact aggregates. Rows of older data versions are kept but not served.
constexpr const char* kAnswerCacheSql = R"SQL(
CREATE TABLE IF NOT EXISTS dpql.data_versions (
  dataset    text PRIMARY KEY CHECK (dataset <> ''),
  version    bigint NOT NULL CHECK (version >= 1),
  changed_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS dpql.answer_cache (
  dataset      text NOT NULL,
  data_version bigint NOT NULL,
  plan_hash    bytea NOT NULL CHECK (length(plan_hash) = 32),
  answer       jsonb NOT NULL,
  ledger_id    bigint,  -- the dpql.ledger row that paid for it (no foreign key: the ledger stays untouchable)
  query_text   text NOT NULL DEFAULT '',
  created_at   timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (dataset, data_version, plan_hash)
);
)SQL";

// The debit: one statement, so under READ COMMITTED a concurrent debit of the
// same row waits for the row lock and re-evaluates the WHERE clause against
// the committed new version — two debits can never both pass a check that
// only one of them fits. Zero rows returned = refused; nothing was written.
//
// The dataset-wide spend is a second row in the same transaction: Debit()
// locks it first (kLockDatasetSql) and the analyst's row second, always in
// that order, so concurrent debits cannot deadlock.
constexpr const char* kDebitSql = R"SQL(
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
constexpr const char* kLockDatasetSql =
    "INSERT INTO dpql.dataset_spend (dataset) VALUES ($1) ON CONFLICT (dataset) DO NOTHING";
constexpr const char* kSelectDatasetSql =
    "SELECT epsilon_spent, delta_spent, rho_spent FROM dpql.dataset_spend WHERE dataset = $1 FOR UPDATE";
constexpr const char* kAddDatasetSql =
    "UPDATE dpql.dataset_spend SET epsilon_spent = epsilon_spent + $2, delta_spent = delta_spent + $3, "
    "rho_spent = rho_spent + $4 WHERE dataset = $1 RETURNING epsilon_spent, delta_spent, rho_spent";

constexpr const char* kBudgetColumns =
    "dataset, epsilon_total, epsilon_spent, delta_total, delta_spent, rho_total, rho_spent";
constexpr const char* kAnalystColumns =
    "id, name, is_admin, revoked_at IS NOT NULL, created_at::text";

[[noreturn]] void ThrowInvalidBudget(const std::string& message) {
  throw DpqlError(ErrorCode::kInvalidBudget, message);
}

// value * scale as an exact integer in [0, max]; `what` names the parameter.
int64_t ExactUnits(const Rational& value, int64_t scale, int64_t max, const char* what,
                   const char* unit_text, const char* max_text) {
  if (value < 0) ThrowInvalidBudget(std::string(what) + " must be >= 0");
  Rational scaled = value * scale;
  if (boost::multiprecision::denominator(scaled) != 1) {
    ThrowInvalidBudget(std::string(what) + " must be a multiple of " + unit_text);
  }
  if (scaled > max) ThrowInvalidBudget(std::string(what) + " must be at most " + max_text);
  return boost::multiprecision::numerator(scaled).convert_to<int64_t>();
}

int64_t RoundedUpUnits(const Rational& value, int64_t scale, int64_t max, const char* what) {
  if (value < 0) {
    throw DpqlError(ErrorCode::kInvalidCost, std::string("negative ") + what + " cost");
  }
  BigInt units = Ceil(value * scale);
  if (units > max) {
    throw DpqlError(ErrorCode::kInvalidCost,
                    std::string(what) + " cost " + ToDecimalString(value) + " is out of range");
  }
  return units.convert_to<int64_t>();
}

std::string HexEncode(const unsigned char* data, size_t size) {
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string out;
  out.reserve(size * 2);
  for (size_t i = 0; i < size; ++i) {
    out.push_back(kDigits[data[i] >> 4]);
    out.push_back(kDigits[data[i] & 0xf]);
  }
  return out;
}

std::array<unsigned char, 32> Sha256(std::string_view data) {
  std::array<unsigned char, 32> digest{};
  unsigned int size = 0;
  if (EVP_Digest(data.data(), data.size(), digest.data(), &size, EVP_sha256(), nullptr) != 1 ||
      size != digest.size()) {
    throw DpqlError(ErrorCode::kCryptoError, "SHA-256 failed (OpenSSL EVP_Digest)");
  }
  return digest;
}

std::string Base64Url(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;  // unpadded
}

Budget BudgetFromRow(const pqxx::row& row) {
  Budget budget;
  budget.dataset = row[0].as<std::string>();
  budget.total = {row[1].as<int64_t>(), row[3].as<int64_t>(), row[5].as<int64_t>()};
  budget.spent = {row[2].as<int64_t>(), row[4].as<int64_t>(), row[6].as<int64_t>()};
  return budget;
}

Analyst AnalystFromRow(const pqxx::row& row) {
  Analyst analyst;
  analyst.id = row[0].as<int64_t>();
  analyst.name = row[1].as<std::string>();
  analyst.is_admin = row[2].as<bool>();
  analyst.revoked = row[3].as<bool>();
  analyst.created_at = row[4].as<std::string>();
  return analyst;
}

void CheckName(const std::string& what, const std::string& value) {
  if (value.empty()) {
    throw DpqlError(ErrorCode::kInvalidName, what + " must not be empty");
  }
  if (value.size() > kMaxNameLength) {
    throw DpqlError(ErrorCode::kInvalidName,
                    what + " is too long (at most " + std::to_string(kMaxNameLength) + " bytes)");
  }
  for (unsigned char c : value) {
    if (c < 0x20 || c == 0x7f) {
      throw DpqlError(ErrorCode::kInvalidName,
                      what + " '" + value + "' contains a control character; use letters, digits, '_', '-' or '.'");
    }
  }
}

DpqlError DatabaseUnavailable(std::string detail) {
  detail = OnOneLine(std::move(detail));
  while (!detail.empty() && detail.back() == ' ') detail.pop_back();
  for (size_t at = detail.find("  "); at != std::string::npos; at = detail.find("  ", at)) detail.erase(at, 1);
  return DpqlError(ErrorCode::kDatabaseUnavailable,
                   "cannot reach the budget database: " + detail +
                       " (check --database, the config's `database` key, DPQL_DATABASE or the PG* environment)");
}

}  // namespace

// ---------------------------------------------------------------------------
// BudgetCost

BudgetCost BudgetCost::FromCost(const Rational& epsilon, const Rational& delta, const Rational& rho) {
  return {RoundedUpUnits(epsilon, kMicroPerEpsilon, kMaxEpsilonMicro, "epsilon"),
          RoundedUpUnits(delta, kPicoPerDelta, kMaxDeltaPico, "delta"),
          RoundedUpUnits(rho, kPicoPerRho, kMaxRhoPico, "rho")};
}

BudgetCost BudgetCost::FromGrant(const Rational& epsilon, const Rational& delta, const Rational& rho) {
  return {ExactUnits(epsilon, kMicroPerEpsilon, kMaxEpsilonMicro, "epsilon", "0.000001", "1000000"),
          ExactUnits(delta, kPicoPerDelta, kMaxDeltaPico, "delta", "0.000000000001", "1"),
          ExactUnits(rho, kPicoPerRho, kMaxRhoPico, "rho", "0.000000000001", "1000000")};
}

std::string BudgetCost::EpsilonString() const { return FormatFixedPoint(epsilon_micro, 6); }
std::string BudgetCost::DeltaString() const { return FormatFixedPoint(delta_pico, 12); }
std::string BudgetCost::RhoString() const { return FormatFixedPoint(rho_pico, 12); }

BudgetCost operator+(const BudgetCost& a, const BudgetCost& b) {
  return {a.epsilon_micro + b.epsilon_micro, a.delta_pico + b.delta_pico, a.rho_pico + b.rho_pico};
}

BudgetCost operator-(const BudgetCost& a, const BudgetCost& b) {
  return {a.epsilon_micro - b.epsilon_micro, a.delta_pico - b.delta_pico, a.rho_pico - b.rho_pico};
}

bool BudgetCap::Allows(const BudgetCost& spent, const BudgetCost& cost) const {
  // Costs and spends are bounded far below INT64_MAX / 2 (kMax*), so the sums cannot overflow.
  auto fits = [](const std::optional<int64_t>& cap, int64_t spent_units, int64_t cost_units) {
    return !cap || spent_units + cost_units <= *cap;
  };
  return fits(epsilon_micro, spent.epsilon_micro, cost.epsilon_micro) &&
         fits(delta_pico, spent.delta_pico, cost.delta_pico) && fits(rho_pico, spent.rho_pico, cost.rho_pico);
}

std::string FormatFixedPoint(int64_t units, int scale) {
  bool negative = units < 0;
  // Work in unsigned to keep INT64_MIN well-defined.
  uint64_t magnitude = negative ? uint64_t(0) - static_cast<uint64_t>(units) : static_cast<uint64_t>(units);
  std::string digits = std::to_string(magnitude);
  if (digits.size() <= static_cast<size_t>(scale)) {
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - scale);
  std::string fraction = digits.substr(digits.size() - scale);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = negative ? "-" : "";
  out += whole;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

// ---------------------------------------------------------------------------
// Tokens

std::string NewToken() {
  SecureRandom random;
  uint8_t bytes[kTokenBytes];
  random.Fill(bytes, sizeof bytes);
  std::string token = std::string(kTokenPrefix) + Base64Url(bytes, sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

std::string Sha256Hex(std::string_view data) {
  auto digest = Sha256(data);
  return HexEncode(digest.data(), digest.size());
}

// ---------------------------------------------------------------------------
// Ledger

struct Ledger::Impl {
  std::unique_ptr<pqxx::connection> owned;
  pqxx::connection_base* connection = nullptr;
  std::mutex mutex;  // one statement at a time on this connection

  // Runs `body(txn)` in a READ COMMITTED transaction and commits, translating
  // infrastructure failures into DpqlError. DpqlErrors from `body` pass through.
  template <typename Body>
  auto Run(Body&& body) {
    std::lock_guard<std::mutex> lock(mutex);
    try {
      pqxx::work txn(*connection);
      if constexpr (std::is_void_v<decltype(body(txn))>) {
        body(txn);
        txn.commit();
      } else {
        auto result = body(txn);
        txn.commit();
        return result;
      }
    } catch (const pqxx::broken_connection& e) {
      throw DatabaseUnavailable(e.what());
    } catch (const pqxx::in_doubt_error& e) {
      // The commit may or may not have happened. Nothing was released; a
      // debit that did commit stays spent (never refunded, never undercounted).
      throw DatabaseUnavailable(std::string("the connection was lost while committing: ") + e.what());
    } catch (const pqxx::sql_error& e) {
      if (SessionEnded(e.sqlstate())) throw DatabaseUnavailable("SQLSTATE " + e.sqlstate() + ": " + e.what());
      if (e.sqlstate() == "3F000" || e.sqlstate() == "42P01") {
        throw DpqlError(ErrorCode::kLedgerNotInitialised,
                        "the budget ledger is not initialised in this database; run `dpqld admin init`");
      }
      throw DpqlError(ErrorCode::kDatabaseError,
                      std::string("budget database error: ") + e.what());
    }
  }
};

Ledger::Ledger(const std::string& connection_string) : impl_(std::make_unique<Impl>()) {
  try {
    impl_->owned = std::make_unique<pqxx::connection>(connection_string);
  } catch (const pqxx::broken_connection& e) {
    throw DatabaseUnavailable(e.what());
  } catch (const std::exception& e) {  // e.g. a malformed connection string
    throw DatabaseUnavailable(e.what());
  }
  impl_->connection = impl_->owned.get();
}

Ledger::Ledger(pqxx::connection& connection) : impl_(std::make_unique<Impl>()) {
  impl_->connection = &connection;
}

Ledger::~Ledger() = default;

void Ledger::Init() {
  impl_->Run([](pqxx::work& txn) {
    txn.exec("SET LOCAL client_min_messages = warning");
    txn.exec_params("SELECT pg_advisory_xact_lock($1)", kInitLockKey);
    txn.exec(kInitSql);
    txn.exec(kAnswerCacheSql);
    pqxx::row newest = txn.exec1("SELECT coalesce(max(version), 0) FROM dpql.schema_version");
    int version = newest[0].as<int>();
    if (version > kSchemaVersion) {
      throw DpqlError(ErrorCode::kSchemaTooNew,
                      "the database's dpql schema is version " + std::to_string(version) +
                          " but this dpqld knows only up to version " + std::to_string(kSchemaVersion) +
                          "; upgrade dpqld");
    }
    txn.exec_params("INSERT INTO dpql.schema_version (version) VALUES ($1) ON CONFLICT DO NOTHING",
                    kSchemaVersion);
  });
}

std::string Ledger::AddAnalyst(const std::string& name, const std::string& dataset, const BudgetCost& grant,
                               bool is_admin) {
  CheckName("analyst name", name);
  CheckName("dataset name", dataset);
  std::string token = NewToken();
  std::string hash = Sha256Hex(token);
  impl_->Run([&](pqxx::work& txn) {
    // ON CONFLICT keeps a concurrent duplicate from surfacing as a raw SQL error.
    pqxx::result row = txn.exec_params(
        "INSERT INTO dpql.analysts (name, token_hash, is_admin) VALUES ($1, decode($2, 'hex'), $3) "
        "ON CONFLICT (name) DO NOTHING RETURNING id",
        name, hash, is_admin);
    if (row.empty()) {
      throw DpqlError(ErrorCode::kDuplicateAnalyst,
                      "an analyst named '" + name +
                          "' already exists; choose another name, or use `dpqld admin grant " + name +
                          " ...` to add budget");
    }
    txn.exec_params0(
        "INSERT INTO dpql.budgets (analyst_id, dataset, epsilon_total, delta_total, rho_total) "
        "VALUES ($1, $2, $3, $4, $5)",
        row[0][0].as<int64_t>(), dataset, grant.epsilon_micro, grant.delta_pico, grant.rho_pico);
  });
  return token;
}

Budget Ledger::Grant(const std::string& name, const std::string& dataset, const BudgetCost& grant) {
  CheckName("dataset name", dataset);
  if (grant.epsilon_micro < 0 || grant.delta_pico < 0 || grant.rho_pico < 0) {
    ThrowInvalidBudget("a grant must not be negative; budgets are never reduced");
  }
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result found = txn.exec_params(
        "SELECT id, revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1", name);
    if (found.empty()) {
      throw DpqlError(ErrorCode::kUnknownAnalyst,
                      "unknown analyst '" + name + "'; `dpqld admin list` shows the analysts");
    }
    if (found[0][1].as<bool>()) {
      throw DpqlError(ErrorCode::kAnalystRevoked,
                      "analyst '" + name + "' has been revoked; add a new analyst instead");
    }
    int64_t id = found[0][0].as<int64_t>();
    pqxx::row row = txn.exec_params1(
        std::string("INSERT INTO dpql.budgets AS b (analyst_id, dataset, epsilon_total, delta_total, rho_total) "
                    "VALUES ($1, $2, $3, $4, $5) "
                    "ON CONFLICT (analyst_id, dataset) DO UPDATE "
                    "SET epsilon_total = b.epsilon_total + EXCLUDED.epsilon_total, "
                    "    delta_total = b.delta_total + EXCLUDED.delta_total, "
                    "    rho_total = b.rho_total + EXCLUDED.rho_total "
                    "RETURNING ") +
            kBudgetColumns,
        id, dataset, grant.epsilon_micro, grant.delta_pico, grant.rho_pico);
    return BudgetFromRow(row);
  });
}

bool Ledger::Revoke(const std::string& name) {
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result found = txn.exec_params(
        "SELECT revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1 FOR UPDATE", name);
    if (found.empty()) {
      throw DpqlError(ErrorCode::kUnknownAnalyst,
                      "unknown analyst '" + name + "'; `dpqld admin list` shows the analysts");
    }
    if (found[0][0].as<bool>()) return false;
    txn.exec_params0("UPDATE dpql.analysts SET revoked_at = now() WHERE name = $1", name);
    return true;
  });
}

std::vector<AnalystBudgets> Ledger::List() {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<AnalystBudgets> out;
    pqxx::result analysts =
        txn.exec(std::string("SELECT ") + kAnalystColumns + " FROM dpql.analysts ORDER BY name");
    pqxx::result budgets = txn.exec(std::string("SELECT analyst_id, ") + kBudgetColumns +
                                    " FROM dpql.budgets ORDER BY analyst_id, dataset");
    for (const auto& row : analysts) out.push_back({AnalystFromRow(row), {}});
    for (const auto& row : budgets) {
      int64_t id = row[0].as<int64_t>();
      for (auto& entry : out) {
        if (entry.analyst.id != id) continue;
        Budget budget;
        budget.dataset = row[1].as<std::string>();
        budget.total = {row[2].as<int64_t>(), row[4].as<int64_t>(), row[6].as<int64_t>()};
        budget.spent = {row[3].as<int64_t>(), row[5].as<int64_t>(), row[7].as<int64_t>()};
        entry.budgets.push_back(budget);
      }
    }
    return out;
  });
}

std::optional<Analyst> Ledger::FindAnalyst(const std::string& name) {
  return impl_->Run([&](pqxx::work& txn) -> std::optional<Analyst> {
    pqxx::result found = txn.exec_params(
        std::string("SELECT ") + kAnalystColumns + " FROM dpql.analysts WHERE name = $1", name);
    if (found.empty()) return std::nullopt;
    return AnalystFromRow(found[0]);
  });
}

std::optional<Analyst> Ledger::Authenticate(std::string_view token) {
  if (token.empty() || token.size() > kMaxTokenLength) return std::nullopt;
  auto digest = Sha256(token);
  std::string hash = HexEncode(digest.data(), digest.size());
  return impl_->Run([&](pqxx::work& txn) -> std::optional<Analyst> {
    pqxx::result found = txn.exec_params(
        std::string("SELECT ") + kAnalystColumns +
            ", encode(token_hash, 'hex') FROM dpql.analysts WHERE token_hash = decode($1, 'hex') "
            "AND revoked_at IS NULL",
        hash);
    if (found.empty()) return std::nullopt;
    // The index lookup already matched; compare again in constant time so the
    // decision never depends on a data-dependent early exit.
    std::string stored = found[0][5].as<std::string>();
    if (stored.size() != hash.size() || CRYPTO_memcmp(stored.data(), hash.data(), hash.size()) != 0) {
      return std::nullopt;
    }
    return AnalystFromRow(found[0]);
  });
}

std::optional<Budget> Ledger::GetBudget(int64_t analyst_id, const std::string& dataset) {
  return impl_->Run([&](pqxx::work& txn) -> std::optional<Budget> {
    // Read on every cached answer, so prepared like the debit.
    static const std::string kSelectBudgetSql =
        std::string("SELECT ") + kBudgetColumns +
        " FROM dpql.budgets WHERE analyst_id = $1 AND dataset = $2";
    pqxx::result found = txn.exec_prepared(Prepared(txn, "dpql_budget", kSelectBudgetSql.c_str()),
                                           analyst_id, dataset);
    if (found.empty()) return std::nullopt;
    return BudgetFromRow(found[0]);
  });
}

std::vector<Budget> Ledger::GetBudgets(int64_t analyst_id) {
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<Budget> out;
    pqxx::result rows = txn.exec_params(
        std::string("SELECT ") + kBudgetColumns + " FROM dpql.budgets WHERE analyst_id = $1 ORDER BY dataset",
        analyst_id);
    for (const auto& row : rows) out.push_back(BudgetFromRow(row));
    return out;
  });
}

DebitResult Ledger::Debit(int64_t analyst_id, const std::string& dataset, const BudgetCost& cost,
                          std::string_view query_text, const BudgetCap& cap) {
  if (cost.epsilon_micro < 0 || cost.delta_pico < 0 || cost.rho_pico < 0 || cost.epsilon_micro > kMaxEpsilonMicro ||
      cost.delta_pico > kMaxDeltaPico || cost.rho_pico > kMaxRhoPico) {
    throw DpqlError(ErrorCode::kInvalidCost, "debit cost out of range");
  }
  std::string query(query_text);
  std::string query_hash = Sha256Hex(query_text);
  return impl_->Run([&](pqxx::work& txn) {
    DebitResult result;
    result.budget.dataset = dataset;
    // 1. The dataset's row first (fixed lock order: dataset, then analyst).
    txn.exec_prepared0(Prepared(txn, "dpql_lock_dataset", kLockDatasetSql), dataset);
    pqxx::row spent =
        txn.exec_prepared1(Prepared(txn, "dpql_dataset_spent", kSelectDatasetSql), dataset);
    result.dataset_spent = {spent[0].as<int64_t>(), spent[1].as<int64_t>(), spent[2].as<int64_t>()};
    // 2. The cap, checked under that lock: a refusal writes nothing.
    const bool cap_allows = cap.Allows(result.dataset_spent, cost);
    // 3. The analyst's own budget: one conditional UPDATE joined with the ledger insert.
    pqxx::result rows;
    if (cap_allows) {
      rows = txn.exec_prepared(Prepared(txn, "dpql_debit", kDebitSql), analyst_id, dataset,
                               cost.epsilon_micro, cost.delta_pico, cost.rho_pico, query_hash,
                               query);
    }
    if (!rows.empty()) {
      result.ok = true;
      result.has_budget = true;
      result.budget = BudgetFromRow(rows[0]);
      result.ledger_id = rows[0][7].as<int64_t>();
      // 4. The dataset's spend, still under its lock.
      pqxx::row after =
          txn.exec_prepared1(Prepared(txn, "dpql_add_dataset_spend", kAddDatasetSql), dataset,
                             cost.epsilon_micro, cost.delta_pico, cost.rho_pico);
      result.dataset_spent = {after[0].as<int64_t>(), after[1].as<int64_t>(), after[2].as<int64_t>()};
      return result;
    }
    // Refused: report the budget as it stands (nothing was written).
    result.cap_refused = !cap_allows;
    pqxx::result current = txn.exec_params(
        std::string("SELECT ") + kBudgetColumns +
            " FROM dpql.budgets b WHERE analyst_id = $1 AND dataset = $2"
            " AND EXISTS (SELECT 1 FROM dpql.analysts a WHERE a.id = $1 AND a.revoked_at IS NULL)",
        analyst_id, dataset);
    if (!current.empty()) {
      result.has_budget = true;
      result.budget = BudgetFromRow(current[0]);
    }
    return result;
  });
}

BudgetCost Ledger::DatasetSpent(const std::string& dataset) {
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result rows = txn.exec_params(
        "SELECT epsilon_spent, delta_spent, rho_spent FROM dpql.dataset_spend WHERE dataset = $1", dataset);
    if (rows.empty()) return BudgetCost{};
    return BudgetCost{rows[0][0].as<int64_t>(), rows[0][1].as<int64_t>(), rows[0][2].as<int64_t>()};
  });
}

constexpr const char* kAuditInsertSql =
    "INSERT INTO dpql.audit (analyst_id, analyst_name, source, dataset, query, epsilon, delta, "
    "outcome, status, detail, rho) "
    "VALUES ($1::bigint, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) RETURNING id";

int64_t Ledger::WriteAudit(const AuditRecord& record) {
  std::string analyst_id = record.analyst_id ? std::to_string(*record.analyst_id) : std::string();
  const char* analyst_param = record.analyst_id ? analyst_id.c_str() : nullptr;
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::row row = txn.exec_prepared1(
        Prepared(txn, "dpql_audit", kAuditInsertSql), analyst_param, record.analyst_name,
        record.source, record.dataset, record.query, record.cost.epsilon_micro,
        record.cost.delta_pico, record.outcome, record.status, record.detail, record.cost.rho_pico);
    return row[0].as<int64_t>();
  });
}

std::vector<AuditRecord> Ledger::Audit(const AuditFilter& filter) {
  const char* analyst = filter.analyst_name ? filter.analyst_name->c_str() : nullptr;
  const char* dataset = filter.dataset ? filter.dataset->c_str() : nullptr;
  int limit = filter.limit < 1 ? 1 : filter.limit;
  return impl_->Run([&](pqxx::work& txn) {
    std::vector<AuditRecord> out;
    pqxx::result rows = txn.exec_params(
        "SELECT id, at::text, analyst_id, analyst_name, source, dataset, query, epsilon, delta, outcome, "
        "status, detail, rho FROM dpql.audit "
        "WHERE ($1::text IS NULL OR analyst_name = $1) AND ($2::text IS NULL OR dataset = $2) "
        "ORDER BY at DESC, id DESC LIMIT $3",
        analyst, dataset, limit);
    for (const auto& row : rows) {
      AuditRecord record;
      record.id = row[0].as<int64_t>();
      record.at = row[1].as<std::string>();
      if (!row[2].is_null()) record.analyst_id = row[2].as<int64_t>();
      record.analyst_name = row[3].as<std::string>();
      record.source = row[4].as<std::string>();
      record.dataset = row[5].as<std::string>();
      record.query = row[6].as<std::string>();
      record.cost = {row[7].as<int64_t>(), row[8].as<int64_t>(), row[12].as<int64_t>()};
      record.outcome = row[9].as<std::string>();
      record.status = row[10].as<int>();
      record.detail = row[11].as<std::string>();
      out.push_back(std::move(record));
    }
    return out;
  });
}

}  // namespace dpql
