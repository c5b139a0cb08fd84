// The whole pipeline against a real PostgreSQL loaded with the demo data:
// every worked query runs, budgets are debited before release and refusals
// cost nothing, and the generated SQL bounds each person's contribution.

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>

#include "compiler/common/error.h"
#include "compiler/common/zcdp.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/ledger/ledger.h"
#include "runtime/noise/confidence.h"
#include "tests/support/neighbours.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kRows = 20000;

std::string ReadText(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

class EngineTest : public ::testing::Test {
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

  // A fresh analyst with `epsilon` to spend on hospital.
  Caller NewAnalyst(const std::string& name, const std::string& epsilon, const std::string& delta = "0") {
    Ledger ledger(db_->url());
    ledger.AddAnalyst(name, "hospital", BudgetCost::FromGrant(*ParseDecimal(epsilon), *ParseDecimal(delta)),
                      false);
    return Caller{ledger.FindAnalyst(name)->id, name};
  }

  // The exact per-group figures of SUM, AVG's centred sum and VARIANCE's
  // centred sum and sum of squares under `max_rows`, against their
  // definition in exact rationals from per-person numeric sums.
  void ExpectIntegerSumsEqualTheirExactDefinition(int max_rows);

  Plan CompileOne(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_->DefaultDataset(), *statement.select);
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* EngineTest::db_ = nullptr;
Catalog* EngineTest::catalog_ = nullptr;

TEST_F(EngineTest, EveryWorkedQueryRuns) {
  ConnectionPool pool(db_->url(), 2);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(7));
  Caller caller = NewAnalyst("worked_queries", "1000", "0.001");
  const std::string script = ReadText(SourceDir() + "/examples/hospital/queries.dpql");
  std::vector<ast::Statement> statements = ParseScript(script);
  ASSERT_GE(statements.size(), 12u);
  int cached = 0;
  for (const auto& statement : statements) {
    SCOPED_TRACE(statement.text);
    QueryResult result;
    ASSERT_NO_THROW(result = engine.Run(caller, "hospital", statement.text));
    if (statement.kind != ast::StatementKind::kSelect) continue;
    ASSERT_FALSE(result.rows.empty());
    ASSERT_EQ(result.rows.size(), result.intervals.size());
    if (result.cached) {
      ++cached;
      EXPECT_EQ(result.cost.epsilon, 0);  // a repeat: the stored answer, free
    } else {
      EXPECT_GT(result.cost.epsilon, 0);
    }
    ASSERT_TRUE(result.budget.has_value());
    for (size_t r = 0; r < result.rows.size(); ++r) {
      ASSERT_EQ(result.rows[r].size(), result.columns.size());
      for (size_t c = 0; c < result.columns.size(); ++c) {
        if (!result.columns[c].noisy) {
          EXPECT_FALSE(result.intervals[r][c].has_value());
          continue;
        }
        ASSERT_TRUE(result.intervals[r][c].has_value()) << result.columns[c].name;
        const Interval& ci = *result.intervals[r][c];
        EXPECT_LE(ci.lower, ci.upper);
        const Value& v = result.rows[r][c];
        double value = std::holds_alternative<int64_t>(v) ? static_cast<double>(std::get<int64_t>(v))
                                                          : std::get<double>(v);
        EXPECT_LE(ci.lower, value + 1e-9);
        EXPECT_GE(ci.upper, value - 1e-9);
        if (std::holds_alternative<int64_t>(v)) {
          // Counts, and sums of the demo's non-negative columns, are released
          // as non-negative integers.
          EXPECT_GE(std::get<int64_t>(v), 0);
          EXPECT_GE(ci.lower, 0);
        }
      }
    }
  }
  EXPECT_GE(cached, 1) << "queries.dpql repeats a query; the repeat is served from the cache";
}

TEST_F(EngineTest, PublicDomainListsEveryKeyIncludingEmptyOnes) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(11));
  Caller caller = NewAnalyst("domain_keys", "10");
  // No admission passes this filter, yet every key of the declared domain appears.
  QueryResult result =
      engine.Run(caller, "hospital", "SELECT sex, COUNT(*) FROM admissions WHERE age > 200 GROUP BY sex;");
  ASSERT_EQ(result.rows.size(), 3u);
  EXPECT_EQ(std::get<std::string>(result.rows[0][0]), "F");
  EXPECT_EQ(std::get<std::string>(result.rows[1][0]), "M");
  EXPECT_EQ(std::get<std::string>(result.rows[2][0]), "X");
  // Every ward of the public table appears, occupied or not.
  const int64_t wards = std::stoll(db_->QueryValue("SELECT count(*) FROM wards"));
  QueryResult by_ward =
      engine.Run(caller, "hospital",
                 "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' "
                 "GROUP BY ward_code;");
  EXPECT_EQ(static_cast<int64_t>(by_ward.rows.size()), wards);
}

