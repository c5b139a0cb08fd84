#pragma once

// Internal to compiler/parser: turns ANTLR's view of a syntax error (the
// offending token, the tokens it expected, the rule it was in) into one
// DpqlError with a message for humans, located at the offending text.
// ANTLR's own messages ("mismatched input ... expecting {...}") never reach
// a user.

#include <vector>

#include "compiler/parser/transformer.h"

namespace dpql::parser {

// Throws on the first syntax error instead of recovering. Used for the
// second, full-LL parse that only runs when the fast SLL parse failed.
class SyntaxErrorStrategy : public antlr4::DefaultErrorStrategy {
 public:
  explicit SyntaxErrorStrategy(const SourceText& source) : source_(source) {}

  void reportError(antlr4::Parser* parser, const antlr4::RecognitionException& e) override;
  antlr4::Token* recoverInline(antlr4::Parser* parser) override;
  // Fails as soon as the next token cannot continue any parse, while the
  // full set of expected tokens is still known.
  void sync(antlr4::Parser* parser) override;

 private:
  const SourceText& source_;
};

// For the lexer, which should never report (stray characters are tokens).
class ThrowingErrorListener : public antlr4::BaseErrorListener {
 public:
  explicit ThrowingErrorListener(const SourceText& source) : source_(source) {}
  void syntaxError(antlr4::Recognizer* recognizer, antlr4::Token* offending, size_t line, size_t column,
                   const std::string& message, std::exception_ptr e) override;

 private:
  const SourceText& source_;
};

// Checks run on the whole token stream before parsing: error tokens
// (unterminated strings/comments, stray characters) and nesting deep enough
// to endanger the recursive-descent parser's stack.
void CheckTokens(const std::vector<antlr4::Token*>& tokens, const SourceText& source);

}  // namespace dpql::parser
