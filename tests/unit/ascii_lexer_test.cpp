// The hand-written ASCII lexer (compiler/parser/ascii_lexer.h) must produce
// exactly the generated DPQLLexer's tokens — type, start and stop index,
// line, column and channel, through EOF — since the parser, the syntax error
// messages and every error position are built on them. Checked over every
// test and example file, the fuzzing seeds and dictionary, the docs, hand-picked edge
// cases, and 20,000 seeded random concatenations of lexically tricky pieces.

#include "compiler/parser/ascii_lexer.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/seeded_random.h"

namespace dpql::parser {
namespace {

std::string SourceDir() {
  const char* dir = std::getenv("DPQL_SOURCE_DIR");
  return dir != nullptr ? dir : DPQL_SOURCE_DIR_DEFAULT;
}

std::string ReadFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// Non-ASCII bytes become '?', NUL (refused before lexing) a blank.
std::string AsAscii(std::string text) {
  for (char& c : text) {
    if ((static_cast<unsigned char>(c) & 0x80) != 0) c = '?';
    if (c == '\0') c = ' ';
  }
  return text;
}

std::string Show(const std::vector<LexedToken>& tokens) {
  std::string out;
  for (const LexedToken& t : tokens) {
    out += std::to_string(t.type) + "@" + std::to_string(t.start) + ".." +
           std::to_string(static_cast<long long>(t.stop)) + " " + std::to_string(t.line) + ":" +
           std::to_string(t.column) + (t.channel != 0 ? " hidden" : "") + "\n";
  }
  return out;
}

void ExpectSameTokens(const std::string& text) {
  ASSERT_TRUE(IsAscii(text));
  std::vector<LexedToken> generated = LexWithGeneratedLexer(text);
  std::vector<LexedToken> ascii = LexWithAsciiLexer(text);
  ASSERT_EQ(Show(generated), Show(ascii)) << "input: [" << text << "]";
  ASSERT_EQ(generated, ascii);
}

TEST(AsciiLexerTest, IsAsciiTellsQueriesApart) {
  EXPECT_TRUE(IsAscii("SELECT COUNT(*) FROM admissions"));
  EXPECT_FALSE(IsAscii("SELECT \xC3\xA9t\xC3\xA9 FROM admissions"));
  EXPECT_FALSE(IsAscii("\xEF\xBB\xBFSELECT 1"));  // a byte order mark
}

TEST(AsciiLexerTest, EdgeCasesMatchTheGeneratedLexer) {
  const std::vector<std::string> cases = {
      "",
      " ",
      "\n\n",
      "SELECT",
      "select",
      "SeLeCt",
      "selectx",
      "select$",
      "_a$1",
      "$a",
      "a.b",
      "1",
      "1.",
      ".5",
      "1.5",
      "1e5",
      "1E+5",
      "1e-5",
      "1e",
      "1e+",
      "1.e5",
      "1.2e",
      "1.2.3",
      "..",
      ".",
      "1..2",
      "12abc",
      "0x1F",
      "'a'",
      "'a''b'",
      "'a''",
      "'a",
      "''''",
      "'",
      "\"a\"",
      "\"a\"\"b\"",
      "\"a",
      "\"\"",
      "\"",
      "-- c\nx",
      "--c\r\nx",
      "--",
      "-",
      "- -",
      "/* c */x",
      "/* c",
      "/*/",
      "/**/",
      "/* * / */",
      "/* **/",
      "/* a */ */",
      "/",
      "*/",
      "<>",
      "!=",
      "!",
      "<=",
      ">=",
      "<",
      ">",
      "=<",
      "=>",
      "<<>",
      "a!b",
      "%",
      "`a`",
      "#",
      "?",
      "@",
      "[",
      "]",
      "{",
      "}",
      "\\",
      "^",
      "|",
      "||",
      "|||",
      "a||b",
      "| |",
      "&",
      "~",
      ":",
      "\t\f\vx",
      "\r",
      "\x01",
      "\x7F",
      "a\tb\rc\nd",
      "AND OR NOT",
      "date DATE Date",
      "describe desc descx",
      "CASE when Then else END endx over partition window union intersect except offset natural using exists",
      "SELECT a FROM t WHERE b BETWEEN 1 AND 2;",
      "x;;y;",
      "line1\nline2 'str\ning'\n  z",
  };
  for (const std::string& text : cases) ExpectSameTokens(text);
}

TEST(AsciiLexerTest, TestAndExampleFilesMatchTheGeneratedLexer) {
  // Besides the queries, files full of quoted query text: the parser tests'
  // sources, the fuzzing seeds and the docs.
  std::vector<std::filesystem::path> files = {
      SourceDir() + "/examples/hospital/queries.dpql", SourceDir() + "/fuzz/dpql.dict",
      SourceDir() + "/fuzz/seed_corpus.py", SourceDir() + "/tests/unit/parser_test.cpp",
      SourceDir() + "/tests/unit/nesting_limit_test.cpp"};
  for (const char* dir : {"/tests/sql", "/docs"}) {
    for (const auto& entry : std::filesystem::directory_iterator(SourceDir() + dir)) {
      if (entry.is_regular_file()) files.push_back(entry.path());  // not docs/results/
    }
  }
  ASSERT_GE(files.size(), 12u);
  for (const auto& file : files) {
    std::string text = AsAscii(ReadFile(file));
    ASSERT_FALSE(text.empty()) << file;
    SCOPED_TRACE(file.string());
    ExpectSameTokens(text);
    // Each line alone too: more starts and ends of tokens at the input's edge.
    std::istringstream lines(text);
    for (std::string line; std::getline(lines, line);) ExpectSameTokens(line);
  }
}

TEST(AsciiLexerTest, RandomPiecesMatchTheGeneratedLexer) {
  // Pieces whose joins make longest-match decisions: numbers next to dots
  // and letters, comment openers, quotes, operators that start longer ones.
  const std::vector<std::string> pieces = {
      "select", "SELECT", "from", "x",    "_",   "$", "a1", "date", "e",     "E",   "1",
      "12",     ".",      "5",    "e5",   "+",   "-", "*",  "/",    "'",     "''",  "\"",
      "\"\"",   "--",     "/*",   "*/",   "<",   ">", "=",  "!",    "(",     ")",   ",",
      ";",      " ",      "\n",   "\t",   "\r",  "%", "`",  "#",    "and",   "in",  "inner",
      "ORDER",  "or",     "is",   "null", "not", "|", "||", "case", "union", "end",
  };
  SeededRandom random(20261128);
  auto draw = [&random](uint64_t n) {
    uint64_t value = 0;
    random.Fill(reinterpret_cast<uint8_t*>(&value), sizeof value);
    return value % n;
  };
  for (int round = 0; round < 20000; ++round) {
    std::string text;
    const uint64_t count = 1 + draw(8);
    for (uint64_t k = 0; k < count; ++k) text += pieces[draw(pieces.size())];
    ExpectSameTokens(text);
    if (HasFatalFailure()) return;
  }
}

TEST(AsciiLexerTest, TheComparisonSeesADifference) {
  // Negative control: the two token lists differ when the texts do.
  EXPECT_NE(LexWithGeneratedLexer("SELECT a"), LexWithAsciiLexer("SELECT  a"));
  EXPECT_NE(LexWithGeneratedLexer("1.5"), LexWithAsciiLexer("1,5"));
  EXPECT_EQ(LexWithAsciiLexer("SELECT a").size(), 3u);  // SELECT, a, EOF
}

}  // namespace
}  // namespace dpql::parser
