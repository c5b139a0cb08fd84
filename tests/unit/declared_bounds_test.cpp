// Bounds from declared structure: a table's `unique` keys and the query give
// the tightest sound max_groups and max_rows, exact (nothing dropped), and
// EXPLAIN names the declaration; anything the derivation cannot prove leaves
// the query's or the catalog's bound in place.

#include <gtest/gtest.h>

#include <string>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/release/expected_error.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  ward:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 4, max_rows: 1 }
    limits: { max_groups: 64, max_rows: 64 }
    tables:
      stays:
        private: true
        unique: [[person, day]]
        columns:
          person: { type: text }
          unit:   { type: text, domain: [a, b, c] }
          bay:    { type: text, domain_from: bays.code }
          day:    { type: date, lower: 2026-01-01, upper: 2026-12-31 }
          hours:  { type: int, lower: 0, upper: 24 }
      people:
        private: true
        unique: [person]
        columns:
          person: { type: text }
          sex:    { type: text, domain: [F, M] }
          age:    { type: int, lower: 0, upper: 110 }
      visits:
        private: true
        defaults: { max_groups: 2, max_rows: 5 }
        columns:
          person: { type: text }
          unit:   { type: text, domain: [a, b, c] }
      bays:
        private: false
        columns:
          code: { type: text }
          unit: { type: text }
)";

class DeclaredBoundsTest : public ::testing::Test {
 protected:
  DeclaredBoundsTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}
  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  }
  Catalog catalog_;
};

TEST_F(DeclaredBoundsTest, OneDayGivesOneGroupAndOneRowExactly) {
  const Plan plan = Compile(
      "SELECT bay, COUNT(DISTINCT person) FROM stays WHERE day = DATE '2026-11-27' GROUP BY bay;");
  const PrivacyParams& p = plan.select.privacy;
  EXPECT_EQ(p.max_groups, 1);
  EXPECT_EQ(p.max_rows, 1);
  EXPECT_TRUE(p.groups_exact);
  EXPECT_TRUE(p.rows_exact);
  EXPECT_EQ(p.max_groups_source, BoundSource::kDeclaration);
  EXPECT_FALSE(plan.bound_groups);  // nothing to drop: no window in the SQL
  EXPECT_EQ(plan.sql.find("row_number"), std::string::npos);
  EXPECT_EQ(plan.measures.at(0).sensitivity, 1);
  EXPECT_NE(p.groups_reason.find("unique on (person, day)"), std::string::npos) << p.groups_reason;
  EXPECT_NE(p.groups_reason.find("WHERE admits 1 value of day"), std::string::npos) << p.groups_reason;
}

// Without the declaration the same query keeps the dataset's max_groups 4.
TEST_F(DeclaredBoundsTest, UndeclaredTableKeepsTheDefault) {
  const Plan plan = Compile("SELECT unit, COUNT(DISTINCT person) FROM visits WHERE unit = 'a' GROUP BY unit;");
  EXPECT_EQ(plan.select.privacy.max_groups_source, BoundSource::kDefault);
  EXPECT_FALSE(plan.select.privacy.groups_exact);
  EXPECT_FALSE(plan.select.privacy.rows_exact);
}

TEST_F(DeclaredBoundsTest, RangeOfDaysBoundsGroupsByItsLength) {
  const Plan plan = Compile(
      "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM stays "
      "WHERE day BETWEEN DATE '2026-11-01' AND DATE '2026-11-30' GROUP BY d;");
  const PrivacyParams& p = plan.select.privacy;
  EXPECT_EQ(p.max_groups, 30);
  EXPECT_TRUE(p.groups_exact);
  EXPECT_EQ(p.max_rows, 1);  // the day is the group
  EXPECT_TRUE(p.rows_exact);
  EXPECT_NE(p.rows_reason.find("day is a group key"), std::string::npos) << p.rows_reason;
  EXPECT_FALSE(plan.bound_groups);
  EXPECT_EQ(plan.measures.at(0).sensitivity, 30);
  // Strict and two-sided comparisons are read the same way; IN lists count their values.
  EXPECT_EQ(Compile("SELECT unit, COUNT(*) FROM stays WHERE day > DATE '2026-11-01' AND "
                    "day < DATE '2026-11-05' GROUP BY unit;")
                .select.privacy.max_groups,
            3);
  EXPECT_EQ(Compile("SELECT unit, COUNT(*) FROM stays WHERE day IN (DATE '2026-11-01', DATE '2026-11-08') "
                    "GROUP BY unit;")
                .select.privacy.max_rows,
            2);
}

// A group key on the unique column bounds rows per group even with no WHERE.
TEST_F(DeclaredBoundsTest, GroupingByTheUniqueColumnBoundsRowsPerGroup) {
  const Plan plan = Compile("SELECT EXTRACT(MONTH FROM day) AS m, COUNT(*) FROM stays GROUP BY DATE_TRUNC('day', day), m;");
  EXPECT_TRUE(plan.select.privacy.rows_exact);
  EXPECT_EQ(plan.select.privacy.max_rows, 1);
  EXPECT_FALSE(plan.select.privacy.groups_exact);  // every day of the year: unbounded by WHERE
  EXPECT_EQ(plan.select.privacy.max_groups, 4);
}

