// Compile (compiler/compile.h), the one place a statement kind is handled:
// each kind compiles to its own answer, refusals keep their code and
// location, and Engine::Explain renders what `dpqld compile` and
// POST /v1/explain show on top of it.

#include <gtest/gtest.h>

#include <sstream>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/engine.h"
#include "server/commands.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 2, max_rows: 3 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          age:    { type: int, lower: 0, upper: 100 }
      sites:
        private: false
        columns:
          code: { type: text }
)";

class CompileTest : public ::testing::Test {
 protected:
  CompileTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")), dataset_(*catalog_.DefaultDataset()) {}
  CompiledStatement CompileText(const std::string& text) { return Compile(dataset_, ParseStatement(text)); }
  Catalog catalog_;
  const Dataset& dataset_;
};

TEST_F(CompileTest, SelectCompilesToThePlanCompileSelectMakes) {
  const std::string text = "SELECT COUNT(*), AVG(age) FROM visits WITH PRIVACY (epsilon = 0.5)";
  CompiledStatement compiled = CompileText(text);
  EXPECT_EQ(compiled.kind, CompiledKind::kSelect);
  ASSERT_TRUE(compiled.HasPlan());
  EXPECT_EQ(compiled.table, nullptr);
  const Plan expected = CompileSelect(dataset_, *ParseStatement(text).select);
  EXPECT_EQ(compiled.plan->sql, expected.sql);
  EXPECT_EQ(compiled.plan->params, expected.params);
  EXPECT_EQ(compiled.plan->cost.epsilon, Rational(1, 2));
  EXPECT_EQ(compiled.plan->measures.size(), expected.measures.size());
}

TEST_F(CompileTest, ExplainCompilesTheSamePlanMarkedAsExplain) {
  CompiledStatement select = CompileText("SELECT COUNT(*) FROM visits");
  CompiledStatement explain = CompileText("EXPLAIN SELECT COUNT(*) FROM visits");
  EXPECT_EQ(explain.kind, CompiledKind::kExplain);
  ASSERT_TRUE(explain.HasPlan());
  EXPECT_EQ(explain.plan->sql, select.plan->sql);
  EXPECT_EQ(explain.plan->cost.epsilon, select.plan->cost.epsilon);
}

TEST_F(CompileTest, ShowTablesAndShowBudgetHaveNoPlan) {
  CompiledStatement tables = CompileText("SHOW TABLES");
  EXPECT_EQ(tables.kind, CompiledKind::kShowTables);
  EXPECT_FALSE(tables.HasPlan());
  EXPECT_EQ(tables.table, nullptr);
  CompiledStatement budget = CompileText("SHOW BUDGET");
  EXPECT_EQ(budget.kind, CompiledKind::kShowBudget);
  EXPECT_FALSE(budget.HasPlan());
  EXPECT_EQ(budget.table, nullptr);
}

TEST_F(CompileTest, DescribeFindsTheTableWhateverItsCase) {
  CompiledStatement compiled = CompileText("DESCRIBE \"Sites\"");
  EXPECT_EQ(compiled.kind, CompiledKind::kDescribe);
  EXPECT_FALSE(compiled.HasPlan());
  EXPECT_EQ(compiled.table, dataset_.FindTable("sites"));
  ASSERT_NE(compiled.table, nullptr);
  EXPECT_EQ(compiled.table->name, "sites");
}

TEST_F(CompileTest, DescribeOfAnUnknownTableIsRefusedAtItsName) {
  try {
    CompileText("DESCRIBE  visitz");
    FAIL() << "an unknown table must be refused";
  } catch (const DpqlError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::kSemantic);
    EXPECT_EQ(std::string(Name(e.code())), "unknown_table");
    EXPECT_EQ(e.location().line, 1u);
    EXPECT_EQ(e.location().column, 11u);
    // The closest name first, then every table of the dataset, public ones too.
    EXPECT_EQ(std::string(e.what()),
              "unknown table \"visitz\" in dataset clinic; did you mean visits? Tables: visits, sites "
              "(SHOW TABLES lists them)");
  }
}

