// The debit and the query run side by side (Engine::RunSelect; docs/PRIVACY.md,
// "Step 5"), against a real PostgreSQL whose `admissions` is a view that
// sleeps kSleep before its first row (an InitPlan: once per query), so that
// the query is slow and its timing visible:
//
// - a refused debit is answered without waiting for the query, releases
//   nothing, writes no ledger row, and cancels the query in PostgreSQL;
// - a released answer waited for its debit's commit (a debit held up by a
//   lock holds up the answer, however early the query finished), its ledger
//   row is committed, and the two overlapped: the answer came about one
//   sleep after the start, not two.

#include <gtest/gtest.h>

#include <chrono>
#include <future>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "compiler/common/error.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto kSleep = 3s;  // the view's sleep before its first row

class DebitOverlapTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(2000);
    // The data behind a view that sleeps once per query, before its first
    // row; LIMIT 0 (the readiness probe) never evaluates it.
    db_->Exec("ALTER TABLE admissions RENAME TO admissions_rows");
    db_->Exec("CREATE VIEW admissions AS SELECT * FROM admissions_rows WHERE (SELECT true FROM pg_sleep(" +
              std::to_string(std::chrono::seconds(kSleep).count()) + "))");
    catalog_ = new Catalog(LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml"));
    Ledger(db_->url()).Init();
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete db_;
    catalog_ = nullptr;
    db_ = nullptr;
  }

  Caller NewAnalyst(const std::string& name, const std::string& epsilon) {
    Ledger ledger(db_->url());
    ledger.AddAnalyst(name, "hospital", BudgetCost::FromGrant(*ParseDecimal(epsilon), Rational(0)), false);
    return Caller{ledger.FindAnalyst(name)->id, name};
  }

  int64_t Value(const std::string& sql) { return std::stoll(db_->QueryValue(sql)); }

  // Backends of this database running the DP SQL (its first CTE's name).
  int64_t RunningDpQueries() {
    return Value("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() AND state = 'active' "
                 "AND query LIKE '%dpql_rows%' AND pid <> pg_backend_pid()");
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* DebitOverlapTest::db_ = nullptr;
Catalog* DebitOverlapTest::catalog_ = nullptr;

constexpr const char* kQuery = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 1)";

TEST_F(DebitOverlapTest, RefusedDebitIsAnsweredWithoutTheQueryReleasesNothingAndCancelsIt) {
  ConnectionPool pool(db_->url(), 2);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(1));
  engine.set_answer_cache(false);
  Caller poor = NewAnalyst("overlap_poor", "0.5");

  const auto start = Clock::now();
  try {
    engine.Run(poor, "hospital", kQuery);
    FAIL() << "a query costing more than the budget was answered";
  } catch (const DpqlError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kBudgetExhausted) << error.what();
  }
  const auto refused_after = Clock::now() - start;
  // Answered by the debit alone: the query, which sleeps kSleep, was not waited for.
  EXPECT_LT(refused_after, kSleep - 1s) << "the refusal waited for the query";
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.ledger WHERE analyst_id = " + std::to_string(poor.analyst_id)), 0);
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.budgets WHERE analyst_id = " + std::to_string(poor.analyst_id)),
            0);
  // And cancelled: no backend still runs it, well before its sleep would end.
  int64_t running = 1;
  for (auto deadline = start + kSleep - 500ms; Clock::now() < deadline && running > 0;) {
    running = RunningDpQueries();
    if (running > 0) std::this_thread::sleep_for(50ms);
  }
  EXPECT_EQ(running, 0) << "the refused query still runs in PostgreSQL";

  // The control: the same query with budget to pay takes the whole sleep, so
  // the refusal above was quick because it did not wait, not because the
  // query was.
  Caller rich = NewAnalyst("overlap_rich", "10");
  const auto paid_start = Clock::now();
  QueryResult result = engine.Run(rich, "hospital", kQuery);
  EXPECT_GE(Clock::now() - paid_start, kSleep);
  EXPECT_FALSE(result.rows.empty());
}

TEST_F(DebitOverlapTest, AnswerWaitsForItsDebitsCommitAndTheTwoOverlap) {
  ConnectionPool pool(db_->url(), 2);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(2));
  engine.set_answer_cache(false);
  Caller caller = NewAnalyst("overlap_held", "10");
  const std::string id = std::to_string(caller.analyst_id);

  // Hold the analyst's budget row: the debit's UPDATE waits for it.
  pqxx::connection blocker(db_->url());
  pqxx::work hold(blocker);
  hold.exec("SELECT 1 FROM dpql.budgets WHERE analyst_id = " + id + " FOR UPDATE");

  const auto start = Clock::now();
  auto answer = std::async(std::launch::async, [&] { return engine.Run(caller, "hospital", kQuery); });
  // The query runs meanwhile; held for longer than it takes, the debit still
  // holds the answer back.
  EXPECT_EQ(answer.wait_for(kSleep + 1s), std::future_status::timeout) << "answered before its debit committed";
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.ledger WHERE analyst_id = " + id), 0);
  hold.commit();  // let the debit through

  QueryResult result = answer.get();
  const auto elapsed = Clock::now() - start;
  ASSERT_FALSE(result.rows.empty());
  ASSERT_TRUE(result.ledger_id.has_value());
  ASSERT_GT(*result.ledger_id, 0);
  // The answer's debit is in the ledger, committed, with the query's cost.
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.ledger WHERE id = " + std::to_string(*result.ledger_id) +
                  " AND analyst_id = " + id + " AND epsilon = 1000000"),
            1);
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.budgets WHERE analyst_id = " + id), 1000000);
  // Overlapped: held for kSleep + 1 s while the query slept kSleep, the
  // answer came well before the two one after the other (2 kSleep + 1 s).
  EXPECT_LT(elapsed, 2 * kSleep) << "the query waited for the debit";
}

}  // namespace
}  // namespace dpql
