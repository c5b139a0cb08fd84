// "Repeat queries are free": the answer cache against a real PostgreSQL,
// through the engine. A repeat — rewritten or not, by the same analyst or
// another — gets the stored answer at no cost and leaves the ledger alone; a
// different query or privacy parameter, or a new data version, is charged.

#include <gtest/gtest.h>

#include <pqxx/pqxx>

#include "compiler/common/error.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/engine.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kRows = 3000;

class AnswerCacheTest : public ::testing::Test {
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
  }

  Caller NewAnalyst(const std::string& name, const std::string& epsilon,
                    const std::string& dataset = "hospital") {
    Ledger ledger(db_->url());
    ledger.AddAnalyst(name, dataset, BudgetCost::FromGrant(*ParseDecimal(epsilon), Rational(0)), false);
    return Caller{ledger.FindAnalyst(name)->id, name};
  }

  QueryResult Run(const Caller& caller, const std::string& query) {
    return engine_->Run(caller, "hospital", query);
  }

  std::string Spent(const Caller& caller) {
    return Ledger(db_->url()).GetBudget(caller.analyst_id, "hospital")->spent.EpsilonString();
  }
  int LedgerRows() { return std::stoi(db_->QueryValue("SELECT count(*) FROM dpql.ledger")); }
  int CachedAnswers() { return std::stoi(db_->QueryValue("SELECT count(*) FROM dpql.answer_cache")); }

  static TestDatabase* db_;
  static Catalog* catalog_;
  std::unique_ptr<ConnectionPool> pool_;
  std::unique_ptr<Engine> engine_;
};

TestDatabase* AnswerCacheTest::db_ = nullptr;
Catalog* AnswerCacheTest::catalog_ = nullptr;

void ExpectSameAnswer(const QueryResult& a, const QueryResult& b) {
  EXPECT_EQ(a.rows, b.rows);
  ASSERT_EQ(a.intervals.size(), b.intervals.size());
  for (size_t r = 0; r < a.intervals.size(); ++r) {
    ASSERT_EQ(a.intervals[r].size(), b.intervals[r].size());
    for (size_t c = 0; c < a.intervals[r].size(); ++c) {
      ASSERT_EQ(a.intervals[r][c].has_value(), b.intervals[r][c].has_value());
      if (!a.intervals[r][c]) continue;
      EXPECT_EQ(a.intervals[r][c]->lower, b.intervals[r][c]->lower);
      EXPECT_EQ(a.intervals[r][c]->upper, b.intervals[r][c]->upper);
    }
  }
}

TEST_F(AnswerCacheTest, RepeatIsTheStoredAnswerAtNoCostAndLeavesTheLedgerAlone) {
  Caller ann = NewAnalyst("ann", "10");
  const std::string query =
      "SELECT sex, COUNT(*) AS n, AVG(age) AS mean_age FROM admissions WHERE age >= 40 GROUP BY sex "
      "WITH PRIVACY (epsilon = 0.5);";
  const int ledger_before = LedgerRows(), cached_before = CachedAnswers();
  QueryResult first = Run(ann, query);
  EXPECT_FALSE(first.cached);
  EXPECT_EQ(first.cost.epsilon, Rational(1, 2));
  EXPECT_EQ(Spent(ann), "0.5");
  EXPECT_EQ(LedgerRows(), ledger_before + 1);
  EXPECT_EQ(CachedAnswers(), cached_before + 1);

  for (int repeat = 0; repeat < 3; ++repeat) {
    QueryResult again = Run(ann, query);
    EXPECT_TRUE(again.cached);
    EXPECT_EQ(again.cost.epsilon, 0);
    EXPECT_EQ(again.cost.delta, 0);
    ExpectSameAnswer(again, first);
    ASSERT_TRUE(again.budget.has_value());
    EXPECT_EQ(again.budget->epsilon_spent, "0.5");
    ASSERT_EQ(again.columns.size(), 3u);
    EXPECT_EQ(again.columns[1].name, "n");
    EXPECT_TRUE(again.columns[1].noisy);
  }
  EXPECT_EQ(Spent(ann), "0.5");
  EXPECT_EQ(LedgerRows(), ledger_before + 1);
  EXPECT_EQ(CachedAnswers(), cached_before + 1);
}

