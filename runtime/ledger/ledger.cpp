#include "runtime/ledger/ledger.h"

#include <openssl/crypto.h>

#include <mutex>
#include <optional>
#include <pqxx/pqxx>
#include <stdexcept>
#include <utility>

#include "compiler/common/clock.h"
#include "compiler/common/error.h"
#include "runtime/ledger/dataset_spend.h"
#include "runtime/ledger/ledger_sql.h"
#include "runtime/ledger/schema.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/prepared.h"
#include "runtime/pg/transaction.h"

namespace dpql {
namespace {

constexpr size_t kMaxNameLength = 200;

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
      throw DpqlError(
          ErrorCode::kInvalidName,
          what + " '" + value + "' contains a control character; use letters, digits, '_', '-' or '.'");
    }
  }
}

DpqlError Unreachable(const std::string& text) {
  std::string detail = OnOneLine(text);
  while (!detail.empty() && detail.back() == ' ') detail.pop_back();
  for (size_t at = detail.find("  "); at != std::string::npos; at = detail.find("  ", at))
    detail.erase(at, 1);
  return DatabaseUnavailable(
      "cannot reach the budget database: " + detail +
      " (check --database, the config's `database` key, DPQL_DATABASE or the PG* environment)");
}

const TransactionErrors kLedgerErrors = {
    .unreachable = &Unreachable,
    // The commit may or may not have happened. Nothing was released; a debit
    // that did commit stays spent (never refunded, never undercounted).
    .in_doubt = "the connection was lost while committing: ",
    .not_initialised = "the budget ledger is not initialised in this database; run `dpqld admin init`",
    .database_error = "budget database error: ",
};

}  // namespace

// The store's connection and its transactions (runtime/pg/transaction.h).
struct Ledger::Impl : TransactionRunner {
  using TransactionRunner::TransactionRunner;
};

Ledger::Ledger(const std::string& connection_string)
    : impl_(std::make_unique<Impl>(connection_string, kLedgerErrors)) {}

Ledger::Ledger(pqxx::connection& connection) : impl_(std::make_unique<Impl>(connection, kLedgerErrors)) {}

Ledger::~Ledger() = default;

void Ledger::Init() {
  impl_->Run([](pqxx::work& txn) { CreateSchema(txn); });
}

