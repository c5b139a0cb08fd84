// JOINs of public tables through the whole pipeline on a real PostgreSQL:
// keys taken from a public table list every value and agree with an
// independent SQL count within the reported intervals; a public table with a
// duplicated join key cannot push anyone past the sensitivity; domain_from
// lists every ward of the public table.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>

#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "runtime/executor/executor.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/neighbours.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr int kRows = 8000;

// The demo catalog plus `ward_labels`, a public table in which every
// ward_code appears three times (and LTH-AMU five): joining it turns one
// admission into several joined rows, in several label groups.
std::string TestCatalogText() {
  std::ifstream in(SourceDir() + "/examples/hospital/catalog.yaml");
  std::ostringstream text;
  text << in.rdbuf();
  text << "      ward_labels:\n"
          "        private: false\n"
          "        columns:\n"
          "          ward_code: { type: text }\n"
          "          label:     { type: text }\n";
  return text.str();
}

class JoinTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(kRows);
    db_->Exec(
        "CREATE TABLE ward_labels (ward_code text NOT NULL, label text NOT NULL);"
        "INSERT INTO ward_labels SELECT ward_code, l FROM wards, unnest(ARRAY['x', 'y', 'z']) l;"
        "INSERT INTO ward_labels VALUES ('LTH-AMU', 'x'), ('LTH-AMU', 'y');"
        // A trust whose only ward has no admissions: it must still be listed.
        "INSERT INTO wards VALUES ('NEW-GEN', 'General Ward', 'New Hospital NHS Trust', "
        "'general surgery', 10);");
    catalog_ = new Catalog(ParseCatalog(TestCatalogText(), "join_test_catalog.yaml"));
    Ledger ledger(db_->url());
    ledger.Init();
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

  Plan CompileOne(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_->DefaultDataset(), *statement.select);
  }

  // The first column of each row of `sql` mapped to the second (as integers).
  std::map<std::string, int64_t> Truth(const std::string& sql) {
    pqxx::connection conn(db_->url());
    pqxx::work txn(conn);
    std::map<std::string, int64_t> out;
    for (const auto& row : txn.exec(sql)) out[row[0].c_str()] = row[1].as<int64_t>();
    return out;
  }

  static TestDatabase* db_;
  static Catalog* catalog_;
};

TestDatabase* JoinTest::db_ = nullptr;
Catalog* JoinTest::catalog_ = nullptr;

// Significance: each of the 5 released counts misses its 99.9% interval with
// probability 0.001, so a correct release fails this test with probability
// at most 0.5% (the seed is fixed, so the outcome is reproducible).
TEST_F(JoinTest, GroupByPublicKeyListsEveryTrustWithinTheIntervals) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(41));
  Caller caller = NewAnalyst("trusts", "10");
  // Each patient belongs to one trust (generate.sql), so with max_groups = 1
  // the bounded count of people equals the plain one.
  QueryResult result =
      engine.Run(caller, "hospital",
                 "SELECT w.trust, COUNT(DISTINCT a.patient_id) AS patients FROM admissions AS a JOIN wards "
                 "AS w ON a.ward_code = w.ward_code GROUP BY w.trust WITH PRIVACY (epsilon = 2, max_groups "
                 "= 1, confidence = 0.999);");
  std::map<std::string, int64_t> truth = Truth(
      "SELECT w.trust, count(DISTINCT a.patient_id) FROM admissions a JOIN wards w "
      "USING (ward_code) GROUP BY w.trust");
  std::map<std::string, int64_t> rows_per_trust = Truth(
      "SELECT w.trust, count(*) FROM admissions a JOIN wards w USING (ward_code) GROUP BY "
      "w.trust");
  const std::string empty_trust = "New Hospital NHS Trust";
  ASSERT_EQ(truth.count(empty_trust), 0u);  // the independent SQL has no row for it
  truth[empty_trust] = 0;

  // Every trust of the public table appears, in key order, the empty one too.
  const std::string trusts = db_->QueryValue("SELECT count(DISTINCT trust) FROM wards");
  ASSERT_EQ(result.rows.size(), static_cast<size_t>(std::stoll(trusts)));
  ASSERT_EQ(result.rows.size(), truth.size());
  int control_misses = 0;
  size_t r = 0;
  for (const auto& [trust, expected] : truth) {
    SCOPED_TRACE(trust);
    ASSERT_EQ(std::get<std::string>(result.rows[r][0]), trust);
    const Interval& ci = *result.intervals[r][1];
    EXPECT_LE(ci.lower, static_cast<double>(expected));
    EXPECT_GE(ci.upper, static_cast<double>(expected));
    EXPECT_LT(ci.upper - ci.lower, 30);  // epsilon 2: a few people either side
    // Negative control: the number of admission rows (several per patient)
    // is not what was counted, and the intervals are narrow enough to say so.
    if (rows_per_trust.count(trust) &&
        (rows_per_trust[trust] < ci.lower || rows_per_trust[trust] > ci.upper)) {
      ++control_misses;
    }
    ++r;
  }
  EXPECT_EQ(control_misses, 4);

  // domain_from: grouping by the private ward_code lists every ward of the
  // public table, including the new one without admissions.
  QueryResult by_ward =
      engine.Run(caller, "hospital", "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code;");
  EXPECT_EQ(by_ward.rows.size(),
            static_cast<size_t>(std::stoll(db_->QueryValue("SELECT count(*) FROM wards"))));
  bool listed = false;
  for (const auto& row : by_ward.rows) {
    listed = listed || std::get<std::string>(row[0]) == "NEW-GEN";
  }
  EXPECT_TRUE(listed);
}

