// Tiny and huge privacy parameters and the default dataset-wide cap, end to
// end against a real PostgreSQL loaded with the demo data: a parameter
// outside the dataset's floors and ceilings is refused before anything is
// spent; at the floors no group is released below the threshold and the
// ledger charges at least what the mechanism used; and a catalog that
// declares no cap still stops all analysts together at the default one.

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kRows = 20000;

// The issue's query: patients over 100 are few in every district, far below
// any threshold (at delta = 1e-6 none is released).
const std::string kIssueQuery =
    "SELECT postcode_district, COUNT(*) FROM admissions WHERE age > 100 GROUP BY "
    "postcode_district WITH PRIVACY ";

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class PrivacyParamsTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(kRows);
    catalog_ = new Catalog(LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml"));
    Ledger ledger(db_->url());
    ledger.Init();
  }
  static void TearDownTestSuite() {
    delete catalog_;
    delete db_;
    catalog_ = nullptr;
    db_ = nullptr;
  }

  Caller NewAnalyst(const std::string& name, const std::string& dataset, const Rational& epsilon,
                    const Rational& delta) {
    Ledger ledger(db_->url());
    ledger.AddAnalyst(name, dataset, BudgetCost::FromGrant(epsilon, delta), false);
    return Caller{ledger.FindAnalyst(name)->id, name};
  }

  BudgetCost Spent(const Caller& caller, const std::string& dataset) {
    Ledger ledger(db_->url());
    return ledger.GetBudget(caller.analyst_id, dataset)->spent;
  }

  // The hospital catalog as dataset `name` with `limits` in place of its
  // limits line (its own name keeps its spending apart from the others').
  static Catalog Variant(const std::string& name, const std::string& limits) {
    std::string text = ReadText(SourceDir() + "/examples/hospital/catalog.yaml");
    const std::string line = "    limits:   { max_epsilon_per_query: 2.0 }\n";
    text.replace(text.find(line), line.size(), "    limits:   " + limits + "\n");
    text.replace(text.find("  hospital:\n"), 12, "  " + name + ":\n");
    return ParseCatalog(text, name + ".yaml");
  }

  static Plan CompileOne(const Catalog& catalog, const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog.DefaultDataset(), *statement.select);
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* PrivacyParamsTest::db_ = nullptr;
Catalog* PrivacyParamsTest::catalog_ = nullptr;

// The attack in the issue: delta = 1e-400 (or epsilon = 1e-300, ...) made the
// threshold overflow, so every district was released with delta 0 charged.
// Now each is refused with its code before the debit: nothing is released
// and nothing is spent.
TEST_F(PrivacyParamsTest, TinyAndHugeParametersAreRefusedBeforeAnythingIsSpent) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(3));
  Caller caller = NewAnalyst("extremes", "hospital", 100, Rational(1, 100));
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"(epsilon = 0.1, delta = 1e-400)", "delta_too_small"},
      {"(epsilon = 0.1, delta = 5e-324)", "delta_too_small"},
      {"(epsilon = 0.1, delta = 1e-300)", "delta_too_small"},
      {"(epsilon = 0.1, delta = 4.9e-324)", "delta_too_small"},
      {"(epsilon = 0.1, delta = 1e-310)", "delta_too_small"},
      {"(epsilon = 0.1, delta = 1e-21)", "delta_too_small"},
      {"(epsilon = 1e-300, delta = 1e-6)", "epsilon_too_small"},
      {"(epsilon = 5e-324, delta = 1e-6)", "epsilon_too_small"},
      {"(epsilon = 1e-400, delta = 1e-6)", "epsilon_too_small"},
      {"(epsilon = 1e-310, delta = 1e-6)", "epsilon_too_small"},
      {"(epsilon = 1e300, delta = 1e-6)", "epsilon_too_large"},
      {"(epsilon = 0, delta = 1e-6)", "invalid_privacy_option"},
      {"(epsilon = 0.1, delta = -1e-400)", "invalid_privacy_option"},
  };
  for (const auto& [privacy, code] : cases) {
    const std::string query = kIssueQuery + privacy;
    SCOPED_TRACE(query);
    try {
      QueryResult result = engine.Run(caller, "hospital", query);
      ADD_FAILURE() << "answered with " << result.rows.size() << " districts, charged delta "
                    << ToDecimalString(result.cost.delta);
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), code) << e.what();
    }
  }
  // The Gaussian path, without partition selection.
  for (const char* delta : {"1e-400", "5e-324", "1e-300"}) {
    const std::string query = std::string(
                                  "SELECT sex, COUNT(*) FROM admissions GROUP BY sex "
                                  "WITH PRIVACY (mechanism = gaussian, epsilon = 0.1, "
                                  "delta = ") +
                              delta + ")";
    SCOPED_TRACE(query);
    try {
      engine.Run(caller, "hospital", query);
      ADD_FAILURE() << "answered";
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "delta_too_small") << e.what();
    }
  }
  EXPECT_EQ(Spent(caller, "hospital"), BudgetCost{});
}

