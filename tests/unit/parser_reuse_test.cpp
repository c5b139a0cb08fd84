// ParseScript reuses one lexer, token stream and parser per thread
// (compiler/parser/parser.cpp). What one query leaves behind — a parse tree,
// tokens, the LL error strategy after a syntax error, a thrown error midway —
// must never change the next query's result, on any thread. Each query's
// result (its SQL, or its error code, message and line:column) is computed
// once, then recomputed on four threads in interleaved orders.

#include <gtest/gtest.h>

#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("DPQL_SOURCE_DIR");
  return dir != nullptr ? dir : DPQL_SOURCE_DIR_DEFAULT;
}

std::string Outcome(const Dataset& dataset, const std::string& text) {
  try {
    ast::Statement statement = ParseStatement(text);
    return CompileSelect(dataset, *statement.select).sql;
  } catch (const DpqlError& error) {
    return std::string(Name(error.code())) + " " + std::to_string(error.location().line) + ":" +
           std::to_string(error.location().column) + " " + error.what();
  }
}

TEST(ParserReuseTest, ResultsDoNotDependOnTheQueriesBefore) {
  const Catalog catalog = LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml");
  const Dataset& dataset = *catalog.DefaultDataset();
  const std::vector<std::string> queries = {
      "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code",
      "SELECT COUNT(*) FROM admissions WHERE admission_method = 'emergency'",
      "SELECT COUNT(*) FROM admissions WHERE admission_method = '\xC3\xA9mergency'",  // non-ASCII
      "SELECT COUNT(*) FROM admissions WHERE",            // syntax error (LL fallback)
      "SELECT COUNT(*) FORM admissions",                  // a typo of a keyword
      "SELECT COUNT(*) FROM admissions WHERE x = 'open",  // unterminated string
      "SELECT ward_code FROM admissions GROUP BY",        // error at the end
      "SELECT COUNT(*) FROM admissions WHERE a ! b",      // error character
      "SELECT " + std::string(200, '(') + "1" + std::string(200, ')') + " FROM admissions",
      "SELECT AVG(age_at_admission) FROM admissions WITH PRIVACY (epsilon = 0.5)",
  };
  std::vector<std::string> expected;
  for (const std::string& query : queries) expected.push_back(Outcome(dataset, query));
  // The outcomes differ: the valid queries compiled, the others failed.
  EXPECT_EQ(expected[0].rfind("syntax_error", 0), std::string::npos);
  EXPECT_EQ(expected[3].rfind("syntax_error", 0), 0u) << expected[3];

  std::vector<std::vector<std::string>> seen(4);
  std::vector<std::thread> threads;
  for (size_t t = 0; t < seen.size(); ++t) {
    threads.emplace_back([&, t] {
      for (size_t round = 0; round < 50; ++round) {
        for (size_t k = 0; k < queries.size(); ++k) {
          size_t i = (k * (t + 1) + round) % queries.size();  // a different order per thread
          std::string outcome = Outcome(dataset, queries[i]);
          if (outcome != expected[i]) seen[t].push_back(queries[i] + " -> " + outcome);
        }
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  for (const auto& mismatches : seen) EXPECT_TRUE(mismatches.empty()) << mismatches.front();
}

}  // namespace
}  // namespace dpql
