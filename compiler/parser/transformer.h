#pragma once

// Internal to compiler/parser: turns the ANTLR parse tree into the AST. One
// Transform function per grammar rule, split by area into transform_*.cpp.
// Only parser.cpp, error_listener.*, syntax_hints.* and transform_*.cpp include
// this file.

#include <cstdint>
#include <stdexcept>
#include <string>
#include <string_view>
#include <typeinfo>
#include <vector>

#include "DPQLParser.h"
#include "compiler/ast/ast.h"
#include "compiler/common/source_location.h"
#include "compiler/common/text.h"

namespace dpql::parser {

using G = dpql_grammar::DPQLParser;

// Maps ANTLR's code point indexes to SourceLocations (byte offsets for carets,
// character columns for humans).
class SourceText {
 public:
  // `text` must be valid UTF-8 and outlive this object.
  explicit SourceText(std::string_view text);

  SourceLocation At(const antlr4::Token* token) const;
  // The empty location just past `token`.
  SourceLocation After(const antlr4::Token* token) const;
  SourceLocation Span(const antlr4::Token* start, const antlr4::Token* stop) const;
  SourceLocation Of(antlr4::ParserRuleContext* ctx) const;
  SourceLocation Of(antlr4::tree::TerminalNode* node) const { return At(node->getSymbol()); }
  std::string_view Text(const SourceLocation& loc) const;
  // The token's own text, taken from the query (what Token::getText() gives,
  // without its UTF-32 -> UTF-8 conversion and copy).
  std::string_view TokenText(const antlr4::Token* token) const;

 private:
  uint32_t ByteOffset(size_t code_point_index) const;

  std::string_view text_;
  std::vector<uint32_t> byte_offsets_;  // code point index -> byte offset; one past the end too
};

// Children without RTTI. The generated accessors (ctx.predicate(),
// ctx.K_IN(), ...) dynamic_cast every child on every call; the transformer
// instead walks ctx.children once, tells tokens from rules by one typeid
// comparison and rules apart by their rule index. A parse that succeeded
// holds no error nodes (both error strategies throw at the first error), so
// every child is a TerminalNodeImpl or a generated context.
inline bool IsToken(antlr4::tree::ParseTree* node) {
  return typeid(*node) == typeid(antlr4::tree::TerminalNodeImpl);
}

// The token of a token child, or nullptr for a rule child.
inline antlr4::Token* TokenOf(antlr4::tree::ParseTree* node) {
  return IsToken(node) ? static_cast<antlr4::tree::TerminalNode*>(node)->getSymbol() : nullptr;
}

// The token type of a token child; Token::INVALID_TYPE for a rule child.
inline size_t TokenTypeOf(antlr4::tree::ParseTree* node) {
  antlr4::Token* token = TokenOf(node);
  return token == nullptr ? antlr4::Token::INVALID_TYPE : token->getType();
}

// The rule index (G::RuleXxx) of a rule child; kTokenChild for a token.
inline constexpr size_t kTokenChild = SIZE_MAX;
inline size_t RuleOf(antlr4::tree::ParseTree* node) {
  return IsToken(node) ? kTokenChild : static_cast<antlr4::RuleContext*>(node)->getRuleIndex();
}

// `node` as the context of `rule`, where the grammar puts nothing else.
template <typename T>
T& Expect(antlr4::tree::ParseTree* node, size_t rule) {
  if (RuleOf(node) != rule) throw std::logic_error("parse tree does not match DPQL.g4");
  return *static_cast<T*>(node);
}

class Transformer {
 public:
  explicit Transformer(const SourceText& source) : source_(source) {}

  // transform_statement.cpp
  std::vector<ast::Statement> TransformScript(G::ScriptContext& ctx);
  ast::Statement TransformStatement(G::StatementContext& ctx);

  // transform_select.cpp
  std::unique_ptr<ast::SelectStmt> TransformSelectStatement(G::SelectStatementContext& ctx);
  void TransformSelectItem(G::SelectItemContext& ctx, ast::SelectStmt& select);
  ast::TableRef TransformTableRef(G::TableRefContext& ctx);
  ast::Join TransformJoinClause(G::JoinClauseContext& ctx);
  ast::JoinKind TransformJoinType(G::JoinTypeContext& ctx);
  ast::OrderItem TransformOrderItem(G::OrderItemContext& ctx);
  void TransformLimitClause(G::LimitClauseContext& ctx, ast::SelectStmt& select);
  void TransformPrivacyClause(G::PrivacyClauseContext& ctx, ast::SelectStmt& select);
  ast::PrivacyOption TransformPrivacyOption(G::PrivacyOptionContext& ctx);

  // transform_expression.cpp. `depth` is where the built node will sit in
  // its expression tree (1 = root); deeper than kMaxExpressionDepth throws.
  ast::ExprPtr TransformExpression(G::ExpressionContext& ctx, int depth = 1);
  ast::ExprPtr TransformOrExpression(G::OrExpressionContext& ctx, int depth);
  ast::ExprPtr TransformAndExpression(G::AndExpressionContext& ctx, int depth);
  ast::ExprPtr TransformNotExpression(G::NotExpressionContext& ctx, int depth);
  ast::ExprPtr TransformPredicate(G::PredicateContext& ctx, int depth);
  ast::ExprPtr TransformAdditiveExpression(G::AdditiveExpressionContext& ctx, int depth);
  ast::ExprPtr TransformMultiplicativeExpression(G::MultiplicativeExpressionContext& ctx, int depth);
  ast::ExprPtr TransformUnaryExpression(G::UnaryExpressionContext& ctx, int depth);
  ast::ExprPtr TransformPrimaryExpression(G::PrimaryExpressionContext& ctx, int depth);
  ast::ExprPtr TransformFunctionCall(G::FunctionCallContext& ctx, int depth);
  ast::ExprPtr TransformExtractCall(G::ExtractCallContext& ctx, int depth);
  ast::ExprPtr TransformColumnRef(G::ColumnRefContext& ctx, int depth);
  ast::ExprPtr TransformLiteral(G::LiteralContext& ctx, int depth);
  Operator TransformComparisonOperator(G::ComparisonOperatorContext& ctx);

  // Names: unquoted ones folded to lower case, "quoted" ones exact.
  std::string TransformIdentifier(G::IdentifierContext& ctx);

 private:
  ast::ExprPtr NewExpr(ast::ExprKind kind, antlr4::ParserRuleContext& ctx, int depth);

  const SourceText& source_;
};

}  // namespace dpql::parser
