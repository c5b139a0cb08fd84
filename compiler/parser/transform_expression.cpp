// Expressions: one Transform function per rule of the expression grammar.
// Operator chains (a OR b OR c) are loops in the grammar and become
// left-deep trees here; their depth is checked before anything is built.

#include <string>

#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/parser/transformer.h"

namespace dpql::parser {

namespace {

[[noreturn]] void ThrowTooDeep(const SourceLocation& loc) {
  throw DpqlError(ErrorKind::kSyntax, "syntax_error",
                  "expression is nested too deeply (more than " +
                      std::to_string(kMaxExpressionDepth) +
                      " levels); split it up, or use IN (...) instead of a long chain of OR",
                  loc);
}

bool IsLeapYear(int year) { return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0; }

// Strictly yyyy-mm-dd with a real calendar day.
bool IsValidDate(std::string_view s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return false;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return false;
  }
  int year = std::stoi(std::string(s.substr(0, 4)));
  int month = std::stoi(std::string(s.substr(5, 2)));
  int day = std::stoi(std::string(s.substr(8, 2)));
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  if (year < 1 || month < 1 || month > 12 || day < 1) return false;
  int days = kDays[month - 1] + (month == 2 && IsLeapYear(year) ? 1 : 0);
  return day <= days;
}

// The value of a 'string' token: quotes removed, '' turned into '.
std::string UnquoteString(std::string_view token) {
  std::string out;
  std::string_view body = token.substr(1, token.size() - 2);
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    out += body[i];
    if (body[i] == '\'' && i + 1 < body.size() && body[i + 1] == '\'') ++i;
  }
  return out;
}

}  // namespace

ast::ExprPtr Transformer::NewExpr(ast::ExprKind kind, antlr4::ParserRuleContext& ctx, int depth) {
  auto expr = std::make_unique<ast::Expr>();
  expr->kind = kind;
  expr->loc = source_.Of(&ctx);
  if (depth > kMaxExpressionDepth) ThrowTooDeep(expr->loc);
  return expr;
}

ast::ExprPtr Transformer::TransformExpression(G::ExpressionContext& ctx, int depth) {
  return TransformOrExpression(*ctx.orExpression(), depth);
}

namespace {

// Builds a left-deep chain op(op(op(e0, e1), e2), ...) over `operands` at
// `depth`. transform(i, d) builds operand i at depth d; op_at(i) is the
// operator between operands i-1 and i.
template <typename Operand, typename Transform, typename OpAt>
ast::ExprPtr BuildChain(const SourceText& source, const std::vector<Operand*>& operands, int depth,
                        Transform transform, OpAt op_at) {
  const int n = static_cast<int>(operands.size());
  // Operand 0 sits deepest, at depth + n - 1; checking that first means no
  // chain that is too deep is ever built (nor destroyed recursively).
  if (depth + n - 1 > kMaxExpressionDepth) ThrowTooDeep(source.Of(operands.front()));
  ast::ExprPtr result = transform(0, depth + n - 1);
  for (int k = 1; k < n; ++k) {
    auto node = std::make_unique<ast::Expr>();
    node->kind = ast::ExprKind::kBinary;
    node->op = op_at(k);
    node->loc = source.Span(operands.front()->getStart(), operands[k]->getStop());
    node->args.push_back(std::move(result));
    node->args.push_back(transform(k, depth + n - k));
    result = std::move(node);
  }
  return result;
}

}  // namespace

ast::ExprPtr Transformer::TransformOrExpression(G::OrExpressionContext& ctx, int depth) {
  auto operands = ctx.andExpression();
  return BuildChain(
      source_, operands, depth,
      [&](int i, int d) { return TransformAndExpression(*operands[i], d); },
      [](int) { return std::string("OR"); });
}

ast::ExprPtr Transformer::TransformAndExpression(G::AndExpressionContext& ctx, int depth) {
  auto operands = ctx.notExpression();
  return BuildChain(
      source_, operands, depth,
      [&](int i, int d) { return TransformNotExpression(*operands[i], d); },
      [](int) { return std::string("AND"); });
}