// A query and its repeat on one-connection pools: the answer cache's lookup
// and store and the budget reads run as prepared statements of the query's
// connection, the debit as the prepared call of dpql.debit on the debit's (it runs
// beside the query on a connection of its own; runtime/pg/prepared.h), and
// the answer stored without waiting for the disk is the one the repeat is
// served.
TEST_F(AnswerCacheTest, LookupStoreAndDebitArePreparedStatementsOfThePooledConnection) {
  ConnectionPool pool(db_->url(), 1);
  ConnectionPool ledger_pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SecureRandom>(), 60000, &ledger_pool);
  Caller caller = NewAnalyst("prepared", "5");
  const std::string query = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.5)";
  QueryResult first = engine.Run(caller, "hospital", query);
  QueryResult again = engine.Run(caller, "hospital", query);
  EXPECT_FALSE(first.cached);
  EXPECT_TRUE(again.cached);
  ExpectSameAnswer(first, again);
  EXPECT_EQ(Spent(caller), "0.5");

  auto connection = pool.Acquire();
  pqxx::nontransaction txn(*connection);
  EXPECT_EQ(txn.exec1("SELECT string_agg(name, ' ' ORDER BY name) FROM pg_prepared_statements "
                      "WHERE name NOT LIKE 'dpql\\_ready\\_%'")[0]
                .as<std::string>(),
            "dpql_budget dpql_cache_find dpql_cache_store");
  // And the readiness probe that runs before each debit: one per dataset.
  EXPECT_EQ(txn.exec1("SELECT count(*) FROM pg_prepared_statements "
                      "WHERE name LIKE 'dpql\\_ready\\_%'")[0]
                .as<int>(),
            1);
  auto debit_connection = ledger_pool.Acquire();
  pqxx::nontransaction debit_txn(*debit_connection);
  EXPECT_EQ(debit_txn.exec1("SELECT string_agg(name, ' ' ORDER BY name) FROM pg_prepared_statements")[0]
                .as<std::string>(),
            "dpql_debit_call");
}

TEST_F(AnswerCacheTest, RewrittenQueriesHitAndShowTheAskersNames) {
  Caller bob = NewAnalyst("bob", "10");
  QueryResult first = Run(bob,
                          "SELECT ward_code, COUNT(DISTINCT patient_id) AS patients FROM admissions "
                          "WHERE age >= 18 AND admission_method = 'emergency' AND sex IN ('F', 'M') "
                          "GROUP BY ward_code WITH PRIVACY (epsilon = 0.3);");
  ASSERT_FALSE(first.cached);
  const int ledger_before = LedgerRows();
  const std::vector<std::pair<std::string, std::string>> variants = {
      // whitespace and keyword case
      {"select   ward_code ,count( distinct patient_id ) as patients\nfrom admissions\n"
       "where age >= 18 and admission_method = 'emergency' and sex in ('F','M')\n"
       "group by ward_code with privacy (EPSILON = 0.3)",
       "patients"},
      // an output alias and a table alias
      {"SELECT a.ward_code AS ward, COUNT(DISTINCT a.patient_id) AS people FROM admissions a "
       "WHERE a.age >= 18 AND a.admission_method = 'emergency' AND a.sex IN ('F', 'M') "
       "GROUP BY a.ward_code WITH PRIVACY (epsilon = 0.3);",
       "people"},
      // the order of the AND-ed predicates
      {"SELECT ward_code, COUNT(DISTINCT patient_id) AS patients FROM admissions "
       "WHERE sex IN ('F', 'M') AND (admission_method = 'emergency' AND age >= 18) "
       "GROUP BY ward_code WITH PRIVACY (epsilon = 0.3);",
       "patients"},
  };
  for (const auto& [text, name] : variants) {
    SCOPED_TRACE(text);
    QueryResult again = Run(bob, text);
    EXPECT_TRUE(again.cached);
    EXPECT_EQ(again.cost.epsilon, 0);
    ExpectSameAnswer(again, first);
    EXPECT_EQ(again.columns[1].name, name);
  }
  EXPECT_EQ(Spent(bob), "0.3");
  EXPECT_EQ(LedgerRows(), ledger_before);
}

