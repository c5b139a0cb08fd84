#pragma once

// Internal to compiler/parser: the ASCII lexer (see ascii_lexer.h) as an
// ANTLR TokenSource, so that a CommonTokenStream and the generated parser
// take its tokens as they take DPQLLexer's.

#include <memory>
#include <string>
#include <string_view>
#include <utility>

#include "DPQLLexer.h"
#include "compiler/parser/ascii_lexer.h"

namespace dpql::parser {

class AsciiLexer : public antlr4::TokenSource {
 public:
  // `text` must be ASCII and outlive the lexing; `input` is the same text as
  // ANTLR's char stream (tokens take their text from it).
  void Reset(std::string_view text, antlr4::CharStream* input);

  std::unique_ptr<antlr4::Token> nextToken() override;
  size_t getLine() const override { return line_; }
  size_t getCharPositionInLine() override { return column_; }
  antlr4::CharStream* getInputStream() override { return input_; }
  std::string getSourceName() override { return input_->getSourceName(); }
  antlr4::TokenFactory<antlr4::CommonToken>* getTokenFactory() override { return factory_; }

 private:
  std::pair<size_t, size_t> Scan() const;
  size_t QuotedEnd(size_t start) const;
  size_t ExponentEnd(size_t i) const;
  void Advance(size_t end);

  std::string_view text_;
  antlr4::CharStream* input_ = nullptr;
  antlr4::TokenFactory<antlr4::CommonToken>* factory_ = antlr4::CommonTokenFactory::DEFAULT.get();
  size_t pos_ = 0;
  size_t line_ = 1;
  size_t column_ = 0;
};

}  // namespace dpql::parser