TEST_F(EngineTest, BudgetIsDebitedBeforeReleaseAndRefusalCostsNothing) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(3));
  engine.set_answer_cache(false);  // every repeat is charged (answer_cache_test covers the cache)
  Caller caller = NewAnalyst("budgeted", "2.5");
  const std::string query = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 1);";
  QueryResult first = engine.Run(caller, "hospital", query);
  ASSERT_TRUE(first.budget.has_value());
  EXPECT_EQ(first.budget->epsilon_spent, "1");
  EXPECT_EQ(first.budget->epsilon_remaining, "1.5");
  QueryResult second = engine.Run(caller, "hospital", query);
  EXPECT_EQ(second.budget->epsilon_remaining, "0.5");

  const std::string ledger_rows_sql =
      "SELECT count(*) FROM dpql.ledger WHERE analyst_id = " + std::to_string(caller.analyst_id);
  EXPECT_EQ(db_->QueryValue(ledger_rows_sql), "2");
  try {
    engine.Run(caller, "hospital", query);
    FAIL() << "a query beyond the budget was answered";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "budget_exhausted");
    EXPECT_NE(std::string(e.what()).find("Nothing was spent"), std::string::npos);
  }
  // The refusal wrote nothing and spent nothing.
  EXPECT_EQ(db_->QueryValue(ledger_rows_sql), "2");
  Ledger ledger(db_->url());
  EXPECT_EQ(ledger.GetBudget(caller.analyst_id, "hospital")->spent.EpsilonString(), "2");
  // A cheaper query still fits.
  QueryResult cheap =
      engine.Run(caller, "hospital", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5);");
  EXPECT_EQ(cheap.budget->epsilon_remaining, "0");
  // Errors before the debit cost nothing either.
  Caller other = NewAnalyst("erring", "1");
  EXPECT_THROW(engine.Run(other, "hospital", "SELECT MAX(age) FROM admissions;"), DpqlError);
  EXPECT_EQ(ledger.GetBudget(other.analyst_id, "hospital")->spent.EpsilonString(), "0");
}

// The hospital catalog as a dataset called `name` with `settings` in place
// of its limits line (a separate dataset name keeps its spending apart from
// the other tests').
Catalog VariantCatalog(const std::string& name, const std::string& settings) {
  std::string text = ReadText(SourceDir() + "/examples/hospital/catalog.yaml");
  const std::string limits = "    limits:   { max_epsilon_per_query: 2.0 }\n";
  text.replace(text.find(limits), limits.size(), settings);
  text.replace(text.find("  hospital:\n"), 12, "  " + name + ":\n");
  return ParseCatalog(text, name + ".yaml");
}

TEST_F(EngineTest, GaussianQueryIsCalibratedDebitedAndReleased) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(21));
  Caller caller = NewAnalyst("gaussian", "5", "0.001");
  const std::string query =
      "SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex "
      "WITH PRIVACY (mechanism = gaussian, epsilon = 1, delta = 1e-6);";
  Plan plan = CompileOne(query);
  ASSERT_EQ(plan.measures.size(), 1u);
  const Measure& m = plan.measures[0];
  QueryResult result = engine.Run(caller, "hospital", query);
  EXPECT_EQ(result.cost.epsilon, 1);
  EXPECT_EQ(result.cost.delta, Rational(1, 1000000));
  EXPECT_EQ(result.cost.rho, plan.cost.rho);
  ASSERT_TRUE(result.budget.has_value());
  EXPECT_EQ(result.budget->epsilon_spent, "1");  // basic accounting: (epsilon, delta)
  EXPECT_EQ(result.budget->delta_spent, "0.000001");
  EXPECT_EQ(result.budget->accounting, "basic");

  // 3 keys <= max_groups 4 and max_rows 1: the bounded count per sex is the
  // number of distinct patients with an admission of that sex.
  const int64_t hw = DiscreteGaussianHalfWidth(m.sigma2, Rational(95, 100));
  const double sigma = std::sqrt(ToDouble(m.sigma2));
  ASSERT_EQ(result.rows.size(), 3u);
  for (size_t r = 0; r < 3; ++r) {
    const std::string sex = std::get<std::string>(result.rows[r][0]);
    const int64_t exact = std::stoll(
        db_->QueryValue("SELECT count(DISTINCT patient_id) FROM admissions WHERE sex = '" + sex + "'"));
    const int64_t noisy = std::get<int64_t>(result.rows[r][1]);
    // |noise| > 6 sigma has probability below 1e-8: a wrong sampler or scale fails.
    EXPECT_LE(std::abs(noisy - exact), 6 * sigma) << sex;
    const Interval& ci = *result.intervals[r][1];
    EXPECT_DOUBLE_EQ(ci.upper, static_cast<double>(noisy + hw));
  }
}

// `mechanism: auto` (the demo catalog's default) picks the Gaussian for the
// November series, which costs delta; an analyst granted epsilon only gets
// Laplace at delta 0 instead of a refusal, and the answer says why. One with
// delta left gets the Gaussian.
TEST_F(EngineTest, AutoMechanismFallsBackToLaplaceWhenThePayerHasNoDelta) {
  ConnectionPool pool(db_->url(), 1);
  const std::string query =
      "SELECT day, COUNT(*) AS patients FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
      "DATE '2026-11-30' GROUP BY day;";
  const Plan plan = CompileOne(query);
  ASSERT_EQ(plan.select.privacy.mechanism, Mechanism::kGaussian) << "auto chose the Gaussian";
  ASSERT_GT(plan.cost.delta, 0);

  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(22));
  Caller no_delta = NewAnalyst("auto_no_delta", "5");
  // The cost shown before spending is the one charged.
  const QueryResult preview =
      engine.ExplainFor(no_delta, *catalog_->DefaultDataset(), ParseStatement(query));
  EXPECT_EQ(preview.cost.delta, 0);
  ASSERT_EQ(preview.notes.size(), 1u);
  EXPECT_NE(preview.explain.find("discrete Laplace"), std::string::npos) << preview.explain;
  const QueryResult laplace = engine.Run(no_delta, "hospital", query);
  EXPECT_EQ(laplace.cost.epsilon, plan.cost.epsilon);
  EXPECT_EQ(laplace.cost.delta, 0);
  EXPECT_EQ(laplace.budget->delta_spent, "0");
  ASSERT_EQ(laplace.notes.size(), 1u);
  EXPECT_NE(laplace.notes[0].find("used discrete Laplace"), std::string::npos) << laplace.notes[0];
  EXPECT_NE(laplace.notes[0].find("delta 0 left"), std::string::npos) << laplace.notes[0];
  EXPECT_EQ(laplace.rows.size(), 30u);

  Caller with_delta = NewAnalyst("auto_with_delta", "5", "0.00001");
  Engine fresh(*catalog_, pool, std::make_unique<SeededRandom>(23));
  EXPECT_EQ(fresh.ExplainFor(with_delta, *catalog_->DefaultDataset(), ParseStatement(query)).cost.delta,
            plan.cost.delta);
  const QueryResult gaussian = fresh.Run(with_delta, "hospital", query);
  EXPECT_EQ(gaussian.cost.delta, plan.cost.delta);
  EXPECT_EQ(gaussian.budget->delta_spent, "0.000001");
  EXPECT_TRUE(gaussian.notes.empty());
  // The Gaussian's intervals are narrower here: that is why auto chose it.
  ASSERT_TRUE(laplace.intervals[0][1] && gaussian.intervals[0][1]);
  EXPECT_LT(gaussian.intervals[0][1]->upper - gaussian.intervals[0][1]->lower,
            laplace.intervals[0][1]->upper - laplace.intervals[0][1]->lower);
}

