// DPQL text -> AST: checks the input, lexes it, parses it (fast SLL first,
// full LL only when SLL fails), and hands the parse tree to the Transformer.

#include "compiler/parser/parser.h"

#include <memory>
#include <string>

#include "DPQLLexer.h"
#include "DPQLParser.h"
#include "compiler/common/error.h"
#include "compiler/parser/ascii_lexer_source.h"
#include "compiler/parser/error_listener.h"
#include "compiler/parser/transformer.h"

namespace dpql {

namespace {

// Where the byte at `offset` is, for errors found before lexing.
SourceLocation LocationOfByte(std::string_view text, size_t offset) {
  SourceLocation loc;
  loc.line = 1;
  loc.column = 1;
  for (size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      ++loc.column;
    }
  }
  loc.offset = static_cast<uint32_t>(offset);
  loc.length = 1;
  return loc;
}

// Strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
// so that ANTLR's decoder and SourceText agree on every character.
void CheckUtf8(std::string_view text) {
  size_t i = 0;
  while (i < text.size()) {
    auto byte = [&](size_t k) { return static_cast<unsigned char>(text[k]); };
    unsigned char lead = byte(i);
    size_t length = 0;
    uint32_t code_point = 0;
    if (lead < 0x80) {
      ++i;
      continue;
    } else if ((lead & 0xE0) == 0xC0) {
      length = 2;
      code_point = lead & 0x1F;
    } else if ((lead & 0xF0) == 0xE0) {
      length = 3;
      code_point = lead & 0x0F;
    } else if ((lead & 0xF8) == 0xF0) {
      length = 4;
      code_point = lead & 0x07;
    }
    bool valid = length > 0 && i + length <= text.size();
    for (size_t k = 1; valid && k < length; ++k) {
      valid = (byte(i + k) & 0xC0) == 0x80;
      code_point = (code_point << 6) | (byte(i + k) & 0x3F);
    }
    if (valid) {
      static constexpr uint32_t kMinimum[] = {0, 0, 0x80, 0x800, 0x10000};
      valid = code_point >= kMinimum[length] && code_point <= 0x10FFFF &&
              (code_point < 0xD800 || code_point > 0xDFFF);
    }
    if (!valid) {
      throw DpqlError(ErrorCode::kSyntaxError,
                      "the query is not valid UTF-8 (bad byte at offset " + std::to_string(i) +
                          "); send the text UTF-8 encoded",
                      LocationOfByte(text, i));
    }
    i += length;
  }
}

// ANTLR's char stream over the query. ANTLRInputStream::load decodes UTF-8
// through std::wstring_convert, appending one code point at a time (about 5%
// of a compile); CheckUtf8 has already accepted the text as strict UTF-8, so
// it is decoded here straight into the same UTF-32 buffer, whose capacity a
// thread's next query reuses.
class QueryInputStream : public antlr4::ANTLRInputStream {
 public:
  void Load(std::string_view text) {
    // As ANTLRInputStream::load: a leading byte order mark is not part of the input.
    if (text.substr(0, 3) == "\xEF\xBB\xBF") text.remove_prefix(3);
    _data.clear();
    size_t i = 0;
    while (i < text.size()) {
      const auto lead = static_cast<unsigned char>(text[i]);
      const size_t length = lead < 0x80 ? 1 : lead < 0xE0 ? 2 : lead < 0xF0 ? 3 : 4;
      char32_t code_point = length == 1   ? lead
                            : length == 2 ? lead & 0x1F
                            : length == 3 ? lead & 0x0F
                                          : lead & 0x07;
      for (size_t k = 1; k < length; ++k) {
        code_point = (code_point << 6) | (static_cast<unsigned char>(text[i + k]) & 0x3F);
      }
      _data.push_back(code_point);
      i += length;
    }
    p = 0;
  }
};

// One lexer, token stream and parser per thread, reused by every query the
// thread parses: constructing them builds ATN simulators and buffers each
// time. Parse() resets all three before use, so a query that threw midway
// leaves nothing behind for the next one; the parse trees are freed after
// each query.
struct ParserKit {
  QueryInputStream input;
  dpql_grammar::DPQLLexer lexer{&input};
  parser::AsciiLexer ascii_lexer;
  antlr4::CommonTokenStream tokens{&lexer};
  dpql_grammar::DPQLParser parser{&tokens};
  std::shared_ptr<antlr4::BailErrorStrategy> bail = std::make_shared<antlr4::BailErrorStrategy>();
};

ParserKit& ThreadParserKit() {
  thread_local ParserKit kit;
  return kit;
}

// Frees what one query left in the thread's ParserKit (its parse tree, its
// tokens), on every way out of ParseScript.
class ParserKitRelease {
 public:
  explicit ParserKitRelease(ParserKit& kit) : kit_(kit) {}
  ParserKitRelease(const ParserKitRelease&) = delete;
  ParserKitRelease& operator=(const ParserKitRelease&) = delete;
  ~ParserKitRelease() {
    kit_.parser.getTreeTracker().reset();
    kit_.parser.setErrorHandler(kit_.bail);  // the LL strategy refers to this query's text
    kit_.tokens.setTokenSource(&kit_.lexer);
    kit_.lexer.removeErrorListeners();
  }

