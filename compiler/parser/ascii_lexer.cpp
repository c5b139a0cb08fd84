// The ASCII lexer: DPQL.g4's lexer rules written out by hand. ANTLR picks
// the longest match and, among equally long ones, the rule listed first
// (keywords before IDENTIFIER); every case below follows from that.

#include "compiler/parser/ascii_lexer_source.h"

#include <algorithm>
#include <string>
#include <utility>

#include "compiler/common/text.h"

namespace dpql::parser {

namespace {

using L = dpql_grammar::DPQLLexer;

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsWordChar(char c) { return IsLetter(c) || IsDigit(c) || c == '_' || c == '$'; }
bool IsBlank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v'; }

struct Keyword {
  std::string text;  // lower case
  size_t type;
};

// The keywords of DPQL.g4, from the generated vocabulary: rule K_SELECT
// matches the word SELECT in any letter case.
const std::vector<Keyword>& Keywords() {
  static const std::vector<Keyword> keywords = [] {
    antlr4::ANTLRInputStream input("");
    L lexer(&input);
    const antlr4::dfa::Vocabulary& vocabulary = lexer.getVocabulary();
    std::vector<Keyword> list;
    for (size_t type = 1; type <= vocabulary.getMaxTokenType(); ++type) {
      std::string name(vocabulary.getSymbolicName(type));
      if (name.rfind("K_", 0) != 0) continue;
      list.push_back({LowerAscii(std::string_view(name).substr(2)), type});
    }
    std::sort(list.begin(), list.end(), [](const Keyword& a, const Keyword& b) { return a.text < b.text; });
    return list;
  }();
  return keywords;
}

// The keyword token type of `word`, or IDENTIFIER.
size_t WordType(std::string_view word) {
  static constexpr size_t kLongestKeyword = 16;
  if (word.size() > kLongestKeyword) return L::IDENTIFIER;
  char lower[kLongestKeyword];
  for (size_t i = 0; i < word.size(); ++i) lower[i] = LowerAscii(word[i]);
  std::string_view key(lower, word.size());
  const std::vector<Keyword>& keywords = Keywords();
  auto it = std::lower_bound(keywords.begin(), keywords.end(), key,
                             [](const Keyword& k, std::string_view w) { return k.text < w; });
  if (it != keywords.end() && it->text == key) return it->type;
  return L::IDENTIFIER;
}

// The type and end of the operator or punctuation token at t[i] (any other
// character is an error token of its own).
std::pair<size_t, size_t> ScanSymbol(std::string_view t, size_t i) {
  const char c = t[i];
  auto next_is = [&](char expected) { return i + 1 < t.size() && t[i + 1] == expected; };
  switch (c) {
    case '=': return {L::EQ, i + 1};
    case '<':
      if (next_is('>')) return {L::NEQ, i + 2};
      if (next_is('=')) return {L::LTE, i + 2};
      return {L::LT, i + 1};
    case '>':
      if (next_is('=')) return {L::GTE, i + 2};
      return {L::GT, i + 1};
    case '!':
      if (next_is('=')) return {L::NEQ, i + 2};
      return {L::ERROR_CHARACTER, i + 1};
    case '+': return {L::PLUS, i + 1};
    case '-': return {L::MINUS, i + 1};
    case '*': return {L::STAR, i + 1};
    case '/': return {L::SLASH, i + 1};
    case '(': return {L::LPAREN, i + 1};
    case ')': return {L::RPAREN, i + 1};
    case ',': return {L::COMMA, i + 1};
    case '.': return {L::DOT, i + 1};
    case ';': return {L::SEMI, i + 1};
    case '|':
      if (next_is('|')) return {L::CONCAT, i + 2};
      return {L::ERROR_CHARACTER, i + 1};
    default: return {L::ERROR_CHARACTER, i + 1};
  }
}

}  // namespace

bool IsAscii(std::string_view text) {
  return std::all_of(text.begin(), text.end(),
                     [](char c) { return (static_cast<unsigned char>(c) & 0x80) == 0; });
}

void AsciiLexer::Reset(std::string_view text, antlr4::CharStream* input) {
  text_ = text;
  input_ = input;
  pos_ = 0;
  line_ = 1;
  column_ = 0;
}

void AsciiLexer::Advance(size_t end) {
  for (; pos_ < end; ++pos_) {
    if (text_[pos_] == '\n') {
      ++line_;
      column_ = 0;
    } else {
      ++column_;
    }
  }
}

// The end of a quoted token starting at `start` (a string or a quoted name,
// where a doubled quote stands for one), or npos when it never closes.
size_t AsciiLexer::QuotedEnd(size_t start) const {
  const char quote = text_[start];
  size_t i = start + 1;
  while (i < text_.size()) {
    if (text_[i] == quote) {
      if (i + 1 < text_.size() && text_[i + 1] == quote) {
        i += 2;
        continue;
      }
      return i + 1;
    }
    ++i;
  }
  return std::string_view::npos;
}

// The end of EXPONENT ([eE] [+-]? DIGIT+) at `i`, or `i` when there is none.
size_t AsciiLexer::ExponentEnd(size_t i) const {
  if (i >= text_.size() || (text_[i] != 'e' && text_[i] != 'E')) return i;
  size_t j = i + 1;
  if (j < text_.size() && (text_[j] == '+' || text_[j] == '-')) ++j;
  if (j >= text_.size() || !IsDigit(text_[j])) return i;
  while (j < text_.size() && IsDigit(text_[j])) ++j;
  return j;
}

// The type and end of the token (or skipped text) starting at pos_.
std::pair<size_t, size_t> AsciiLexer::Scan() const {
  const std::string_view t = text_;
  const size_t n = t.size();
  const size_t i = pos_;
  const char c = t[i];
  auto next_is = [&](char expected) { return i + 1 < n && t[i + 1] == expected; };

  if (IsBlank(c)) {
    size_t j = i + 1;
    while (j < n && IsBlank(t[j])) ++j;
    return {L::WHITESPACE, j};
  }
  if (c == '-' && next_is('-')) {
    size_t j = i + 2;
    while (j < n && t[j] != '\r' && t[j] != '\n') ++j;
    return {L::LINE_COMMENT, j};
  }
  if (c == '/' && next_is('*')) {
    size_t close = t.find("*/", i + 2);
    if (close == std::string_view::npos) return {L::UNTERMINATED_BLOCK_COMMENT, n};
    return {L::BLOCK_COMMENT, close + 2};
  }
  if (c == '\'' || c == '"') {
    size_t end = QuotedEnd(i);
    if (c == '\'') {
      return end == std::string_view::npos ? std::pair{size_t{L::UNTERMINATED_STRING}, n}
                                           : std::pair{size_t{L::STRING}, end};
    }
    return end == std::string_view::npos ? std::pair{size_t{L::UNTERMINATED_QUOTED_IDENTIFIER}, n}
                                         : std::pair{size_t{L::QUOTED_IDENTIFIER}, end};
  }
  if (IsDigit(c) || (c == '.' && i + 1 < n && IsDigit(t[i + 1]))) {
    size_t j = i;
    while (j < n && IsDigit(t[j])) ++j;
    if (j < n && t[j] == '.') {  // DIGIT+ '.' DIGIT* EXPONENT? | '.' DIGIT+ EXPONENT?
      ++j;
      while (j < n && IsDigit(t[j])) ++j;
      return {L::DECIMAL, ExponentEnd(j)};
    }
    size_t exponent_end = ExponentEnd(j);  // DIGIT+ EXPONENT
    return exponent_end > j ? std::pair{size_t{L::DECIMAL}, exponent_end} : std::pair{size_t{L::INTEGER}, j};
  }
  if (IsLetter(c) || c == '_') {
    size_t j = i + 1;
    while (j < n && IsWordChar(t[j])) ++j;
    return {WordType(t.substr(i, j - i)), j};
  }
  return ScanSymbol(t, i);
}

std::unique_ptr<antlr4::Token> AsciiLexer::nextToken() {
  while (pos_ < text_.size()) {
    auto [type, end] = Scan();
    if (type == L::WHITESPACE || type == L::LINE_COMMENT || type == L::BLOCK_COMMENT) {
      Advance(end);  // -> skip
      continue;
    }
    const size_t start = pos_;
    const size_t line = line_;
    const size_t column = column_;
    Advance(end);
    return factory_->create({this, input_}, type, "", antlr4::Token::DEFAULT_CHANNEL, start, end - 1, line,
                            column);
  }
  // As Lexer::emitEOF: start at the end, stop just before it.
  return factory_->create({this, input_}, antlr4::Token::EOF, "", antlr4::Token::DEFAULT_CHANNEL, pos_,
                          pos_ - 1, line_, column_);
}

namespace {

std::vector<LexedToken> Describe(antlr4::CommonTokenStream& tokens) {
  tokens.fill();
  std::vector<LexedToken> out;
  for (const antlr4::Token* token : tokens.getTokens()) {
    out.push_back({token->getType(), token->getStartIndex(), token->getStopIndex(), token->getLine(),
                   token->getCharPositionInLine(), token->getChannel()});
  }
  return out;
}

}  // namespace

std::vector<LexedToken> LexWithGeneratedLexer(std::string_view text) {
  antlr4::ANTLRInputStream input{std::string(text)};
  L lexer(&input);
  lexer.removeErrorListeners();
  antlr4::CommonTokenStream tokens(&lexer);
  return Describe(tokens);
}

std::vector<LexedToken> LexWithAsciiLexer(std::string_view text) {
  antlr4::ANTLRInputStream input{std::string(text)};
  AsciiLexer lexer;
  lexer.Reset(text, &input);
  antlr4::CommonTokenStream tokens(&lexer);
  return Describe(tokens);
}

}  // namespace dpql::parser