// Keys only. With public domains the answer is the domain, empty keys too,
// free, and its SQL never names the private table. Without one, the keys
// private partition selection keeps, at the query's cost: every released
// postcode district is one many patients share.
TEST_F(EngineTest, KeysOnlyGroupByReleasesPublicKeysFreeAndSelectsPrivateOnes) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(24));
  Caller caller = NewAnalyst("keys_only", "2", "0.00001");

  const std::string methods = "SELECT admission_method FROM admissions GROUP BY admission_method;";
  EXPECT_EQ(CompileOne(methods).sql.find("admissions"), std::string::npos);
  const QueryResult free = engine.Run(caller, "hospital", methods);
  EXPECT_EQ(free.cost.epsilon, 0);
  EXPECT_EQ(free.cost.delta, 0);
  EXPECT_FALSE(free.ledger_id.has_value());
  ASSERT_EQ(free.rows.size(), 4u);
  EXPECT_EQ(std::get<std::string>(free.rows[0][0]), "elective");
  EXPECT_EQ(std::get<std::string>(free.rows[3][0]), "transfer");
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
                            "WHERE a.name = 'keys_only'"),
            "0");

  const std::string districts = "SELECT postcode_district FROM admissions GROUP BY postcode_district;";
  const Plan plan = CompileOne(districts);
  ASSERT_TRUE(plan.partition_selection);
  const QueryResult selected = engine.Run(caller, "hospital", districts);
  EXPECT_EQ(selected.cost.epsilon, 1);
  EXPECT_EQ(selected.cost.delta, Rational(1, 1000000));
  ASSERT_FALSE(selected.rows.empty());
  ASSERT_EQ(selected.columns.size(), 1u);
  for (const auto& row : selected.rows) {
    const std::string district = std::get<std::string>(row[0]);
    const int64_t people = std::stoll(db_->QueryValue(
        "SELECT count(DISTINCT patient_id) FROM admissions WHERE postcode_district = '" + district + "'"));
    // Released only if its noisy count (scale 4) reached the threshold: far
    // below it would take noise beyond 20 scales (probability < 1e-8).
    EXPECT_GT(people, plan.selection_threshold - 80) << district;
  }
}

