// Bounds from declared structure, on the hospital data in a real PostgreSQL:
// the bounds bed_days' declared uniqueness gives drop nothing (the bounded
// exact figures equal plain SQL's), and `dpqld admin check` confirms the
// demo catalog's declarations and catches a false one, with exit status 1.

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <map>
#include <pqxx/pqxx>
#include <string>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/connection_pool.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

class DeclaredStructureTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(20000);
  }
  static void TearDownTestSuite() {
    delete db_;
    db_ = nullptr;
  }
  static std::string CatalogPath() { return SourceDir() + "/examples/hospital/catalog.yaml"; }
  static TestDatabase* db_;
};
TestDatabase* DeclaredStructureTest::db_ = nullptr;

// The bounded exact figures of `dpql` (one measure) by key, against plain SQL's.
void ExpectNothingDropped(TestDatabase& db, const std::string& dpql, const std::string& plain) {
  const Catalog catalog = LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml");
  ast::Statement statement = ParseStatement(dpql);
  const Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
  EXPECT_TRUE(plan.select.privacy.groups_exact) << dpql;
  EXPECT_TRUE(plan.select.privacy.rows_exact) << dpql;
  ConnectionPool pool(db.url(), 1);
  Executor executor(pool);
  const ExactAggregates exact = executor.RunExact(plan);
  pqxx::connection connection(db.url());
  pqxx::read_transaction txn(connection);
  const pqxx::result truth = txn.exec(plain);
  std::map<std::string, std::string> expected;
  for (const auto& row : truth) expected[row[0].as<std::string>()] = row[1].as<std::string>();
  size_t nonzero = 0;
  for (size_t i = 0; i < exact.keys.size(); ++i) {
    const std::string key = exact.keys[i].at(0).value_or("");
    const std::string figure = exact.measures[i].at(0).str();
    if (figure != "0") ++nonzero;
    EXPECT_EQ(figure, expected.count(key) ? expected[key] : "0") << "key " << key << " of " << dpql;
  }
  EXPECT_EQ(nonzero, expected.size()) << dpql;
  EXPECT_GT(nonzero, 0u) << dpql;
}

TEST_F(DeclaredStructureTest, OneDaysOccupancyDropsNoPatient) {
  ExpectNothingDropped(*db_,
                       "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE "
                       "'2026-11-27' GROUP BY ward_code;",
                       "SELECT ward_code, count(DISTINCT patient_id) FROM bed_days WHERE day = DATE "
                       "'2026-11-27' GROUP BY ward_code");
}

// With max_groups 4, a patient's days beyond 4 were dropped from the month
// series; the declared bound (30 days) keeps every bed day.
TEST_F(DeclaredStructureTest, MonthSeriesCountsEveryBedDay) {
  ExpectNothingDropped(*db_,
                       "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM bed_days WHERE day BETWEEN DATE "
                       "'2026-11-01' AND DATE '2026-11-30' GROUP BY d;",
                       "SELECT day::text, count(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
                       "DATE '2026-11-30' GROUP BY day");
  // The negative control: the same series with max_groups 4, as before,
  // loses bed days (patients stay longer than 4 days).
  const Catalog catalog = LoadCatalog(CatalogPath());
  ast::Statement statement = ParseStatement(
      "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND "
      "DATE '2026-11-30' GROUP BY d WITH PRIVACY (max_groups = 4);");
  const Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
  ConnectionPool pool(db_->url(), 1);
  Executor executor(pool);
  BigInt kept = 0;
  for (const auto& row : executor.RunExact(plan).measures) kept += row.at(0);
  const std::string all = db_->QueryValue(
      "SELECT count(*) FROM bed_days WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30'");
  EXPECT_LT(kept, BigInt(all)) << "max_groups 4 should drop some of " << all << " bed days";
}

TEST_F(DeclaredStructureTest, AdminCheckConfirmsTheDemoDeclarations) {
  int code = -1;
  const std::string out = RunAdmin(db_->url(), "check --catalog " + ShellQuote(CatalogPath()), &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("hospital.bed_days"), std::string::npos) << out;
  EXPECT_NE(out.find("unique (patient_id, day)"), std::string::npos) << out;
  EXPECT_NE(out.find("Every unique key holds."), std::string::npos) << out;
  EXPECT_EQ(out.find("FALSE"), std::string::npos) << out;
}

// A guardian who declares something false about the data is told before any
// analyst relies on it: patients have several bed days, so bed_days is not
// unique on patient_id alone.
TEST_F(DeclaredStructureTest, AdminCheckCatchesAFalseUniqueKey) {
  std::ifstream in(CatalogPath());
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  const std::string declared = "unique: [[patient_id, day]]";
  const size_t at = text.find(declared);
  ASSERT_NE(at, std::string::npos);
  text.replace(at, declared.size(), "unique: [[patient_id]]");
  const std::string path = ::testing::TempDir() + "/false_unique_catalog.yaml";
  std::ofstream(path) << text;
  // The compiler believes it: one row per patient, so max_groups 1...
  const Catalog catalog = LoadCatalog(path);
  ast::Statement statement = ParseStatement("SELECT ward_code, COUNT(*) FROM bed_days GROUP BY ward_code;");
  EXPECT_EQ(CompileSelect(*catalog.DefaultDataset(), *statement.select).select.privacy.max_groups, 1);
  // ...and the check says it is false.
  int code = -1;
  const std::string out = RunAdmin(db_->url(), "check --catalog " + ShellQuote(path), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("unique (patient_id)"), std::string::npos) << out;
  EXPECT_NE(out.find("FALSE: "), std::string::npos) << out;
  EXPECT_NE(out.find("1 unique key is false"), std::string::npos) << out;
  std::remove(path.c_str());
}

TEST_F(DeclaredStructureTest, AdminCheckNeedsACatalog) {
  int code = -1;
  const std::string out = RunAdmin(db_->url(), "check", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("`check` needs --catalog FILE"), std::string::npos) << out;
}

}  // namespace
}  // namespace dpql
