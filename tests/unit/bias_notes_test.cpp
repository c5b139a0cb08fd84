// The bias notes of a plan (compiler/planner/bias_notes.cpp): which bounds can
// leave contributions out of an answer, said in the analyst's terms, and none
// where the catalog's declared structure proves a bound exact.

#include <gtest/gtest.h>

#include <algorithm>

#include "compiler/catalog/catalog.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  ward:
    privacy_unit: patient_id
    defaults: { epsilon: 1.0, delta: 0.000001, max_groups: 2, max_rows: 1 }
    limits: { max_epsilon_per_query: 4, max_rows: 10, max_groups: 10 }
    tables:
      stays:
        private: true
        columns:
          patient_id: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          kind:   { type: text, domain: [x, y] }
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          note:   { type: text }
  survey:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0, max_groups: 1, max_rows: 1 }
    tables:
      answers:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c] }
)";

class BiasNotesTest : public ::testing::Test {
 protected:
  BiasNotesTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}
  Plan Compile(const std::string& text, const std::string& dataset = "ward") {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(*catalog_.FindDataset(dataset), *statement.select);
  }
  static std::vector<std::string> Codes(const Plan& plan) {
    std::vector<std::string> codes;
    for (const BiasNote& note : BiasNotes(plan)) codes.push_back(note.code);
    return codes;
  }
  static BiasNote Find(const Plan& plan, const std::string& code) {
    for (const BiasNote& note : BiasNotes(plan)) {
      if (note.code == code) return note;
    }
    ADD_FAILURE() << "no " << code << " note";
    return {};
  }
  Catalog catalog_;
};

using CodeList = std::vector<std::string>;

// With max_rows 1, COUNT(*) counts people, not rows: the note says so.
TEST_F(BiasNotesTest, CountStarWithOneRowCountsPeople) {
  Plan plan = Compile("SELECT COUNT(*) FROM stays;");
  EXPECT_EQ(Codes(plan), CodeList{"rows_capped"});  // no keys: nothing to drop; no column: nothing clamped
  const BiasNote note = Find(plan, "rows_capped");
  EXPECT_EQ(note.message,
            "at most 1 row per patient per group is counted (max_rows = 1): COUNT(*) counts patients with a "
            "row in the group, not rows \u2014 raise max_rows if patients have more rows in a group");
  EXPECT_EQ(note.outputs, std::vector<std::string>{"count"});
}

TEST_F(BiasNotesTest, SeveralRowsAndAliasesAreNamed) {
  Plan plan = Compile("SELECT COUNT(*) AS admissions, COUNT(note) FROM stays WITH PRIVACY (max_rows = 3);");
  const BiasNote note = Find(plan, "rows_capped");
  EXPECT_EQ(
      note.message,
      "at most 3 rows per patient per group are counted (max_rows = 3): COUNT(*) (admissions) counts at "
      "most 3 of a patient's rows in a group; COUNT(note) counts at most 3 of a patient's note values in "
      "a group \u2014 raise max_rows if patients have more rows in a group");
  EXPECT_EQ(note.outputs, (std::vector<std::string>{"admissions", "count"}));
}

// Groups beyond max_groups are dropped: 5 sites, max_groups 2.
TEST_F(BiasNotesTest, GroupsBeyondMaxGroupsAreDropped) {
  Plan plan = Compile("SELECT site, COUNT(DISTINCT patient_id) AS people FROM stays GROUP BY site;");
  ASSERT_TRUE(plan.bound_groups);
  EXPECT_EQ(Codes(plan), CodeList{"groups_dropped"});  // COUNT(DISTINCT unit) is never capped by max_rows
  const BiasNote note = Find(plan, "groups_dropped");
  EXPECT_EQ(note.message,
            "each patient counts in at most 2 groups (max_groups = 2); a patient's further groups are not "
            "counted \u2014 raise max_groups if patients have more");
  EXPECT_EQ(note.outputs, std::vector<std::string>{"people"});
}

// Keys with at most max_groups values: nobody's groups are dropped.
TEST_F(BiasNotesTest, NoGroupsDroppedWhenKeysFitMaxGroups) {
  Plan plan = Compile("SELECT kind, COUNT(DISTINCT patient_id) FROM stays GROUP BY kind;");
  ASSERT_FALSE(plan.bound_groups);
  EXPECT_TRUE(BiasNotes(plan).empty());
}