TEST_F(EngineTest, ZcdpDatasetChargesRhoAndShowsBudgetBothWays) {
  Catalog catalog = VariantCatalog("zhospital", "    accounting: zcdp\n");
  ConnectionPool pool(db_->url(), 1);
  Engine engine(catalog, pool, std::make_unique<SeededRandom>(5));
  Ledger ledger(db_->url());
  ledger.AddAnalyst("zcdp_analyst", "zhospital", BudgetCost::FromGrant(0, 0, Rational(1, 20)), false);
  Caller caller{ledger.FindAnalyst("zcdp_analyst")->id, "zcdp_analyst"};

  // Laplace with epsilon 0.2 costs rho 0.2^2 / 2 = 0.02.
  QueryResult first =
      engine.Run(caller, "zhospital", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.2)");
  EXPECT_EQ(first.cost.rho, Rational(1, 50));
  ASSERT_TRUE(first.budget.has_value());
  const BudgetView& view = *first.budget;
  EXPECT_EQ(view.accounting, "zcdp");
  EXPECT_EQ(view.rho_total, "0.05");
  EXPECT_EQ(view.rho_spent, "0.02");
  EXPECT_EQ(view.rho_remaining, "0.03");
  // The (epsilon, delta) equivalents at the default delta 1e-6, rounded
  // against the analyst (down for what is left, up for what is spent).
  const double total = EpsilonForRho(Rational(1, 20), Rational(1, 1000000));
  const double spent = EpsilonForRho(Rational(1, 50), Rational(1, 1000000));
  EXPECT_NEAR(std::stod(view.epsilon_total), total, 1e-6);
  EXPECT_LE(std::stod(view.epsilon_total), total);
  EXPECT_GE(std::stod(view.epsilon_spent), spent);
  EXPECT_EQ(view.delta_total, "0.000001");
  EXPECT_EQ(ledger.GetBudget(caller.analyst_id, "zhospital")->spent.epsilon_micro, 0);

  QueryResult show = engine.Run(caller, "zhospital", "SHOW BUDGET");
  ASSERT_EQ(show.columns.size(), 10u);
  EXPECT_EQ(show.columns[7].name, "rho_total");
  EXPECT_EQ(std::get<std::string>(show.rows[0][8]), "0.02");

  // A Gaussian query is charged its exact rho, rounded up to pico-rho.
  QueryResult gaussian = engine.Run(
      caller, "zhospital",
      "SELECT COUNT(*) FROM admissions WITH PRIVACY (mechanism = gaussian, epsilon = 0.5, delta = 1e-6)");
  const int64_t charged = BudgetCost::FromCost(0, 0, gaussian.cost.rho).rho_pico;
  EXPECT_EQ(ledger.GetBudget(caller.analyst_id, "zhospital")->spent.rho_pico, 20'000'000'000 + charged);

  // Over budget: refused in rho, nothing spent.
  try {
    engine.Run(caller, "zhospital", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.3)");
    FAIL() << "expected budget_exhausted";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "budget_exhausted");
    EXPECT_NE(e.message().find("costs rho 0.045"), std::string::npos) << e.message();
  }
  EXPECT_EQ(ledger.GetBudget(caller.analyst_id, "zhospital")->spent.rho_pico, 20'000'000'000 + charged);
}

TEST_F(EngineTest, DatasetCapHoldsAcrossAnalystsAndItsRefusalCostsNothing) {
  Catalog catalog =
      VariantCatalog("capped", "    limits:   { max_epsilon_per_query: 2.0, dataset_epsilon: 1 }\n");
  ConnectionPool pool(db_->url(), 1);
  Engine engine(catalog, pool, std::make_unique<SeededRandom>(9));
  Ledger ledger(db_->url());
  ledger.AddAnalyst("cap_a", "capped", BudgetCost::FromGrant(5, 0), false);
  ledger.AddAnalyst("cap_b", "capped", BudgetCost::FromGrant(5, 0), false);
  Caller a{ledger.FindAnalyst("cap_a")->id, "cap_a"}, b{ledger.FindAnalyst("cap_b")->id, "cap_b"};
  const std::string big = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.6)";
  engine.Run(a, "capped", big);
  try {
    // Another query of the same cost (a repeat of `big` would be a free cached answer).
    engine.Run(b, "capped", "SELECT COUNT(*) FROM admissions WHERE age >= 18 WITH PRIVACY (epsilon = 0.6)");
    FAIL() << "expected dataset_budget_exhausted";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "dataset_budget_exhausted");
    EXPECT_NE(e.message().find("Nothing was spent"), std::string::npos);
  }
  EXPECT_EQ(ledger.GetBudget(b.analyst_id, "capped")->spent.epsilon_micro, 0);
  EXPECT_EQ(ledger.DatasetSpent("capped").epsilon_micro, 600'000);
  engine.Run(b, "capped", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.4)");
  EXPECT_EQ(ledger.DatasetSpent("capped").epsilon_micro, 1'000'000);
  EXPECT_EQ(DatasetCap(catalog.datasets[0]).epsilon_micro.value_or(-1), 1'000'000);
}

TEST_F(EngineTest, SeededNoiseIsReproducibleAndSecureNoiseIsNot) {
  // The same seed gives the same release; this is what lets statistical tests
  // fix their randomness. Production uses SecureRandom.
  ConnectionPool pool(db_->url(), 1);
  Caller caller = NewAnalyst("seeded", "100");
  const std::string query = "SELECT admission_method, COUNT(*) FROM admissions GROUP BY admission_method;";
  Engine a(*catalog_, pool, std::make_unique<SeededRandom>(99));
  Engine b(*catalog_, pool, std::make_unique<SeededRandom>(99));
  a.set_answer_cache(false);  // fresh noise on every run, not the stored answer
  b.set_answer_cache(false);
  EXPECT_EQ(a.Run(caller, "hospital", query).rows, b.Run(caller, "hospital", query).rows);
  Engine secure(*catalog_, pool, std::make_unique<SecureRandom>());
  secure.set_answer_cache(false);
  std::vector<std::vector<Value>> first = secure.Run(caller, "hospital", query).rows;
  bool differs = false;
  for (int i = 0; i < 5 && !differs; ++i) differs = secure.Run(caller, "hospital", query).rows != first;
  EXPECT_TRUE(differs) << "six releases with identical noise";
}

// Drop all rows of one patient: every noise-free figure may move by at most
// its per-group bound, at most groups_bound groups may change, and the total
// change is at most the measure's sensitivity.
TEST_F(EngineTest, OnePatientMovesEachFigureByAtMostTheSensitivity) {
  const std::vector<std::string> queries = {
      "SELECT COUNT(*) FROM admissions;",
      "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code WITH PRIVACY (max_rows = 2);",
      "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days GROUP BY ward_code;",
      "SELECT BUCKET(age, 10), SUM(length_of_stay), AVG(length_of_stay) FROM admissions GROUP BY "
      "BUCKET(age, 10) WITH PRIVACY (max_groups = 2, max_rows = 3);",
      "SELECT DATE_TRUNC('month', admitted_on), COUNT(waiting_days), SUM(waiting_days) FROM "
      "admissions GROUP BY DATE_TRUNC('month', admitted_on) WITH PRIVACY (max_groups = 3);",
      "SELECT sex, admission_method, COUNT(*) FROM admissions GROUP BY sex, admission_method;",
      "SELECT EXTRACT(DOW FROM day), COUNT(*) FROM bed_days GROUP BY EXTRACT(DOW FROM day) WITH "
      "PRIVACY (max_groups = 2, max_rows = 5);",
      "SELECT admission_method, VARIANCE(age), STDDEV(waiting_days) FROM admissions GROUP BY "
      "admission_method WITH PRIVACY (max_groups = 2, max_rows = 3);",
  };
  // The patients with the most admissions (the worst case) and an ordinary one.
  pqxx::connection conn(db_->url());
  std::vector<std::string> patients;
  {
    pqxx::work txn(conn);
    for (const auto& row :
         txn.exec("(SELECT patient_id FROM admissions GROUP BY patient_id ORDER BY count(*) DESC, "
                  "patient_id LIMIT 3) UNION ALL (SELECT min(patient_id) FROM admissions)")) {
      patients.push_back(row[0].c_str());
    }
  }
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  std::vector<Plan> plans;
  std::vector<ExactAggregates> before;
  for (const auto& q : queries) {
    plans.push_back(CompileOne(q));
    before.push_back(executor.RunExact(plans.back()));
  }
  int changed_somewhere = 0;
  for (const std::string& patient : patients) {
    SCOPED_TRACE("patient " + patient);
    RemovePatient(conn, patient);
    for (size_t q = 0; q < queries.size(); ++q) {
      SCOPED_TRACE(queries[q]);
      const Plan& plan = plans[q];
      changed_somewhere += ExpectNeighbourWithinSensitivity(plan, before[q], executor.RunExact(plan));
    }
    RestorePatients(conn);
  }
  // The property is not vacuous: removing patients did change figures.
  EXPECT_GT(changed_somewhere, 10);
}