// As EngineTest.OnePatientMovesEachFigureByAtMostTheSensitivity, through
// joins with ward_labels, whose duplicated keys multiply each admission: the
// bounds apply to the joined rows, so removing a patient still moves each
// figure by at most its per-group bound, in at most groups_bound groups.
TEST_F(JoinTest, DuplicatedJoinKeyStaysWithinTheSensitivity) {
  const std::vector<std::string> queries = {
      "SELECT COUNT(*) FROM admissions a JOIN ward_labels l ON a.ward_code = l.ward_code WITH "
      "PRIVACY (max_rows = 2);",
      "SELECT l.label, COUNT(*) FROM admissions a JOIN ward_labels l ON a.ward_code = "
      "l.ward_code GROUP BY l.label WITH PRIVACY (max_groups = 2, max_rows = 3);",
      "SELECT w.trust, SUM(a.length_of_stay), COUNT(DISTINCT a.patient_id) FROM admissions a "
      "JOIN ward_labels l ON a.ward_code = l.ward_code LEFT JOIN wards w ON l.ward_code = "
      "w.ward_code GROUP BY w.trust WITH PRIVACY (max_rows = 4);",
      "SELECT label, COUNT(*) FROM bed_days LEFT JOIN ward_labels ON bed_days.ward_code = "
      "ward_labels.ward_code WHERE day >= DATE '2026-01-01' GROUP BY label WITH PRIVACY "
      "(max_groups = 3, max_rows = 5);",
  };
  pqxx::connection conn(db_->url());
  // The heaviest patients by joined rows at LTH-AMU (five labels per
  // admission there), by admissions, and an ordinary one.
  std::vector<std::string> patients;
  int64_t heaviest_joined_rows = 0;
  {
    pqxx::work txn(conn);
    for (const auto& row :
         txn.exec("(SELECT a.patient_id FROM admissions a JOIN ward_labels l USING (ward_code) "
                  "GROUP BY a.patient_id ORDER BY count(*) DESC, a.patient_id LIMIT 2) UNION ALL "
                  "(SELECT patient_id FROM admissions WHERE ward_code = 'LTH-AMU' GROUP BY patient_id "
                  "ORDER BY count(*) DESC, patient_id LIMIT 1) UNION ALL "
                  "(SELECT min(patient_id) FROM admissions)")) {
      patients.push_back(row[0].c_str());
    }
    heaviest_joined_rows = txn.exec_params1(
                                  "SELECT count(*) FROM admissions a JOIN ward_labels l USING (ward_code) "
                                  "WHERE a.patient_id = $1",
                                  patients[0])[0]
                               .as<int64_t>();
  }
  // Not vacuous: without bounding after the join, this patient alone would
  // move the first query's count by far more than its sensitivity.
  const Plan first = CompileOne(queries[0]);
  ASSERT_EQ(first.measures.size(), 1u);
  EXPECT_GT(BigInt(heaviest_joined_rows), 2 * first.measures[0].sensitivity);

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
  EXPECT_GT(changed_somewhere, 8);
}

TEST_F(JoinTest, ExplainShowsTheJoinAndRefusalsCostNothing) {
  ConnectionPool pool(db_->url(), 1);
  Engine engine(*catalog_, pool, std::make_unique<SeededRandom>(5));
  Caller caller = NewAnalyst("join_explain", "1");
  QueryResult explain =
      engine.Run(caller, "hospital",
                 "EXPLAIN SELECT w.trust, COUNT(*) FROM admissions a JOIN wards w ON a.ward_code = "
                 "w.ward_code GROUP BY w.trust;");
  EXPECT_NE(explain.explain.find("join: JOIN wards (public) ON admissions.ward_code = wards.ward_code"),
            std::string::npos)
      << explain.explain;
  EXPECT_NE(explain.explain.find("JOIN \"wards\" AS j1 ON t.\"ward_code\" = j1.\"ward_code\""),
            std::string::npos)
      << explain.explain;
  try {
    engine.Run(caller, "hospital",
               "SELECT COUNT(*) FROM admissions a JOIN bed_days b ON a.ward_code = b.ward_code;");
    FAIL() << "a join of two private tables was answered";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "private_join");
  }
  Ledger ledger(db_->url());
  EXPECT_EQ(ledger.GetBudget(caller.analyst_id, "hospital")->spent.EpsilonString(), "0");
}

}  // namespace
}  // namespace dpql