std::string Ledger::AddAnalyst(const std::string& name, const std::string& dataset, const BudgetCost& grant,
                               bool is_admin) {
  CheckName("analyst name", name);
  CheckName("dataset name", dataset);
  std::string token = dpql::NewToken();
  std::string hash = Sha256Hex(token);
  const std::string verifier = scram::FormatVerifier(scram::NewVerifier(token));
  impl_->Run([&](pqxx::work& txn) {
    // ON CONFLICT keeps a concurrent duplicate from surfacing as a raw SQL error.
    pqxx::result row = txn.exec_params(
        "INSERT INTO dpql.analysts (name, token_hash, is_admin, scram_verifier) "
        "VALUES ($1, decode($2, 'hex'), $3, $4) ON CONFLICT (name) DO NOTHING RETURNING id",
        name, hash, is_admin, verifier);
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
    pqxx::result found =
        txn.exec_params("SELECT id, revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1", name);
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
        std::string(
            "INSERT INTO dpql.budgets AS b (analyst_id, dataset, epsilon_total, delta_total, rho_total) "
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

std::string Ledger::NewToken(const std::string& name) {
  std::string token = dpql::NewToken();
  const std::string hash = Sha256Hex(token);
  const std::string verifier = scram::FormatVerifier(scram::NewVerifier(token));
  impl_->Run([&](pqxx::work& txn) {
    pqxx::result found = txn.exec_params(
        "SELECT id, revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1 FOR UPDATE", name);
    if (found.empty()) {
      throw DpqlError(ErrorCode::kUnknownAnalyst,
                      "unknown analyst '" + name + "'; `dpqld admin list` shows the analysts");
    }
    if (found[0][1].as<bool>()) {
      throw DpqlError(ErrorCode::kAnalystRevoked,
                      "analyst '" + name + "' has been revoked; add a new analyst instead");
    }
    txn.exec_params0(
        "UPDATE dpql.analysts SET token_hash = decode($2, 'hex'), scram_verifier = $3 WHERE id = $1",
        found[0][0].as<int64_t>(), hash, verifier);
  });
  return token;
}

bool Ledger::Revoke(const std::string& name) {
  return impl_->Run([&](pqxx::work& txn) {
    pqxx::result found =
        txn.exec_params("SELECT revoked_at IS NOT NULL FROM dpql.analysts WHERE name = $1 FOR UPDATE", name);
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
  return AuthenticateHash(Sha256Hex(token));
}

std::optional<Analyst> Ledger::AuthenticateHash(std::string_view token_hash_hex) {
  if (token_hash_hex.size() != 64) return std::nullopt;
  const std::string hash(token_hash_hex);
  return impl_->Run([&](pqxx::work& txn) -> std::optional<Analyst> {
    pqxx::result found = txn.exec_params(kAuthenticateSql, hash);
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

std::optional<Login> Ledger::FindLogin(const std::string& name) {
  struct Row {
    Analyst analyst;
    std::optional<std::string> verifier;
    std::string token_hash;
  };
  // One statement in autocommit: one round trip per login.
  std::optional<Row> row = impl_->Autocommit([&](pqxx::transaction_base& txn) -> std::optional<Row> {
    pqxx::result found = txn.exec_params(
        std::string("SELECT ") + kAnalystColumns +
            ", scram_verifier, encode(token_hash, 'hex') FROM dpql.analysts WHERE name = $1",
        name);
    if (found.empty()) return std::nullopt;
    Row read{AnalystFromRow(found[0]), std::nullopt, found[0][6].as<std::string>()};
    if (!found[0][5].is_null()) read.verifier = found[0][5].as<std::string>();
    return read;
  });
  if (!row) return std::nullopt;
  Login login{std::move(row->analyst), std::nullopt, std::move(row->token_hash)};
  if (row->verifier) {
    try {
      login.verifier = scram::ParseVerifier(*row->verifier);
    } catch (const scram::ScramError& e) {
      throw DpqlError(ErrorCode::kDatabaseError, "analyst '" + name + "' has a " + e.what());
    }
  }
  return login;
}

std::optional<Budget> Ledger::GetBudget(int64_t analyst_id, const std::string& dataset) {
  return impl_->Autocommit([&](pqxx::transaction_base& txn) -> std::optional<Budget> {
    // Read on every query (who pays) and cached answer, so prepared like
    // the debit, and one round trip: no BEGIN and COMMIT around it.
    pqxx::result found =
        txn.exec_prepared(Prepared(txn, "dpql_budget", kSelectBudgetSql.c_str()), analyst_id, dataset);
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
  if (cost.epsilon_micro < 0 || cost.delta_pico < 0 || cost.rho_pico < 0 ||
      cost.epsilon_micro > kMaxEpsilonMicro || cost.delta_pico > kMaxDeltaPico ||
      cost.rho_pico > kMaxRhoPico) {
    throw DpqlError(ErrorCode::kInvalidCost, "debit cost out of range");
  }
  const std::string query(query_text);
  const std::string query_hash = Sha256Hex(query_text);
  // A NULL cap component is no cap (dpql.debit); a null pointer binds NULL.
  auto or_null = [](const std::optional<std::string>& text) { return text ? text->c_str() : nullptr; };
  auto cap_param = [](const std::optional<int64_t>& units) {
    return units ? std::optional<std::string>(std::to_string(*units)) : std::nullopt;
  };
  const std::optional<std::string> cap_epsilon = cap_param(cap.epsilon_micro);
  const std::optional<std::string> cap_delta = cap_param(cap.delta_pico);
  const std::optional<std::string> cap_rho = cap_param(cap.rho_pico);
  const std::optional<std::string> period_start =
      cap.period == BudgetPeriod::kNone ? std::nullopt : std::optional<std::string>(FormatTimestamp(cap.period_start));
  // dpql.debit (ledger_sql.h) takes Debit's steps in one statement, so the
  // debit is one round trip and commits on its own, as durably as in a
  // transaction.
  return impl_->Autocommit([&](pqxx::transaction_base& txn) {
    const pqxx::row row = txn.exec_prepared1(
        Prepared(txn, "dpql_debit_call", kCallDebitSql), analyst_id, dataset, cost.epsilon_micro,
        cost.delta_pico, cost.rho_pico, query_hash, query, or_null(cap_epsilon), or_null(cap_delta),
        or_null(cap_rho), or_null(period_start));
    DebitResult result;
    result.budget.dataset = dataset;
    const std::string outcome = row[0].as<std::string>();
    if (outcome != "no_budget") {
      result.budget.dataset = row[1].as<std::string>();
      result.budget.total = {row[2].as<int64_t>(), row[4].as<int64_t>(), row[6].as<int64_t>()};
      result.budget.spent = {row[3].as<int64_t>(), row[5].as<int64_t>(), row[7].as<int64_t>()};
    }
    result.dataset_spent = {row[9].as<int64_t>(), row[10].as<int64_t>(), row[11].as<int64_t>()};
    if (outcome == "debited") {
      result.outcome = DebitResult::Outcome::kDebited;
      result.ledger_id = row[8].as<int64_t>();
    } else if (outcome == "insufficient") {
      result.outcome = DebitResult::Outcome::kInsufficient;
    } else if (outcome == "cap_refused") {
      result.outcome = DebitResult::Outcome::kCapRefused;
    } else if (outcome == "no_budget") {
      result.outcome = DebitResult::Outcome::kNoBudget;
    } else {
      throw DpqlError(ErrorCode::kInternal, "dpql.debit returned an unknown outcome: " + outcome);
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

int64_t Ledger::WriteAudit(const AuditRecord& record) {
  std::string analyst_id = record.analyst_id ? std::to_string(*record.analyst_id) : std::string();
  const char* analyst_param = record.analyst_id ? analyst_id.c_str() : nullptr;
  // One statement, committed durably on its own: one round trip.
  return impl_->Autocommit([&](pqxx::transaction_base& txn) {
    pqxx::row row = txn.exec_prepared1(Prepared(txn, "dpql_audit", kAuditInsertSql.c_str()), analyst_param,
                                       record.analyst_name, record.source, record.dataset, record.query,
                                       record.cost.epsilon_micro, record.cost.delta_pico, record.outcome,
                                       record.status, record.detail, record.cost.rho_pico);
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
        "AND ($4::bigint IS NULL OR analyst_id = $4) "
        "ORDER BY at DESC, id DESC LIMIT $3",
        analyst, dataset, limit, filter.analyst_id);
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