// The max_groups bound keeps, of each person's g groups, a cyclic run of
// max_groups in key order from a start chosen by a hash of the person. So a
// person with g > max_groups keeps each of their groups with probability
// max_groups / g over people, and no group is favoured: a bound that kept
// every person's first groups would undercount the groups late in key order.
// Per ward w, `kept` (people with g > 2 who kept w, max_groups = 2) is a sum
// of independent indicators with mean E_w = sum of 2/g and variance <= E_w,
// so sum (kept - E)^2 / E over the wards with E >= 5 is at most chi-square
// distributed with that many degrees of freedom in the tail: the test fails
// it at significance 0.001 (a fixed data set and hash, so the outcome is
// deterministic). Negative control: the first-two-wards rule must fail.
TEST_F(EngineTest, GroupBoundSpreadsWhatIsDroppedOverEachPersonsGroups) {
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  const Plan plan = CompileOne(
      "SELECT ward_code, COUNT(DISTINCT patient_id) FROM admissions GROUP BY ward_code "
      "WITH PRIVACY (max_groups = 2);");
  ASSERT_TRUE(plan.bound_groups);
  const ExactAggregates exact = executor.RunExact(plan);
  std::map<std::string, int64_t> bounded;
  int64_t bounded_total = 0;
  for (size_t row = 0; row < exact.keys.size(); ++row) {
    const int64_t people = static_cast<int64_t>(exact.measures[row][0]);
    bounded[*exact.keys[row][0]] = people;
    bounded_total += people;
  }
  // Each person is in exactly min(g, 2) of the bounded groups.
  EXPECT_EQ(std::to_string(bounded_total),
            db_->QueryValue("SELECT sum(LEAST(g, 2)) FROM (SELECT count(DISTINCT ward_code) AS g "
                            "FROM admissions GROUP BY patient_id) p"));

  pqxx::connection conn(db_->url());
  pqxx::work txn(conn);
  const pqxx::result wards = txn.exec(
      "WITH pw AS (SELECT DISTINCT patient_id, ward_code FROM admissions), "
      "r AS (SELECT ward_code, count(*) OVER (PARTITION BY patient_id) AS g, row_number() OVER "
      "(PARTITION BY patient_id ORDER BY ward_code COLLATE \"C\") AS rank FROM pw) "
      "SELECT ward_code, count(*) FILTER (WHERE g <= 2), sum(CASE WHEN g > 2 THEN 2.0 / g ELSE 0 "
      "END)::float8, count(*) FILTER (WHERE g > 2 AND rank <= 2) FROM r GROUP BY ward_code");
  double statistic = 0, control = 0;
  int cells = 0;
  for (const auto& row : wards) {
    const std::string ward = row[0].c_str();
    const int64_t sure = row[1].as<int64_t>();  // people with at most 2 wards keep them all
    const double expected = row[2].as<double>();
    const int64_t first_two = row[3].as<int64_t>();
    ASSERT_TRUE(bounded.count(ward)) << ward;
    const double kept = static_cast<double>(bounded[ward] - sure);
    ASSERT_GE(kept, 0) << ward;
    if (expected < 5) continue;
    ++cells;
    statistic += (kept - expected) * (kept - expected) / expected;
    control += (first_two - expected) * (first_two - expected) / expected;
  }
  ASSERT_GE(cells, 20) << "too few wards with people in more than two wards to test";
  // chi-square upper 0.001 quantile, Wilson-Hilferty (z = 3.0902).
  const double k = cells, z = 3.0902;
  const double critical = k * std::pow(1 - 2 / (9 * k) + z * std::sqrt(2 / (9 * k)), 3);
  EXPECT_LT(statistic, critical) << cells << " wards";
  EXPECT_GT(control, critical) << "the negative control (first two wards) passed";
}

