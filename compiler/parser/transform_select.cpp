// SELECT and its clauses.

#include <charconv>
#include <string>

#include "compiler/common/error.h"
#include "compiler/parser/transformer.h"

namespace dpql::parser {

std::unique_ptr<ast::SelectStmt> Transformer::TransformSelectStatement(
    G::SelectStatementContext& ctx) {
  auto select = std::make_unique<ast::SelectStmt>();
  select->loc = source_.Of(&ctx);
  for (auto* item : ctx.selectItem()) TransformSelectItem(*item, *select);
  select->from = TransformTableRef(*ctx.fromClause()->tableRef());
  for (auto* join : ctx.joinClause()) select->joins.push_back(TransformJoinClause(*join));
  if (auto* where = ctx.whereClause()) select->where = TransformExpression(*where->expression());
  if (auto* group_by = ctx.groupByClause()) {
    for (auto* key : group_by->expression()) select->group_by.push_back(TransformExpression(*key));
  }
  if (auto* having = ctx.havingClause()) {
    select->having = TransformExpression(*having->expression());
  }
  if (auto* order_by = ctx.orderByClause()) {
    for (auto* item : order_by->orderItem()) select->order_by.push_back(TransformOrderItem(*item));
  }
  if (auto* limit = ctx.limitClause()) TransformLimitClause(*limit, *select);
  if (auto* privacy = ctx.privacyClause()) TransformPrivacyClause(*privacy, *select);
  return select;
}

void Transformer::TransformSelectItem(G::SelectItemContext& ctx, ast::SelectStmt& select) {
  if (ctx.STAR() != nullptr) {
    // SELECT *: recorded, not expanded; the binder refuses it with a hint.
    if (!select.select_star) select.star_loc = source_.Of(ctx.STAR());
    select.select_star = true;
    return;
  }
  ast::SelectItem item;
  item.loc = source_.Of(&ctx);
  item.expr = TransformExpression(*ctx.expression());
  if (auto* alias = ctx.alias()) {
    item.alias = TransformIdentifier(*alias->identifier());
    item.alias_loc = source_.Of(alias);
  }
  select.items.push_back(std::move(item));
}

ast::TableRef Transformer::TransformTableRef(G::TableRefContext& ctx) {
  if (ctx.selectStatement() != nullptr) {
    throw DpqlError(ErrorKind::kSemantic, "subquery",
                    "subqueries are not supported: select FROM a table directly and filter "
                    "with WHERE (DPQL computes every statistic in one aggregate query)",
                    source_.Of(&ctx));
  }
  ast::TableRef table;
  table.name = TransformIdentifier(*ctx.tableName()->identifier());
  table.loc = source_.Of(ctx.tableName());
  if (auto* alias = ctx.alias()) table.alias = TransformIdentifier(*alias->identifier());
  return table;
}

ast::Join Transformer::TransformJoinClause(G::JoinClauseContext& ctx) {
  ast::Join join;
  join.loc = source_.Of(&ctx);
  if (auto* type = ctx.joinType()) join.kind = TransformJoinType(*type);
  join.table = TransformTableRef(*ctx.tableRef());
  join.condition = TransformExpression(*ctx.expression());
  return join;
}

ast::JoinKind Transformer::TransformJoinType(G::JoinTypeContext& ctx) {
  if (ctx.K_INNER() != nullptr) return ast::JoinKind::kInner;
  if (ctx.K_LEFT() != nullptr) return ast::JoinKind::kLeft;
  std::string kind = ToUpper(ctx.getStart()->getText());
  throw DpqlError(ErrorKind::kSemantic, "unsupported_join",
                  kind +
                      " JOIN is not supported; use JOIN (inner) or LEFT JOIN with a public "
                      "table, e.g. FROM admissions a JOIN wards w ON a.ward_code = w.ward_code",
                  source_.Of(&ctx));
}

ast::OrderItem Transformer::TransformOrderItem(G::OrderItemContext& ctx) {
  ast::OrderItem item;
  item.loc = source_.Of(&ctx);
  item.expr = TransformExpression(*ctx.expression());
  item.descending = ctx.K_DESC() != nullptr;
  return item;
}

void Transformer::TransformLimitClause(G::LimitClauseContext& ctx, ast::SelectStmt& select) {
  std::string digits = ctx.INTEGER()->getText();
  select.limit_loc = source_.Of(ctx.INTEGER());
  int64_t value = 0;
  auto [end, error] = std::from_chars(digits.data(), digits.data() + digits.size(), value);
  if (error != std::errc() || end != digits.data() + digits.size()) {
    throw DpqlError(
        ErrorKind::kSyntax, "syntax_error",
        "LIMIT " + digits + " is too large; the largest LIMIT is " + std::to_string(INT64_MAX),
        select.limit_loc);
  }
  select.limit = value;
}

void Transformer::TransformPrivacyClause(G::PrivacyClauseContext& ctx, ast::SelectStmt& select) {
  select.privacy_loc = source_.Of(&ctx);
  for (auto* option : ctx.privacyOption()) {
    select.privacy.push_back(TransformPrivacyOption(*option));
  }
}

ast::PrivacyOption Transformer::TransformPrivacyOption(G::PrivacyOptionContext& ctx) {
  ast::PrivacyOption option;
  option.loc = source_.Of(&ctx);
  option.name = ToLower(TransformIdentifier(*ctx.identifier()));
  G::PrivacyValueContext* value = ctx.privacyValue();
  option.value_loc = source_.Of(value);
  if (value->identifier() != nullptr) {
    option.value = ToLower(TransformIdentifier(*value->identifier()));
    option.is_number = false;
  } else {
    // A sign and digits, without any blanks between them.
    option.value = value->getText();
    option.is_number = true;
  }
  return option;
}

}  // namespace dpql::parser