// One row per person: every query reads at most one row of each person.
TEST_F(DeclaredBoundsTest, UniqueUnitMeansOneRowPerPerson) {
  const Plan plan = Compile("SELECT BUCKET(age, 10) AS a, COUNT(*), AVG(age) FROM people GROUP BY a;");
  EXPECT_EQ(plan.select.privacy.max_groups, 1);
  EXPECT_TRUE(plan.select.privacy.groups_exact);
  EXPECT_FALSE(plan.bound_groups);
  EXPECT_EQ(plan.groups_bound, 1);
}

TEST_F(DeclaredBoundsTest, QueryBoundsCombineWithDerivedOnes) {
  // A looser max_groups asked for: the derived 1 is tighter and sound.
  Plan plan = Compile(
      "SELECT bay, COUNT(*) FROM stays WHERE day = DATE '2026-11-27' GROUP BY bay WITH PRIVACY (max_groups = 10);");
  EXPECT_EQ(plan.select.privacy.max_groups, 1);
  EXPECT_TRUE(plan.select.privacy.groups_exact);
  // A tighter one asked for: kept, and the extra groups are dropped.
  plan = Compile(
      "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM stays WHERE day BETWEEN DATE '2026-11-01' AND "
      "DATE '2026-11-30' GROUP BY d WITH PRIVACY (max_groups = 2);");
  EXPECT_EQ(plan.select.privacy.max_groups, 2);
  EXPECT_EQ(plan.select.privacy.max_groups_source, BoundSource::kQuery);
  EXPECT_FALSE(plan.select.privacy.groups_exact);
  EXPECT_TRUE(plan.bound_groups);
}

// A derived bound beyond the dataset's limit is not used in place of a default.
TEST_F(DeclaredBoundsTest, DerivedBoundBeyondTheLimitKeepsTheDefault) {
  const Plan plan = Compile(
      "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM stays WHERE day BETWEEN DATE '2026-01-01' AND "
      "DATE '2026-06-30' GROUP BY d;");
  EXPECT_EQ(plan.select.privacy.max_groups, 4);
  EXPECT_FALSE(plan.select.privacy.groups_exact);
  EXPECT_TRUE(plan.bound_groups);
  EXPECT_TRUE(plan.select.privacy.rows_exact);  // still one row per day
}

// What the derivation cannot prove leaves the bounds alone: OR, negation,
// a join (which can repeat a row) and a filter on another column.
TEST_F(DeclaredBoundsTest, UnprovableConditionsDeriveNothing) {
  for (const char* query : {
           "SELECT unit, COUNT(*) FROM stays WHERE day = DATE '2026-11-27' OR hours > 3 GROUP BY unit;",
           "SELECT unit, COUNT(*) FROM stays WHERE NOT (day <> DATE '2026-11-27') GROUP BY unit;",
           "SELECT unit, COUNT(*) FROM stays WHERE day NOT IN (DATE '2026-11-27') GROUP BY unit;",
           "SELECT unit, COUNT(*) FROM stays WHERE hours = 3 GROUP BY unit;",
           "SELECT b.unit, COUNT(*) FROM stays s JOIN bays b ON s.bay = b.code WHERE s.day = DATE "
           "'2026-11-27' GROUP BY b.unit;",
       }) {
    SCOPED_TRACE(query);
    const Plan plan = Compile(query);
    EXPECT_FALSE(plan.select.privacy.groups_exact);
    EXPECT_EQ(plan.select.privacy.max_groups_source, BoundSource::kDefault);
  }
}

TEST_F(DeclaredBoundsTest, TableDefaultsReplaceTheDatasetsAndExplainSaysSo) {
  const Plan plan = Compile("SELECT unit, COUNT(*) FROM visits GROUP BY unit;");
  EXPECT_EQ(plan.select.privacy.max_rows, 5);
  EXPECT_EQ(plan.groups_bound, 2);
  const std::string explain = ExplainPlan(plan);
  EXPECT_NE(explain.find("max_rows 5: the catalog's default for table visits"), std::string::npos) << explain;
  const std::string declared =
      ExplainPlan(Compile("SELECT bay, COUNT(*) FROM stays WHERE day = DATE '2026-11-27' GROUP BY bay;"));
  EXPECT_NE(declared.find("max_groups 1: from declared structure: stays is declared unique on (person, day)"),
            std::string::npos)
      << declared;
}

// The headline query of the hospital example: one day's patients by ward,
// ± 3 at epsilon 1 (95%), from bed_days' declared uniqueness.
TEST(DeclaredBoundsHospital, OccupancyOnADayIsPlusOrMinusThree) {
  const Catalog catalog = LoadCatalog(std::string(DPQL_SOURCE_DIR_DEFAULT) + "/examples/hospital/catalog.yaml");
  ast::Statement statement = ParseStatement(
      "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = DATE '2026-11-27' GROUP BY "
      "ward_code;");
  const Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
  const std::vector<ExpectedError> errors = ExpectedErrors(plan);
  ASSERT_EQ(errors.size(), 1u);
  ASSERT_TRUE(errors[0].half_width.has_value());
  EXPECT_EQ(*errors[0].half_width, 3);
}