// A WHERE range on the key's column narrows its domain: the month asked about
// has its own days only, and each day's bounded figure is the one the same
// query computes when WHERE is written so that nothing is narrowed.
TEST_F(EngineTest, WhereRangeNarrowsTheDomainWithoutChangingAnyGroup) {
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  // Both with the same max_groups (the month alone would get 30 from bed_days'
  // declared uniqueness, the OR nothing), so each person keeps the same groups.
  const Plan narrowed = CompileOne(
      "SELECT day, COUNT(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
      "DATE '2026-11-30' GROUP BY day WITH PRIVACY (max_groups = 4);");
  // An OR is not read for narrowing; `day IS NULL` rows have no key and drop out.
  const Plan whole = CompileOne(
      "SELECT day, COUNT(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
      "DATE '2026-11-30' OR day IS NULL GROUP BY day WITH PRIVACY (max_groups = 4);");
  ASSERT_EQ(narrowed.select.keys[0].domain.size, BigInt(30));
  ASSERT_EQ(whole.select.keys[0].domain.size, BigInt(1096));
  const ExactAggregates in_month = executor.RunExact(narrowed);
  const ExactAggregates everywhere = executor.RunExact(whole);
  ASSERT_EQ(in_month.keys.size(), 30u);
  std::map<std::string, BigInt> by_day;
  for (size_t row = 0; row < everywhere.keys.size(); ++row) {
    by_day[*everywhere.keys[row][0]] = everywhere.measures[row][0];
  }
  BigInt month_total = 0;
  for (size_t row = 0; row < in_month.keys.size(); ++row) {
    const std::string day = *in_month.keys[row][0];
    EXPECT_EQ(day, "2026-11-" + std::string(row < 9 ? "0" : "") + std::to_string(row + 1));
    EXPECT_EQ(in_month.measures[row][0], by_day[day]) << day;
    month_total += in_month.measures[row][0];
    by_day.erase(day);
  }
  EXPECT_GT(month_total, 0) << "the test data has no bed days in the month";
  for (const auto& [day, count] : by_day) EXPECT_EQ(count, 0) << day << " is outside the filter";

  // One day: one key, so no person's groups need dropping, and the figure is
  // the plain count of that day's patients.
  const Plan one_day = CompileOne(
      "SELECT day, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' "
      "GROUP BY day;");
  EXPECT_FALSE(one_day.bound_groups);
  const ExactAggregates exact = executor.RunExact(one_day);
  ASSERT_EQ(exact.keys.size(), 1u);
  EXPECT_EQ(exact.measures[0][0].str(), db_->QueryValue("SELECT count(DISTINCT patient_id) FROM bed_days "
                                                        "WHERE day = DATE '2026-11-27'"));
}

// A key whose domain is a public table's column: the SQL counts the table's
// keys in its own snapshot and runs the max_groups window only when there are
// more of them than max_groups. Four trusts: with max_groups = 4 the window is
// never executed; with 2 it runs and each person keeps at most 2.
TEST_F(EngineTest, SmallTableDomainSkipsTheGroupWindowInTheSameSnapshot) {
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  ASSERT_EQ(db_->QueryValue("SELECT count(DISTINCT trust) FROM wards"), "4");
  auto people = [&](int max_groups) {
    const Plan plan = CompileOne(
        "SELECT w.trust, COUNT(DISTINCT a.patient_id) FROM admissions a JOIN wards w "
        "ON a.ward_code = w.ward_code GROUP BY w.trust WITH PRIVACY (max_groups = " +
        std::to_string(max_groups) + ");");
    EXPECT_TRUE(plan.bound_groups);  // the planner cannot know the table's size
    const ExactAggregates exact = executor.RunExact(plan);
    BigInt total = 0;
    for (const auto& row : exact.measures) total += row[0];
    // Whether PostgreSQL ran the window, from the plan it executed.
    pqxx::connection conn(db_->url());
    pqxx::work txn(conn);
    const pqxx::result explain = txn.exec_params("EXPLAIN (ANALYZE, COSTS OFF, TIMING OFF) " + plan.sql,
                                                 pqxx::prepare::make_dynamic_params(plan.params));
    // The window's branch reads admissions below a one-time filter: that
    // scan says "never executed" when the branch did not run.
    bool below_window = false;
    std::string window_scan;
    for (const auto& line : explain) {
      const std::string text = line[0].c_str();
      if (text.find("WindowAgg") != std::string::npos) below_window = true;
      if (below_window && window_scan.empty() && text.find("on admissions") != std::string::npos) {
        window_scan = text;
      }
    }
    EXPECT_FALSE(window_scan.empty()) << "the SQL has no window branch";
    return std::make_pair(total, window_scan.find("never executed") == std::string::npos);
  };
  auto bounded = [&](int g) {
    return db_->QueryValue(
        "SELECT sum(LEAST(g, " + std::to_string(g) +
        ")) FROM (SELECT count(DISTINCT w.trust) AS g "
        "FROM admissions a JOIN wards w ON a.ward_code = w.ward_code GROUP BY a.patient_id) p");
  };
  const auto [all_kept, window_ran_at_4] = people(4);
  EXPECT_FALSE(window_ran_at_4);
  EXPECT_EQ(all_kept.str(), bounded(4));
  const auto [two_kept, window_ran_at_2] = people(2);
  EXPECT_TRUE(window_ran_at_2);
  EXPECT_EQ(two_kept.str(), bounded(2));
  // (The demo's patients each stay within one trust, so both figures are the
  // same here; EngineTest.GroupBoundSpreadsWhatIsDroppedOverEachPersonsGroups
  // runs the window branch where it drops groups, over 37 wards.)
}

// Keys without a public domain: only groups with enough people are released,
// and a key held by a single patient is not (probability <= delta per run).
TEST_F(EngineTest, PartitionSelectionReleasesOnlyWellPopulatedGroups) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(17));
  Caller caller = NewAnalyst("districts", "100", "0.001");
  const std::string query =
      "SELECT postcode_district, COUNT(DISTINCT patient_id) AS patients FROM admissions GROUP BY "
      "postcode_district WITH PRIVACY (epsilon = 2, max_groups = 1);";
  db_->Exec(
      "UPDATE admissions SET postcode_district = 'ZZ99' WHERE patient_id = (SELECT "
      "min(patient_id) FROM admissions)");
  QueryResult result = engine.Run(caller, "hospital", query);
  db_->Exec("UPDATE admissions SET postcode_district = 'LS1' WHERE postcode_district = 'ZZ99'");
  ASSERT_FALSE(result.notes.empty());
  EXPECT_NE(result.notes[0].find("suppressed"), std::string::npos);
  EXPECT_EQ(result.cost.delta, Rational(1, 1000000));
  // Most of the ~100 districts hold dozens of patients each and are released.
  EXPECT_GT(result.rows.size(), 50u);
  const int64_t threshold = CompileOne(query).selection_threshold;
  for (const auto& row : result.rows) {
    const std::string& district = std::get<std::string>(row[0]);
    EXPECT_NE(district, "ZZ99") << "a single patient's district was released";
    // The released count is the noisy count that passed the threshold.
    EXPECT_GE(std::get<int64_t>(row[1]), threshold);
    EXPECT_EQ(
        db_->QueryValue("SELECT count(*) > 0 FROM admissions WHERE postcode_district = '" + district + "'"),
        "t");
  }
}

