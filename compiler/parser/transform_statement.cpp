// Scripts and statements; also the SourceText location helpers shared by the
// transform_*.cpp files.

#include <algorithm>

#include "compiler/parser/transformer.h"

namespace dpql::parser {

SourceText::SourceText(std::string_view text) : text_(text) {
  byte_offsets_.reserve(text.size() + 1);
  for (size_t i = 0; i < text.size(); ++i) {
    if ((static_cast<unsigned char>(text[i]) & 0xC0) != 0x80) {
      byte_offsets_.push_back(static_cast<uint32_t>(i));
    }
  }
  byte_offsets_.push_back(static_cast<uint32_t>(text.size()));
}

uint32_t SourceText::ByteOffset(size_t code_point_index) const {
  return byte_offsets_[std::min(code_point_index, byte_offsets_.size() - 1)];
}

SourceLocation SourceText::At(const antlr4::Token* token) const { return Span(token, token); }

SourceLocation SourceText::After(const antlr4::Token* token) const {
  SourceLocation loc = At(token);
  for (char c : Text(loc)) {
    if (c == '\n') {
      ++loc.line;
      loc.column = 1;
    } else if ((static_cast<unsigned char>(c) & 0xC0) != 0x80) {
      ++loc.column;
    }
  }
  loc.offset += loc.length;
  loc.length = 0;
  return loc;
}

SourceLocation SourceText::Span(const antlr4::Token* start, const antlr4::Token* stop) const {
  SourceLocation loc;
  loc.line = static_cast<uint32_t>(start->getLine());
  loc.column = static_cast<uint32_t>(start->getCharPositionInLine()) + 1;
  loc.offset = ByteOffset(start->getStartIndex());
  // EOF has stop < start; a rule that matched nothing has stop before start.
  if (stop == nullptr || stop->getType() == antlr4::Token::EOF ||
      stop->getStopIndex() + 1 <= start->getStartIndex()) {
    loc.length =
        start->getType() == antlr4::Token::EOF ? 0 : ByteOffset(start->getStopIndex() + 1) - loc.offset;
    return loc;
  }
  loc.length = ByteOffset(stop->getStopIndex() + 1) - loc.offset;
  return loc;
}

SourceLocation SourceText::Of(antlr4::ParserRuleContext* ctx) const {
  return Span(ctx->getStart(), ctx->getStop());
}

std::string_view SourceText::Text(const SourceLocation& loc) const {
  return text_.substr(loc.offset, loc.length);
}

std::string_view SourceText::TokenText(const antlr4::Token* token) const {
  const uint32_t begin = ByteOffset(token->getStartIndex());
  return text_.substr(begin, ByteOffset(token->getStopIndex() + 1) - begin);
}

std::vector<ast::Statement> Transformer::TransformScript(G::ScriptContext& ctx) {
  // script : SEMI* statement ( SEMI+ statement )* SEMI* EOF
  std::vector<ast::Statement> statements;
  for (antlr4::tree::ParseTree* child : ctx.children) {
    if (RuleOf(child) == G::RuleStatement) {
      statements.push_back(TransformStatement(*static_cast<G::StatementContext*>(child)));
    }
  }
  return statements;
}

ast::Statement Transformer::TransformStatement(G::StatementContext& ctx) {
  // statement : selectStatement | explainStatement | showStatement | describeStatement
  ast::Statement statement;
  statement.loc = source_.Of(&ctx);
  statement.text = std::string(source_.Text(statement.loc));
  antlr4::tree::ParseTree* child = ctx.children[0];
  switch (RuleOf(child)) {
    case G::RuleSelectStatement:
      statement.kind = ast::StatementKind::kSelect;
      statement.select = TransformSelectStatement(*static_cast<G::SelectStatementContext*>(child));
      break;
    case G::RuleExplainStatement:  // K_EXPLAIN selectStatement
      statement.kind = ast::StatementKind::kExplain;
      statement.select = TransformSelectStatement(
          Expect<G::SelectStatementContext>(child->children[1], G::RuleSelectStatement));
      break;
    case G::RuleShowStatement:  // K_SHOW ( K_TABLES | K_BUDGET )
      statement.kind = TokenTypeOf(child->children[1]) == G::K_TABLES ? ast::StatementKind::kShowTables
                                                                      : ast::StatementKind::kShowBudget;
      break;
    default: {  // describeStatement : K_DESCRIBE tableName
      auto& describe = Expect<G::DescribeStatementContext>(child, G::RuleDescribeStatement);
      auto& table_name = Expect<G::TableNameContext>(describe.children[1], G::RuleTableName);
      statement.kind = ast::StatementKind::kDescribe;
      statement.table =
          TransformIdentifier(Expect<G::IdentifierContext>(table_name.children[0], G::RuleIdentifier));
      statement.table_loc = source_.Of(&table_name);
      break;
    }
  }
  return statement;
}

}  // namespace dpql::parser