// mechanism: auto: the Gaussian for a series over many days (its L2
// sensitivity grows as the square root of the days), Laplace for one day;
// a query's own mechanism is kept; EXPLAIN shows both at their cost.
TEST(MechanismAuto, PicksTheSmallerNoiseAndExplainShowsBoth) {
  const Catalog catalog = ParseCatalog(R"(
datasets:
  ward:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 1.0e-6, max_groups: 4, max_rows: 1, mechanism: auto }
    tables:
      stays:
        unique: [[person, day]]
        columns:
          person: { type: text }
          unit:   { type: text, domain: [a, b, c] }
          day:    { type: date, lower: 2026-01-01, upper: 2026-12-31 }
          hours:  { type: int, lower: 0, upper: 24 }
)",
                                       "test.yaml");
  auto compile = [&](const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog.DefaultDataset(), *statement.select);
  };
  const std::string month =
      "SELECT DATE_TRUNC('day', day) AS d, COUNT(*) FROM stays WHERE day BETWEEN DATE '2026-11-01' AND DATE "
      "'2026-11-30' GROUP BY d";
  const Plan series = compile(month + ";");
  EXPECT_EQ(series.select.privacy.mechanism, Mechanism::kGaussian);
  ASSERT_EQ(series.alternative_measures.size(), 1u);
  EXPECT_EQ(series.alternative_measures[0].mechanism, Mechanism::kLaplace);
  EXPECT_EQ(series.cost.delta, Rational(1, 1000000));
  EXPECT_EQ(series.alternative_cost.delta, 0);
  // The choice is the smaller noise: the Gaussian's sigma^2 below Laplace's 2 b^2.
  const Rational laplace_scale = series.alternative_measures[0].scale;
  EXPECT_LT(series.measures[0].sigma2, 2 * laplace_scale * laplace_scale);
  const std::string explain = ExplainPlan(series);
  EXPECT_NE(explain.find("gaussian (chosen): count ± 49"), std::string::npos) << explain;
  EXPECT_NE(explain.find("laplace: count ± 90; costs epsilon 1, delta 0"), std::string::npos) << explain;

  const Plan day = compile("SELECT unit, COUNT(*) FROM stays WHERE day = DATE '2026-11-27' GROUP BY unit;");
  EXPECT_EQ(day.select.privacy.mechanism, Mechanism::kLaplace);
  EXPECT_EQ(day.cost.delta, 0);
  EXPECT_FALSE(day.alternative_measures.empty());

  const Plan asked = compile(month + " WITH PRIVACY (mechanism = laplace);");
  EXPECT_EQ(asked.select.privacy.mechanism, Mechanism::kLaplace);
  EXPECT_TRUE(asked.alternative_measures.empty());
  const Plan no_delta = compile(month + " WITH PRIVACY (delta = 0);");
  EXPECT_EQ(no_delta.select.privacy.mechanism, Mechanism::kLaplace);
  EXPECT_TRUE(no_delta.alternative_measures.empty());
}

void ExpectCatalogError(const std::string& table_extra, const std::string& code, const std::string& phrase) {
  const std::string text = R"(
datasets:
  ward:
    privacy_unit: person
    limits: { max_groups: 8 }
    tables:
      stays:
)" + table_extra + R"(
        columns:
          person: { type: text }
          day:    { type: date }
)";
  try {
    ParseCatalog(text, "test.yaml");
    ADD_FAILURE() << "expected " << code;
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), code) << e.message();
    EXPECT_NE(e.message().find(phrase), std::string::npos) << e.message();
  }
}

TEST(DeclaredBoundsCatalog, BadDeclarationsAreRefused) {
  ExpectCatalogError("        unique: [[person, dya]]", "catalog_invalid_value", "has no column 'dya'");
  ExpectCatalogError("        unique: [[person, day, person]]", "catalog_invalid_value", "listed twice");
  ExpectCatalogError("        unique: person", "catalog_wrong_shape", "list of column lists");
  ExpectCatalogError("        unique: []", "catalog_wrong_shape", "list of column lists");
  ExpectCatalogError("        unique: [[person, [day]]]", "catalog_wrong_shape", "expected a column name");
  ExpectCatalogError("        defaults: { max_groups: 9 }", "catalog_above_limit", "limits.max_groups = 8");
  ExpectCatalogError("        defaults: { epsilon: 1 }", "catalog_unknown_key", "epsilon");
  // Both shapes are accepted: one key, or a list of keys.
  const Catalog one = ParseCatalog(R"(
datasets:
  ward:
    privacy_unit: person
    tables:
      stays:
        unique: [person, day]
        columns:
          person: { type: text }
          day:    { type: date }
)",
                                   "test.yaml");
  ASSERT_EQ(one.datasets[0].tables[0].unique.size(), 1u);
  EXPECT_EQ(one.datasets[0].tables[0].unique[0], (std::vector<std::string>{"person", "day"}));
}

}  // namespace
}  // namespace dpql
