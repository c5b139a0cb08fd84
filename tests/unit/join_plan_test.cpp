// Plans of JOINs with public tables where the hospital catalog has no example:
// a public column with declared bounds may be aggregated (and is clamped and
// bounded like a private one), a public column named like the privacy unit
// identifies nobody, chained joins see only the tables before them, and
// `domain_from` may spell its table and column in another case.

#include <gtest/gtest.h>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4 }
    tables:
      visits:
        private: true
        columns:
          person:    { type: text }
          site_code: { type: text, domain_from: Sites.Code }
          age:       { type: int, lower: 0, upper: 100 }
      sites:
        private: false
        columns:
          code:     { type: text }
          region:   { type: text }
          capacity: { type: int, lower: 0, upper: 500 }
          person:   { type: text }
      regions:
        private: false
        columns:
          name:    { type: text }
          country: { type: text }
)";

class JoinPlanTest : public ::testing::Test {
 protected:
  JoinPlanTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}
  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.DefaultDataset(), *statement.select);
  }
  std::string ErrorCode(const std::string& text) {
    try {
      Compile(text);
    } catch (const DpqlError& e) {
      return std::string(Name(e.code()));
    }
    return "";
  }
  Catalog catalog_;
};

TEST_F(JoinPlanTest, PublicColumnWithBoundsIsSummedWithItsBounds) {
  Plan plan = Compile(
      "SELECT s.region, SUM(s.capacity) FROM visits v JOIN sites s ON v.site_code = s.code "
      "GROUP BY s.region;");
  const CatalogTable* sites = catalog_.DefaultDataset()->FindTable("sites");
  ASSERT_EQ(plan.measures.size(), 1u);
  EXPECT_EQ(plan.measures[0].column, sites->FindColumn("capacity"));
  EXPECT_EQ(plan.groups_bound, 2);  // the public domain's size is unknown: max_groups
  EXPECT_EQ(plan.measures[0].per_group_bound, 3 * 500);
  EXPECT_EQ(plan.measures[0].sensitivity, 2 * 3 * 500);
  // The value is read from the joined table and clamped to its bounds.
  EXPECT_NE(plan.sql.find("j1.\"capacity\" AS v0"), std::string::npos) << plan.sql;
  EXPECT_NE(plan.sql.find("JOIN \"sites\" AS j1 ON t.\"site_code\" = j1.\"code\""), std::string::npos)
      << plan.sql;
  EXPECT_EQ(plan.select.keys[0].domain.kind, KeyDomain::Kind::kFromTable);
  EXPECT_EQ(plan.select.keys[0].domain.table, "sites");
  EXPECT_EQ(plan.select.keys[0].domain.column, "region");
}

TEST_F(JoinPlanTest, PublicColumnNamedLikeThePrivacyUnitIdentifiesNobody) {
  EXPECT_EQ(ErrorCode("SELECT COUNT(DISTINCT person) FROM visits v JOIN sites s ON v.site_code = "
                      "s.code;"),
            "ambiguous_column");
  EXPECT_EQ(ErrorCode("SELECT COUNT(DISTINCT s.person) FROM visits v JOIN sites s ON "
                      "v.site_code = s.code;"),
            "unsupported_distinct");
  // Grouping by any column of that name stays refused (conservatively).
  EXPECT_EQ(ErrorCode("SELECT s.person, COUNT(*) FROM visits v JOIN sites s ON v.site_code = "
                      "s.code GROUP BY s.person;"),
            "privacy_unit_key");
  Plan plan = Compile("SELECT COUNT(DISTINCT v.person) FROM visits v JOIN sites s ON v.site_code = s.code;");
  EXPECT_EQ(plan.measures[0].kind, MeasureKind::kUnitCount);
  EXPECT_NE(plan.sql.find("SELECT t.\"person\" COLLATE \"C\" AS unit"), std::string::npos) << plan.sql;
}

TEST_F(JoinPlanTest, ChainedJoinsSeeOnlyTheTablesBeforeThem) {
  Plan plan = Compile(
      "SELECT r.country, COUNT(*) FROM visits v JOIN sites s ON v.site_code = s.code LEFT JOIN "
      "regions r ON s.region = r.name GROUP BY r.country;");
  EXPECT_NE(plan.sql.find("LEFT JOIN \"regions\" AS j2 ON j1.\"region\" = j2.\"name\""), std::string::npos)
      << plan.sql;
  const std::string rendered = RenderPlan(plan);
  EXPECT_NE(rendered.find("join: JOIN sites (public) ON visits.site_code = sites.code"), std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("join: LEFT JOIN regions (public) ON sites.region = regions.name"),
            std::string::npos)
      << rendered;
  EXPECT_NE(rendered.find("group key country = regions.country: distinct regions.country"), std::string::npos)
      << rendered;
  try {
    Compile(
        "SELECT COUNT(*) FROM visits v JOIN sites s ON v.site_code = r.name JOIN regions r "
        "ON s.region = r.name;");
    FAIL() << "an ON condition used a table joined after it";
  } catch (const DpqlError& e) {
    EXPECT_EQ(std::string(Name(e.code())), "unknown_qualifier");
    EXPECT_EQ(e.location().column, 61u);
    EXPECT_NE(std::string(e.what()).find("sees only the tables before it"), std::string::npos) << e.what();
  }
}

TEST_F(JoinPlanTest, DomainFromUsesTheCatalogsSpelling) {
  Plan plan = Compile("SELECT site_code, COUNT(*) FROM visits GROUP BY site_code;");
  ASSERT_EQ(plan.select.keys.size(), 1u);
  EXPECT_EQ(plan.select.keys[0].domain.table, "sites");
  EXPECT_EQ(plan.select.keys[0].domain.column, "code");
  EXPECT_NE(plan.sql.find("SELECT DISTINCT \"code\" FROM \"sites\""), std::string::npos) << plan.sql;
}

}  // namespace
}  // namespace dpql
