// Runs every tests/sql/*.test file: table-driven cases of DPQL text and what
// the compiler must make of it. Adding a case needs no C++. Format:
//
//   # comment
//   statement ok                 the statement(s) must compile
//   SELECT ...;
//
//   statement error 2:8 code     must fail at line 2, column 8 with this code;
//   SELECT ...;                  the line after ---- must be part of the message
//   ----
//   unknown column
//
//   plan                         the generated SQL and its bind parameters
//   SELECT ...;
//   ----
//   WITH dpql_rows AS (
//   ...
//   -- $1 = 1
//
// Cases end at a blank line. DPQL_TEST_REWRITE=1 rewrites the expected plan
// blocks from the current output (review the diff before committing).

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"

namespace dpql {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("DPQL_SOURCE_DIR");
  return dir != nullptr ? dir : DPQL_SOURCE_DIR_DEFAULT;
}

struct Case {
  enum Kind { kOk, kError, kPlan } kind = kOk;
  int line = 0;  // where the case starts in the file
  std::string query;
  int error_line = 0, error_column = 0;
  std::string error_code;
  std::vector<std::string> expected;                // after ----
  size_t first_line_index = 0, end_line_index = 0;  // of the whole case, for rewriting
  size_t expected_index = 0;                        // first line after ----
};

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path);
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

std::vector<Case> ParseCases(const std::vector<std::string>& lines, const std::string& file) {
  std::vector<Case> cases;
  size_t i = 0;
  while (i < lines.size()) {
    const std::string& header = lines[i];
    if (header.empty() || header[0] == '#') {
      ++i;
      continue;
    }
    Case c;
    c.line = static_cast<int>(i + 1);
    c.first_line_index = i;
    std::istringstream words(header);
    std::string word;
    words >> word;
    if (word == "statement") {
      words >> word;
      if (word == "ok") {
        c.kind = Case::kOk;
      } else if (word == "error") {
        c.kind = Case::kError;
        std::string position;
        words >> position >> c.error_code;
        if (sscanf(position.c_str(), "%d:%d", &c.error_line, &c.error_column) != 2) {
          ADD_FAILURE() << file << ":" << c.line << ": expected 'statement error LINE:COL CODE'";
        }
      } else {
        ADD_FAILURE() << file << ":" << c.line << ": unknown statement kind '" << word << "'";
      }
    } else if (word == "plan") {
      c.kind = Case::kPlan;
    } else {
      ADD_FAILURE() << file << ":" << c.line << ": unknown case header '" << header << "'";
    }
    ++i;
    bool after_separator = false;
    std::string query;
    for (; i < lines.size() && !lines[i].empty(); ++i) {
      if (!after_separator && lines[i] == "----") {
        after_separator = true;
        c.expected_index = i + 1;
        continue;
      }
      if (after_separator) {
        c.expected.push_back(lines[i]);
      } else {
        query += (query.empty() ? "" : "\n") + lines[i];
      }
    }
    if (!after_separator) c.expected_index = i;
    c.end_line_index = i;
    c.query = query;
    cases.push_back(std::move(c));
  }
  return cases;
}

// Compiles every statement of the query; returns the rendered SQL blocks.
std::string CompileAll(const Dataset& dataset, const std::string& query) {
  std::string out;
  for (const auto& statement : ParseScript(query)) {
    CompiledStatement compiled = Compile(dataset, statement);
    if (!compiled.HasPlan()) continue;
    const Plan& plan = *compiled.plan;
    out += plan.sql + "\n";
    for (size_t p = 0; p < plan.params.size(); ++p) {
      out += "-- $" + std::to_string(p + 1) + " = " + plan.params[p] + "\n";
    }
  }
  return out;
}

std::string Join(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

class SqlFileTest : public ::testing::TestWithParam<std::string> {};

TEST_P(SqlFileTest, Cases) {
  const std::string path = GetParam();
  const std::string file = std::filesystem::path(path).filename().string();
  Catalog catalog = LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml");
  const Dataset& dataset = *catalog.DefaultDataset();
  std::vector<std::string> lines = ReadLines(path);
  std::vector<Case> cases = ParseCases(lines, file);
  ASSERT_FALSE(cases.empty()) << file << " has no cases";
  const bool rewrite = std::getenv("DPQL_TEST_REWRITE") != nullptr;
  std::vector<std::pair<Case, std::string>> rewrites;

  for (const Case& c : cases) {
    SCOPED_TRACE(file + ":" + std::to_string(c.line));
    try {
      std::string sql = CompileAll(dataset, c.query);
      if (c.kind == Case::kError) {
        ADD_FAILURE() << file << ":" << c.line << ": expected error " << c.error_code
                      << ", but it compiled:\n"
                      << c.query;
      } else if (c.kind == Case::kPlan) {
        if (rewrite) {
          rewrites.emplace_back(c, sql);
        } else {
          EXPECT_EQ(Join(c.expected), sql) << file << ":" << c.line << ": plan differs for\n" << c.query;
        }
      }
    } catch (const DpqlError& e) {
      if (c.kind != Case::kError) {
        ADD_FAILURE() << file << ":" << c.line << ": unexpected error\n" << FormatError(e, c.query);
        continue;
      }
      EXPECT_EQ(c.error_code, std::string(Name(e.code()))) << file << ":" << c.line << "\n"
                                                           << FormatError(e, c.query);
      EXPECT_EQ(c.error_line, static_cast<int>(e.location().line)) << file << ":" << c.line << "\n"
                                                                   << FormatError(e, c.query);
      EXPECT_EQ(c.error_column, static_cast<int>(e.location().column)) << file << ":" << c.line << "\n"
                                                                       << FormatError(e, c.query);
      ASSERT_EQ(c.expected.size(), 1u) << file << ":" << c.line << ": give one message line";
      EXPECT_NE(std::string(e.what()).find(c.expected[0]), std::string::npos)
          << file << ":" << c.line << ": message \"" << e.what() << "\" lacks \"" << c.expected[0] << "\"";
    }
  }

  if (rewrite && !rewrites.empty()) {
    // Rebuild the file bottom-up so earlier indexes stay valid.
    for (auto it = rewrites.rbegin(); it != rewrites.rend(); ++it) {
      const Case& c = it->first;
      std::vector<std::string> block;
      std::istringstream sql(it->second);
      std::string line;
      while (std::getline(sql, line)) block.push_back(line);
      size_t from = c.expected_index;
      if (c.expected.empty() && from == c.end_line_index) {
        block.insert(block.begin(), "----");
      }
      lines.erase(lines.begin() + from, lines.begin() + c.end_line_index);
      lines.insert(lines.begin() + from, block.begin(), block.end());
    }
    std::ofstream out(path);
    for (const auto& l : lines) out << l << "\n";
  }
  std::cout << "[ sql file ] " << file << ": " << cases.size() << " cases\n";
}

std::vector<std::string> TestFiles() {
  std::vector<std::string> files;
  for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + "/tests/sql")) {
    if (entry.path().extension() == ".test") files.push_back(entry.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

INSTANTIATE_TEST_SUITE_P(Files, SqlFileTest, ::testing::ValuesIn(TestFiles()),
                         [](const ::testing::TestParamInfo<std::string>& info) {
                           std::string name = std::filesystem::path(info.param).stem().string();
                           for (char& ch : name) {
                             if (!isalnum(static_cast<unsigned char>(ch))) ch = '_';
                           }
                           return name;
                         });

}  // namespace
}  // namespace dpql