// A person's mean value (which sums and means scale by their row count) is
// over the rows that have a value: PostgreSQL's GREATEST and LEAST skip NULLs,
// so without a filter a NULL would enter the mean as the lower bound.
// waiting_days is NULL for non-elective admissions; with max_rows = 64 nobody
// is capped, so the exact figures equal plain SQL over the non-NULL values.
TEST_F(EngineTest, SumsAndMeansSkipNullsWithinAPersonsRows) {
  ASSERT_EQ(db_->QueryValue("SELECT max(c) <= 64 FROM (SELECT count(*) AS c FROM admissions "
                            "GROUP BY patient_id) p"),
            "t");
  ASSERT_NE(db_->QueryValue("SELECT count(*) FROM (SELECT patient_id FROM admissions GROUP BY "
                            "patient_id HAVING count(waiting_days) > 0 AND count(*) > "
                            "count(waiting_days)) p"),
            "0");
  Plan plan = CompileOne(
      "SELECT SUM(waiting_days), VARIANCE(waiting_days) FROM admissions "
      "WITH PRIVACY (max_rows = 64);");
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  ExactAggregates exact = executor.RunExact(plan);
  ASSERT_EQ(exact.measures.size(), 1u);
  const PlanOutput& variance = plan.outputs[1];
  auto value = [&](int m) { return Rational(exact.measures[0][m]) * plan.measures[m].grid; };
  auto plain = [&](const std::string& sql) { return *ParseDecimal(db_->QueryValue(sql)); };
  const std::string clamped = "LEAST(GREATEST(waiting_days, 0), 730)::numeric";
  EXPECT_EQ(value(plan.outputs[0].measure), plain("SELECT sum(" + clamped + ") FROM admissions"));
  EXPECT_EQ(value(variance.count_measure), plain("SELECT count(waiting_days) FROM admissions"));
  // (Here too GREATEST(NULL, 0) is 0: the plain SQL must skip NULLs itself.)
  const std::string with_value = " FROM admissions WHERE waiting_days IS NOT NULL";
  EXPECT_EQ(value(variance.measure), plain("SELECT sum(" + clamped + " - 365)" + with_value));
  EXPECT_EQ(value(variance.squares_measure),
            plain("SELECT sum((" + clamped + " - 365) * (" + clamped + " - 365) - 66612.5)" + with_value));
}

// Sums over int columns add integers per row (sql_generator.cpp,
// IntegerPerRow: x, 2x - (lo + hi), 2(2x - (lo + hi))^2 - (hi - lo)^2) and
// scale to max_rows rows once per person. With max_rows = 2 many people are
// scaled down. Each measure must equal its definition, computed here in exact
// rationals from per-person numeric sums: per person and group,
// round_half_away(sum of per-row values * min(n, 2) / (n * grid)), clamped to
// the per-group bound, then summed per group.
TEST_F(EngineTest, IntegerSumsEqualTheirExactDefinitionWhenRowsAreCapped) {
  ASSERT_NE(db_->QueryValue("SELECT count(*) FROM (SELECT 1 FROM admissions GROUP BY patient_id, "
                            "sex HAVING count(waiting_days) > 3) p"),
            "0");
  // max_rows = 1 divides in bigints only; 2 and 3 scale capped people in numeric.
  for (int max_rows : {1, 2, 3}) {
    SCOPED_TRACE("max_rows " + std::to_string(max_rows));
    ExpectIntegerSumsEqualTheirExactDefinition(max_rows);
  }
}

