// Syntax errors for humans: the hint rules (kHintRules below) look at the
// offending token, the tokens around it, the tokens the grammar expected and
// the rule being parsed, and the first that applies gives the message and
// the code; the last resort is "unexpected X". SQL that DPQL does not
// support (CASE, window functions, UNION, comma joins, ||, OFFSET, WITH ...
// AS, SELECT DISTINCT, subqueries) is named with a code of its own and what
// to write instead, never with where the grammar stopped.

#include "compiler/parser/syntax_hints.h"

#include <algorithm>
#include <functional>
#include <optional>
#include <string>

#include "DPQLLexer.h"
#include "compiler/common/error.h"
#include "compiler/common/text.h"

namespace dpql::parser {

namespace {

using antlr4::Token;
using antlr4::misc::IntervalSet;

bool Has(const IntervalSet& set, size_t type) { return set.contains(type); }

// The one reason given for a subquery, wherever it stands.
std::string SubqueryMessage() {
  return "subqueries are not supported: DPQL answers one aggregate query over one private table and its "
         "JOINs with public tables; write the condition in that query's WHERE or JOIN ... ON instead";
}

bool IsKeyword(size_t type) { return type >= G::K_AND && type <= G::K_WITH; }

// Keywords that may also be used as names (see nonReserved in DPQL.g4).
bool IsNonReserved(size_t type) {
  return type == G::K_TABLES || type == G::K_BUDGET || type == G::K_PRIVACY || type == G::K_DATE;
}

bool IsReserved(size_t type) { return IsKeyword(type) && !IsNonReserved(type); }

// Keywords of SQL that DPQL reserves but no grammar rule uses (DPQL.g4):
// the parser always stops at them.
bool IsUnsupportedKeyword(size_t type) {
  switch (type) {
    case G::K_CASE:
    case G::K_WHEN:
    case G::K_THEN:
    case G::K_ELSE:
    case G::K_END:
    case G::K_OVER:
    case G::K_PARTITION:
    case G::K_WINDOW:
    case G::K_UNION:
    case G::K_INTERSECT:
    case G::K_EXCEPT:
    case G::K_OFFSET:
    case G::K_NATURAL:
    case G::K_USING: return true;
    default: return false;
  }
}

// Tokens that can start an expression (CASE's operand, in CASE x WHEN ...).
bool StartsExpression(size_t type) {
  switch (type) {
    case G::IDENTIFIER:
    case G::QUOTED_IDENTIFIER:
    case G::INTEGER:
    case G::DECIMAL:
    case G::STRING:
    case G::LPAREN:
    case G::MINUS:
    case G::PLUS:
    case G::K_NOT:
    case G::K_NULL:
    case G::K_TRUE:
    case G::K_FALSE:
    case G::K_DATE:
    case G::K_EXTRACT: return true;
    default: return false;
  }
}

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
    case G::K_WITH: return true;
    default: return false;
  }
}

