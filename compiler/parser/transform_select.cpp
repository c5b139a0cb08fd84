// SELECT and its clauses.

#include <charconv>
#include <string>

#include "compiler/common/error.h"
#include "compiler/parser/syntax_hints.h"
#include "compiler/parser/transformer.h"

namespace dpql::parser {

std::unique_ptr<ast::SelectStmt> Transformer::TransformSelectStatement(G::SelectStatementContext& ctx) {
  // K_SELECT selectItem ( COMMA selectItem )* fromClause joinClause* whereClause?
  //   groupByClause? havingClause? orderByClause? limitClause? privacyClause?
  // The clauses are transformed in this order, as they stand in the text.
  auto select = std::make_unique<ast::SelectStmt>();
  select->loc = source_.Of(&ctx);
  for (antlr4::tree::ParseTree* child : ctx.children) {
    switch (RuleOf(child)) {
      case G::RuleSelectItem: TransformSelectItem(*static_cast<G::SelectItemContext*>(child), *select); break;
      case G::RuleFromClause:  // fromClause : K_FROM tableRef
        select->from = TransformTableRef(Expect<G::TableRefContext>(child->children[1], G::RuleTableRef));
        break;
      case G::RuleJoinClause:
        select->joins.push_back(TransformJoinClause(*static_cast<G::JoinClauseContext*>(child)));
        break;
      case G::RuleWhereClause:  // whereClause : K_WHERE expression
        select->where =
            TransformExpression(Expect<G::ExpressionContext>(child->children[1], G::RuleExpression));
        break;
      case G::RuleGroupByClause:  // K_GROUP K_BY expression ( COMMA expression )*
        for (size_t i = 2; i < child->children.size(); i += 2) {
          select->group_by.push_back(
              TransformExpression(Expect<G::ExpressionContext>(child->children[i], G::RuleExpression)));
        }
        break;
      case G::RuleHavingClause:  // havingClause : K_HAVING expression
        select->having =
            TransformExpression(Expect<G::ExpressionContext>(child->children[1], G::RuleExpression));
        break;
      case G::RuleOrderByClause:  // K_ORDER K_BY orderItem ( COMMA orderItem )*
        for (size_t i = 2; i < child->children.size(); i += 2) {
          select->order_by.push_back(
              TransformOrderItem(Expect<G::OrderItemContext>(child->children[i], G::RuleOrderItem)));
        }
        break;
      case G::RuleLimitClause:
        TransformLimitClause(*static_cast<G::LimitClauseContext*>(child), *select);
        break;
      case G::RulePrivacyClause:
        TransformPrivacyClause(*static_cast<G::PrivacyClauseContext*>(child), *select);
        break;
      default:  // K_SELECT, COMMA
        break;
    }
  }
  return select;
}

void Transformer::TransformSelectItem(G::SelectItemContext& ctx, ast::SelectStmt& select) {
  // selectItem : STAR | expression ( K_AS? alias )?
  if (antlr4::Token* star = TokenOf(ctx.children[0])) {
    // SELECT *: recorded, not expanded; the binder refuses it with a hint.
    if (!select.select_star) select.star_loc = source_.At(star);
    select.select_star = true;
    return;
  }
  ast::SelectItem item;
  item.loc = source_.Of(&ctx);
  item.expr = TransformExpression(Expect<G::ExpressionContext>(ctx.children[0], G::RuleExpression));
  antlr4::tree::ParseTree* last = ctx.children.back();
  if (RuleOf(last) == G::RuleAlias) {
    auto* alias = static_cast<G::AliasContext*>(last);
    item.alias = TransformIdentifier(Expect<G::IdentifierContext>(alias->children[0], G::RuleIdentifier));
    item.alias_loc = source_.Of(alias);
  }
  select.items.push_back(std::move(item));
}

ast::TableRef Transformer::TransformTableRef(G::TableRefContext& ctx) {
  // tableRef : tableName ( K_AS? alias )? | LPAREN selectStatement RPAREN ( K_AS? alias )?
  if (antlr4::Token* open = TokenOf(ctx.children[0])) ThrowSubquery(source_.At(open));
  auto& table_name = Expect<G::TableNameContext>(ctx.children[0], G::RuleTableName);
  ast::TableRef table;
  table.name = TransformIdentifier(Expect<G::IdentifierContext>(table_name.children[0], G::RuleIdentifier));
  table.loc = source_.Of(&table_name);
  antlr4::tree::ParseTree* last = ctx.children.back();
  if (RuleOf(last) == G::RuleAlias) {
    table.alias = TransformIdentifier(Expect<G::IdentifierContext>(last->children[0], G::RuleIdentifier));
  }
  return table;
}

ast::Join Transformer::TransformJoinClause(G::JoinClauseContext& ctx) {
  // joinClause : joinType? K_JOIN tableRef K_ON expression
  ast::Join join;
  join.loc = source_.Of(&ctx);
  if (RuleOf(ctx.children[0]) == G::RuleJoinType) {
    join.kind = TransformJoinType(*static_cast<G::JoinTypeContext*>(ctx.children[0]));
  }
  const size_t n = ctx.children.size();
  join.table = TransformTableRef(Expect<G::TableRefContext>(ctx.children[n - 3], G::RuleTableRef));
  join.condition = TransformExpression(Expect<G::ExpressionContext>(ctx.children[n - 1], G::RuleExpression));
  return join;
}

ast::JoinKind Transformer::TransformJoinType(G::JoinTypeContext& ctx) {
  const antlr4::Token* first = ctx.getStart();
  if (first->getType() == G::K_INNER) return ast::JoinKind::kInner;
  if (first->getType() == G::K_LEFT) return ast::JoinKind::kLeft;
  std::string kind = UpperAscii(source_.TokenText(first));
  throw DpqlError(ErrorCode::kUnsupportedJoin,
                  kind +
                      " JOIN is not supported; use JOIN (inner) or LEFT JOIN with a public "
                      "table, e.g. FROM admissions a JOIN wards w ON a.ward_code = w.ward_code",
                  source_.Of(&ctx));
}

ast::OrderItem Transformer::TransformOrderItem(G::OrderItemContext& ctx) {
  // orderItem : expression ( K_ASC | K_DESC )?
  ast::OrderItem item;
  item.loc = source_.Of(&ctx);
  item.expr = TransformExpression(Expect<G::ExpressionContext>(ctx.children[0], G::RuleExpression));
  item.descending = TokenTypeOf(ctx.children.back()) == G::K_DESC;
  return item;
}

void Transformer::TransformLimitClause(G::LimitClauseContext& ctx, ast::SelectStmt& select) {
  // limitClause : K_LIMIT INTEGER
  const antlr4::Token* integer = ctx.getStop();
  std::string_view digits = source_.TokenText(integer);
  select.limit_loc = source_.At(integer);
  int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    throw DpqlError(
        ErrorCode::kSyntaxError,
        "LIMIT " + std::string(digits) + " is too large; the largest LIMIT is " + std::to_string(INT64_MAX),
        select.limit_loc);
  }
  select.limit = value;
}

