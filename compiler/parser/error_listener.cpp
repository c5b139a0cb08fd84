// Syntax errors for humans. The rules below look at the offending token, the
// token before it, the tokens the grammar expected and the rule being parsed,
// and pick the first message that fits; the last resort is "unexpected X".

#include "compiler/parser/error_listener.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include "DPQLLexer.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "compiler/parser/parser.h"

namespace dpql::parser {

namespace {

using antlr4::Token;
using antlr4::misc::IntervalSet;

[[noreturn]] void Throw(std::string message, const SourceLocation& loc) {
  throw DpqlError(ErrorCode::kSyntaxError, std::move(message), loc);
}

bool Has(const IntervalSet& set, size_t type) { return set.contains(type); }

bool IsKeyword(size_t type) { return type >= G::K_AND && type <= G::K_WITH; }

// Keywords that may also be used as names (see nonReserved in DPQL.g4).
bool IsNonReserved(size_t type) {
  return type == G::K_TABLES || type == G::K_BUDGET || type == G::K_PRIVACY || type == G::K_DATE;
}

bool IsReserved(size_t type) { return IsKeyword(type) && !IsNonReserved(type); }

bool IsStatementStart(size_t type) {
  return type == G::K_SELECT || type == G::K_EXPLAIN || type == G::K_SHOW || type == G::K_DESCRIBE;
}

// Keywords that start a clause of SELECT, in the order the clauses must come.
bool IsClauseKeyword(size_t type) {
  switch (type) {
    case G::K_FROM:
    case G::K_JOIN:
    case G::K_INNER:
    case G::K_LEFT:
    case G::K_WHERE:
    case G::K_GROUP:
    case G::K_HAVING:
    case G::K_ORDER:
    case G::K_LIMIT:
    case G::K_WITH:
      return true;
    default:
      return false;
  }
}

// The generated vocabulary is a static of the generated classes; a throwaway
// lexer is the portable way to reach it.
const antlr4::dfa::Vocabulary& Vocabulary() {
  static const antlr4::dfa::Vocabulary& vocabulary = [] {
    antlr4::ANTLRInputStream input("");
    dpql_grammar::DPQLLexer lexer(&input);
    return std::cref(lexer.getVocabulary());
  }();
  return vocabulary;
}

std::string KeywordName(size_t type) {
  std::string name(Vocabulary().getSymbolicName(type));
  return name.rfind("K_", 0) == 0 ? name.substr(2) : name;
}

std::string Truncate(std::string text) {
  if (text.size() > 40) text = text.substr(0, 37) + "...";
  return text;
}

// How an offending token is shown: FROM, ')', 'admissions', the end of the query.
std::string Describe(const Token* token) {
  size_t type = token->getType();
  if (type == Token::EOF) return "the end of the query";
  if (IsKeyword(type)) return KeywordName(type);
  if (type == G::STRING) return "the string " + Truncate(token->getText());
  return "'" + Truncate(token->getText()) + "'";
}

// How the token before the error is shown after "after".
std::string After(const Token* token) {
  if (token == nullptr) return "the start of the query";
  return IsKeyword(token->getType()) ? KeywordName(token->getType())
                                     : "'" + Truncate(token->getText()) + "'";
}

std::string Found(const Token* token) {
  return token->getType() == Token::EOF ? "" : ", found " + Describe(token);
}

// The keyword among `candidates` that `word` is most likely a typo of.
std::optional<size_t> ClosestKeyword(const std::string& word,
                                     const std::vector<size_t>& candidates) {
  std::string upper = UpperAscii(word);
  if (upper.size() < 4) return std::nullopt;  // too short to guess from
  size_t allowed = upper.size() <= 5 ? 1 : 2;
  std::optional<size_t> best;
  size_t best_distance = allowed + 1;
  for (size_t type : candidates) {
    // A transposition ("SELETC") counts as one typo.
    size_t distance = EditDistance(upper, KeywordName(type), Transposition::kOneEdit);
    if (distance < best_distance) {
      best = type;
      best_distance = distance;
    }
  }
  return best;
}

std::vector<size_t> KeywordsIn(const IntervalSet& expected) {
  std::vector<size_t> out;
  for (size_t type = G::K_AND; type <= G::K_WITH; ++type) {
    if (Has(expected, type)) out.push_back(type);
  }
  return out;
}

std::vector<size_t> ClauseKeywords() {
  return {G::K_FROM, G::K_WHERE,  G::K_GROUP, G::K_HAVING,   G::K_ORDER,  G::K_LIMIT,
          G::K_JOIN, G::K_INNER,  G::K_LEFT,  G::K_WITH,     G::K_AND,    G::K_BETWEEN,
          G::K_LIKE, G::K_SELECT, G::K_DESC,  G::K_DISTINCT, G::K_PRIVACY};
}

// Tokens after which an operand has ended (so a following identifier is an
// alias, and a following '-' or NOT is not a prefix operator).
bool EndsOperand(size_t type) {
  switch (type) {
    case G::IDENTIFIER:
    case G::QUOTED_IDENTIFIER:
    case G::INTEGER:
    case G::DECIMAL:
    case G::STRING:
    case G::RPAREN:
    case G::K_NULL:
    case G::K_TRUE:
    case G::K_FALSE:
      return true;
    default:
      return IsNonReserved(type);
  }
}

bool InRule(antlr4::RuleContext* ctx, size_t rule) {
  for (; ctx != nullptr; ctx = dynamic_cast<antlr4::RuleContext*>(ctx->parent)) {
    if (ctx->getRuleIndex() == rule) return true;
  }
  return false;
}

// Inside `x BETWEEN low AND high`, before the AND.
bool InBetween(antlr4::RuleContext* ctx) {
  for (; ctx != nullptr; ctx = dynamic_cast<antlr4::RuleContext*>(ctx->parent)) {
    if (auto* predicate = dynamic_cast<G::PredicateContext*>(ctx)) {
      return predicate->K_BETWEEN() != nullptr && predicate->K_AND() == nullptr;
    }
  }
  return false;
}

// The '(' that is still open just before `index`, if any.
const Token* UnclosedParen(antlr4::TokenStream* tokens, size_t index) {
  int depth = 0;
  for (size_t i = index; i-- > 0;) {
    const Token* token = tokens->get(i);
    if (token->getType() == G::RPAREN) ++depth;
    if (token->getType() == G::LPAREN && depth-- == 0) return token;
  }
  return nullptr;
}

// Names for the tokens the grammar expected, for the last-resort message.
std::vector<std::string> ExpectedNames(const IntervalSet& expected) {
  std::vector<std::string> names;
  auto add = [&](const std::string& name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(name);
  };
  const antlr4::dfa::Vocabulary& vocabulary = Vocabulary();
  for (size_t type : expected.toList()) {
    if (type == Token::EOF) {
      add("the end of the query");
    } else if (type == G::IDENTIFIER || type == G::QUOTED_IDENTIFIER ||
               (IsNonReserved(type) && Has(expected, G::IDENTIFIER))) {
      add("a name");
    } else if (type == G::INTEGER) {
      add("an integer");
    } else if (type == G::DECIMAL) {
      add("a number");
    } else if (type == G::STRING) {
      add("a string");
    } else if (IsKeyword(type)) {
      add(KeywordName(type));
    } else {
      add(std::string(vocabulary.getLiteralName(type)));
    }
  }
  return names;
}

std::string JoinNames(const std::vector<std::string>& names) {
  std::string out;
  for (size_t i = 0; i < names.size(); ++i) {
    if (i > 0) out += i + 1 == names.size() ? " or " : ", ";
    out += names[i];
  }
  return out;
}

[[noreturn]] void ThrowSyntaxError(antlr4::Parser* parser, const Token* token,
                                   const IntervalSet& expected, const SourceText& source) {
  antlr4::TokenStream* tokens = parser->getTokenStream();
  antlr4::RuleContext* ctx = parser->getContext();
  const size_t type = token->getType();
  const size_t index = token->getTokenIndex();
  const Token* prev = index > 0 ? tokens->get(index - 1) : nullptr;
  const Token* before_prev = index > 1 ? tokens->get(index - 2) : nullptr;
  // The end of the query is shown right after the last token, not on an
  // empty last line.
  const SourceLocation loc =
      type == Token::EOF && prev != nullptr ? source.After(prev) : source.At(token);
  const std::string found = Found(token);

  // A misspelt keyword where a keyword was expected: SELEC, BETWEN, ...
  if (type == G::IDENTIFIER) {
    std::vector<size_t> candidates = KeywordsIn(expected);
    if (candidates.empty()) candidates = ClauseKeywords();
    if (auto keyword = ClosestKeyword(token->getText(), candidates)) {
      Throw("unknown keyword '" + token->getText() + "' — did you mean " + KeywordName(*keyword) +
                "?",
            loc);
    }
  }
  // A misspelt clause keyword that was taken for an alias: SELECT a FORM t.
  if (prev != nullptr && prev->getType() == G::IDENTIFIER && before_prev != nullptr &&
      EndsOperand(before_prev->getType())) {
    if (auto keyword = ClosestKeyword(prev->getText(), ClauseKeywords())) {
      Throw(
          "unknown keyword '" + prev->getText() + "' — did you mean " + KeywordName(*keyword) + "?",
          source.At(prev));
    }
  }

  if (IsStatementStart(type) && Has(expected, G::SEMI)) {
    Throw("missing ';' between statements: end the previous statement with ';' before " +
              KeywordName(type),
          loc);
  }
  if (Has(expected, G::K_SELECT) && Has(expected, G::K_SHOW)) {
    Throw("expected a statement (SELECT, EXPLAIN, SHOW TABLES, SHOW BUDGET or DESCRIBE)" + found,
          loc);
  }
  if (type == G::EQ && prev != nullptr && prev->getType() == G::EQ) {
    Throw("'==' is not an operator; write = to compare values", source.At(prev));
  }

  // An expression was expected.
  if (Has(expected, G::INTEGER) && Has(expected, G::STRING)) {
    if (prev != nullptr && prev->getType() == G::K_SELECT) {
      Throw("expected an expression or '*' after SELECT" + found, loc);
    }
    if (prev != nullptr && prev->getType() == G::COMMA &&
        (IsClauseKeyword(type) || type == G::RPAREN || type == G::SEMI || type == Token::EOF)) {
      Throw("unexpected ',' before " + Describe(token) + "; remove the trailing ','",
            source.At(prev));
    }
    if (type == G::RPAREN && prev != nullptr && prev->getType() == G::LPAREN &&
        InRule(ctx, G::RulePredicate)) {
      Throw("expected at least one value in IN (...)", loc);
    }
    Throw("expected an expression after " + After(prev) + found, loc);
  }

  if (Has(expected, G::K_ON) && InRule(ctx, G::RuleJoinClause)) {
    Throw("expected ON after the joined table (e.g. JOIN wards w ON a.ward_code = w.ward_code)" +
              found,
          loc);
  }
  // Clauses in the wrong order, or twice: ... LIMIT 5 ORDER BY x.
  if (IsClauseKeyword(type) && type != G::K_FROM && InRule(ctx, G::RuleSelectStatement) &&
      !Has(expected, type)) {
    std::string clause = KeywordName(type);
    if (type == G::K_GROUP || type == G::K_ORDER) clause += " BY";
    if (type == G::K_WITH) clause += " PRIVACY";
    Throw(clause +
              " is not allowed here: the clauses of a SELECT come in the order FROM, JOIN, WHERE, "
              "GROUP BY, HAVING, ORDER BY, LIMIT, WITH PRIVACY, each at most once",
          loc);
  }

  if (Has(expected, G::K_FROM) && ctx->getRuleIndex() == G::RuleSelectStatement) {
    std::string hint = type == G::IDENTIFIER || type == G::INTEGER || type == G::STRING
                           ? " (separate select items with ',')"
                           : "";
    Throw("expected FROM after the select list" + found + hint, loc);
  }

  // Only a name could come next.
  bool names_only = Has(expected, G::IDENTIFIER);
  for (size_t t : expected.toList()) {
    bool subquery = t == G::LPAREN && prev != nullptr &&
                    (prev->getType() == G::K_FROM || prev->getType() == G::K_JOIN);
    if (t != G::IDENTIFIER && t != G::QUOTED_IDENTIFIER && !IsNonReserved(t) && !subquery) {
      names_only = false;
    }
  }
  if (names_only) {
    size_t prev_type = prev != nullptr ? prev->getType() : Token::INVALID_TYPE;
    std::string what = "a name";
    if (prev_type == G::K_FROM || prev_type == G::K_JOIN || prev_type == G::K_DESCRIBE) {
      what = "a table name";
    } else if (prev_type == G::K_AS) {
      what = "an alias";
    } else if (prev_type == G::DOT) {
      what = "a column name";
    } else if (InRule(ctx, G::RulePrivacyClause)) {
      what = "a privacy option (epsilon, delta, mechanism, max_groups, max_rows or confidence)";
    } else if (InRule(ctx, G::RuleExtractCall)) {
      what = "a date part (YEAR, MONTH, DAY or DOW)";
    }
    std::string hint;
    if (type == G::STRING) {
      hint = "; write names without quotes or in \"double quotes\" ('single quotes' make a string)";
    } else if (IsReserved(type)) {
      hint = "; " + KeywordName(type) + " is a reserved word: write \"" +
             LowerAscii(token->getText()) + "\" in double quotes to use it as a name";
    }
    Throw("expected " + what + " after " + After(prev) + found + hint, loc);
  }

  if (ctx->getRuleIndex() == G::RulePrivacyValue) {
    Throw("expected a number or a name after '=' (e.g. epsilon = 0.5, mechanism = laplace)" + found,
          loc);
  }
  if (prev != nullptr && prev->getType() == G::K_LIMIT) {
    Throw("expected a whole number of rows after LIMIT" + found, loc);
  }
  if (Has(expected, G::K_AND) && !Has(expected, G::K_OR) && InBetween(ctx)) {
    Throw("expected AND in BETWEEN low AND high" + found, loc);
  }
  if (Has(expected, G::K_FROM) && InRule(ctx, G::RuleExtractCall)) {
    Throw("expected FROM in EXTRACT(field FROM date)" + found, loc);
  }
  if (prev != nullptr && prev->getType() == G::K_NOT && before_prev != nullptr &&
      before_prev->getType() == G::K_IS) {
    Throw("expected NULL after IS NOT" + found, loc);
  }
  if (prev != nullptr && prev->getType() == G::K_NOT && InRule(ctx, G::RulePredicate)) {
    Throw("expected BETWEEN, IN or LIKE after NOT" + found, loc);
  }
  if (Has(expected, G::RPAREN) &&
      (type == Token::EOF || type == G::SEMI || IsClauseKeyword(type))) {
    if (const Token* open = UnclosedParen(tokens, index)) {
      SourceLocation open_loc = source.At(open);
      Throw("missing ')' to close the '(' at " + std::to_string(open_loc.line) + ":" +
                std::to_string(open_loc.column) + found,
            loc);
    }
  }
  if (type == G::RPAREN && UnclosedParen(tokens, index) == nullptr) {
    Throw("unexpected ')' without a matching '('", loc);
  }

  std::vector<std::string> names = ExpectedNames(expected);
  if (!names.empty() && names.size() <= 4) {
    Throw("expected " + JoinNames(names) + " after " + After(prev) + found, loc);
  }
  if (type == Token::EOF) Throw("unexpected end of the query after " + After(prev), loc);
  Throw("unexpected " + Describe(token), loc);
}

}  // namespace

void SyntaxErrorStrategy::reportError(antlr4::Parser* parser,
                                      const antlr4::RecognitionException& e) {
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
  Throw("unexpected character", loc);
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
        Throw(
            "unterminated string literal: close it with ' (a quote inside a string is "
            "written '')",
            start_loc);
      case G::UNTERMINATED_QUOTED_IDENTIFIER:
        Throw("unterminated quoted name: close it with \"", start_loc);
      case G::UNTERMINATED_BLOCK_COMMENT:
        start_loc.length = 2;
        Throw("unterminated /* comment: close it with */", start_loc);
      case G::ERROR_CHARACTER: {
        std::string c = token->getText();
        std::string hint;
        if (c == "!") {
          hint = "; write <> (or !=) for 'not equal' and NOT for negation";
        } else if (c == "`") {
          hint = "; write names in double quotes (\"name\")";
        } else if (c == "\xE2\x80\x98" || c == "\xE2\x80\x99" || c == "\xE2\x80\x9C" ||
                   c == "\xE2\x80\x9D") {
          hint = "; use straight quotes: 'text' for strings, \"name\" for names";
        } else if (c == "%") {
          hint = "; the % operator is not supported";
        }
        Throw("unexpected character '" + c + "'" + hint, loc);
      }
      default:
        break;
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
      Throw("expression is nested too deeply (more than " + std::to_string(kMaxNestingDepth) +
                " levels of parentheses or NOT/- operators); simplify it",
            loc);
    }
    prev_type = type;
  }
}

}  // namespace dpql::parser
