// The answer cache's key and stored form, without a database: which rewrites
// of a query count as the same query (and so get the same answer again), which
// do not, and that a stored answer reads back exactly.

#include <gtest/gtest.h>

#include <cmath>
#include <limits>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/cache/canonical_plan.h"
#include "runtime/release/postprocess.h"
#include "runtime/release/release.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr const char* kCatalog = R"(
datasets:
  clinic:
    privacy_unit: person
    defaults: { epsilon: 1.0, delta: 0.000001, max_groups: 2, max_rows: 3 }
    limits: { max_epsilon_per_query: 4 }
    tables:
      visits:
        private: true
        columns:
          person: { type: text }
          site:   { type: text, domain: [a, b, c, d, e] }
          kind:   { type: text, domain: [x, y] }
          cost:   { type: real, lower: -50.5, upper: 1000.25 }
          age:    { type: int, lower: 0, upper: 100 }
          day:    { type: date, lower: 2024-01-01, upper: 2024-12-31 }
)";

class AnswerCacheKeyTest : public ::testing::Test {
 protected:
  AnswerCacheKeyTest() : catalog_(ParseCatalog(kCatalog, "test.yaml")) {}

  Plan Compile(const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    Plan plan = CompileSelect(*catalog_.DefaultDataset(), *statement.select);
    CanonicalizePredicates(plan);
    return plan;
  }
  std::string Key(const std::string& text) { return CanonicalPlanHash(Compile(text)); }

  Catalog catalog_;
};

constexpr const char* kBase =
    "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
    "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
    "WITH PRIVACY (epsilon = 0.5);";

TEST_F(AnswerCacheKeyTest, KeyIsSha256Hex) {
  std::string key = Key(kBase);
  ASSERT_EQ(key.size(), 64u);
  EXPECT_EQ(key.find_first_not_of("0123456789abcdef"), std::string::npos);
}

TEST_F(AnswerCacheKeyTest, RewritesOfTheSameQueryShareTheKey) {
  const std::string base = Key(kBase);
  const char* same[] = {
      // whitespace, line breaks and comments
      "SELECT kind,COUNT(*) AS n,AVG(age) AS mean_age\n  FROM visits -- all visits\n"
      "  WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500\n GROUP BY kind\n"
      "  WITH PRIVACY (epsilon = 0.5)",
      // keyword case
      "select kind, count(*) as n, avg(age) as mean_age from visits "
      "where age >= 18 and site in ('a', 'b') and cost < 500 group by kind "
      "with privacy (EPSILON = 0.5);",
      // output alias names
      "SELECT kind AS k, COUNT(*) AS visits, AVG(age) FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // a table alias, used or not
      "SELECT v.kind, COUNT(*) AS n, AVG(v.age) AS mean_age FROM visits AS v "
      "WHERE v.age >= 18 AND v.site IN ('a', 'b') AND v.cost < 500 GROUP BY v.kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // the order of AND-ed predicates, and how they are parenthesised
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE cost < 500 AND (site IN ('a', 'b') AND age >= 18) GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE (site IN ('a', 'b') AND cost < 500) AND age >= 18 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // HAVING, ORDER BY and LIMIT are post-processing, applied to the cached answer
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "HAVING n > 10 ORDER BY n DESC LIMIT 1 WITH PRIVACY (epsilon = 0.5);",
      // a default stated explicitly is the same parameter
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5, max_groups = 2, max_rows = 3);",
  };
  for (const char* text : same) EXPECT_EQ(Key(text), base) << text;
}

TEST_F(AnswerCacheKeyTest, DifferentQueriesOrParametersHaveDifferentKeys) {
  const std::string base = Key(kBase);
  const char* different[] = {
      // epsilon
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.25);",
      // a WHERE literal
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 19 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // a WHERE operator
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age > 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // AND is not OR
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 OR site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      // one predicate fewer
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') GROUP BY kind WITH PRIVACY (epsilon = 0.5);",
      // max_groups, max_rows, delta, confidence
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5, max_groups = 1);",
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5, max_rows = 1);",
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5, delta = 0.0001);",
      "SELECT kind, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5, confidence = 0.9);",
      // another aggregate, another key, the outputs in another order
      "SELECT kind, COUNT(*) AS n, SUM(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
      "SELECT site, COUNT(*) AS n, AVG(age) AS mean_age FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY site "
      "WITH PRIVACY (epsilon = 0.5);",
      "SELECT kind, AVG(age) AS mean_age, COUNT(*) AS n FROM visits "
      "WHERE age >= 18 AND site IN ('a', 'b') AND cost < 500 GROUP BY kind "
      "WITH PRIVACY (epsilon = 0.5);",
  };
  for (const char* text : different) EXPECT_NE(Key(text), base) << text;
}