TEST_F(AnswerCacheTest, DifferentEpsilonOrWhereIsANewQueryAndIsCharged) {
  Caller cat = NewAnalyst("cat", "10");
  const std::string base = "SELECT COUNT(*) FROM admissions WHERE age >= 65 WITH PRIVACY (epsilon = 0.2);";
  ASSERT_FALSE(Run(cat, base).cached);
  const std::vector<std::string> different = {
      "SELECT COUNT(*) FROM admissions WHERE age >= 65 WITH PRIVACY (epsilon = 0.25);",
      "SELECT COUNT(*) FROM admissions WHERE age >= 66 WITH PRIVACY (epsilon = 0.2);",
      "SELECT COUNT(*) FROM admissions WHERE age >= 65 AND sex = 'F' WITH PRIVACY (epsilon = 0.2);",
      "SELECT COUNT(*) FROM admissions WHERE age >= 65 WITH PRIVACY (epsilon = 0.2, max_rows = 2);",
      "SELECT COUNT(*) FROM admissions WHERE age >= 65 WITH PRIVACY (epsilon = 0.2, confidence = 0.9);",
  };
  Rational expected_spent(1, 5);
  for (const std::string& text : different) {
    SCOPED_TRACE(text);
    const int ledger_before = LedgerRows();
    QueryResult result = Run(cat, text);
    EXPECT_FALSE(result.cached);
    EXPECT_GT(result.cost.epsilon, 0);
    expected_spent += result.cost.epsilon;
    EXPECT_EQ(LedgerRows(), ledger_before + 1);
  }
  EXPECT_EQ(*ParseDecimal(Spent(cat)), expected_spent);
}

TEST_F(AnswerCacheTest, AnotherAnalystGetsTheCachedAnswerAtNoCost) {
  Caller dan = NewAnalyst("dan", "10");
  Caller eve = NewAnalyst("eve", "0.1");  // less than the query costs
  const std::string query =
      "SELECT admission_method, SUM(length_of_stay) AS bed_days FROM admissions GROUP BY "
      "admission_method WITH PRIVACY (epsilon = 1);";
  QueryResult paid = Run(dan, query);
  ASSERT_FALSE(paid.cached);
  const int ledger_before = LedgerRows();
  QueryResult free = Run(eve, query);
  EXPECT_TRUE(free.cached);
  ExpectSameAnswer(free, paid);
  EXPECT_EQ(Spent(eve), "0");
  ASSERT_TRUE(free.budget.has_value());
  EXPECT_EQ(free.budget->epsilon_remaining, "0.1");  // eve's own budget, untouched
  EXPECT_EQ(LedgerRows(), ledger_before);
  // Eve still cannot afford a query that nobody has asked.
  try {
    Run(eve,
        "SELECT admission_method, SUM(length_of_stay) AS bed_days FROM admissions GROUP BY "
        "admission_method WITH PRIVACY (epsilon = 0.9);");
    FAIL() << "an unpaid new query was answered";
  } catch (const DpqlError& error) {
    EXPECT_EQ(std::string(Name(error.code())), "budget_exhausted");
  }
  // An analyst with no budget on the dataset gets nothing, cached or not.
  Caller outsider = NewAnalyst("outsider", "10", "clinic");
  try {
    Run(outsider, query);
    FAIL() << "an analyst without a budget on hospital was answered";
  } catch (const DpqlError& error) {
    EXPECT_EQ(std::string(Name(error.code())), "no_budget");
  }
}

TEST_F(AnswerCacheTest, HavingOrderByAndLimitApplyToTheCachedAnswer) {
  Caller fay = NewAnalyst("fay", "10");
  QueryResult all = Run(fay,
                        "SELECT diagnosis_chapter, COUNT(*) AS n FROM admissions GROUP BY "
                        "diagnosis_chapter WITH PRIVACY (epsilon = 0.7);");
  ASSERT_FALSE(all.cached);
  ASSERT_GE(all.rows.size(), 3u);
  int64_t top = 0;
  for (const auto& row : all.rows) top = std::max(top, std::get<int64_t>(row[1]));
  QueryResult top_one = Run(fay,
                            "SELECT diagnosis_chapter AS chapter, COUNT(*) AS admissions FROM admissions "
                            "GROUP BY diagnosis_chapter ORDER BY admissions DESC LIMIT 1 "
                            "WITH PRIVACY (epsilon = 0.7);");
  EXPECT_TRUE(top_one.cached);
  ASSERT_EQ(top_one.rows.size(), 1u);
  EXPECT_EQ(std::get<int64_t>(top_one.rows[0][1]), top);
  EXPECT_EQ(top_one.columns[1].name, "admissions");
  QueryResult none = Run(fay,
                         "SELECT diagnosis_chapter, COUNT(*) AS n FROM admissions GROUP BY "
                         "diagnosis_chapter HAVING n > " +
                             std::to_string(top) + " WITH PRIVACY (epsilon = 0.7);");
  EXPECT_TRUE(none.cached);
  EXPECT_TRUE(none.rows.empty());
  EXPECT_EQ(Spent(fay), "0.7");
}

