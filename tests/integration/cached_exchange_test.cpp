// Engine::ServeCached — a repeated query in one database round trip, with the
// plans and answers memoised in-process — against a real PostgreSQL. It must
// serve exactly what the general path would serve from the answer cache, and
// nothing it would refuse: a new data version, a revoked token, an asker
// without a budget, a changed catalog all stop it at once, and every served
// request has its audit row while a refused one writes nothing.

#include <gtest/gtest.h>

#include "compiler/common/error.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

constexpr int kRows = 2000;
constexpr const char* kQuery =
    "SELECT sex, SUM(age) AS years FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.5)";

class CachedExchangeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(kRows);
    catalog_ = new Catalog(LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml"));
    Ledger(db_->url()).Init();
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete db_;
    catalog_ = nullptr;
    db_ = nullptr;
  }

  void SetUp() override {
    pool_ = std::make_unique<ConnectionPool>(db_->url(), 2);
    engine_ = std::make_unique<Engine>(*catalog_, *pool_, std::make_unique<SecureRandom>());
    // Each test asks its own query (its own epsilon): answers stored by one
    // test must not be served in another.
    query_ =
        std::string(kQuery).replace(std::string(kQuery).find("0.5"), 3, "0.5" + std::to_string(++counter_));
  }

  struct Analyst {
    Caller caller;
    std::string token;
  };
  Analyst NewAnalyst(const std::string& name, int64_t epsilon = 10) {
    Ledger ledger(db_->url());
    std::string token = ledger.AddAnalyst(name, "hospital", BudgetCost::FromGrant(epsilon, 0), false);
    return {Caller{ledger.FindAnalyst(name)->id, name}, token};
  }

  CachedReply Serve(Engine& engine, const Analyst& analyst, const std::string& text) {
    CachedRequest request;
    request.token = analyst.token;
    request.text = text;
    request.audit_source = "test";
    request.audit_query = text;
    return engine.ServeCached(engine.ResolveDataset("hospital"), request);
  }

  int Count(const std::string& sql) { return std::stoi(db_->QueryValue(sql)); }
  int AuditRows(const std::string& name) {
    return Count("SELECT count(*) FROM dpql.audit WHERE analyst_name = '" + name + "'");
  }
  int LedgerRows() { return Count("SELECT count(*) FROM dpql.ledger"); }

  static TestDatabase* db_;
  static Catalog* catalog_;
  static int counter_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<Engine> engine_;
  std::string query_;
};

TestDatabase* CachedExchangeTest::db_ = nullptr;
Catalog* CachedExchangeTest::catalog_ = nullptr;
int CachedExchangeTest::counter_ = 0;

TEST_F(CachedExchangeTest, ServesTheStoredAnswerFreeWithItsAuditRowAndNothingBeforeIt) {
  Analyst ann = NewAnalyst("ann");
  // Never answered: authenticated, nothing served, nothing written.
  CachedReply before = Serve(*engine_, ann, query_);
  ASSERT_TRUE(before.analyst.has_value());
  EXPECT_EQ(before.analyst->id, ann.caller.analyst_id);
  EXPECT_FALSE(before.result.has_value());
  EXPECT_EQ(AuditRows("ann"), 0);

  QueryResult first = engine_->Run(ann.caller, "hospital", query_);
  ASSERT_FALSE(first.cached);
  const int ledger = LedgerRows();

  // Served twice (the second from memory: same rows), one audit row each, no ledger row.
  for (int i = 1; i <= 2; ++i) {
    CachedReply again = Serve(*engine_, ann, query_);
    ASSERT_TRUE(again.result.has_value()) << "repeat " << i;
    EXPECT_TRUE(again.result->cached);
    EXPECT_EQ(again.result->rows, first.rows);
    EXPECT_EQ(again.result->cost.epsilon, Rational(0));
    EXPECT_EQ(again.result->columns[1].name, "years");
    ASSERT_TRUE(again.result->budget.has_value());
    EXPECT_EQ(again.result->budget->epsilon_spent, "0.5" + std::to_string(counter_));
    EXPECT_EQ(AuditRows("ann"), i);
  }
  EXPECT_EQ(LedgerRows(), ledger);
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.audit WHERE analyst_name = 'ann' AND outcome = 'cached' "
                  "AND status = 200 AND epsilon = 0 AND source = 'test' AND dataset = 'hospital'"),
            2);

  // The asker's own names and post-processing apply to the memoised answer.
  std::string renamed = query_;
  renamed.replace(renamed.find("years"), 5, "total");
  renamed.replace(renamed.find(" WITH"), 0, " ORDER BY sex DESC LIMIT 1");
  CachedReply limited = Serve(*engine_, ann, renamed);
  ASSERT_TRUE(limited.result.has_value());
  EXPECT_EQ(limited.result->columns[1].name, "total");
  ASSERT_EQ(limited.result->rows.size(), 1u);
  EXPECT_EQ(LedgerRows(), ledger);
}

