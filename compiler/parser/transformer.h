#pragma once

// Internal to compiler/parser: turns the ANTLR parse tree into the AST. One
// Transform function per grammar rule, split by area into transform_*.cpp.
// Only parser.cpp, error_listener.cpp and transform_*.cpp include this file.

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "DPQLParser.h"
#include "compiler/ast/ast.h"
#include "compiler/common/source_location.h"

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

 private:
  uint32_t ByteOffset(size_t code_point_index) const;

  std::string_view text_;
  std::vector<uint32_t> byte_offsets_;  // code point index -> byte offset; one past the end too
};

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
  ast::ExprPtr TransformMultiplicativeExpression(G::MultiplicativeExpressionContext& ctx,
                                                 int depth);
  ast::ExprPtr TransformUnaryExpression(G::UnaryExpressionContext& ctx, int depth);
  ast::ExprPtr TransformPrimaryExpression(G::PrimaryExpressionContext& ctx, int depth);
  ast::ExprPtr TransformFunctionCall(G::FunctionCallContext& ctx, int depth);
  ast::ExprPtr TransformExtractCall(G::ExtractCallContext& ctx, int depth);
  ast::ExprPtr TransformColumnRef(G::ColumnRefContext& ctx, int depth);
  ast::ExprPtr TransformLiteral(G::LiteralContext& ctx, int depth);
  std::string TransformComparisonOperator(G::ComparisonOperatorContext& ctx);

  // Names: unquoted ones folded to lower case, "quoted" ones exact.
  std::string TransformIdentifier(G::IdentifierContext& ctx);

 private:
  ast::ExprPtr NewExpr(ast::ExprKind kind, antlr4::ParserRuleContext& ctx, int depth);

  const SourceText& source_;
};

// Shared helpers.
std::string ToUpper(std::string_view s);
std::string ToLower(std::string_view s);

}  // namespace dpql::parser