void Transformer::TransformPrivacyClause(G::PrivacyClauseContext& ctx, ast::SelectStmt& select) {
  // privacyClause : K_WITH K_PRIVACY LPAREN privacyOption ( COMMA privacyOption )* RPAREN
  select.privacy_loc = source_.Of(&ctx);
  for (antlr4::tree::ParseTree* child : ctx.children) {
    if (RuleOf(child) == G::RulePrivacyOption) {
      select.privacy.push_back(TransformPrivacyOption(*static_cast<G::PrivacyOptionContext*>(child)));
    }
  }
}

ast::PrivacyOption Transformer::TransformPrivacyOption(G::PrivacyOptionContext& ctx) {
  // privacyOption : identifier EQ privacyValue
  // privacyValue : ( MINUS | PLUS )? ( INTEGER | DECIMAL ) | identifier
  ast::PrivacyOption option;
  option.loc = source_.Of(&ctx);
  option.name =
      LowerAscii(TransformIdentifier(Expect<G::IdentifierContext>(ctx.children[0], G::RuleIdentifier)));
  auto& value = Expect<G::PrivacyValueContext>(ctx.children[2], G::RulePrivacyValue);
  option.value_loc = source_.Of(&value);
  if (RuleOf(value.children[0]) == G::RuleIdentifier) {
    option.value = LowerAscii(TransformIdentifier(*static_cast<G::IdentifierContext*>(value.children[0])));
    option.is_number = false;
  } else {
    // A sign and digits, without any blanks between them.
    for (antlr4::tree::ParseTree* token : value.children) {
      option.value += source_.TokenText(TokenOf(token));
    }
    option.is_number = true;
  }
  return option;
}

}  // namespace dpql::parser
