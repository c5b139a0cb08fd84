// Expressions: one Transform function per rule of the expression grammar.
// Operator chains (a OR b OR c) are loops in the grammar and become
// left-deep trees here; their depth is checked before anything is built.

#include <string>

#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/parser/syntax_hints.h"
#include "compiler/parser/transformer.h"

namespace dpql::parser {

namespace {

[[noreturn]] void ThrowTooDeep(const SourceLocation& loc) {
  throw DpqlError(ErrorCode::kSyntaxError,
                  "expression is nested too deeply (more than " + std::to_string(kMaxExpressionDepth) +
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
  // expression : orExpression
  return TransformOrExpression(Expect<G::OrExpressionContext>(ctx.children[0], G::RuleOrExpression), depth);
}

namespace {

// The operator an operator token spells (!= and <> are the same operator).
Operator OperatorOf(const antlr4::Token* token) {
  switch (token->getType()) {
    case G::EQ: return Operator::kEqual;
    case G::NEQ: return Operator::kNotEqual;
    case G::LT: return Operator::kLess;
    case G::LTE: return Operator::kLessEqual;
    case G::GT: return Operator::kGreater;
    case G::GTE: return Operator::kGreaterEqual;
    case G::PLUS: return Operator::kPlus;
    case G::MINUS: return Operator::kMinus;
    case G::STAR: return Operator::kTimes;
    case G::SLASH: return Operator::kDivide;
    default: return Operator::kNone;
  }
}

// Builds a left-deep chain op(op(op(e0, e1), e2), ...) at `depth` over the
// children of a rule `operand ( operator operand )*`: operands at the even
// positions, operator tokens between them. transform(operand, d) builds an
// operand at depth d; op(token) is the operator the token spells.
template <typename Operand, typename Transform, typename Op>
ast::ExprPtr BuildChain(const SourceText& source, antlr4::ParserRuleContext& ctx, size_t rule, int depth,
                        Transform transform, Op op) {
  const std::vector<antlr4::tree::ParseTree*>& children = ctx.children;
  auto operand = [&](int i) -> Operand& { return Expect<Operand>(children[2 * i], rule); };
  const int n = static_cast<int>(children.size() + 1) / 2;
  // Operand 0 sits deepest, at depth + n - 1; checking that first means no
  // chain that is too deep is ever built (nor destroyed recursively).
  if (depth + n - 1 > kMaxExpressionDepth) ThrowTooDeep(source.Of(&operand(0)));
  ast::ExprPtr result = transform(operand(0), depth + n - 1);
  for (int k = 1; k < n; ++k) {
    auto node = std::make_unique<ast::Expr>();
    node->kind = ast::ExprKind::kBinary;
    node->op = op(TokenOf(children[2 * k - 1]));
    node->loc = source.Span(operand(0).getStart(), operand(k).getStop());
    node->args.reserve(2);
    node->args.push_back(std::move(result));
    node->args.push_back(transform(operand(k), depth + n - k));
    result = std::move(node);
  }
  return result;
}

}  // namespace

ast::ExprPtr Transformer::TransformOrExpression(G::OrExpressionContext& ctx, int depth) {
  return BuildChain<G::AndExpressionContext>(
      source_, ctx, G::RuleAndExpression, depth,
      [&](G::AndExpressionContext& operand, int d) { return TransformAndExpression(operand, d); },
      [](antlr4::Token*) { return Operator::kOr; });
}

ast::ExprPtr Transformer::TransformAndExpression(G::AndExpressionContext& ctx, int depth) {
  return BuildChain<G::NotExpressionContext>(
      source_, ctx, G::RuleNotExpression, depth,
      [&](G::NotExpressionContext& operand, int d) { return TransformNotExpression(operand, d); },
      [](antlr4::Token*) { return Operator::kAnd; });
}

ast::ExprPtr Transformer::TransformNotExpression(G::NotExpressionContext& ctx, int depth) {
  // notExpression : K_NOT notExpression | predicate
  if (ctx.children.size() == 1) {
    return TransformPredicate(Expect<G::PredicateContext>(ctx.children[0], G::RulePredicate), depth);
  }
  auto expr = NewExpr(ast::ExprKind::kUnary, ctx, depth);
  expr->op = Operator::kNot;
  expr->args.push_back(TransformNotExpression(
      Expect<G::NotExpressionContext>(ctx.children[1], G::RuleNotExpression), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformPredicate(G::PredicateContext& ctx, int depth) {
  // predicate : additiveExpression ( comparisonOperator additiveExpression
  //   | K_NOT? K_BETWEEN ... | K_NOT? K_IN LPAREN inList RPAREN
  //   | K_NOT? K_LIKE additiveExpression | K_IS K_NOT? K_NULL )?
  if (ctx.children.size() == 1) {
    return TransformAdditiveExpression(
        Expect<G::AdditiveExpressionContext>(ctx.children[0], G::RuleAdditiveExpression), depth);
  }
  ast::ExprKind kind = ast::ExprKind::kIsNull;
  bool negated = false;
  G::ComparisonOperatorContext* comparison = nullptr;
  G::InListContext* in_list = nullptr;
  const antlr4::Token* in_open = nullptr;  // the '(' of IN (...)
  for (antlr4::tree::ParseTree* child : ctx.children) {
    switch (TokenTypeOf(child)) {
      case G::LPAREN: in_open = TokenOf(child); break;
      case G::K_NOT: negated = true; break;
      case G::K_BETWEEN: kind = ast::ExprKind::kBetween; break;
      case G::K_IN: kind = ast::ExprKind::kIn; break;
      case G::K_LIKE: kind = ast::ExprKind::kLike; break;
      case antlr4::Token::INVALID_TYPE:  // a rule
        if (RuleOf(child) == G::RuleComparisonOperator) {
          comparison = static_cast<G::ComparisonOperatorContext*>(child);
          kind = ast::ExprKind::kBinary;
        } else if (RuleOf(child) == G::RuleInList) {
          in_list = static_cast<G::InListContext*>(child);
        }
        break;
      default: break;
    }
  }
  ast::ExprPtr expr = NewExpr(kind, ctx, depth);
  if (comparison != nullptr) expr->op = TransformComparisonOperator(*comparison);
  expr->negated = negated;
  for (antlr4::tree::ParseTree* child : ctx.children) {
    if (RuleOf(child) == G::RuleAdditiveExpression) {
      expr->args.push_back(
          TransformAdditiveExpression(*static_cast<G::AdditiveExpressionContext*>(child), depth + 1));
    }
  }
  if (in_list != nullptr) {
    // inList : selectStatement | expression ( COMMA expression )*
    if (RuleOf(in_list->children[0]) == G::RuleSelectStatement) ThrowSubquery(source_.At(in_open));
    for (size_t i = 0; i < in_list->children.size(); i += 2) {
      expr->args.push_back(TransformExpression(
          Expect<G::ExpressionContext>(in_list->children[i], G::RuleExpression), depth + 1));
    }
  }
  return expr;
}

Operator Transformer::TransformComparisonOperator(G::ComparisonOperatorContext& ctx) {
  return OperatorOf(ctx.getStart());
}

ast::ExprPtr Transformer::TransformAdditiveExpression(G::AdditiveExpressionContext& ctx, int depth) {
  return BuildChain<G::MultiplicativeExpressionContext>(
      source_, ctx, G::RuleMultiplicativeExpression, depth,
      [&](G::MultiplicativeExpressionContext& operand, int d) {
        return TransformMultiplicativeExpression(operand, d);
      },
      [](antlr4::Token* token) { return OperatorOf(token); });
}

ast::ExprPtr Transformer::TransformMultiplicativeExpression(G::MultiplicativeExpressionContext& ctx,
                                                            int depth) {
  return BuildChain<G::UnaryExpressionContext>(
      source_, ctx, G::RuleUnaryExpression, depth,
      [&](G::UnaryExpressionContext& operand, int d) { return TransformUnaryExpression(operand, d); },
      [](antlr4::Token* token) { return OperatorOf(token); });
}

ast::ExprPtr Transformer::TransformUnaryExpression(G::UnaryExpressionContext& ctx, int depth) {
  // unaryExpression : ( MINUS | PLUS ) unaryExpression | primaryExpression
  if (ctx.children.size() == 1) {
    return TransformPrimaryExpression(
        Expect<G::PrimaryExpressionContext>(ctx.children[0], G::RulePrimaryExpression), depth);
  }
  auto expr = NewExpr(ast::ExprKind::kUnary, ctx, depth);
  expr->op = TokenTypeOf(ctx.children[0]) == G::MINUS ? Operator::kMinus : Operator::kPlus;
  expr->args.push_back(TransformUnaryExpression(
      Expect<G::UnaryExpressionContext>(ctx.children[1], G::RuleUnaryExpression), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformPrimaryExpression(G::PrimaryExpressionContext& ctx, int depth) {
  // primaryExpression : literal | extractCall | functionCall | columnRef
  //   | LPAREN selectStatement RPAREN | K_EXISTS LPAREN selectStatement RPAREN
  //   | LPAREN expression RPAREN
  if (ctx.children.size() == 1) {
    antlr4::tree::ParseTree* child = ctx.children[0];
    switch (RuleOf(child)) {
      case G::RuleLiteral: return TransformLiteral(*static_cast<G::LiteralContext*>(child), depth);
      case G::RuleFunctionCall:
        return TransformFunctionCall(*static_cast<G::FunctionCallContext*>(child), depth);
      case G::RuleExtractCall:
        return TransformExtractCall(*static_cast<G::ExtractCallContext*>(child), depth);
      default: return TransformColumnRef(Expect<G::ColumnRefContext>(child, G::RuleColumnRef), depth);
    }
  }
  // (SELECT ...) and EXISTS (SELECT ...) parse only to be refused here.
  if (TokenTypeOf(ctx.children[0]) == G::K_EXISTS || RuleOf(ctx.children[1]) == G::RuleSelectStatement) {
    ThrowSubquery(source_.At(TokenOf(ctx.children[0])));
  }
  // (expression): the parentheses themselves leave no node.
  return TransformExpression(Expect<G::ExpressionContext>(ctx.children[1], G::RuleExpression), depth);
}

ast::ExprPtr Transformer::TransformFunctionCall(G::FunctionCallContext& ctx, int depth) {
  // functionCall : identifier LPAREN
  //   ( STAR | K_DISTINCT? expression ( COMMA expression )* )? RPAREN
  auto expr = NewExpr(ast::ExprKind::kFunction, ctx, depth);
  auto& name = Expect<G::IdentifierContext>(ctx.children[0], G::RuleIdentifier);
  expr->name = TokenTypeOf(name.children[0]) == G::QUOTED_IDENTIFIER
                   ? TransformIdentifier(name)
                   : UpperAscii(source_.TokenText(name.getStart()));
  for (size_t i = 2; i < ctx.children.size(); ++i) {
    antlr4::tree::ParseTree* child = ctx.children[i];
    if (antlr4::Token* token = TokenOf(child)) {
      if (token->getType() == G::K_DISTINCT) expr->distinct = true;
      if (token->getType() == G::STAR) {
        auto star = std::make_unique<ast::Expr>();
        star->kind = ast::ExprKind::kStar;
        star->loc = source_.At(token);
        expr->args.push_back(std::move(star));
      }
    } else {
      expr->args.push_back(
          TransformExpression(Expect<G::ExpressionContext>(child, G::RuleExpression), depth + 1));
    }
  }
  return expr;
}

ast::ExprPtr Transformer::TransformExtractCall(G::ExtractCallContext& ctx, int depth) {
  // extractCall : K_EXTRACT LPAREN identifier K_FROM expression RPAREN
  auto expr = NewExpr(ast::ExprKind::kExtract, ctx, depth);
  expr->name =
      UpperAscii(TransformIdentifier(Expect<G::IdentifierContext>(ctx.children[2], G::RuleIdentifier)));
  expr->args.push_back(
      TransformExpression(Expect<G::ExpressionContext>(ctx.children[4], G::RuleExpression), depth + 1));
  return expr;
}

ast::ExprPtr Transformer::TransformColumnRef(G::ColumnRefContext& ctx, int depth) {
  // columnRef : identifier ( DOT identifier )?
  auto expr = NewExpr(ast::ExprKind::kColumn, ctx, depth);
  auto name_at = [&](size_t i) -> G::IdentifierContext& {
    return Expect<G::IdentifierContext>(ctx.children[i], G::RuleIdentifier);
  };
  if (ctx.children.size() == 3) {
    expr->qualifier = TransformIdentifier(name_at(0));
    expr->name = TransformIdentifier(name_at(2));
  } else {
    expr->name = TransformIdentifier(name_at(0));
  }
  return expr;
}

ast::ExprPtr Transformer::TransformLiteral(G::LiteralContext& ctx, int depth) {
  // literal : INTEGER | DECIMAL | STRING | K_DATE STRING | K_TRUE | K_FALSE | K_NULL
  auto expr = NewExpr(ast::ExprKind::kLiteral, ctx, depth);
  ast::Literal& literal = expr->literal;
  const antlr4::Token* token = ctx.getStart();
  switch (token->getType()) {
    case G::INTEGER:
      literal.kind = ast::LiteralKind::kInteger;
      literal.text = source_.TokenText(token);
      break;
    case G::DECIMAL:
      literal.kind = ast::LiteralKind::kDecimal;
      literal.text = source_.TokenText(token);
      break;
    case G::K_DATE:
      literal.kind = ast::LiteralKind::kDate;
      literal.text = UnquoteString(source_.TokenText(ctx.getStop()));
      if (!IsValidDate(literal.text)) {
        throw DpqlError(ErrorCode::kSyntaxError,
                        "invalid date literal '" + literal.text +
                            "'; expected DATE 'yyyy-mm-dd' with a real calendar date",
                        expr->loc);
      }
      break;
    case G::STRING:
      literal.kind = ast::LiteralKind::kString;
      literal.text = UnquoteString(source_.TokenText(token));
      break;
    case G::K_TRUE:
    case G::K_FALSE:
      literal.kind = ast::LiteralKind::kBoolean;
      literal.boolean = token->getType() == G::K_TRUE;
      literal.text = literal.boolean ? "TRUE" : "FALSE";
      break;
    default:
      literal.kind = ast::LiteralKind::kNull;
      literal.text = "NULL";
      break;
  }
  return expr;
}

std::string Transformer::TransformIdentifier(G::IdentifierContext& ctx) {
  // identifier : IDENTIFIER | QUOTED_IDENTIFIER | nonReserved (one token each)
  const antlr4::Token* token = ctx.getStart();
  std::string_view text = source_.TokenText(token);
  if (token->getType() == G::QUOTED_IDENTIFIER) {
    std::string out;
    for (size_t i = 1; i + 1 < text.size(); ++i) {
      out += text[i];
      if (text[i] == '"' && text[i + 1] == '"') ++i;  // "" is one quote
    }
    if (out.empty()) {
      throw DpqlError(ErrorCode::kSyntaxError,
                      "empty quoted name \"\"; write a name between the double quotes", source_.At(token));
    }
    return out;
  }
  return LowerAscii(text);
}

}  // namespace dpql::parser
