// docs/LANGUAGE.md's "Every refusal" table is the analyst's list of what the
// compiler refuses and what to write instead. Each row's example must fail
// with exactly its code (at a known line:column) on the hospital demo
// catalog, each rewrite written as a query must compile, and every code a
// query can get (kind syntax, semantic or privacy) must have a row. The test
// walks the table, so a row added for a new code is checked without C++.

#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/compile.h"
#include "compiler/parser/parser.h"

namespace dpql {
namespace {

std::string ReadSource(const std::string& relative) {
  std::ifstream in(DPQL_SOURCE_DIR_DEFAULT "/" + relative);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Codes of kind syntax, semantic or privacy that no query can produce, each
// with the reason. Everything else of those kinds must be in the table.
const std::map<std::string, std::string>& NotQueryLevel() {
  static const std::map<std::string, std::string> kCodes = {
      // Semantic for historical reasons, but raised by the ledger and the
      // admin CLI on analyst, project and budget names, never by a query.
      {"analyst_revoked", "an analyst's state, raised by the ledger"},
      {"duplicate_analyst", "dpqld admin add-analyst"},
      {"duplicate_project", "dpqld admin add-project"},
      {"invalid_budget", "budget arithmetic in the ledger"},
      {"invalid_name", "analyst, project and dataset names in the ledger"},
      // Guards the binder keeps although the grammar already rules the input
      // out: LIMIT takes an unsigned integer (a larger one is a syntax error),
      // every number token parses (one too large is number_out_of_range),
      // and the parser produces only operators the binder knows.
      // The parser refuses an impossible DATE literal ('2026-02-30') as a
      // syntax_error before the binder sees it.
      {"invalid_date", "DATE literals are checked by the parser"},
      {"invalid_limit", "LIMIT's grammar admits no negative number"},
      {"invalid_number", "the grammar's number tokens always parse"},
      {"unknown_operator", "the parser makes only known operators"},
  };
  return kCodes;
}

// The hospital catalog with one change, for the codes no query on the demo
// catalog as shipped can reach: (code, text to find, text to put instead).
struct CatalogEdit {
  std::string find;
  std::string replace;
};
const std::map<std::string, CatalogEdit>& CatalogEdits() {
  static const std::map<std::string, CatalogEdit> kEdits = {
      // No column of the demo has more than 100,000 values between its bounds.
      {"domain_too_large",
       {"waiting_days:      { type: int,  lower: 0, upper: 730 }",
        "waiting_days:      { type: int,  lower: 0, upper: 1000000 }"}},
      // The demo dataset is in one database.
      {"partition_selection_federated",
       {"privacy_unit: patient_id", "privacy_unit: patient_id\n    sites: [leeds, york]\n    max_sites_per_person: 2"}},
      // The demo dataset uses basic accounting.
      {"partition_selection_under_zcdp",
       {"privacy_unit: patient_id", "privacy_unit: patient_id\n    accounting: zcdp"}},
      // The demo caps max_groups at the default 64: far from a threshold of 10^15.
      {"selection_threshold_out_of_range",
       {"limits:   { max_epsilon_per_query: 2.0 }",
        "limits:   { max_epsilon_per_query: 2.0, max_groups: 1000000000000 }"}},
  };
  return kEdits;
}

struct Row {
  int line = 0;  // in docs/LANGUAGE.md
  std::string code;
  std::string cause;
  std::string example;
  std::string instead;
};

// The cells of a markdown table row: split on '|' not escaped as "\|".
std::vector<std::string> Cells(const std::string& line) {
  std::vector<std::string> cells;
  std::string cell;
  for (size_t i = 1; i < line.size(); ++i) {
    if (line[i] == '\\' && i + 1 < line.size() && line[i + 1] == '|') {
      cell += '|';
      ++i;
    } else if (line[i] == '|') {
      size_t b = cell.find_first_not_of(' '), e = cell.find_last_not_of(' ');
      cells.push_back(b == std::string::npos ? "" : cell.substr(b, e - b + 1));
      cell.clear();
    } else {
      cell += line[i];
    }
  }
  return cells;
}

// The text of the first `code span` of a cell, if the cell starts with one.
std::optional<std::string> LeadingCode(const std::string& cell) {
  if (cell.empty() || cell[0] != '`') return std::nullopt;
  size_t end = cell.find('`', 1);
  if (end == std::string::npos) return std::nullopt;
  return cell.substr(1, end - 1);
}

// The rows of the table whose header is | code | cause | example | instead |
// (found by its header, under any heading; its columns by name).
std::vector<Row> ReadTable(const std::string& doc) {
  std::vector<Row> rows;
  std::istringstream lines(doc);
  std::string line;
  int number = 0;
  std::map<std::string, size_t> column;
  bool in_table = false;
  while (std::getline(lines, line)) {
    ++number;
    if (line.rfind("|", 0) != 0) {
      if (in_table) break;  // one table: it ends at the first line that is not a row
      continue;
    }
    std::vector<std::string> cells = Cells(line);
    if (!in_table) {
      std::map<std::string, size_t> names;
      for (size_t i = 0; i < cells.size(); ++i) names[cells[i]] = i;
      if (names.count("code") && names.count("cause") && names.count("example") && names.count("instead")) {
        column = names;
        in_table = true;
      }
      continue;
    }
    if (line.rfind("|---", 0) == 0) continue;
    if (cells.size() != column.size()) {
      ADD_FAILURE() << "docs/LANGUAGE.md:" << number << ": " << cells.size() << " cells, the header has "
                    << column.size() << ": " << line;
      continue;
    }
    Row row;
    row.line = number;
    row.code = LeadingCode(cells[column["code"]]).value_or(cells[column["code"]]);
    row.cause = cells[column["cause"]];
    row.example = LeadingCode(cells[column["example"]]).value_or("");
    row.instead = cells[column["instead"]];
    rows.push_back(row);
  }
  return rows;
}

// The code the statement fails with, or nullopt when it compiles.
std::optional<DpqlError> CompileError(const Dataset& dataset, const std::string& text) {
  try {
    Compile(dataset, ParseStatement(text));
    return std::nullopt;
  } catch (const DpqlError& e) {
    return e;
  }
}

class RefusalTable : public ::testing::Test {
 protected:
  void SetUp() override {
    catalog_text_ = ReadSource("examples/hospital/catalog.yaml");
    ASSERT_FALSE(catalog_text_.empty());
    rows_ = ReadTable(ReadSource("docs/LANGUAGE.md"));
    ASSERT_GT(rows_.size(), 40u) << "docs/LANGUAGE.md has no | code | cause | example | instead | table";
  }

  // The hospital dataset, with the row's catalog edit if it has one.
  const Dataset& DatasetFor(const std::string& code) {
    auto [it, added] = catalogs_.try_emplace(code);
    if (added) {
      std::string text = catalog_text_;
      if (auto edit = CatalogEdits().find(code); edit != CatalogEdits().end()) {
        size_t at = text.find(edit->second.find);
        EXPECT_NE(at, std::string::npos) << "examples/hospital/catalog.yaml no longer has '"
                                         << edit->second.find << "' (the edit for " << code << ")";
        if (at != std::string::npos) text.replace(at, edit->second.find.size(), edit->second.replace);
      }
      it->second = ParseCatalog(text, "catalog.yaml");
    }
    return *it->second.FindDataset("hospital");
  }

  std::string catalog_text_;
  std::vector<Row> rows_;
  std::map<std::string, Catalog> catalogs_;
};

TEST_F(RefusalTable, EveryExampleFailsWithItsCodeAtALocation) {
  for (const Row& row : rows_) {
    SCOPED_TRACE("docs/LANGUAGE.md:" + std::to_string(row.line) + " " + row.code);
    ErrorCode code{};
    ASSERT_TRUE(FindErrorCode(row.code, code)) << "no such code in compiler/common/error_codes.h";
    ASSERT_FALSE(row.example.empty()) << "the example must be a query in `backticks`";
    EXPECT_FALSE(row.cause.empty());
    EXPECT_FALSE(row.instead.empty());
    std::optional<DpqlError> error = CompileError(DatasetFor(row.code), row.example);
    ASSERT_TRUE(error.has_value()) << "compiles, but should fail with " << row.code << ": " << row.example;
    EXPECT_EQ(error->code(), code) << FormatError(*error, row.example);
    EXPECT_TRUE(error->location().Known()) << "a refusal says where: " << FormatError(*error, row.example);
  }
}

// A rewrite that starts with a query in backticks is a query that works.
TEST_F(RefusalTable, EveryRewrittenQueryCompiles) {
  int checked = 0;
  for (const Row& row : rows_) {
    std::optional<std::string> rewrite = LeadingCode(row.instead);
    if (!rewrite) continue;
    const std::string first_word = rewrite->substr(0, rewrite->find(' '));
    if (first_word != "SELECT" && first_word != "EXPLAIN" && first_word != "DESCRIBE") continue;
    SCOPED_TRACE("docs/LANGUAGE.md:" + std::to_string(row.line) + " " + row.code);
    std::optional<DpqlError> error = CompileError(DatasetFor(row.code), *rewrite);
    EXPECT_FALSE(error.has_value()) << "the rewrite does not compile: " << FormatError(*error, *rewrite);
    ++checked;
  }
  EXPECT_GT(checked, 40) << "most rows suggest a whole query";
}

TEST_F(RefusalTable, EveryQueryLevelCodeHasOneRow) {
  std::map<std::string, int> rows_per_code;
  for (const Row& row : rows_) ++rows_per_code[row.code];
  for (const auto& [code, count] : rows_per_code) {
    EXPECT_EQ(count, 1) << code << " has " << count << " rows: one code, one cause";
  }
  for (const ErrorCodeInfo& info : kErrorCodes) {
    if (info.kind != ErrorKind::kSyntax && info.kind != ErrorKind::kSemantic &&
        info.kind != ErrorKind::kPrivacy) {
      continue;
    }
    const std::string name(info.name);
    if (NotQueryLevel().count(name)) continue;
    EXPECT_TRUE(rows_per_code.count(name))
        << "docs/LANGUAGE.md's refusal table has no row for " << name << " (| `" << name
        << "` | cause | `example query` | what to write instead |), "
        << "or list it in NotQueryLevel() with the reason no query can get it";
  }
  for (const auto& [name, why] : NotQueryLevel()) {
    ErrorCode code{};
    EXPECT_TRUE(FindErrorCode(name, code)) << name << " is no longer a code; drop it from NotQueryLevel()";
  }
}

// The table parser itself: escaped pipes, the leading code span.
TEST(RefusalTableParser, CellsAndCodeSpans) {
  EXPECT_EQ(Cells("| `a` | b \\| c |  |"), (std::vector<std::string>{"`a`", "b | c", ""}));
  EXPECT_EQ(LeadingCode("`SELECT 1`, then more"), "SELECT 1");
  EXPECT_EQ(LeadingCode("ask a guardian"), std::nullopt);
}

}  // namespace
}  // namespace dpql
