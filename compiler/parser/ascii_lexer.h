#pragma once

// Internal to compiler/parser: a hand-written lexer for ASCII queries that
// produces exactly the tokens of the generated DPQLLexer (DPQL.g4), without
// ANTLR's per-character DFA walk (a quarter of a compile). Queries with any
// non-ASCII byte are lexed by the generated lexer (identifiers may be any
// Unicode letters, \p{L}, which only ANTLR's tables know).
//
// The token types, positions and lines are checked against the generated
// lexer by tests/unit/ascii_lexer_test.cpp over every test query and
// generated inputs.

#include <cstddef>
#include <string_view>
#include <vector>

namespace dpql::parser {

// True when `text` can be lexed by the ASCII lexer.
bool IsAscii(std::string_view text);

// A token as both lexers describe it, for the equivalence test.
struct LexedToken {
  size_t type = 0;
  size_t start = 0;   // code point index of the first character
  size_t stop = 0;    // code point index of the last character (start - 1 for EOF)
  size_t line = 0;    // 1-based
  size_t column = 0;  // 0-based, in characters
  size_t channel = 0;

  bool operator==(const LexedToken&) const = default;
};

// The tokens of `text`, through EOF, from the generated lexer or from the
// ASCII lexer (`text` must then be ASCII).
std::vector<LexedToken> LexWithGeneratedLexer(std::string_view text);
std::vector<LexedToken> LexWithAsciiLexer(std::string_view text);

}  // namespace dpql::parser
