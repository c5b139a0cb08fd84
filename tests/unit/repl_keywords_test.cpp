// The REPL's completion words (repl/completion.cpp) against the grammar they
// complete: grammar/DPQL.g4 is read at test time, so a keyword added to or
// removed from the grammar fails here until the REPL's list follows.

#include <gtest/gtest.h>

#include <cstdlib>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "repl/completion.h"

namespace dpql {
namespace {

// Recognised by the grammar only to refuse them with a message (its joinType
// rule, EXISTS (SELECT ...), and the SQL keywords no rule uses), so completion
// does not offer them.
const std::set<std::string> kRefusedKeywords = {
    "CROSS",     "FULL",   "RIGHT", "CASE",      "WHEN",   "THEN",   "ELSE",    "END",   "OVER",
    "PARTITION", "WINDOW", "UNION", "INTERSECT", "EXCEPT", "OFFSET", "NATURAL", "USING", "EXISTS"};

std::string SourceDir() {
  const char* dir = std::getenv("DPQL_SOURCE_DIR");
  return dir != nullptr ? dir : DPQL_SOURCE_DIR_DEFAULT;
}

// The keywords of the grammar: rules `K_NAME : N A M E ;`, spelled with
// one-letter case-insensitive fragments (the grammar's header explains why).
// The spelled word is returned; it must match the token's name.
std::set<std::string> GrammarKeywords() {
  std::ifstream file(SourceDir() + "/grammar/DPQL.g4");
  EXPECT_TRUE(file) << "cannot read grammar/DPQL.g4 under " << SourceDir();
  std::set<std::string> keywords;
  const std::regex rule(R"(^K_([A-Za-z_]+)\s*:\s*([^;]*);)");
  const std::regex letters(R"(^(\s*[A-Z]\b)+\s*$)");
  std::string line;
  while (std::getline(file, line)) {
    std::smatch match;
    if (!std::regex_search(line, match, rule)) continue;
    const std::string name = match[1];
    const std::string body = match[2];
    EXPECT_TRUE(std::regex_match(body, letters))
        << "K_" << name << " is not spelled with one-letter fragments: " << body;
    std::string spelled;
    for (char c : body) {
      if (c != ' ' && c != '\t') spelled += c;
    }
    EXPECT_EQ(spelled, name) << "K_" << name << " spells '" << spelled << "'";
    keywords.insert(spelled);
  }
  return keywords;
}

TEST(ReplKeywords, CompletionKeywordsAreTheGrammarsKeywords) {
  std::set<std::string> grammar = GrammarKeywords();
  // The parse found the keyword section (SELECT ... WITH), not a stray rule.
  ASSERT_GE(grammar.size(), 30u);
  ASSERT_TRUE(grammar.count("SELECT") && grammar.count("WITH") && grammar.count("NULL"));
  for (const std::string& refused : kRefusedKeywords) {
    EXPECT_TRUE(grammar.count(refused)) << refused << " is no longer a grammar keyword";
  }

  std::set<std::string> offered;
  for (const char* keyword : CompletionKeywords()) {
    EXPECT_TRUE(offered.insert(keyword).second) << keyword << " is listed twice";
  }
  std::set<std::string> expected;
  for (const std::string& keyword : grammar) {
    if (!kRefusedKeywords.count(keyword)) expected.insert(keyword);
  }
  for (const std::string& keyword : expected) {
    EXPECT_TRUE(offered.count(keyword))
        << "the grammar's keyword " << keyword << " is missing from the REPL's completion keywords";
  }
  for (const std::string& keyword : offered) {
    EXPECT_TRUE(expected.count(keyword))
        << "the REPL completes " << keyword << " as a keyword, but the grammar does not have it"
        << (kRefusedKeywords.count(keyword) ? " (refused)" : "");
  }
}

// Function, date-part and option names are identifiers to the grammar: one that
// became a keyword belongs in the keyword list instead.
TEST(ReplKeywords, CompletionNamesAreNotGrammarKeywords) {
  std::set<std::string> grammar = GrammarKeywords();
  ASSERT_FALSE(grammar.empty());
  for (const char* name : CompletionNames()) {
    EXPECT_FALSE(grammar.count(name)) << name << " is a grammar keyword; list it with the keywords";
    EXPECT_TRUE(std::regex_match(name, std::regex("[A-Z_]+"))) << name;
  }
}

// The fix this test found: OUTER (LEFT OUTER JOIN) was not completed.
TEST(ReplKeywords, CompletesOuter) {
  Completer completer;
  EXPECT_EQ(completer.Complete("out", "SELECT COUNT(*) FROM a LEFT "), std::vector<std::string>{"outer"});
}

}  // namespace
}  // namespace dpql