TEST_F(CachedExchangeTest, ADataVersionBumpStopsTheMemoisedAnswerAtOnce) {
  Analyst bo = NewAnalyst("bo");
  QueryResult old_answer = engine_->Run(bo.caller, "hospital", query_);
  ASSERT_TRUE(Serve(*engine_, bo, query_).result.has_value());  // memoised now
  const int audit = AuditRows("bo");

  AnswerCache(db_->url()).BumpDataVersion("hospital");  // what `dpqld admin data-version` does

  CachedReply after = Serve(*engine_, bo, query_);
  EXPECT_TRUE(after.analyst.has_value());
  EXPECT_FALSE(after.result.has_value());
  EXPECT_EQ(AuditRows("bo"), audit);  // a miss writes nothing

  // The general path charges and stores a fresh answer; that one is served next.
  QueryResult fresh = engine_->Run(bo.caller, "hospital", query_);
  EXPECT_FALSE(fresh.cached);
  CachedReply served = Serve(*engine_, bo, query_);
  ASSERT_TRUE(served.result.has_value());
  EXPECT_EQ(served.result->rows, fresh.rows);
  EXPECT_EQ(AuditRows("bo"), audit + 1);
}

TEST_F(CachedExchangeTest, RevokedUnknownAndBudgetlessAskersAreNotServed) {
  Analyst cy = NewAnalyst("cy");
  engine_->Run(cy.caller, "hospital", query_);
  ASSERT_TRUE(Serve(*engine_, cy, query_).result.has_value());

  Analyst forged{cy.caller, "dpql_" + std::string(43, 'A')};
  CachedReply unknown = Serve(*engine_, forged, query_);
  EXPECT_FALSE(unknown.analyst.has_value());
  EXPECT_FALSE(unknown.result.has_value());

  // An analyst whose only budget is on another dataset: authenticated, not served.
  Ledger ledger(db_->url());
  std::string token = ledger.AddAnalyst("dee", "elsewhere", BudgetCost::FromGrant(1, 0), false);
  Analyst dee{Caller{ledger.FindAnalyst("dee")->id, "dee"}, token};
  CachedReply no_budget = Serve(*engine_, dee, query_);
  EXPECT_TRUE(no_budget.analyst.has_value());
  EXPECT_FALSE(no_budget.result.has_value());
  EXPECT_EQ(AuditRows("dee"), 0);

  // Revoked: refused on the very next request, though the answer is memoised.
  const int audit = AuditRows("cy");
  ASSERT_TRUE(ledger.Revoke("cy"));
  CachedReply revoked = Serve(*engine_, cy, query_);
  EXPECT_FALSE(revoked.analyst.has_value());
  EXPECT_FALSE(revoked.result.has_value());
  EXPECT_EQ(AuditRows("cy"), audit);
}

TEST_F(CachedExchangeTest, AnotherProcessServesTheStoredAnswerAndAChangedCatalogDoesNot) {
  Analyst ed = NewAnalyst("ed");
  QueryResult first = engine_->Run(ed.caller, "hospital", query_);

  // A second engine (another dpqld) on the same catalog: served from the
  // table's copy, then from its own memory — the same answer both times.
  Engine twin(*catalog_, *pool_, std::make_unique<SecureRandom>());
  for (int i = 0; i < 2; ++i) {
    CachedReply served = Serve(twin, ed, query_);
    ASSERT_TRUE(served.result.has_value()) << i;
    EXPECT_EQ(served.result->rows, first.rows);
  }

  // A catalog whose bounds on age differ compiles the same text to another
  // plan: not served, and charged when run.
  Catalog changed = *catalog_;
  bool found = false;
  for (Dataset& dataset : changed.datasets) {
    for (CatalogTable& table : dataset.tables) {
      for (CatalogColumn& column : table.columns) {
        if (table.name == "admissions" && column.name == "age") {
          column.upper = *column.upper / 2;
          column.upper_text = ToDecimalString(*column.upper);
          found = true;
        }
      }
    }
  }
  ASSERT_TRUE(found);
  Engine other(changed, *pool_, std::make_unique<SecureRandom>());
  const int ledger = LedgerRows();
  CachedReply miss = Serve(other, ed, query_);
  EXPECT_TRUE(miss.analyst.has_value());
  EXPECT_FALSE(miss.result.has_value());
  QueryResult charged = other.Run(ed.caller, "hospital", query_);
  EXPECT_FALSE(charged.cached);
  EXPECT_EQ(LedgerRows(), ledger + 1);
  // The first catalog's engine still serves its own answer.
  CachedReply original = Serve(*engine_, ed, query_);
  ASSERT_TRUE(original.result.has_value());
  EXPECT_EQ(original.result->rows, first.rows);
}

TEST_F(CachedExchangeTest, OnlyASingleSelectThatCompilesTakesTheShortPath) {
  Analyst flo = NewAnalyst("flo");
  engine_->Run(flo.caller, "hospital", query_);
  for (const std::string& text :
       {query_ + "; " + query_, std::string("SHOW BUDGET"), std::string("EXPLAIN ") + query_,
        std::string("SELECT MAX(age) FROM admissions WITH PRIVACY (epsilon = 0.1)"),
        std::string("SELEC oops")}) {
    CachedReply reply = Serve(*engine_, flo, text);
    EXPECT_FALSE(reply.result.has_value()) << text;
  }
  EXPECT_EQ(AuditRows("flo"), 0);

  engine_->set_answer_cache(false);
  EXPECT_FALSE(Serve(*engine_, flo, query_).result.has_value());
}

}  // namespace
}  // namespace dpql
