// Keys-only GROUP BY on the hospital demo catalog: public-domain keys are the
// domain itself (free, no private table in the SQL, EXPLAIN says so); a key
// without a public domain is released by private partition selection at the
// query's cost, with its threshold in EXPLAIN.

#include <gtest/gtest.h>

#include <string>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

class KeysOnlyTest : public ::testing::Test {
 protected:
  KeysOnlyTest() : catalog_(LoadCatalog(DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml")) {}
  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  }
  Catalog catalog_;
};

TEST_F(KeysOnlyTest, PublicDomainKeysAreFreeAndReadNoPrivateTable) {
  const Plan plan =
      Compile("SELECT sex, admission_method FROM admissions WHERE age > 65 GROUP BY sex, admission_method;");
  EXPECT_TRUE(plan.measures.empty());
  EXPECT_EQ(plan.cost.epsilon, 0);
  EXPECT_EQ(plan.cost.delta, 0);
  EXPECT_FALSE(plan.partition_selection);
  EXPECT_EQ(plan.sql.find("admissions"), std::string::npos) << plan.sql;
  const std::string explain = RenderPlan(plan);
  EXPECT_NE(explain.find("keys only, from public domains"), std::string::npos) << explain;
  EXPECT_EQ(explain.find("mechanism:"), std::string::npos) << explain;
  EXPECT_NE(explain.find("epsilon 0, delta 0"), std::string::npos) << explain;
}

TEST_F(KeysOnlyTest, KeyWithoutAPublicDomainIsSelectedAtTheQuerysCost) {
  const Plan plan = Compile("SELECT postcode_district FROM admissions GROUP BY postcode_district;");
  ASSERT_TRUE(plan.partition_selection);
  ASSERT_EQ(plan.measures.size(), 1u);
  EXPECT_EQ(plan.measures[0].kind, MeasureKind::kUnitCount);
  ASSERT_EQ(plan.outputs.size(), 1u);  // the noisy count decides, and is not shown
  EXPECT_EQ(plan.outputs[0].kind, OutputKind::kKey);
  EXPECT_EQ(plan.cost.epsilon, 1);
  EXPECT_EQ(plan.cost.delta, Rational(1, 1000000));
  const std::string explain = RenderPlan(plan);
  EXPECT_NE(explain.find("partition selection: a group is released only when"), std::string::npos) << explain;
}

// Mixed: one key with a public domain and one without is selection too.
TEST_F(KeysOnlyTest, OneKeyWithoutADomainMakesTheWholeQuerySelected) {
  const Plan plan = Compile("SELECT sex, postcode_district FROM admissions GROUP BY sex, postcode_district;");
  EXPECT_TRUE(plan.partition_selection);
  EXPECT_GT(plan.cost.epsilon, 0);
}

}  // namespace
}  // namespace dpql