 private:
  ParserKit& kit_;
};

}  // namespace

// A NUL (JSON "\u0000") cannot be stored in PostgreSQL text and would cut
// names and values at C-string boundaries: refuse it where it stands.
void RefuseNulCharacter(std::string_view query) {
  size_t at = query.find('\0');
  if (at == std::string_view::npos) return;
  SourceLocation loc;
  loc.line = 1;
  loc.column = 1;
  loc.offset = static_cast<uint32_t>(at);
  loc.length = 1;
  for (size_t i = 0; i < at; ++i) {
    if (query[i] == '\n') {
      ++loc.line;
      loc.column = 1;
    } else if ((static_cast<unsigned char>(query[i]) & 0xC0) != 0x80) {
      ++loc.column;  // columns count characters, not UTF-8 bytes
    }
  }
  throw DpqlError(ErrorCode::kSyntaxError, "the query contains a NUL character (\\u0000); remove it", loc);
}

std::vector<ast::Statement> ParseScript(std::string_view text) {
  using G = dpql_grammar::DPQLParser;
  if (text.size() > kMaxQueryBytes) {
    throw DpqlError(ErrorCode::kQueryTooLong,
                    "the query is " + std::to_string(text.size()) + " bytes long; the limit is " +
                        std::to_string(kMaxQueryBytes) + " bytes: split it into several smaller queries");
  }
  CheckUtf8(text);
  RefuseNulCharacter(text);

  parser::SourceText source(text);
  parser::ThrowingErrorListener lexer_errors(source);
  ParserKit& kit = ThreadParserKit();
  ParserKitRelease release(kit);
  kit.input.Load(text);
  antlr4::CommonTokenStream& tokens = kit.tokens;
  if (parser::IsAscii(text)) {
    kit.ascii_lexer.Reset(text, &kit.input);
    tokens.setTokenSource(&kit.ascii_lexer);
  } else {
    kit.lexer.setInputStream(&kit.input);
    kit.lexer.removeErrorListeners();
    kit.lexer.addErrorListener(&lexer_errors);
    tokens.setTokenSource(&kit.lexer);
  }
  tokens.fill();
  parser::CheckTokens(tokens.getTokens(), source);

  bool empty = true;
  for (const antlr4::Token* token : tokens.getTokens()) {
    if (token->getType() != G::SEMI && token->getType() != antlr4::Token::EOF) empty = false;
  }
  if (empty) {
    throw DpqlError(ErrorCode::kSyntaxError,
                    "the query is empty; write a statement such as SELECT COUNT(*) FROM "
                    "admissions",
                    SourceLocation{1, 1, 0, 0});
  }

  // SLL is much faster and enough for nearly every valid query; only when it
  // fails (a real error, or an input SLL cannot decide) parse again with full
  // LL and an error strategy that explains the first error.
  G& dpql_parser = kit.parser;
  dpql_parser.setErrorHandler(kit.bail);
  dpql_parser.setTokenStream(&tokens);  // also resets the parser
  dpql_parser.removeErrorListeners();
  auto* simulator = dpql_parser.getInterpreter<antlr4::atn::ParserATNSimulator>();
  simulator->setPredictionMode(antlr4::atn::PredictionMode::SLL);
  G::ScriptContext* tree = nullptr;
  try {
    tree = dpql_parser.script();
  } catch (const antlr4::ParseCancellationException&) {
    tokens.seek(0);
    dpql_parser.reset();
    dpql_parser.setErrorHandler(std::make_shared<parser::SyntaxErrorStrategy>(source));
    simulator->setPredictionMode(antlr4::atn::PredictionMode::LL);
    tree = dpql_parser.script();
  }

  parser::Transformer transformer(source);
  return transformer.TransformScript(*tree);
}

ast::Statement ParseStatement(std::string_view text) {
  std::vector<ast::Statement> statements = ParseScript(text);
  if (statements.size() > 1) {
    throw DpqlError(ErrorCode::kMultipleStatements,
                    "only one statement is allowed here, but the text holds " +
                        std::to_string(statements.size()) + "; send them one at a time",
                    statements[1].loc);
  }
  return std::move(statements.front());
}

}  // namespace dpql
