// The parser's error strategy and the lexer's listener: each syntax error
// becomes one DpqlError, with the message of the hint rules (syntax_hints.cpp).

#include "compiler/parser/error_listener.h"

#include <algorithm>
#include <string>

#include "compiler/parser/parser.h"
#include "compiler/parser/syntax_hints.h"

namespace dpql::parser {

using antlr4::Token;
using antlr4::misc::IntervalSet;

void SyntaxErrorStrategy::reportError(antlr4::Parser* parser, const antlr4::RecognitionException& e) {
  const Token* offending = e.getOffendingToken();
  if (offending == nullptr) offending = parser->getCurrentToken();
  // A prediction that failed several tokens ahead: the expected set at the
  // decision does not describe the offending token, so blame it directly.
  if (auto* no_viable = dynamic_cast<const antlr4::NoViableAltException*>(&e)) {
    const Token* start = no_viable->getStartToken();
    if (start != nullptr && start->getTokenIndex() != offending->getTokenIndex()) {
      ThrowSyntaxError(parser, offending, IntervalSet(), source_);
    }
  }
  ThrowSyntaxError(parser, offending, parser->getExpectedTokens(), source_);
}

antlr4::Token* SyntaxErrorStrategy::recoverInline(antlr4::Parser* parser) {
  throw antlr4::InputMismatchException(parser);
}

void SyntaxErrorStrategy::sync(antlr4::Parser* parser) {
  size_t next = parser->getTokenStream()->LA(1);
  if (parser->getExpectedTokens().contains(next)) return;
  throw antlr4::InputMismatchException(parser);
}

void ThrowingErrorListener::syntaxError(antlr4::Recognizer*, antlr4::Token* offending, size_t line,
                                        size_t column, const std::string&, std::exception_ptr) {
  SourceLocation loc;
  loc.line = static_cast<uint32_t>(line);
  loc.column = static_cast<uint32_t>(column) + 1;
  if (offending != nullptr) loc = source_.At(offending);
  ThrowSyntax("unexpected character", loc);
}

void CheckTokens(const std::vector<antlr4::Token*>& tokens, const SourceText& source) {
  // Nesting as the parser will see it: each '(' and each prefix operator
  // (NOT, unary -, unary +) is one more level of recursion.
  std::vector<int> open_levels;  // nesting level inside each open '('
  int prefix_run = 0;            // prefix operators right before this token
  size_t prev_type = Token::INVALID_TYPE;
  for (const Token* token : tokens) {
    const size_t type = token->getType();
    const SourceLocation loc = source.At(token);
    SourceLocation start_loc = loc;
    start_loc.length = std::min<uint32_t>(loc.length, 1);
    switch (type) {
      case G::UNTERMINATED_STRING:
        ThrowSyntax(
            "unterminated string literal: close it with ' (a quote inside a string is "
            "written '')",
            start_loc);
      case G::UNTERMINATED_QUOTED_IDENTIFIER:
        ThrowSyntax("unterminated quoted name: close it with \"", start_loc);
      case G::UNTERMINATED_BLOCK_COMMENT:
        start_loc.length = 2;
        ThrowSyntax("unterminated /* comment: close it with */", start_loc);
      case G::ERROR_CHARACTER: {
        std::string c = token->getText();
        std::string hint;
        if (c == "!") {
          hint = "; write <> (or !=) for 'not equal' and NOT for negation";
        } else if (c == "`") {
          hint = "; write names in double quotes (\"name\")";
        } else if (c == "\xE2\x80\x98" || c == "\xE2\x80\x99" || c == "\xE2\x80\x9C" || c == "\xE2\x80\x9D") {
          hint = "; use straight quotes: 'text' for strings, \"name\" for names";
        } else if (c == "|") {
          hint = "; write OR to combine conditions";
        } else if (c == "%") {
          hint = "; the % operator is not supported";
        }
        ThrowSyntax("unexpected character '" + c + "'" + hint, loc);
      }
      default: break;
    }

    const int level = open_levels.empty() ? 0 : open_levels.back();
    bool prefix = false;
    if (type == G::MINUS || type == G::PLUS) {
      prefix = !EndsOperand(prev_type);
    } else if (type == G::K_NOT) {
      prefix = !EndsOperand(prev_type) && prev_type != G::K_IS;
    }
    if (prefix) {
      ++prefix_run;
    } else if (type == G::LPAREN) {
      open_levels.push_back(level + prefix_run + 1);
      prefix_run = 0;
    } else {
      if (type == G::RPAREN && !open_levels.empty()) open_levels.pop_back();
      prefix_run = 0;
    }
    const int depth = (open_levels.empty() ? 0 : open_levels.back()) + prefix_run;
    if (depth > kMaxNestingDepth) {
      ThrowSyntax("expression is nested too deeply (more than " + std::to_string(kMaxNestingDepth) +
                      " levels of parentheses or NOT/- operators); simplify it",
                  loc);
    }
    prev_type = type;
  }
}

}  // namespace dpql::parser
