// The budget ledger against a real PostgreSQL: schema, tokens, atomic debits,
// rounding, append-only ledger, and concurrent debits that must never overspend.

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include <atomic>
#include <latch>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "compiler/common/error.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/schema.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

class LedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = std::make_unique<Ledger>(db_.url());
    ledger_->Init();
  }

  BudgetCost Grant(const std::string& epsilon, const std::string& delta) {
    return BudgetCost::FromGrant(*ParseDecimal(epsilon), *ParseDecimal(delta));
  }

  int64_t Count(const std::string& table) {
    return std::stoll(db_.QueryValue("SELECT count(*) FROM " + table));
  }

  TestDatabase db_;
  std::unique_ptr<Ledger> ledger_;
};

TEST_F(LedgerTest, InitIsIdempotentAndKeepsData) {
  std::string token = ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  ledger_->Init();
  Ledger other(db_.url());
  other.Init();
  EXPECT_EQ(db_.QueryValue("SELECT string_agg(version::text, ',') FROM dpql.schema_version"),
            std::to_string(kSchemaVersion));
  EXPECT_EQ(Count("dpql.analysts"), 1);
  EXPECT_TRUE(other.Authenticate(token).has_value());
}

TEST_F(LedgerTest, OperationsBeforeInitSayToRunInit) {
  TestDatabase empty;
  Ledger ledger(empty.url());
  try {
    ledger.List();
    FAIL() << "List() on an uninitialised database should fail";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "ledger_not_initialised");
    EXPECT_NE(e.message().find("dpqld admin init"), std::string::npos) << e.message();
  }
}

// A database whose schema predates dpql.debit (version 3): a debit says to
// run init, charges nothing, and init brings the function back.
TEST_F(LedgerTest, DebitOnASchemaWithoutTheDebitFunctionSaysToRunInit) {
  ledger_->AddAnalyst("carol", "hospital", Grant("1", "0"), false);
  const int64_t id = ledger_->FindAnalyst("carol")->id;
  db_.Exec("DROP FUNCTION dpql.debit");
  const BudgetCost cost = BudgetCost::FromCost(Rational(1, 10), Rational(0));
  try {
    (void)ledger_->Debit(id, "hospital", cost, "q");
    FAIL() << "a debit without dpql.debit should fail";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "ledger_not_initialised");
    EXPECT_NE(e.message().find("dpqld admin init"), std::string::npos) << e.message();
  }
  EXPECT_EQ(Count("dpql.ledger"), 0);
  ledger_->Init();
  EXPECT_TRUE(ledger_->Debit(id, "hospital", cost, "q").ok());
  EXPECT_EQ(ledger_->GetBudget(id, "hospital")->spent, (BudgetCost{100'000, 0}));
}

TEST_F(LedgerTest, TokenAuthenticatesAndOnlyItsHashIsStored) {
  std::string token = ledger_->AddAnalyst("alice", "hospital", Grant("1", "0.000001"), true);
  ASSERT_EQ(token.rfind("dpql_", 0), 0u) << token;
  EXPECT_EQ(token.size(), 5u + 43u);  // 256 bits in unpadded base64url

  auto analyst = ledger_->Authenticate(token);
  ASSERT_TRUE(analyst.has_value());
  EXPECT_EQ(analyst->name, "alice");
  EXPECT_TRUE(analyst->is_admin);
  EXPECT_FALSE(analyst->revoked);

  EXPECT_FALSE(ledger_->Authenticate(token + "x").has_value());
  std::string altered = token;
  altered.back() = altered.back() == 'A' ? 'B' : 'A';
  EXPECT_FALSE(ledger_->Authenticate(altered).has_value());
  EXPECT_FALSE(ledger_->Authenticate("").has_value());
  EXPECT_FALSE(ledger_->Authenticate(NewToken()).has_value());

  // The stored value is SHA-256(token), and the token appears nowhere in the row.
  EXPECT_EQ(db_.QueryValue("SELECT encode(token_hash, 'hex') FROM dpql.analysts WHERE name = 'alice'"),
            Sha256Hex(token));
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.analysts a WHERE strpos(a::text, '" + token + "') > 0"),
            "0");

  // Two analysts never share a token.
  std::string second = ledger_->AddAnalyst("bob", "hospital", Grant("1", "0"), false);
  EXPECT_NE(second, token);
  EXPECT_EQ(ledger_->Authenticate(second)->name, "bob");
}

TEST_F(LedgerTest, DuplicateNameIsRefused) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  try {
    ledger_->AddAnalyst("alice", "other", Grant("2", "0"), false);
    FAIL() << "a second analyst named alice should be refused";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "duplicate_analyst");
  }
  EXPECT_EQ(Count("dpql.analysts"), 1);
  EXPECT_EQ(Count("dpql.budgets"), 1);
}