TEST_F(CompileTest, RefusalsOfTheBinderPassThrough) {
  for (const char* text : {"SELECT person FROM visits", "EXPLAIN SELECT person FROM visits"}) {
    try {
      CompileText(text);
      ADD_FAILURE() << "a query releasing the privacy unit must be refused: " << text;
    } catch (const DpqlError& e) {
      EXPECT_EQ(std::string(Name(e.code())), "privacy_unit_output") << text;
    }
  }
}

TEST_F(CompileTest, EngineExplainShowsThePlanAndWhatRunningItWouldCost) {
  for (const char* text : {"SELECT AVG(age) FROM visits WITH PRIVACY (epsilon = 0.7)",
                           "EXPLAIN SELECT AVG(age) FROM visits WITH PRIVACY (epsilon = 0.7)"}) {
    QueryResult explained = Engine::Explain(dataset_, ParseStatement(text));
    EXPECT_NE(explained.explain.find("SELECT"), std::string::npos) << explained.explain;
    EXPECT_EQ(explained.cost.epsilon, Rational(7, 10)) << text;
    EXPECT_FALSE(explained.expected_errors.empty()) << text;
    EXPECT_TRUE(explained.rows.empty());
  }
}

TEST_F(CompileTest, EngineExplainOfAMetadataStatementCostsNothing) {
  for (const char* text : {"SHOW TABLES", "SHOW BUDGET", "DESCRIBE visits"}) {
    QueryResult explained = Engine::Explain(dataset_, ParseStatement(text));
    EXPECT_EQ(explained.explain, "metadata statement; no privacy cost\n") << text;
    EXPECT_EQ(explained.cost.epsilon, Rational(0)) << text;
    EXPECT_EQ(explained.cost.delta, Rational(0)) << text;
    EXPECT_TRUE(explained.expected_errors.empty()) << text;
  }
  EXPECT_THROW(Engine::Explain(dataset_, ParseStatement("DESCRIBE nowhere")), DpqlError);
}

// `dpqld compile` shows a refusal as "SOURCE:LINE:COLUMN: error [code]:
// message", then the line and a caret under the offending text: the same
// bracketed code the REPL prints ("ERROR [code]: ...").
TEST(CompileCommand, RefusalShowsItsCodePlaceAndCaret) {
  std::ostringstream out, err;
  const int status =
      RunDpqld({"compile", "--catalog", DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml", "-e",
                "SELECT 1 + COUNT(*)\nFROM admissions"},
               out, err);
  EXPECT_EQ(status, 1);
  EXPECT_EQ(out.str(), "");
  EXPECT_EQ(
      err.str(),
      "query:1:12: error [aggregate_in_expression]: COUNT(*) cannot be part of an expression in the select "
      "list: DPQL adds noise to each aggregate itself and releases it on its own; select COUNT(*) alone and "
      "compute with the released value afterwards\n"
      "SELECT 1 + COUNT(*)\n"
      "           ^~~~~~~~\n");
}

TEST(CompileCommand, SyntaxErrorsShowTheirCodeToo) {
  std::ostringstream out, err;
  EXPECT_EQ(RunDpqld({"compile", "--catalog", DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml", "-e",
                      "SELECT COUNT(*) FORM admissions"},
                     out, err),
            1);
  EXPECT_EQ(err.str().rfind("query:1:17: error [syntax_error]: ", 0), 0u) << err.str();
}

TEST(CompileCommand, ACatalogErrorShowsItsCode) {
  std::ostringstream out, err;
  EXPECT_EQ(RunDpqld({"compile", "--catalog", "/nonexistent/catalog.yaml", "-e", "SELECT COUNT(*) FROM t"},
                     out, err),
            1);
  EXPECT_EQ(err.str().rfind("dpqld compile: error [catalog_file_error]: ", 0), 0u) << err.str();
}

}  // namespace
}  // namespace dpql