TEST_F(AnswerCacheKeyTest, KeyDependsOnTheDatasetAndCatalogBounds) {
  auto key_with = [](const std::string& catalog_text) {
    Catalog catalog = ParseCatalog(catalog_text, "other.yaml");
    ast::Statement statement = ParseStatement(kBase);
    Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
    CanonicalizePredicates(plan);
    return CanonicalPlanHash(plan);
  };
  EXPECT_EQ(key_with(kCatalog), Key(kBase));
  // The guardian declares another bound for age: the clamping and the
  // sensitivity (and so the answer) change, and so does the key.
  std::string bounds = kCatalog;
  bounds.replace(bounds.find("upper: 100 "), 11, "upper: 120 ");
  EXPECT_NE(key_with(bounds), Key(kBase));
  // The same declarations under another dataset's name: another dataset.
  std::string renamed = kCatalog;
  renamed.replace(renamed.find("clinic"), 6, "clinic2");
  EXPECT_NE(key_with(renamed), Key(kBase));
}

TEST_F(AnswerCacheKeyTest, CanonicalPredicatesMeanTheSameAndRenderTheSameSql) {
  Plan a = Compile("SELECT COUNT(*) FROM visits WHERE (cost < 10 OR age > 3) AND kind = 'x';");
  Plan b = Compile("SELECT COUNT(*) FROM visits WHERE kind = 'x' AND (age > 3 OR cost < 10);");
  EXPECT_EQ(a.sql, b.sql);
  EXPECT_EQ(a.params, b.params);
  // Still every predicate, each once.
  EXPECT_NE(a.sql.find(" OR "), std::string::npos);
  EXPECT_NE(a.sql.find(" AND "), std::string::npos);
  EXPECT_EQ(a.params.size(), Compile("SELECT COUNT(*) FROM visits WHERE cost < 10 AND age > 3 "
                                     "AND kind = 'x';")
                                 .params.size());
}

// A released answer survives the round trip through its stored form exactly,
// typed as its columns declare.
TEST(AnswerEncodingTest, RoundTripsTypesIntervalsAndNotes) {
  QueryResult answer;
  answer.columns = {{"k", ValueType::kText, false}, {"d", ValueType::kDate, false},
                    {"n", ValueType::kInt, true},   {"m", ValueType::kReal, true},
                    {"b", ValueType::kBool, false}, {"r", ValueType::kReal, true}};
  answer.rows = {{std::string("x"), std::string("2024-03-01"), int64_t{12345}, 41.123456789012345, true, 3.0},
                 {std::monostate{}, std::string("2024-04-01"), int64_t{0}, 1e-300, false, -2.5e17}};
  answer.intervals = {
      {std::nullopt, std::nullopt, Interval{12000, 12690}, Interval{40.5, 41.75}, std::nullopt,
       Interval{1.5, 4.5}},
      {std::nullopt, std::nullopt, Interval{0, 345}, Interval{0, 100}, std::nullopt, Interval{-3e17, -2e17}}};
  answer.notes = {"groups with few people are suppressed"};
  answer.bias = {{"rows_capped", "at most 1 row per person per group is counted", {"n", "m"}}};
  std::optional<std::string> text = EncodeAnswer(answer);
  ASSERT_TRUE(text.has_value());
  QueryResult back = DecodeAnswer(*text);
  ASSERT_EQ(back.columns.size(), answer.columns.size());
  for (size_t c = 0; c < answer.columns.size(); ++c) {
    EXPECT_EQ(back.columns[c].type, answer.columns[c].type);
    EXPECT_EQ(back.columns[c].noisy, answer.columns[c].noisy);
    EXPECT_EQ(back.columns[c].name, "");  // names are the asker's, never stored
  }
  EXPECT_EQ(back.rows, answer.rows);
  ASSERT_EQ(back.intervals.size(), answer.intervals.size());
  for (size_t r = 0; r < answer.intervals.size(); ++r) {
    for (size_t c = 0; c < answer.intervals[r].size(); ++c) {
      ASSERT_EQ(back.intervals[r][c].has_value(), answer.intervals[r][c].has_value());
      if (!answer.intervals[r][c]) continue;
      EXPECT_EQ(back.intervals[r][c]->lower, answer.intervals[r][c]->lower);
      EXPECT_EQ(back.intervals[r][c]->upper, answer.intervals[r][c]->upper);
    }
  }
  EXPECT_EQ(back.notes, answer.notes);
  ASSERT_EQ(back.bias.size(), 1u);
  EXPECT_EQ(back.bias[0].code, "rows_capped");
  EXPECT_EQ(back.bias[0].message, answer.bias[0].message);
  EXPECT_EQ(back.bias[0].outputs, answer.bias[0].outputs);
  EXPECT_FALSE(back.cached);
  EXPECT_FALSE(back.budget.has_value());
}