// Where a clause keyword's clause stands in a SELECT (JOIN, INNER JOIN and
// LEFT JOIN share one place and may repeat); -1 for other tokens.
constexpr int kJoinPlace = 1;
int ClausePlace(size_t type) {
  switch (type) {
    case G::K_FROM: return 0;
    case G::K_JOIN:
    case G::K_INNER:
    case G::K_LEFT: return kJoinPlace;
    case G::K_WHERE: return 2;
    case G::K_GROUP: return 3;
    case G::K_HAVING: return 4;
    case G::K_ORDER: return 5;
    case G::K_LIMIT: return 6;
    case G::K_WITH: return 7;
    default: return -1;
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
  return IsKeyword(token->getType()) ? KeywordName(token->getType()) : "'" + Truncate(token->getText()) + "'";
}

std::string Found(const Token* token) {
  return token->getType() == Token::EOF ? "" : ", found " + Describe(token);
}

// The keyword among `candidates` that `word` is most likely a typo of.
std::optional<size_t> ClosestKeyword(const std::string& word, const std::vector<size_t>& candidates) {
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

// The parse state at a syntax error, as the hint rules read it.
struct ErrorState {
  antlr4::TokenStream* tokens;
  antlr4::RuleContext* ctx;
  const Token* token;        // the offending token
  size_t type;               // its type
  size_t index;              // its index in the token stream
  const Token* prev;         // the token before it, or null
  const Token* before_prev;  // the one before that, or null
  const Token* next;         // the token after it, or null at the end
  const IntervalSet& expected;
  const SourceText& source;
  SourceLocation loc;  // the offending token's (the end of the query: right after the last token)
  std::string found;   // ", found X" (empty at the end of the query)

  bool Expects(size_t t) const { return Has(expected, t); }
  size_t PrevType() const { return prev != nullptr ? prev->getType() : Token::INVALID_TYPE; }
  size_t BeforePrevType() const {
    return before_prev != nullptr ? before_prev->getType() : Token::INVALID_TYPE;
  }
  size_t NextType() const { return next != nullptr ? next->getType() : Token::EOF; }
};

// A rule's message, the text it points at and the error's code.
struct Hint {
  std::string message;
  SourceLocation loc;
  ErrorCode code = ErrorCode::kSyntaxError;
};

// One named hint: when it applies, and the message it gives.
struct HintRule {
  const char* name;
  bool (*applies)(const ErrorState& s);
  Hint (*hint)(const ErrorState& s);
};

std::string DidYouMean(const Token* typo, size_t keyword) {
  return "unknown keyword '" + typo->getText() + "' — did you mean " + KeywordName(keyword) + "?";
}

// The keyword the offending identifier is a typo of, among those expected
// (or, when no keyword was expected, the clause keywords).
std::optional<size_t> MisspeltKeyword(const ErrorState& s) {
  if (s.type != G::IDENTIFIER) return std::nullopt;
  std::vector<size_t> candidates = KeywordsIn(s.expected);
  if (candidates.empty()) candidates = ClauseKeywords();
  return ClosestKeyword(s.token->getText(), candidates);
}

// A clause keyword misspelt after an operand, so taken for an alias:
// SELECT a FORM t.
std::optional<size_t> MisspeltClauseAlias(const ErrorState& s) {
  if (s.PrevType() != G::IDENTIFIER || !EndsOperand(s.BeforePrevType())) return std::nullopt;
  return ClosestKeyword(s.prev->getText(), ClauseKeywords());
}

// The grammar expected an expression (any literal may start one).
bool ExpectsExpression(const ErrorState& s) { return s.Expects(G::INTEGER) && s.Expects(G::STRING); }

// Only a name could come next (or, after FROM and JOIN, a subquery's '(').
bool ExpectsOnlyNames(const ErrorState& s) {
  bool names_only = s.Expects(G::IDENTIFIER);
  for (size_t t : s.expected.toList()) {
    bool subquery = t == G::LPAREN && (s.PrevType() == G::K_FROM || s.PrevType() == G::K_JOIN);
    if (t != G::IDENTIFIER && t != G::QUOTED_IDENTIFIER && !IsNonReserved(t) && !subquery) {
      names_only = false;
    }
  }
  return names_only;
}

// "CASE is a reserved word ...", for a keyword where `what` (a name, an
// alias, ...) must stand.
Hint ReservedWordHint(const Token* word, const SourceText& source, const std::string& what) {
  return {KeywordName(word->getType()) + " is a reserved word and cannot be " + what + "; write \"" +
              LowerAscii(word->getText()) + "\" in double quotes to use it as a name",
          source.At(word), ErrorCode::kReservedWord};
}

// What kind of name the grammar wants at the error: a table name, an alias, ...
std::string WantedName(const ErrorState& s) {
  const size_t prev_type = s.PrevType();
  std::string what = "a name";
  if (prev_type == G::K_FROM || prev_type == G::K_JOIN || prev_type == G::K_DESCRIBE) {
    what = "a table name";
  } else if (prev_type == G::K_AS) {
    what = "an alias";
  } else if (prev_type == G::DOT) {
    what = "a column name";
  } else if (InRule(s.ctx, G::RulePrivacyClause)) {
    what = "a privacy option (epsilon, delta, mechanism, max_groups, max_rows or confidence)";
  } else if (InRule(s.ctx, G::RuleExtractCall)) {
    what = "a date part (YEAR, MONTH, DAY or DOW)";
  }
  return what;
}

Hint ExpectedNameHint(const ErrorState& s) {
  const std::string what = WantedName(s);
  if (IsReserved(s.type)) return ReservedWordHint(s.token, s.source, what);
  std::string hint;
  if (s.type == G::STRING) {
    hint = "; write names without quotes or in \"double quotes\" ('single quotes' make a string)";
  }
  return {"expected " + what + " after " + After(s.prev) + s.found + hint, s.loc};
}

// The clause keywords of the statement before the offending token, outside
// parentheses, nearest first (LEFT and INNER stand for their JOIN); empty
// when the offending token is itself inside parentheses.
std::vector<const Token*> ClausesBefore(const ErrorState& s) {
  std::vector<const Token*> clauses;
  int depth = 0;
  for (size_t i = s.index; i-- > 0;) {
    const Token* token = s.tokens->get(i);
    const size_t type = token->getType();
    if (type == G::SEMI) break;
    if (type == G::RPAREN) ++depth;
    if (type == G::LPAREN && depth-- == 0) return {};
    if (depth == 0 && ClausePlace(type) >= 0 && type != G::K_LEFT && type != G::K_INNER) {
      clauses.push_back(token);
    }
  }
  return clauses;
}

// The '(' (or EXISTS) opening the outermost subquery the error is in, or null.
const Token* SubqueryOpening(const ErrorState& s) {
  const Token* opening = nullptr;
  for (antlr4::RuleContext* ctx = s.ctx; ctx != nullptr;
       ctx = dynamic_cast<antlr4::RuleContext*>(ctx->parent)) {
    auto* parent = dynamic_cast<antlr4::RuleContext*>(ctx->parent);
    if (ctx->getRuleIndex() != G::RuleSelectStatement || parent == nullptr) continue;
    const size_t parent_rule = parent->getRuleIndex();
    if (parent_rule != G::RuleTableRef && parent_rule != G::RulePrimaryExpression &&
        parent_rule != G::RuleInList) {
      continue;
    }
    const size_t start = static_cast<antlr4::ParserRuleContext*>(ctx)->getStart()->getTokenIndex();
    if (start == 0) continue;
    opening = s.tokens->get(start - 1);  // '('
    if (start >= 2 && s.tokens->get(start - 2)->getType() == G::K_EXISTS) opening = s.tokens->get(start - 2);
  }
  return opening;
}

// The token before the offending one completes a term (an operand, a sort
// direction), so a keyword here continues the query: it is not a name.
bool ContinuesQuery(const ErrorState& s) {
  return EndsOperand(s.PrevType()) || s.PrevType() == G::K_ASC || s.PrevType() == G::K_DESC;
}

// CASE where SQL's CASE expression starts: CASE WHEN ..., CASE x WHEN ....
bool StartsCase(const ErrorState& s) {
  return s.type == G::K_CASE &&
         (s.NextType() == G::K_WHEN || (ExpectsExpression(s) && StartsExpression(s.NextType())));
}

const char kOffsetMessage[] =
    "OFFSET is not supported; all released groups come in one answer, so use ORDER BY with LIMIT n to keep "
    "the first n, or HAVING to filter them";

const char kCaseInstead[] =
    "write one query per case with its own WHERE, or group by BUCKET(column, width) or by a column "
    "with a public domain";

// The refusal of SQL that DPQL does not support, at one of its keywords.
Hint UnsupportedKeywordHint(const ErrorState& s) {
  const std::string word = KeywordName(s.type);
  switch (s.type) {
    case G::K_CASE:
      return {"CASE is not supported; " + std::string(kCaseInstead), s.loc, ErrorCode::kUnsupportedCase};
    case G::K_WHEN:
    case G::K_THEN:
    case G::K_ELSE:
    case G::K_END:
      return {word + " belongs to CASE, which is not supported; " + kCaseInstead, s.loc,
              ErrorCode::kUnsupportedCase};
    case G::K_OVER:
    case G::K_PARTITION:
    case G::K_WINDOW:
      return {std::string(s.type == G::K_PARTITION ? "PARTITION BY" : word) +
                  " (a window function) is not supported; DPQL releases one noisy aggregate per group: "
                  "write the aggregate with GROUP BY instead",
              s.loc, ErrorCode::kUnsupportedWindow};
    case G::K_UNION:
    case G::K_INTERSECT:
    case G::K_EXCEPT: {
      const char* combine = s.type == G::K_UNION ? "OR" : s.type == G::K_INTERSECT ? "AND" : "AND NOT";
      return {word +
                  " is not supported: DPQL answers one SELECT at a time; send each SELECT as its own "
                  "query, or combine the conditions in one WHERE with " +
                  combine,
              s.loc, ErrorCode::kUnsupportedSetOperation};
    }
    case G::K_OFFSET: return {std::string(kOffsetMessage), s.loc, ErrorCode::kUnsupportedOffset};
    case G::K_NATURAL:
      return {"NATURAL JOIN is not supported; name the columns: JOIN <table> ON <column> = <column>", s.loc,
              ErrorCode::kUnsupportedJoin};
    default:  // K_USING
      return {"JOIN ... USING is not supported; name the columns: ON <column> = <column>", s.loc,
              ErrorCode::kUnsupportedJoin};
  }
}

// An unsupported keyword that continues the query (or, for CASE, starts an
// expression) is the construct; where a name could stand, it is a name
// that needs quotes.
bool IsUnsupportedConstruct(const ErrorState& s) {
  if (!IsUnsupportedKeyword(s.type)) return false;
  return s.type == G::K_CASE ? StartsCase(s) : ContinuesQuery(s);
}

// A comma after FROM's or JOIN's table, outside parentheses: FROM a, b.
bool IsCommaJoin(const ErrorState& s) {
  if (s.type != G::COMMA) return false;
  std::vector<const Token*> clauses = ClausesBefore(s);
  return !clauses.empty() && (clauses[0]->getType() == G::K_FROM || clauses[0]->getType() == G::K_JOIN);
}

// WITH where a statement starts (where a CTE would stand in SQL).
bool StartsWith(const ErrorState& s) {
  if (s.type != G::K_WITH) return false;
  // After ';' the parser may fail on a prediction that began at the ';',
  // with nothing expected: the token before tells the place instead.
  const size_t prev = s.PrevType();
  return s.Expects(G::K_SELECT) || s.prev == nullptr || prev == G::SEMI || prev == G::K_EXPLAIN;
}

// The select list is over but FROM is missing: SELECT COUNT(*); or
// SELECT COUNT(*) WHERE ....
bool IsMissingFrom(const ErrorState& s) {
  return s.Expects(G::K_FROM) && InRule(s.ctx, G::RuleSelectStatement) &&
         !InRule(s.ctx, G::RuleExtractCall) &&
         (s.type == Token::EOF || s.type == G::SEMI || (IsClauseKeyword(s.type) && s.type != G::K_FROM));
}

// The statement could end before the offending word or literal: SELECT
// COUNT(*) FROM admissions a b.
bool IsTrailingText(const ErrorState& s) {
  const bool word = s.type == G::IDENTIFIER || s.type == G::QUOTED_IDENTIFIER || s.type == G::INTEGER ||
                    s.type == G::DECIMAL || s.type == G::STRING;
  return word && (s.Expects(Token::EOF) || s.Expects(G::SEMI));
}

// How a clause is named in messages: GROUP BY, LEFT JOIN, WITH PRIVACY.
std::string ClauseName(size_t type) {
  std::string clause = KeywordName(type);
  if (type == G::K_GROUP || type == G::K_ORDER) clause += " BY";
  if (type == G::K_LEFT || type == G::K_INNER) clause += " JOIN";
  if (type == G::K_WITH) clause += " PRIVACY";
  return clause;
}

// A clause written twice, or after a clause it must precede.
Hint ClauseOrderHint(const ErrorState& s) {
  const std::string clause = ClauseName(s.type);
  const int place = ClausePlace(s.type);
  const std::vector<const Token*> earlier = ClausesBefore(s);
  for (const Token* other : earlier) {
    if (place == kJoinPlace || ClausePlace(other->getType()) != place) continue;
    std::string instead = "write it once";
    if (s.type == G::K_WHERE || s.type == G::K_HAVING) instead = "combine the conditions with AND";
    if (s.type == G::K_GROUP || s.type == G::K_ORDER) instead = "list all its terms in one, separated by ','";
    if (s.type == G::K_WITH) instead = "list all the options in one WITH PRIVACY (...)";
    return {clause + " is not allowed here: a SELECT has one " + clause + "; " + instead, s.loc};
  }
  // The first clause in the text that this one must precede.
  const Token* follower = nullptr;
  for (const Token* other : earlier) {
    if (ClausePlace(other->getType()) > place) follower = other;
  }
  const std::string order =
      "the clauses of a SELECT come in the order FROM, JOIN, WHERE, GROUP BY, HAVING, ORDER BY, LIMIT, "
      "WITH PRIVACY";
  if (follower == nullptr) return {clause + " is not allowed here: " + order + ", each at most once", s.loc};
  return {clause + " is not allowed here: write it before " + ClauseName(follower->getType()) + " (" + order +
              ")",
          s.loc};
}

bool EndsBeforeParenCloses(const ErrorState& s) {
  return s.Expects(G::RPAREN) && (s.type == Token::EOF || s.type == G::SEMI || IsClauseKeyword(s.type)) &&
         UnclosedParen(s.tokens, s.index) != nullptr;
}

Hint UnclosedParenHint(const ErrorState& s) {
  SourceLocation open_loc = s.source.At(UnclosedParen(s.tokens, s.index));
  return {"missing ')' to close the '(' at " + std::to_string(open_loc.line) + ":" +
              std::to_string(open_loc.column) + s.found,
          s.loc};
}

// Tried in order; the first that applies gives the message.
const HintRule kHintRules[] = {
    {"subquery",  // whatever is wrong inside a subquery, the subquery is refused
     [](const ErrorState& s) { return SubqueryOpening(s) != nullptr; },
     [](const ErrorState& s) -> Hint {
       return {SubqueryMessage(), s.source.At(SubqueryOpening(s)), ErrorCode::kSubquery};
     }},
    {"concatenation", [](const ErrorState& s) { return s.type == G::CONCAT; },
     [](const ErrorState& s) -> Hint {
       return {"|| (string concatenation) is not supported; group by each column instead (GROUP BY a, b)",
               s.loc, ErrorCode::kUnsupportedConcat};
     }},
    {"unsupported_construct", &IsUnsupportedConstruct, &UnsupportedKeywordHint},
    {"reserved_word",  // SELECT end FROM t, AS union, ...
     [](const ErrorState& s) {
       // An empty expected set: a prediction failed before the keyword, which
       // stands where an operand would (HAVING (OVER ...).
       return IsUnsupportedKeyword(s.type) && (s.Expects(G::IDENTIFIER) || s.expected.isEmpty());
     },
     [](const ErrorState& s) -> Hint { return ReservedWordHint(s.token, s.source, WantedName(s)); }},
    {"exists_without_parentheses",  // EXISTS SELECT ...
     [](const ErrorState& s) { return s.PrevType() == G::K_EXISTS && s.type == G::K_SELECT; },
     [](const ErrorState& s) -> Hint {
       return {SubqueryMessage(), s.source.At(s.prev), ErrorCode::kSubquery};
     }},
    {"exists_as_name",  // EXISTS only opens EXISTS (SELECT ...)
     [](const ErrorState& s) { return s.PrevType() == G::K_EXISTS && s.type != G::LPAREN; },
     [](const ErrorState& s) -> Hint { return ReservedWordHint(s.prev, s.source, "a name"); }},
    {"privacy_first",  // WITH PRIVACY (...) SELECT ...
     [](const ErrorState& s) { return StartsWith(s) && s.NextType() == G::K_PRIVACY; },
     [](const ErrorState& s) -> Hint {
       return {
           "WITH PRIVACY (...) goes at the end of a query, after its other clauses: SELECT ... FROM ... "
           "WITH PRIVACY (epsilon = 0.5)",
           s.loc};
     }},
    {"common_table_expression", &StartsWith,  // WITH x AS (...) SELECT ...
     [](const ErrorState& s) -> Hint {
       return {
           "WITH ... AS (a common table expression) is not supported: write one SELECT over the table; "
           "WITH PRIVACY (...) goes at the end of a query",
           s.loc, ErrorCode::kUnsupportedCte};
     }},
    {"select_distinct",
     [](const ErrorState& s) { return s.type == G::K_DISTINCT && s.PrevType() == G::K_SELECT; },
     [](const ErrorState& s) -> Hint {
       return {
           "SELECT DISTINCT is not supported: the values present would reveal who is in the data; "
           "GROUP BY a column with a public domain gives each value with a noisy COUNT(*)",
           s.loc, ErrorCode::kUnsupportedDistinct};
     }},
    {"comma_join", &IsCommaJoin,
     [](const ErrorState& s) -> Hint {
       return {
           "a comma between tables is not supported; join a public table with JOIN <table> ON <column> = "
           "<column>",
           s.loc, ErrorCode::kCommaJoin};
     }},
    {"limit_offset",  // LIMIT 10, 20 (an offset, as in MySQL)
     [](const ErrorState& s) {
       return s.type == G::COMMA && s.PrevType() == G::INTEGER && s.BeforePrevType() == G::K_LIMIT;
     },
     [](const ErrorState& s) -> Hint {
       return {kOffsetMessage, s.loc, ErrorCode::kUnsupportedOffset};
     }},
    {"qualified_star",  // SELECT a.* FROM admissions a
     [](const ErrorState& s) { return s.type == G::STAR && s.PrevType() == G::DOT; },
     [](const ErrorState& s) -> Hint {
       return {
           "* would release individual rows; DPQL releases only noisy aggregates: select aggregates such "
           "as COUNT(*) and group keys instead",
           s.loc, ErrorCode::kSelectStar};
     }},
    {"missing_from", &IsMissingFrom,
     [](const ErrorState& s) -> Hint {
       return {
           "missing FROM after the select list: a query reads one table, FROM <table> (SHOW TABLES lists "
           "them)",
           s.loc, ErrorCode::kMissingFrom};
     }},
    {"misspelt_keyword",  // SELEC, BETWEN, ... where a keyword was expected
     [](const ErrorState& s) { return MisspeltKeyword(s).has_value(); },
     [](const ErrorState& s) -> Hint {
       return {DidYouMean(s.token, *MisspeltKeyword(s)), s.loc};
     }},
    {"misspelt_clause_keyword_taken_as_alias",
     [](const ErrorState& s) { return MisspeltClauseAlias(s).has_value(); },
     [](const ErrorState& s) -> Hint {
       return {DidYouMean(s.prev, *MisspeltClauseAlias(s)), s.source.At(s.prev)};
     }},
    {"missing_semicolon", [](const ErrorState& s) { return IsStatementStart(s.type) && s.Expects(G::SEMI); },
     [](const ErrorState& s) -> Hint {
       return {"missing ';' between statements: end the previous statement with ';' before " +
                   KeywordName(s.type),
               s.loc};
     }},
    {"expected_statement", [](const ErrorState& s) { return s.Expects(G::K_SELECT) && s.Expects(G::K_SHOW); },
     [](const ErrorState& s) -> Hint {
       return {"expected a statement (SELECT, EXPLAIN, SHOW TABLES, SHOW BUDGET or DESCRIBE)" + s.found,
               s.loc};
     }},
    {"double_equals", [](const ErrorState& s) { return s.type == G::EQ && s.PrevType() == G::EQ; },
     [](const ErrorState& s) -> Hint {
       return {"'==' is not an operator; write = to compare values", s.source.At(s.prev)};
     }},
    {"expression_after_select",
     [](const ErrorState& s) { return ExpectsExpression(s) && s.PrevType() == G::K_SELECT; },
     [](const ErrorState& s) -> Hint {
       return {"expected an expression or '*' after SELECT" + s.found, s.loc};
     }},
    {"trailing_comma",
     [](const ErrorState& s) {
       return ExpectsExpression(s) && s.PrevType() == G::COMMA &&
              (IsClauseKeyword(s.type) || s.type == G::RPAREN || s.type == G::SEMI || s.type == Token::EOF);
     },
     [](const ErrorState& s) -> Hint {
       return {"unexpected ',' before " + Describe(s.token) + "; remove the trailing ','",
               s.source.At(s.prev)};
     }},
    {"empty_in_list",
     [](const ErrorState& s) {
       return ExpectsExpression(s) && s.type == G::RPAREN && s.PrevType() == G::LPAREN &&
              InRule(s.ctx, G::RulePredicate);
     },
     [](const ErrorState& s) -> Hint {
       return {"expected at least one value in IN (...)", s.loc};
     }},
    {"expected_expression", &ExpectsExpression,
     [](const ErrorState& s) -> Hint {
       return {"expected an expression after " + After(s.prev) + s.found, s.loc};
     }},
    {"missing_on", [](const ErrorState& s) { return s.Expects(G::K_ON) && InRule(s.ctx, G::RuleJoinClause); },
     [](const ErrorState& s) -> Hint {
       return {
           "expected ON after the joined table (e.g. JOIN wards w ON a.ward_code = "
           "w.ward_code)" +
               s.found,
           s.loc};
     }},
    {"clause_out_of_order",  // ... LIMIT 5 ORDER BY x, or a clause twice
     [](const ErrorState& s) {
       // After the last clause, the parser may have left the SELECT: its
       // clauses before the error still tell.
       return IsClauseKeyword(s.type) && s.type != G::K_FROM && !s.Expects(s.type) && !ExpectsOnlyNames(s) &&
              (InRule(s.ctx, G::RuleSelectStatement) || !ClausesBefore(s).empty());
     },
     &ClauseOrderHint},
    {"select_list_end",
     [](const ErrorState& s) {
       return s.Expects(G::K_FROM) && s.ctx->getRuleIndex() == G::RuleSelectStatement;
     },
     [](const ErrorState& s) -> Hint {
       std::string hint = s.type == G::IDENTIFIER || s.type == G::INTEGER || s.type == G::STRING
                              ? " (separate select items with ',')"
                              : "";
       return {"expected FROM after the select list" + s.found + hint, s.loc};
     }},
    {"expected_name", &ExpectsOnlyNames, &ExpectedNameHint},
    {"trailing_text", &IsTrailingText,
     [](const ErrorState& s) -> Hint {
       return {
           Describe(s.token) +
               " cannot follow a complete statement; remove it, or add the keyword or operator that joins "
               "it to the query",
           s.loc};
     }},
    {"privacy_value", [](const ErrorState& s) { return s.ctx->getRuleIndex() == G::RulePrivacyValue; },
     [](const ErrorState& s) -> Hint {
       return {"expected a number or a name after '=' (e.g. epsilon = 0.5, mechanism = laplace)" + s.found,
               s.loc};
     }},
    {"limit_count", [](const ErrorState& s) { return s.PrevType() == G::K_LIMIT; },
     [](const ErrorState& s) -> Hint {
       return {"expected a whole number of rows after LIMIT" + s.found, s.loc};
     }},
    {"between_and",
     [](const ErrorState& s) { return s.Expects(G::K_AND) && !s.Expects(G::K_OR) && InBetween(s.ctx); },
     [](const ErrorState& s) -> Hint {
       return {"expected AND in BETWEEN low AND high" + s.found, s.loc};
     }},
    {"extract_from",
     [](const ErrorState& s) { return s.Expects(G::K_FROM) && InRule(s.ctx, G::RuleExtractCall); },
     [](const ErrorState& s) -> Hint {
       return {"expected FROM in EXTRACT(field FROM date)" + s.found, s.loc};
     }},
    {"is_not_null",
     [](const ErrorState& s) { return s.PrevType() == G::K_NOT && s.BeforePrevType() == G::K_IS; },
     [](const ErrorState& s) -> Hint {
       return {"expected NULL after IS NOT" + s.found, s.loc};
     }},
    {"not_predicate",
     [](const ErrorState& s) { return s.PrevType() == G::K_NOT && InRule(s.ctx, G::RulePredicate); },
     [](const ErrorState& s) -> Hint {
       return {"expected BETWEEN, IN or LIKE after NOT" + s.found, s.loc};
     }},
    {"unclosed_paren", &EndsBeforeParenCloses, &UnclosedParenHint},
    {"unmatched_paren",
     [](const ErrorState& s) { return s.type == G::RPAREN && UnclosedParen(s.tokens, s.index) == nullptr; },
     [](const ErrorState& s) -> Hint {
       return {"unexpected ')' without a matching '('", s.loc};
     }},
    {"expected_tokens",  // a short list of what could come next
     [](const ErrorState& s) {
       const size_t names = ExpectedNames(s.expected).size();
       return names > 0 && names <= 4;
     },
     [](const ErrorState& s) -> Hint {
       return {"expected " + JoinNames(ExpectedNames(s.expected)) + " after " + After(s.prev) + s.found,
               s.loc};
     }},
    {"unexpected_end", [](const ErrorState& s) { return s.type == Token::EOF; },
     [](const ErrorState& s) -> Hint {
       return {"unexpected end of the query after " + After(s.prev), s.loc};
     }},
};

}  // namespace

void ThrowSyntax(std::string message, const SourceLocation& loc, ErrorCode code) {
  throw DpqlError(code, std::move(message), loc);
}

void ThrowSubquery(const SourceLocation& loc) {
  throw DpqlError(ErrorCode::kSubquery, SubqueryMessage(), loc);
}

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
    case G::K_FALSE: return true;
    default: return IsNonReserved(type);
  }
}

void ThrowSyntaxError(antlr4::Parser* parser, const Token* token, const IntervalSet& expected,
                      const SourceText& source) {
  antlr4::TokenStream* tokens = parser->getTokenStream();
  const size_t type = token->getType();
  const size_t index = token->getTokenIndex();
  const Token* prev = index > 0 ? tokens->get(index - 1) : nullptr;
  const Token* before_prev = index > 1 ? tokens->get(index - 2) : nullptr;
  const Token* next = type != Token::EOF && index + 1 < tokens->size() ? tokens->get(index + 1) : nullptr;
  // The end of the query is shown right after the last token, not on an
  // empty last line.
  const SourceLocation loc = type == Token::EOF && prev != nullptr ? source.After(prev) : source.At(token);
  const ErrorState state{tokens, parser->getContext(), token, type,     index,
                         prev,   before_prev,          next,  expected, source,
                         loc,    Found(token)};
  for (const HintRule& rule : kHintRules) {
    if (rule.applies(state)) {
      Hint hint = rule.hint(state);
      ThrowSyntax(std::move(hint.message), hint.loc, hint.code);
    }
  }
  ThrowSyntax("unexpected " + Describe(token), loc);  // the last resort
}

}  // namespace dpql::parser