void EngineTest::ExpectIntegerSumsEqualTheirExactDefinition(int max_rows) {
  Plan plan = CompileOne(
      "SELECT sex, SUM(length_of_stay), AVG(age), VARIANCE(waiting_days) FROM admissions "
      "GROUP BY sex WITH PRIVACY (max_rows = " +
      std::to_string(max_rows) + ");");
  ASSERT_NE(plan.sql.find("::integer) FILTER"), std::string::npos) << plan.sql;
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  ExactAggregates exact = executor.RunExact(plan);
  ASSERT_EQ(exact.keys.size(), 3u);

  struct Case {
    int measure;
    std::string per_row;  // in numeric, NULL where the column is NULL
    std::string column;
  };
  const std::string stay = "LEAST(GREATEST(length_of_stay, 0), 120)::numeric";
  const std::string age = "LEAST(GREATEST(age, 0), 110)::numeric";
  const std::string wait = "LEAST(GREATEST(waiting_days, 0), 730)::numeric";
  const PlanOutput& variance = plan.outputs[3];
  const std::vector<Case> cases = {
      {plan.outputs[1].measure, stay, "length_of_stay"},
      {plan.outputs[2].measure, "(" + age + " - 55)", "age"},
      {variance.measure, "(" + wait + " - 365)", "waiting_days"},
      {variance.squares_measure, "((" + wait + " - 365) * (" + wait + " - 365) - 66612.5)", "waiting_days"},
  };
  auto round_half_away = [](const Rational& r) {
    BigInt floor_of_abs = Floor(abs(r) + Rational(1, 2));
    return r < 0 ? BigInt(-floor_of_abs) : floor_of_abs;
  };
  pqxx::connection conn(db_->url());
  pqxx::work txn(conn);
  for (const Case& c : cases) {
    SCOPED_TRACE(c.per_row);
    const Measure& measure = plan.measures[c.measure];
    const BigInt bound = measure.per_group_bound;
    std::map<std::string, BigInt> expected;
    int64_t capped = 0;
    pqxx::result people =
        txn.exec("SELECT sex, coalesce(sum(CASE WHEN " + c.column + " IS NOT NULL THEN " + c.per_row +
                 " END), 0)::text, count(" + c.column + ") FROM admissions GROUP BY patient_id, sex");
    for (const auto& row : people) {
      const Rational total = *ParseDecimal(row[1].as<std::string>());
      const int64_t n = row[2].as<int64_t>();
      capped += n > max_rows;
      Rational scaled = n == 0 ? Rational(0) : total * std::min<int64_t>(n, max_rows) / (n * measure.grid);
      BigInt contribution = std::clamp(round_half_away(scaled), BigInt(-bound), bound);
      expected[row[0].as<std::string>()] += contribution;
    }
    EXPECT_GT(capped, 0);
    for (size_t g = 0; g < exact.keys.size(); ++g) {
      EXPECT_EQ(exact.measures[g][c.measure], expected[*exact.keys[g][0]]) << *exact.keys[g][0];
    }
  }
}

// VARIANCE and STDDEV end to end: the released figures are close to the
// bounded truth from plain SQL (each patient's mean age and mean squared
// deviation from the midpoint 55 count once, max_rows = 1), and their
// (conservative) intervals hold it.
TEST_F(EngineTest, VarianceAndStddevMatchTheBoundedTruth) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(23));
  Caller caller = NewAnalyst("spread", "10");
  QueryResult result =
      engine.Run(caller, "hospital",
                 "SELECT sex, VARIANCE(age) AS v, STDDEV(age) AS sd, AVG(age) AS mean FROM admissions "
                 "GROUP BY sex WITH PRIVACY (epsilon = 2);");
  EXPECT_EQ(result.cost.epsilon, Rational(2));
  ASSERT_EQ(result.rows.size(), 3u);
  EXPECT_EQ(result.columns[1].type, ValueType::kReal);
  pqxx::connection conn(db_->url());
  pqxx::work txn(conn);
  pqxx::result truth = txn.exec(
      "WITH p AS (SELECT patient_id, sex, avg(LEAST(GREATEST(age, 0), 110)::numeric - 55) AS d, "
      "avg((LEAST(GREATEST(age, 0), 110)::numeric - 55) ^ 2) AS q FROM admissions "
      "WHERE age IS NOT NULL GROUP BY patient_id, sex) "
      "SELECT sex, (avg(q) - avg(d) ^ 2)::float8, count(*) FROM p GROUP BY sex ORDER BY sex");
  ASSERT_EQ(truth.size(), 3u);
  for (size_t g = 0; g < 3; ++g) {
    SCOPED_TRACE(std::get<std::string>(result.rows[g][0]));
    const double variance = truth[static_cast<int>(g)][1].as<double>();
    const double v = std::get<double>(result.rows[g][1]);
    const double sd = std::get<double>(result.rows[g][2]);
    EXPECT_DOUBLE_EQ(sd, std::sqrt(v));
    EXPECT_GE(v, 0);
    EXPECT_LE(v, 55.0 * 55.0);
    EXPECT_LE(result.intervals[g][1]->lower, variance);
    EXPECT_GE(result.intervals[g][1]->upper, variance);
    EXPECT_LE(result.intervals[g][2]->lower, std::sqrt(variance));
    EXPECT_GE(result.intervals[g][2]->upper, std::sqrt(variance));
    if (truth[static_cast<int>(g)][2].as<int64_t>() > 1000) {
      EXPECT_NEAR(v, variance, 0.1 * variance);  // thousands of patients: noise is small
    }
  }
  // EXPLAIN shows the three measures of one column and spends nothing.
  QueryResult explain = engine.Run(caller, "hospital", "EXPLAIN SELECT STDDEV(age) FROM admissions;");
  EXPECT_NE(explain.explain.find("sum of (age - 55)^2 - 1512.5"), std::string::npos) << explain.explain;
  EXPECT_NE(explain.explain.find("sum of (age - 55),"), std::string::npos);
}

TEST_F(EngineTest, MetadataStatementsAndExplainCostNothing) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(5));
  Caller caller = NewAnalyst("metadata", "1");
  QueryResult tables = engine.Run(caller, "", "SHOW TABLES");
  EXPECT_EQ(tables.rows.size(), catalog_->DefaultDataset()->tables.size());
  QueryResult describe = engine.Run(caller, "hospital", "DESCRIBE admissions;");
  EXPECT_EQ(describe.rows.size(), catalog_->DefaultDataset()->FindTable("admissions")->columns.size());
  QueryResult explain = engine.Run(caller, "hospital", "EXPLAIN SELECT AVG(age) FROM admissions;");
  EXPECT_NE(explain.explain.find("sensitivity"), std::string::npos);
  QueryResult budget = engine.Run(caller, "hospital", "SHOW BUDGET;");
  ASSERT_EQ(budget.rows.size(), 1u);
  EXPECT_EQ(std::get<std::string>(budget.rows[0][2]), "0");  // epsilon_spent
  EXPECT_THROW(engine.Run(caller, "nope", "SHOW TABLES;"), DpqlError);
}

}  // namespace
}  // namespace dpql