TEST_F(LedgerTest, DebitWithinBudgetIsRecorded) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0.000001"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  BudgetCost cost = BudgetCost::FromCost(Rational(1, 4), Rational(1, 10'000'000));

  DebitResult result = ledger_->Debit(id, "hospital", cost, "SELECT COUNT(*) FROM admissions");
  ASSERT_TRUE(result.ok());
  EXPECT_TRUE(result.has_budget());
  EXPECT_EQ(result.budget.spent, (BudgetCost{250'000, 100'000}));
  EXPECT_EQ(result.budget.Remaining(), (BudgetCost{750'000, 900'000}));
  EXPECT_GT(result.ledger_id, 0);

  auto stored = ledger_->GetBudget(id, "hospital");
  ASSERT_TRUE(stored.has_value());
  EXPECT_EQ(stored->spent, result.budget.spent);
  EXPECT_EQ(db_.QueryValue("SELECT epsilon || '/' || delta || '/' || query_text FROM dpql.ledger"),
            "250000/100000/SELECT COUNT(*) FROM admissions");
  EXPECT_EQ(db_.QueryValue("SELECT encode(query_hash, 'hex') FROM dpql.ledger"),
            Sha256Hex("SELECT COUNT(*) FROM admissions"));
}

// Every query runs the debit (and a cached one the budget read, every request
// the audit row) on a pooled connection: they are prepared once per
// connection, not parsed and planned again each time (runtime/executor/
// prepared.h). Prepared statements outlive a rebuilt schema: PostgreSQL
// plans them again against the new tables.
TEST_F(LedgerTest, PerRequestStatementsArePreparedOncePerConnection) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  pqxx::connection connection(db_.url());
  Ledger ledger(connection);
  const BudgetCost cost = BudgetCost::FromCost(Rational(1, 10), Rational(0));
  for (int i = 0; i < 3; ++i) ASSERT_TRUE(ledger.Debit(id, "hospital", cost, "q").ok());
  ASSERT_TRUE(ledger.GetBudget(id, "hospital").has_value());
  AuditRecord record;
  record.source = "test";
  record.outcome = "ok";
  ledger.WriteAudit(record);
  ledger.WriteAudit(record);

  {
    pqxx::nontransaction txn(connection);
    EXPECT_EQ(txn.exec1("SELECT string_agg(name, ' ' ORDER BY name) FROM pg_prepared_statements")[0]
                  .as<std::string>(),
              "dpql_audit dpql_budget dpql_debit_call");
  }
  EXPECT_EQ(ledger.GetBudget(id, "hospital")->spent, (BudgetCost{300'000, 0}));

  db_.Exec("DROP SCHEMA dpql CASCADE");
  ledger_->Init();
  ledger_->AddAnalyst("bob", "hospital", Grant("1", "0"), false);
  int64_t bob = ledger_->FindAnalyst("bob")->id;
  DebitResult after = ledger.Debit(bob, "hospital", cost, "q");
  ASSERT_TRUE(after.ok());
  EXPECT_EQ(after.budget.spent, (BudgetCost{100'000, 0}));
  EXPECT_EQ(Count("dpql.ledger"), 1);
  EXPECT_EQ(ledger.DatasetSpent("hospital"), (BudgetCost{100'000, 0}));
}

TEST_F(LedgerTest, RefusedDebitChangesNothing) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0.000001"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", {600'000, 0}, "q1").ok());

  // Too much epsilon.
  DebitResult refused = ledger_->Debit(id, "hospital", {400'001, 0}, "q2");
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(refused.has_budget());
  EXPECT_EQ(refused.budget.spent, (BudgetCost{600'000, 0}));
  // Too much delta (epsilon would fit).
  EXPECT_FALSE(ledger_->Debit(id, "hospital", {1, 1'000'001}, "q3").ok());
  // No budget on that dataset.
  DebitResult no_budget = ledger_->Debit(id, "elsewhere", {1, 0}, "q4");
  EXPECT_FALSE(no_budget.ok());
  EXPECT_FALSE(no_budget.has_budget());

  EXPECT_EQ(ledger_->GetBudget(id, "hospital")->spent, (BudgetCost{600'000, 0}));
  EXPECT_EQ(Count("dpql.ledger"), 1);
  EXPECT_EQ(db_.QueryValue("SELECT query_text FROM dpql.ledger"), "q1");

  // Exactly the remainder still fits.
  DebitResult last = ledger_->Debit(id, "hospital", {400'000, 1'000'000}, "q5");
  EXPECT_TRUE(last.ok());
  EXPECT_EQ(last.budget.Remaining(), (BudgetCost{0, 0}));
}

TEST_F(LedgerTest, RevokedAnalystCannotAuthenticateOrSpend) {
  std::string token = ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", {1, 0}, "before").ok());
  EXPECT_TRUE(ledger_->Revoke("alice"));
  EXPECT_FALSE(ledger_->Revoke("alice"));  // already revoked
  EXPECT_FALSE(ledger_->Authenticate(token).has_value());
  EXPECT_FALSE(ledger_->Debit(id, "hospital", {1, 0}, "after").ok());
  // Budgets and ledger stay.
  EXPECT_EQ(ledger_->GetBudget(id, "hospital")->spent.epsilon_micro, 1);
  EXPECT_EQ(Count("dpql.ledger"), 1);
  EXPECT_THROW(ledger_->Revoke("nobody"), DpqlError);
}

TEST_F(LedgerTest, GrantAddsToTheTotalAndCreatesMissingRows) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1.5", "0"), false);
  Budget after = ledger_->Grant("alice", "hospital", Grant("0.5", "0.000001"));
  EXPECT_EQ(after.total, (BudgetCost{2'000'000, 1'000'000}));
  Budget other = ledger_->Grant("alice", "trials", Grant("0.25", "0"));
  EXPECT_EQ(other.total, (BudgetCost{250'000, 0}));
  EXPECT_EQ(ledger_->GetBudgets(ledger_->FindAnalyst("alice")->id).size(), 2u);
  try {
    ledger_->Grant("nobody", "hospital", Grant("1", "0"));
    FAIL() << "granting to an unknown analyst should fail";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "unknown_analyst");
    EXPECT_NE(e.message().find("'nobody'"), std::string::npos);
  }
}

TEST_F(LedgerTest, CostsRoundUpAndGrantsMustBeExact) {
  // Costs round up to the next unit; exact multiples are not inflated.
  EXPECT_EQ(BudgetCost::FromCost(Rational(1, 3), 0).epsilon_micro, 333'334);
  EXPECT_EQ(BudgetCost::FromCost(Rational(1, 2), 0).epsilon_micro, 500'000);
  EXPECT_EQ(BudgetCost::FromCost(Rational(1, 10'000'000), 0).epsilon_micro, 1);
  EXPECT_EQ(BudgetCost::FromCost(0, Rational(1, 3'000'000)).delta_pico, 333'334);
  EXPECT_EQ(BudgetCost::FromCost(0, Rational(1, 10'000'000'000'000)).delta_pico, 1);
  EXPECT_THROW(BudgetCost::FromCost(-1, 0), DpqlError);

  // A rounded-up cost is what the ledger records.
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", BudgetCost::FromCost(Rational(1, 3), 0), "third").ok());
  EXPECT_EQ(db_.QueryValue("SELECT epsilon FROM dpql.ledger"), "333334");

  // Grants are exact or refused with the unit in the message.
  EXPECT_EQ(Grant("1.5", "1e-6"), (BudgetCost{1'500'000, 1'000'000}));
  try {
    Grant("0.0000001", "0");
    FAIL() << "epsilon 0.0000001 is not a whole number of micro-epsilon";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.message(), "epsilon must be a multiple of 0.000001");
  }
  try {
    Grant("1", "1e-13");
    FAIL() << "delta 1e-13 is not a whole number of pico-delta";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.message(), "delta must be a multiple of 0.000000000001");
  }
  EXPECT_THROW(Grant("-1", "0"), DpqlError);

  EXPECT_EQ((BudgetCost{1'500'000, 1'000'000}).EpsilonString(), "1.5");
  EXPECT_EQ((BudgetCost{1'500'000, 1'000'000}).DeltaString(), "0.000001");
  EXPECT_EQ((BudgetCost{1, 0}).EpsilonString(), "0.000001");
  EXPECT_EQ((BudgetCost{0, 0}).EpsilonString(), "0");
  EXPECT_EQ((BudgetCost{3'000'000, 0}).EpsilonString(), "3");
}

TEST_F(LedgerTest, LedgerAndAuditAreAppendOnly) {
  ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  int64_t id = ledger_->FindAnalyst("alice")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", {100, 0}, "q").ok());
  AuditRecord record;
  record.source = "test";
  record.outcome = "ok";
  ledger_->WriteAudit(record);

  for (const std::string table : {"dpql.ledger", "dpql.audit"}) {
    for (const std::string& sql :
         {"UPDATE " + table + " SET id = id", "DELETE FROM " + table, "TRUNCATE " + table}) {
      try {
        db_.Exec(sql);
        ADD_FAILURE() << sql << " should be refused";
      } catch (const std::exception& e) {
        EXPECT_NE(std::string(e.what()).find("append-only"), std::string::npos) << sql << ": " << e.what();
      }
    }
  }
  EXPECT_EQ(db_.QueryValue("SELECT epsilon FROM dpql.ledger"), "100");
  EXPECT_EQ(Count("dpql.audit"), 1);
}

TEST_F(LedgerTest, AuditRecordsAreWrittenAndFiltered) {
  std::string token = ledger_->AddAnalyst("alice", "hospital", Grant("1", "0"), false);
  auto alice = ledger_->Authenticate(token);
  AuditRecord record;
  record.analyst_id = alice->id;
  record.analyst_name = "alice";
  record.source = "POST /v1/query";
  record.dataset = "hospital";
  record.query = "SELECT COUNT(*) FROM admissions";
  record.cost = {500'000, 0};
  record.outcome = "ok";
  record.status = 200;
  ledger_->WriteAudit(record);
  AuditRecord anonymous;
  anonymous.source = "POST /v1/query";
  anonymous.outcome = "unauthorized";
  anonymous.status = 401;
  anonymous.detail = "missing bearer token";
  ledger_->WriteAudit(anonymous);

  auto all = ledger_->Audit({});
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(all[0].outcome, "unauthorized");  // newest first
  EXPECT_FALSE(all[0].analyst_id.has_value());
  EXPECT_EQ(all[1].analyst_id, alice->id);
  EXPECT_EQ(all[1].cost, (BudgetCost{500'000, 0}));
  EXPECT_EQ(all[1].query, record.query);
  EXPECT_EQ(all[1].status, 200);

  AuditFilter by_alice;
  by_alice.analyst_name = "alice";
  ASSERT_EQ(ledger_->Audit(by_alice).size(), 1u);
  AuditFilter limited;
  limited.limit = 1;
  EXPECT_EQ(ledger_->Audit(limited).size(), 1u);
}

// Many connections debit one budget at once. The budget B is not a multiple
// of the cost c, so exactly floor(B / c) debits may succeed; a non-atomic
// check-then-write would let more through (or trip the CHECK constraint,
// which would surface here as an error).
TEST_F(LedgerTest, ConcurrentDebitsNeverOverspend) {
  constexpr int kThreads = 16;
  constexpr int kAttemptsPerThread = 10;
  const BudgetCost budget{10'000'000, 1'000'000};      // 10 epsilon, 1e-6 delta
  const BudgetCost cost{300'000, 10'000};              // 0.3 epsilon, 1e-8 delta
  constexpr int64_t kExpected = 10'000'000 / 300'000;  // 33 (and 33 * 1e-8 < 1e-6)
  static_assert(10'000'000 % 300'000 != 0);

  ledger_->AddAnalyst("racer", "hospital", budget, false);
  int64_t id = ledger_->FindAnalyst("racer")->id;

  std::atomic<int64_t> successes{0};
  std::atomic<int64_t> refusals{0};
  std::atomic<int64_t> errors{0};
  std::atomic<int64_t> bad_results{0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Ledger own(db_.url());  // one connection per thread
        start.arrive_and_wait();
        for (int i = 0; i < kAttemptsPerThread; ++i) {
          DebitResult result =
              own.Debit(id, "hospital", cost, "race " + std::to_string(t) + "/" + std::to_string(i));
          if (result.ok()) {
            ++successes;
            if (result.budget.spent.epsilon_micro > result.budget.total.epsilon_micro) ++bad_results;
          } else {
            ++refusals;
          }
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(bad_results.load(), 0);
  EXPECT_EQ(successes.load(), kExpected);
  EXPECT_EQ(refusals.load(), kThreads * kAttemptsPerThread - kExpected);

  Budget final_budget = *ledger_->GetBudget(id, "hospital");
  EXPECT_EQ(final_budget.spent.epsilon_micro, kExpected * cost.epsilon_micro);
  EXPECT_EQ(final_budget.spent.delta_pico, kExpected * cost.delta_pico);
  EXPECT_EQ(db_.QueryValue("SELECT sum(epsilon) FROM dpql.ledger WHERE analyst_id = " + std::to_string(id)),
            std::to_string(final_budget.spent.epsilon_micro));
  EXPECT_EQ(db_.QueryValue("SELECT sum(delta) FROM dpql.ledger WHERE analyst_id = " + std::to_string(id)),
            std::to_string(final_budget.spent.delta_pico));
  EXPECT_EQ(Count("dpql.ledger"), kExpected);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.budgets WHERE epsilon_spent > epsilon_total "
                           "OR delta_spent > delta_total"),
            "0");
}

// zCDP budgets: rho is granted, debited and stored exactly in pico-rho; a
// debit must fit every component of the (epsilon, delta, rho) budget.
TEST_F(LedgerTest, RhoDebitsAreExact) {
  const BudgetCost grant = BudgetCost::FromGrant(0, 0, *ParseDecimal("0.01"));
  EXPECT_EQ(grant.rho_pico, 10'000'000'000);
  ledger_->AddAnalyst("zed", "hospital", grant, false);
  int64_t id = ledger_->FindAnalyst("zed")->id;

  // A Gaussian query's rho, e.g. 1/300, rounds UP to the next pico-rho.
  const BudgetCost cost = BudgetCost::FromCost(0, 0, Rational(1, 300));
  EXPECT_EQ(cost.rho_pico, 3'333'333'334);
  EXPECT_TRUE(ledger_->Debit(id, "hospital", cost, "q1").ok());
  EXPECT_TRUE(ledger_->Debit(id, "hospital", cost, "q2").ok());
  DebitResult third = ledger_->Debit(id, "hospital", cost, "q3");  // 3 * 3333333334 > 10^10
  EXPECT_FALSE(third.ok());
  EXPECT_TRUE(third.has_budget());
  EXPECT_FALSE(third.cap_refused());
  EXPECT_EQ(third.budget.spent.rho_pico, 2 * cost.rho_pico);

  Budget budget = *ledger_->GetBudget(id, "hospital");
  EXPECT_EQ(budget.total.rho_pico, 10'000'000'000);
  EXPECT_EQ(budget.spent.rho_pico, 6'666'666'668);
  EXPECT_EQ(budget.Remaining().RhoString(), "0.003333333332");
  EXPECT_EQ(db_.QueryValue("SELECT sum(rho) FROM dpql.ledger WHERE analyst_id = " + std::to_string(id)),
            "6666666668");
  // An epsilon cost does not fit a rho-only budget: the components are separate.
  EXPECT_FALSE(ledger_->Debit(id, "hospital", BudgetCost{1, 0, 0}, "eps").ok());
  EXPECT_EQ(ledger_->DatasetSpent("hospital").rho_pico, 6'666'666'668);

  // Grants add rho too.
  Budget after = ledger_->Grant("zed", "hospital", BudgetCost::FromGrant(0, 0, *ParseDecimal("0.5")));
  EXPECT_EQ(after.total.rho_pico, 510'000'000'000);
  EXPECT_THROW(BudgetCost::FromGrant(0, 0, *ParseDecimal("1e-13")), DpqlError);  // not a multiple of 1e-12
}

// `dpqld admin init` upgrades a version-1 schema in place, and again is a no-op.
TEST_F(LedgerTest, InitUpgradesAVersionOneSchema) {
  ledger_->AddAnalyst("old", "hospital", Grant("5", "0"), false);
  int64_t id = ledger_->FindAnalyst("old")->id;
  ASSERT_TRUE(ledger_->Debit(id, "hospital", BudgetCost{250'000, 0, 0}, "before").ok());
  // Turn the database back into a version-1 schema holding that history.
  db_.Exec(
      "ALTER TABLE dpql.budgets DROP CONSTRAINT budgets_rho_valid;"
      "ALTER TABLE dpql.budgets DROP COLUMN rho_total, DROP COLUMN rho_spent;"
      "ALTER TABLE dpql.ledger DROP CONSTRAINT ledger_rho_nonnegative;"
      "ALTER TABLE dpql.ledger DROP COLUMN rho;"
      "ALTER TABLE dpql.audit DROP COLUMN rho;"
      "DROP TABLE dpql.dataset_spend;"
      "DELETE FROM dpql.schema_version WHERE version >= 2;");
  ledger_->Init();
  ledger_->Init();
  EXPECT_EQ(db_.QueryValue("SELECT max(version) FROM dpql.schema_version"), std::to_string(kSchemaVersion));
  // Version 3's periodic-cap columns are added to the recreated dataset_spend.
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dpql' "
                           "AND table_name = 'dataset_spend' AND column_name LIKE 'period\\_%'"),
            "4");
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM information_schema.columns WHERE table_schema = 'dpql' "
                           "AND table_name IN ('budgets', 'ledger', 'audit') "
                           "AND column_name IN ('rho_total', 'rho_spent', 'rho')"),
            "4");  // budgets.rho_total, budgets.rho_spent, ledger.rho, audit.rho
  // The dataset's spend starts from the ledger's history, not from zero.
  EXPECT_EQ(ledger_->DatasetSpent("hospital").epsilon_micro, 250'000);
  Budget budget = *ledger_->GetBudget(id, "hospital");
  EXPECT_EQ(budget.spent.epsilon_micro, 250'000);
  EXPECT_EQ(budget.total.rho_pico, 0);
  EXPECT_TRUE(ledger_->Debit(id, "hospital", BudgetCost{250'000, 0, 0}, "after").ok());
  EXPECT_EQ(ledger_->DatasetSpent("hospital").epsilon_micro, 500'000);
  // The upgraded rows keep their constraints.
  EXPECT_THROW(db_.Exec("UPDATE dpql.budgets SET rho_spent = 1 WHERE rho_total = 0"), std::exception);
}

// A refusal by the dataset cap costs nothing, leaves the analyst's budget
// alone, and says so; debits within it count for every analyst.
TEST_F(LedgerTest, DatasetCapRefusesAndCostsNothing) {
  ledger_->AddAnalyst("a1", "hospital", Grant("10", "0"), false);
  ledger_->AddAnalyst("a2", "hospital", Grant("10", "0"), false);
  int64_t a1 = ledger_->FindAnalyst("a1")->id, a2 = ledger_->FindAnalyst("a2")->id;
  BudgetCap cap;
  cap.epsilon_micro = 1'000'000;  // 1 epsilon over all analysts
  const BudgetCost cost{400'000, 0, 0};
  EXPECT_TRUE(ledger_->Debit(a1, "hospital", cost, "a1 q1", cap).ok());
  EXPECT_TRUE(ledger_->Debit(a2, "hospital", cost, "a2 q1", cap).ok());
  DebitResult refused = ledger_->Debit(a1, "hospital", cost, "a1 q2", cap);
  EXPECT_FALSE(refused.ok());
  EXPECT_TRUE(refused.cap_refused());
  EXPECT_TRUE(refused.has_budget());
  EXPECT_EQ(refused.budget.spent.epsilon_micro, 400'000);  // a1's own budget untouched
  EXPECT_EQ(refused.dataset_spent.epsilon_micro, 800'000);
  EXPECT_EQ(Count("dpql.ledger"), 2);
  // A smaller query still fits under the cap.
  DebitResult small = ledger_->Debit(a1, "hospital", BudgetCost{200'000, 0, 0}, "a1 q3", cap);
  EXPECT_TRUE(small.ok());
  EXPECT_EQ(small.dataset_spent.epsilon_micro, 1'000'000);
  // Other datasets are not affected by hospital's cap.
  ledger_->Grant("a1", "other", Grant("1", "0"));
  EXPECT_TRUE(ledger_->Debit(a1, "other", cost, "other", cap).ok());
  // The analyst's own budget still refuses as before, without the cap flag.
  DebitResult own = ledger_->Debit(a2, "hospital", BudgetCost{9'700'000, 0, 0}, "a2 big");
  EXPECT_FALSE(own.ok());
  EXPECT_FALSE(own.cap_refused());
}

// Many threads, two analysts, one dataset cap: exactly floor(cap / cost)
// debits succeed over both analysts together, each analyst stays within its
// own budget, and the ledger, the budgets and the dataset's spend agree.
TEST_F(LedgerTest, ConcurrentDebitsNeverExceedTheDatasetCap) {
  constexpr int kThreads = 16;
  constexpr int kAttemptsPerThread = 10;
  const BudgetCost budget{30'000'000, 0, 0};  // 30 epsilon each: the cap binds first
  const BudgetCost cost{300'000, 0, 0};       // 0.3 epsilon
  BudgetCap cap;
  cap.epsilon_micro = 10'000'000;                      // 10 epsilon over both
  constexpr int64_t kExpected = 10'000'000 / 300'000;  // 33
  static_assert(10'000'000 % 300'000 != 0);

  ledger_->AddAnalyst("left", "hospital", budget, false);
  ledger_->AddAnalyst("right", "hospital", budget, false);
  const int64_t ids[2] = {ledger_->FindAnalyst("left")->id, ledger_->FindAnalyst("right")->id};

  std::atomic<int64_t> successes{0}, cap_refusals{0}, other_refusals{0}, errors{0};
  std::atomic<int64_t> per_analyst[2] = {0, 0};
  std::latch start(kThreads);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        Ledger own(db_.url());
        start.arrive_and_wait();
        for (int i = 0; i < kAttemptsPerThread; ++i) {
          const int who = (t + i) % 2;  // both analysts from every thread
          DebitResult result = own.Debit(ids[who], "hospital", cost,
                                         "race " + std::to_string(t) + "/" + std::to_string(i), cap);
          if (result.ok()) {
            ++successes;
            ++per_analyst[who];
          } else if (result.cap_refused()) {
            ++cap_refusals;
          } else {
            ++other_refusals;
          }
        }
      } catch (const std::exception& e) {
        ++errors;
        ADD_FAILURE() << "thread " << t << ": " << e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();

  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(successes.load(), kExpected);
  EXPECT_EQ(cap_refusals.load(), kThreads * kAttemptsPerThread - kExpected);
  EXPECT_EQ(other_refusals.load(), 0);
  EXPECT_GT(per_analyst[0].load(), 0);
  EXPECT_GT(per_analyst[1].load(), 0);
  EXPECT_EQ(ledger_->DatasetSpent("hospital").epsilon_micro, kExpected * cost.epsilon_micro);
  for (int who = 0; who < 2; ++who) {
    EXPECT_EQ(ledger_->GetBudget(ids[who], "hospital")->spent.epsilon_micro,
              per_analyst[who].load() * cost.epsilon_micro);
  }
  EXPECT_EQ(db_.QueryValue("SELECT sum(epsilon) FROM dpql.ledger"),
            std::to_string(kExpected * cost.epsilon_micro));
  EXPECT_EQ(Count("dpql.ledger"), kExpected);
}

}  // namespace
}  // namespace dpql
