// HAVING, ORDER BY and LIMIT act on the noisy output only: they are
// post-processing and cannot weaken the guarantee. They may refer to output
// columns by name or alias, by repeating an aggregate or key of the select
// list, or (ORDER BY) by position.

#include <cctype>

#include "compiler/binder/binder.h"
#include "compiler/common/error.h"

namespace dpql {

namespace {

std::string OutputList(const BoundSelect& bound) {
  std::string out;
  for (const auto& o : bound.outputs) out += (out.empty() ? "" : ", ") + o.name;
  return out;
}

}  // namespace

int Binder::ResolveOutput(const ast::Expr& expr, const BoundSelect& bound, std::string_view clause) {
  if (expr.kind == ast::ExprKind::kColumn && expr.qualifier.empty()) {
    for (size_t i = 0; i < bound.outputs.size(); ++i) {
      if (LowerAscii(bound.outputs[i].name) == LowerAscii(expr.name)) return static_cast<int>(i);
    }
  }
  if (expr.kind == ast::ExprKind::kFunction && IsAggregateName(expr.name)) {
    BoundAggregate wanted = BindAggregate(expr);
    for (size_t i = 0; i < bound.outputs.size(); ++i) {
      const BoundOutput& o = bound.outputs[i];
      if (o.is_key) continue;
      const BoundAggregate& a = bound.aggregates[o.index];
      if (a.kind == wanted.kind && a.column == wanted.column) return static_cast<int>(i);
    }
    throw DpqlError(ErrorCode::kNotInOutput,
                    std::string(clause) + " can only use the query's noisy output, and " +
                        AggregateText(expr) + " is not in it; add " + AggregateText(expr) +
                        " to the select list",
                    expr.loc);
  }
  if (expr.kind == ast::ExprKind::kColumn || expr.kind == ast::ExprKind::kFunction ||
      expr.kind == ast::ExprKind::kExtract) {
    // A group key written out again, e.g. ORDER BY BUCKET(age, 10).
    std::string text;
    try {
      text = Describe(*BindRowExpr(expr, clause));
    } catch (const DpqlError&) {
      text.clear();
    }
    for (size_t i = 0; i < bound.outputs.size() && !text.empty(); ++i) {
      const BoundOutput& o = bound.outputs[i];
      if (o.is_key && Describe(*bound.keys[o.index].expr) == text) return static_cast<int>(i);
    }
  }
  const bool expression = expr.kind == ast::ExprKind::kBinary || expr.kind == ast::ExprKind::kUnary;
  throw DpqlError(
      ErrorCode::kNotInOutput,
      std::string(clause) + " can only use output columns (" + OutputList(bound) +
          "), because it acts on the noisy result" +
          (expression ? "; name one by its name, alias" +
                            std::string(clause == "ORDER BY" ? " or position" : "") + ", without arithmetic"
                      : ""),
      expr.loc);
}

std::unique_ptr<PostExpr> Binder::BindHaving(const ast::Expr& expr, const BoundSelect& bound) {
  auto node = std::make_unique<PostExpr>();
  node->loc = expr.loc;
  auto value = [&](const ast::Expr& e) -> std::unique_ptr<PostExpr> {
    auto leaf = std::make_unique<PostExpr>();
    leaf->loc = e.loc;
    if (e.kind == ast::ExprKind::kLiteral) {
      leaf->kind = PostExpr::Kind::kLiteral;
      leaf->literal = e.literal.text;
      switch (e.literal.kind) {
        case ast::LiteralKind::kInteger:
        case ast::LiteralKind::kDecimal: leaf->type = ValueType::kReal; break;
        case ast::LiteralKind::kString: leaf->type = ValueType::kText; break;
        case ast::LiteralKind::kDate: leaf->type = ValueType::kDate; break;
        default:
          throw DpqlError(ErrorCode::kUnsupportedHaving,
                          "HAVING compares output columns with numbers, 'text' or DATE literals", e.loc);
      }
      return leaf;
    }
    if (e.kind == ast::ExprKind::kUnary && e.op == Operator::kMinus && e.args.size() == 1 &&
        e.args[0]->kind == ast::ExprKind::kLiteral &&
        (e.args[0]->literal.kind == ast::LiteralKind::kInteger ||
         e.args[0]->literal.kind == ast::LiteralKind::kDecimal)) {
      leaf->kind = PostExpr::Kind::kLiteral;
      leaf->type = ValueType::kReal;
      leaf->literal = "-" + e.args[0]->literal.text;
      return leaf;
    }
    if ((e.kind == ast::ExprKind::kBinary && IsArithmetic(e.op)) ||
        (e.kind == ast::ExprKind::kUnary && e.op != Operator::kNot)) {
      throw DpqlError(
          ErrorCode::kUnsupportedHaving,
          "HAVING compares output columns with literals, without arithmetic; move the "
          "arithmetic to the literal, e.g. HAVING COUNT(*) > 20 rather than HAVING COUNT(*) - 10 > 10",
          e.loc);
    }
    leaf->kind = PostExpr::Kind::kOutput;
    leaf->output = ResolveOutput(e, bound, "HAVING");
    return leaf;
  };
  switch (expr.kind) {
    case ast::ExprKind::kUnary:
      if (expr.op == Operator::kNot) {
        node->kind = PostExpr::Kind::kNot;
        node->children.push_back(BindHaving(*expr.args.at(0), bound));
        return node;
      }
      break;
    case ast::ExprKind::kBinary:
      if (IsLogical(expr.op)) {
        node->kind = expr.op == Operator::kAnd ? PostExpr::Kind::kAnd : PostExpr::Kind::kOr;
        node->children.push_back(BindHaving(*expr.args.at(0), bound));
        node->children.push_back(BindHaving(*expr.args.at(1), bound));
        return node;
      }
      if (IsComparison(expr.op)) {
        node->kind = PostExpr::Kind::kCompare;
        node->op = expr.op;
        node->children.push_back(value(*expr.args.at(0)));
        node->children.push_back(value(*expr.args.at(1)));
        return node;
      }
      break;
    case ast::ExprKind::kBetween:
      node->kind = PostExpr::Kind::kBetween;
      node->negated = expr.negated;
      for (const auto& arg : expr.args) node->children.push_back(value(*arg));
      return node;
    default: break;
  }
  throw DpqlError(ErrorCode::kUnsupportedHaving,
                  "HAVING supports comparisons (=, <>, <, <=, >, >=, BETWEEN) of output columns "
                  "with literals, combined with AND, OR and NOT, e.g. HAVING COUNT(*) > 10",
                  expr.loc);
}

void Binder::BindPostProcessing(const ast::SelectStmt& select, BoundSelect& bound) {
  if (select.having) bound.having = BindHaving(*select.having, bound);
  for (const auto& item : select.order_by) {
    BoundOrder order;
    order.descending = item.descending;
    const ast::Expr& expr = *item.expr;
    if (expr.kind == ast::ExprKind::kLiteral && expr.literal.kind == ast::LiteralKind::kInteger) {
      auto position = ParseDecimal(expr.literal.text);
      if (!position || *position < 1 || *position > static_cast<int64_t>(bound.outputs.size())) {
        throw DpqlError(ErrorCode::kNotInOutput,
                        "ORDER BY position " + expr.literal.text + " is not an output column (1 to " +
                            std::to_string(bound.outputs.size()) + ")",
                        expr.loc);
      }
      order.output = boost::multiprecision::numerator(*position).convert_to<int>() - 1;
    } else {
      order.output = ResolveOutput(expr, bound, "ORDER BY");
    }
    bound.order_by.push_back(order);
  }
  if (select.limit) {
    if (*select.limit < 0) {
      throw DpqlError(ErrorCode::kInvalidLimit, "LIMIT must be 0 or more", select.limit_loc);
    }
    bound.limit = select.limit;
  }
}

}  // namespace dpql