ast::ExprPtr Transformer::TransformNotExpression(G::NotExpressionContext& ctx, int depth) {
  if (ctx.predicate() != nullptr) return TransformPredicate(*ctx.predicate(), depth);
  auto expr = NewExpr(ast::ExprKind::kUnary, ctx, depth);
  expr->op = "NOT";
  expr->args.push_back(TransformNotExpression(*ctx.notExpression(), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformPredicate(G::PredicateContext& ctx, int depth) {
  auto operands = ctx.additiveExpression();
  if (operands.size() == 1 && ctx.K_IN() == nullptr && ctx.K_IS() == nullptr) {
    return TransformAdditiveExpression(*operands[0], depth);
  }
  ast::ExprPtr expr;
  if (ctx.comparisonOperator() != nullptr) {
    expr = NewExpr(ast::ExprKind::kBinary, ctx, depth);
    expr->op = TransformComparisonOperator(*ctx.comparisonOperator());
  } else if (ctx.K_BETWEEN() != nullptr) {
    expr = NewExpr(ast::ExprKind::kBetween, ctx, depth);
  } else if (ctx.K_IN() != nullptr) {
    expr = NewExpr(ast::ExprKind::kIn, ctx, depth);
  } else if (ctx.K_LIKE() != nullptr) {
    expr = NewExpr(ast::ExprKind::kLike, ctx, depth);
  } else {
    expr = NewExpr(ast::ExprKind::kIsNull, ctx, depth);
  }
  expr->negated = ctx.K_NOT() != nullptr;
  for (auto* operand : operands) {
    expr->args.push_back(TransformAdditiveExpression(*operand, depth + 1));
  }
  if (auto* list = ctx.inList()) {
    if (auto* select = list->selectStatement()) {
      // IN (SELECT ...): kept only so that the binder can refuse it.
      auto subquery = std::make_unique<ast::Expr>();
      subquery->kind = ast::ExprKind::kSubquery;
      subquery->loc = source_.Of(select);
      expr->args.push_back(std::move(subquery));
    } else {
      for (auto* item : list->expression()) {
        expr->args.push_back(TransformExpression(*item, depth + 1));
      }
    }
  }
  return expr;
}

std::string Transformer::TransformComparisonOperator(G::ComparisonOperatorContext& ctx) {
  if (ctx.NEQ() != nullptr) return "<>";  // != and <> are the same operator
  return ctx.getText();
}

ast::ExprPtr Transformer::TransformAdditiveExpression(G::AdditiveExpressionContext& ctx,
                                                      int depth) {
  auto operands = ctx.multiplicativeExpression();
  // The operator tokens are the children between the operands.
  return BuildChain(
      source_, operands, depth,
      [&](int i, int d) { return TransformMultiplicativeExpression(*operands[i], d); },
      [&](int k) { return ctx.children[2 * k - 1]->getText(); });
}

ast::ExprPtr Transformer::TransformMultiplicativeExpression(G::MultiplicativeExpressionContext& ctx,
                                                            int depth) {
  auto operands = ctx.unaryExpression();
  return BuildChain(
      source_, operands, depth,
      [&](int i, int d) { return TransformUnaryExpression(*operands[i], d); },
      [&](int k) { return ctx.children[2 * k - 1]->getText(); });
}

ast::ExprPtr Transformer::TransformUnaryExpression(G::UnaryExpressionContext& ctx, int depth) {
  if (ctx.primaryExpression() != nullptr) {
    return TransformPrimaryExpression(*ctx.primaryExpression(), depth);
  }
  auto expr = NewExpr(ast::ExprKind::kUnary, ctx, depth);
  expr->op = ctx.MINUS() != nullptr ? "-" : "+";
  expr->args.push_back(TransformUnaryExpression(*ctx.unaryExpression(), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformPrimaryExpression(G::PrimaryExpressionContext& ctx, int depth) {
  if (ctx.literal() != nullptr) return TransformLiteral(*ctx.literal(), depth);
  if (ctx.functionCall() != nullptr) return TransformFunctionCall(*ctx.functionCall(), depth);
  if (ctx.extractCall() != nullptr) return TransformExtractCall(*ctx.extractCall(), depth);
  if (ctx.columnRef() != nullptr) return TransformColumnRef(*ctx.columnRef(), depth);
  if (ctx.selectStatement() != nullptr) {
    // A parenthesised SELECT, kept only so that the binder can refuse it.
    return NewExpr(ast::ExprKind::kSubquery, ctx, depth);
  }
  // (expression): the parentheses themselves leave no node.
  return TransformExpression(*ctx.expression(), depth);
}

ast::ExprPtr Transformer::TransformFunctionCall(G::FunctionCallContext& ctx, int depth) {
  auto expr = NewExpr(ast::ExprKind::kFunction, ctx, depth);
  expr->name = ToUpper(ctx.identifier()->getText());
  if (ctx.identifier()->QUOTED_IDENTIFIER() != nullptr) {
    expr->name = TransformIdentifier(*ctx.identifier());
  }
  expr->distinct = ctx.K_DISTINCT() != nullptr;
  if (ctx.STAR() != nullptr) {
    auto star = std::make_unique<ast::Expr>();
    star->kind = ast::ExprKind::kStar;
    star->loc = source_.Of(ctx.STAR());
    expr->args.push_back(std::move(star));
  }
  for (auto* arg : ctx.expression()) {
    expr->args.push_back(TransformExpression(*arg, depth + 1));
  }
  return expr;
}

ast::ExprPtr Transformer::TransformExtractCall(G::ExtractCallContext& ctx, int depth) {
  auto expr = NewExpr(ast::ExprKind::kExtract, ctx, depth);
  expr->name = ToUpper(TransformIdentifier(*ctx.identifier()));
  expr->args.push_back(TransformExpression(*ctx.expression(), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformColumnRef(G::ColumnRefContext& ctx, int depth) {
  auto expr = NewExpr(ast::ExprKind::kColumn, ctx, depth);
  auto names = ctx.identifier();
  if (names.size() == 2) {
    expr->qualifier = TransformIdentifier(*names[0]);
    expr->name = TransformIdentifier(*names[1]);
  } else {
    expr->name = TransformIdentifier(*names[0]);
  }
  return expr;
}

ast::ExprPtr Transformer::TransformLiteral(G::LiteralContext& ctx, int depth) {
  auto expr = NewExpr(ast::ExprKind::kLiteral, ctx, depth);
  ast::Literal& literal = expr->literal;
  if (ctx.INTEGER() != nullptr) {
    literal.kind = ast::LiteralKind::kInteger;
    literal.text = ctx.INTEGER()->getText();
  } else if (ctx.DECIMAL() != nullptr) {
    literal.kind = ast::LiteralKind::kDecimal;
    literal.text = ctx.DECIMAL()->getText();
  } else if (ctx.K_DATE() != nullptr) {
    literal.kind = ast::LiteralKind::kDate;
    literal.text = UnquoteString(ctx.STRING()->getText());
    if (!IsValidDate(literal.text)) {
      throw DpqlError(ErrorKind::kSyntax, "syntax_error",
                      "invalid date literal '" + literal.text +
                          "'; expected DATE 'yyyy-mm-dd' with a real calendar date",
                      expr->loc);
    }
  } else if (ctx.STRING() != nullptr) {
    literal.kind = ast::LiteralKind::kString;
    literal.text = UnquoteString(ctx.STRING()->getText());
  } else if (ctx.K_TRUE() != nullptr || ctx.K_FALSE() != nullptr) {
    literal.kind = ast::LiteralKind::kBoolean;
    literal.boolean = ctx.K_TRUE() != nullptr;
    literal.text = literal.boolean ? "TRUE" : "FALSE";
  } else {
    literal.kind = ast::LiteralKind::kNull;
    literal.text = "NULL";
  }
  return expr;
}

std::string Transformer::TransformIdentifier(G::IdentifierContext& ctx) {
  if (auto* quoted = ctx.QUOTED_IDENTIFIER()) {
    std::string text = quoted->getText();
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '"' && text[i + 1] == '"') ++i;  // "" is one quote
    }
    if (out.empty()) {
      throw DpqlError(ErrorKind::kSyntax, "syntax_error",
                      "empty quoted name \"\"; write a name between the double quotes",
                      source_.Of(quoted));
    }
    return out;
  }
  return ToLower(ctx.getText());
}

}  // namespace dpql::parser