TEST_F(AnswerCacheTest, NewDataVersionMissesIsChargedAndKeepsTheOldRow) {
  Caller gus = NewAnalyst("gus", "10");
  const std::string query = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.4);";
  ASSERT_FALSE(Run(gus, query).cached);
  ASSERT_TRUE(Run(gus, query).cached);
  AnswerCache cache(db_->url());
  const int64_t before = cache.DataVersion("hospital");
  EXPECT_EQ(cache.BumpDataVersion("hospital"), before + 1);
  EXPECT_EQ(cache.DataVersion("hospital"), before + 1);

  const int ledger_before = LedgerRows();
  QueryResult fresh = Run(gus, query);
  EXPECT_FALSE(fresh.cached);
  EXPECT_EQ(fresh.cost.epsilon, Rational(2, 5));
  EXPECT_EQ(Spent(gus), "0.8");
  EXPECT_EQ(LedgerRows(), ledger_before + 1);
  EXPECT_TRUE(Run(gus, query).cached);  // cached again, under the new version
  // Both answers stay in the table; only the current version's is served.
  EXPECT_EQ(db_->QueryValue("SELECT count(DISTINCT data_version) FROM dpql.answer_cache WHERE "
                            "data_version IN (" +
                            std::to_string(before) + ", " + std::to_string(before + 1) +
                            ") AND rtrim(query_text, ';') = rtrim($q$" + query + "$q$, ';')"),
            "2");
  // Other datasets keep their version.
  EXPECT_EQ(cache.DataVersion("clinic"), 1);
}

TEST_F(AnswerCacheTest, TheStoredAnswerIsTheReleasedOneNeverTheExactFigure) {
  Caller hal = NewAnalyst("hal", "10");
  // A seeded engine, so the noise (and this test) is reproducible.
  Engine seeded(*catalog_, *pool_, std::make_unique<SeededRandom>(31));
  const std::string query =
      "SELECT COUNT(DISTINCT patient_id) AS patients FROM admissions WHERE admission_method = 'transfer' "
      "WITH PRIVACY (epsilon = 0.05);";
  QueryResult released = seeded.Run(hal, "hospital", query);
  ASSERT_FALSE(released.cached);
  const std::string exact = db_->QueryValue(
      "SELECT count(DISTINCT patient_id) FROM admissions WHERE admission_method = 'transfer'");
  const int64_t noisy = std::get<int64_t>(released.rows[0][0]);
  ASSERT_NE(std::to_string(noisy), exact) << "this seed drew zero noise; pick another";
  const std::string stored =
      db_->QueryValue("SELECT answer::text FROM dpql.answer_cache WHERE rtrim(query_text, ';') = rtrim($q$" +
                      query + "$q$, ';')");
  EXPECT_NE(stored.find(std::to_string(noisy)), std::string::npos) << stored;
  EXPECT_EQ(stored.find(exact), std::string::npos) << stored;
  // The interval around the released value, not around the exact one.
  QueryResult again = engine_->Run(hal, "hospital", query);
  EXPECT_TRUE(again.cached);
  EXPECT_EQ(std::get<int64_t>(again.rows[0][0]), noisy);
}

TEST_F(AnswerCacheTest, FirstStoredAnswerStays) {
  // Two identical queries that both missed (asked at the same moment) both
  // paid and each got its own answer; the first to finish is the one stored
  // and served to every later asker.
  AnswerCache cache(db_->url());
  const std::string key(64, 'a');
  QueryResult first, second;
  first.columns = second.columns = {{"", ValueType::kInt, true}};
  first.rows = {{int64_t{100}}};
  second.rows = {{int64_t{200}}};
  first.intervals = second.intervals = {{Interval{90, 110}}};
  const int64_t version = cache.DataVersion("race");
  EXPECT_TRUE(cache.Store("race", version, key, first, 0, "q"));
  EXPECT_FALSE(cache.Store("race", version, key, second, 0, "q"));
  CacheLookup lookup = cache.Find("race", key);
  ASSERT_TRUE(lookup.answer.has_value());
  EXPECT_EQ(lookup.answer->rows, first.rows);
  EXPECT_FALSE(cache.Find("race", std::string(64, 'b')).answer.has_value());
}

TEST_F(AnswerCacheTest, CacheCanBeTurnedOffForRepeatedNoiseStudies) {
  Caller ida = NewAnalyst("ida", "10");
  engine_->set_answer_cache(false);
  const std::string query = "SELECT COUNT(*) FROM admissions WHERE age < 30 WITH PRIVACY (epsilon = 0.1);";
  EXPECT_FALSE(Run(ida, query).cached);
  EXPECT_FALSE(Run(ida, query).cached);
  EXPECT_EQ(Spent(ida), "0.2");
}

}  // namespace
}  // namespace dpql