// Declared structure proving the bounds exact removes their notes.
TEST_F(BiasNotesTest, ExactBoundsGiveNoNotes) {
  Plan distinct = Compile("SELECT site, COUNT(DISTINCT patient_id) FROM stays GROUP BY site;");
  distinct.select.privacy.groups_exact = true;
  EXPECT_TRUE(BiasNotes(distinct).empty());

  Plan counts = Compile("SELECT site, COUNT(*) FROM stays GROUP BY site;");
  EXPECT_EQ(Codes(counts), (CodeList{"groups_dropped", "rows_capped"}));
  counts.select.privacy.rows_exact = true;
  EXPECT_EQ(Codes(counts), CodeList{"groups_dropped"});
  counts.select.privacy.groups_exact = true;
  EXPECT_TRUE(BiasNotes(counts).empty());
}

// Sums, means, variances and percentiles: rows capped and values clamped.
TEST_F(BiasNotesTest, ValueAggregatesAreCappedAndClamped) {
  Plan plan = Compile(
      "SELECT SUM(cost), AVG(age) AS mean_age, STDDEV(age), MEDIAN(age), PERCENTILE(cost, 0.9) "
      "FROM stays;");
  EXPECT_EQ(Codes(plan), (CodeList{"rows_capped", "values_clamped"}));
  const BiasNote rows = Find(plan, "rows_capped");
  EXPECT_NE(rows.message.find("SUM(cost) adds each patient's average cost in the group, not every row"),
            std::string::npos)
      << rows.message;
  EXPECT_NE(rows.message.find("AVG(age) (mean_age) weighs every patient the same"), std::string::npos)
      << rows.message;
  EXPECT_NE(rows.message.find("STDDEV(age) weighs every patient the same"), std::string::npos);
  EXPECT_NE(rows.message.find("MEDIAN(age) is over one row per patient"), std::string::npos);
  EXPECT_NE(rows.message.find("PERCENTILE(cost, 0.9) is over one row per patient"), std::string::npos);
  EXPECT_EQ(rows.outputs, (std::vector<std::string>{"sum", "mean_age", "stddev", "median", "percentile"}));

  const BiasNote clamped = Find(plan, "values_clamped");
  EXPECT_EQ(clamped.message,
            "values of cost outside [-50.5, 1000.25] and of age outside [0, 100] are clamped to the bounds "
            "declared in the catalog");
  EXPECT_EQ(clamped.outputs, (std::vector<std::string>{"sum", "mean_age", "stddev", "median", "percentile"}));

  // Exact rows remove the row note only: clamping is a matter of the values.
  plan.select.privacy.rows_exact = true;
  EXPECT_EQ(Codes(plan), CodeList{"values_clamped"});
}

TEST_F(BiasNotesTest, SeveralRowsForValueAggregates) {
  Plan plan = Compile("SELECT SUM(age), AVG(age), MEDIAN(age) FROM stays WITH PRIVACY (max_rows = 4);");
  const BiasNote rows = Find(plan, "rows_capped");
  EXPECT_NE(
      rows.message.find("SUM(age) adds at most 4 rows' worth per patient (their average age times their "
                        "rows, up to 4)"),
      std::string::npos)
      << rows.message;
  EXPECT_NE(
      rows.message.find("AVG(age) counts a patient's rows in a group as at most 4, at their own average"),
      std::string::npos);
  EXPECT_NE(rows.message.find("MEDIAN(age) is over at most 4 rows per patient"), std::string::npos);
}

// The privacy unit's own name, in the singular and plural.
TEST_F(BiasNotesTest, NamesThePrivacyUnit) {
  Plan plan = Compile("SELECT site, COUNT(*) FROM answers GROUP BY site;", "survey");
  EXPECT_EQ(
      Find(plan, "groups_dropped").message,
      "each person counts in at most 1 group (max_groups = 1); a person's further groups are not counted "
      "\u2014 raise max_groups if people have more");
  EXPECT_NE(Find(plan, "rows_capped").message.find("COUNT(*) counts people with a row in the group"),
            std::string::npos);
}

// EXPLAIN and `dpqld compile` show the notes with their codes.
TEST_F(BiasNotesTest, RenderedPlanShowsTheNotes) {
  const std::string text = RenderPlan(Compile("SELECT site, COUNT(*) FROM stays GROUP BY site;"));
  EXPECT_NE(text.find("  bias (groups_dropped): each patient counts in at most 2 groups"), std::string::npos)
      << text;
  EXPECT_NE(text.find("  bias (rows_capped): at most 1 row per patient per group is counted"),
            std::string::npos);
  const std::string exact =
      RenderPlan(Compile("SELECT kind, COUNT(DISTINCT patient_id) FROM stays GROUP BY kind;"));
  EXPECT_EQ(exact.find("bias ("), std::string::npos) << exact;
}

}  // namespace
}  // namespace dpql