// At the floors the threshold is finite and high: with epsilon 0.1 and delta
// 1e-20 (or the issue's 1e-6) no district's handful of patients over 100 is
// released — a release needs noise of hundreds to thousands at scale 40 or
// 80, probability at most delta / 4 per district — and the ledger charges
// the query's epsilon and at least its delta (1e-20 rounds up to the
// ledger's unit, 1e-12).
TEST_F(PrivacyParamsTest, AtTheFloorsNoGroupIsReleasedBelowTheThresholdAndTheChargeCoversTheUse) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(5));
  Caller caller = NewAnalyst("floors", "hospital", 100, Rational(1, 100));
  BudgetCost before = Spent(caller, "hospital");
  for (const char* delta : {"1e-20", "1e-6"}) {
    for (const char* count : {"COUNT(*)", "COUNT(DISTINCT patient_id)"}) {
      const std::string query = std::string("SELECT postcode_district, ") + count +
                                " FROM admissions WHERE age > 100 GROUP BY postcode_district "
                                "WITH PRIVACY (epsilon = 0.1, delta = " +
                                delta + ")";
      SCOPED_TRACE(query);
      const Plan plan = CompileOne(*catalog_, query);
      ASSERT_TRUE(plan.partition_selection);
      // Far above the handful of patients over 100 in any district.
      EXPECT_GT(plan.selection_threshold, 500);
      const int64_t most = std::stoll(
          db_->QueryValue("SELECT coalesce(max(n), 0) FROM (SELECT count(DISTINCT patient_id) AS n FROM "
                          "admissions WHERE age > 100 GROUP BY postcode_district) AS g"));
      ASSERT_LT(most * 20, plan.selection_threshold);

      QueryResult result = engine.Run(caller, "hospital", query);
      EXPECT_TRUE(result.rows.empty()) << result.rows.size() << " districts released";
      const Rational d = *ParseDecimal(delta);
      EXPECT_EQ(result.cost.delta, d) << "the delta charged is the one the threshold used";
      EXPECT_EQ(result.cost.epsilon, Rational(1, 10));
      const BudgetCost after = Spent(caller, "hospital");
      const BudgetCost charged = after - before;
      before = after;
      EXPECT_EQ(charged.epsilon_micro, 100000);
      EXPECT_EQ(charged, BudgetCost::FromCost(Rational(1, 10), d));
      EXPECT_GE(charged.Delta(), d);
      EXPECT_GE(charged.delta_pico, 1);
    }
  }
}

// A catalog without dataset_epsilon/dataset_delta is capped at the default
// epsilon 50 and delta 1e-4 over all analysts together; 'unlimited' lifts a
// cap only when written.
TEST_F(PrivacyParamsTest, DefaultDatasetCapStopsAllAnalystsTogether) {
  ConnectionPool pool(db_->url(), 1);
  {
    Catalog catalog = Variant("defaultcap", "{ max_epsilon_per_query: 50 }");
    Engine engine(catalog, pool, std::make_unique<SeededRandom>(7));
    Caller a = NewAnalyst("cap_first", "defaultcap", 1000, Rational(1, 100));
    Caller b = NewAnalyst("cap_second", "defaultcap", 1000, Rational(1, 100));
    engine.Run(a, "defaultcap", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 49.5)");
    engine.Run(b, "defaultcap",
               "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.5)");
    try {
      engine.Run(b, "defaultcap", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.001)");
      FAIL() << "expected dataset_budget_exhausted at the default cap of epsilon 50";
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "dataset_budget_exhausted") << e.what();
    }
    EXPECT_EQ(Spent(b, "defaultcap").epsilon_micro, 500000);
  }
  {
    // delta: 1e-4 in all, here in partition-selection queries of two analysts.
    Catalog catalog = Variant("defaultdelta", "{ max_epsilon_per_query: 2.0 }");
    Engine engine(catalog, pool, std::make_unique<SeededRandom>(8));
    Caller a = NewAnalyst("delta_first", "defaultdelta", 100, Rational(1, 100));
    Caller b = NewAnalyst("delta_second", "defaultdelta", 100, Rational(1, 100));
    engine.Run(a, "defaultdelta", kIssueQuery + "(epsilon = 0.1, delta = 0.0001)");
    try {
      engine.Run(b, "defaultdelta", kIssueQuery + "(epsilon = 0.2, delta = 1e-20)");
      FAIL() << "expected dataset_budget_exhausted at the default cap of delta 1e-4";
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "dataset_budget_exhausted") << e.what();
    }
    EXPECT_EQ(Spent(b, "defaultdelta"), BudgetCost{});
  }
  {
    Catalog catalog = Variant("uncapped", "{ max_epsilon_per_query: 50, dataset_epsilon: unlimited }");
    Engine engine(catalog, pool, std::make_unique<SeededRandom>(9));
    Caller a = NewAnalyst("uncapped_analyst", "uncapped", 1000, 0);
    engine.Run(a, "uncapped", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 50)");
    engine.Run(a, "uncapped", "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 1)");
    EXPECT_EQ(Spent(a, "uncapped").epsilon_micro, 51000000);
  }
}

}  // namespace
}  // namespace dpql