// Answers stored before bias notes existed still read (with none; the engine
// recomputes them from the asker's plan when it serves a cached answer).
TEST(AnswerEncodingTest, AnswersStoredWithoutBiasNotesStillRead) {
  QueryResult back = DecodeAnswer(
      R"({"format": 1, "columns": [{"type": "int", "noisy": true}], "rows": [[7]], "intervals": [[[5, 9]]],
          "notes": []})");
  ASSERT_EQ(back.rows.size(), 1u);
  EXPECT_TRUE(back.bias.empty());
}

TEST(AnswerEncodingTest, NonFiniteValuesAreNotCached) {
  QueryResult answer;
  answer.columns = {{"m", ValueType::kReal, true}};
  answer.rows = {{std::numeric_limits<double>::infinity()}};
  answer.intervals = {{Interval{0, 1}}};
  EXPECT_FALSE(EncodeAnswer(answer).has_value());
  answer.rows = {{1.0}};
  answer.intervals = {{Interval{0, std::nan("")}}};
  EXPECT_FALSE(EncodeAnswer(answer).has_value());
}

TEST(AnswerEncodingTest, CorruptTextIsAnInternalError) {
  EXPECT_THROW(DecodeAnswer("{"), DpqlError);
  EXPECT_THROW(DecodeAnswer(R"({"format": 99})"), DpqlError);
}

// The cache stores the answer before post-processing: applying HAVING, ORDER
// BY and LIMIT to it gives what a fresh release with them gives for the same
// noise.
TEST_F(AnswerCacheKeyTest, PostProcessingOfTheStoredAnswerEqualsAPostProcessedRelease) {
  const std::string text =
      "SELECT site, COUNT(*) AS n FROM visits GROUP BY site HAVING n >= 1000 ORDER BY n DESC "
      "LIMIT 2 WITH PRIVACY (epsilon = 4);";
  ExactAggregates exact;
  for (const char* site : {"a", "b", "c", "d", "e"}) exact.keys.push_back({std::string(site)});
  exact.measures = {{BigInt(5000)}, {BigInt(10)}, {BigInt(9000)}, {BigInt(2000)}, {BigInt(7000)}};

  Plan plan = Compile(text);
  SeededRandom fresh_rng(5);
  QueryResult fresh = Release(plan, exact, fresh_rng);

  Plan cached_plan = Compile(text);
  PostProcessing post = TakePostProcessing(cached_plan.select);
  SeededRandom cached_rng(5);
  QueryResult stored = Release(cached_plan, exact, cached_rng);
  EXPECT_EQ(stored.rows.size(), 5u);  // everything, before HAVING and LIMIT
  QueryResult served = DecodeAnswer(*EncodeAnswer(stored));
  RestorePostProcessing(cached_plan.select, std::move(post));
  PostProcess(cached_plan.select, served);
  EXPECT_EQ(served.rows, fresh.rows);
  ASSERT_EQ(served.rows.size(), 2u);
  EXPECT_EQ(std::get<std::string>(served.rows[0][0]), "c");
}

}  // namespace
}  // namespace dpql
