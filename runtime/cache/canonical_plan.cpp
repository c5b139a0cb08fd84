#include "runtime/cache/canonical_plan.h"

#include <algorithm>
#include <vector>

#include "runtime/crypto/sha256.h"

namespace dpql {

// A tripwire for merges and new features: a field added to one of these
// structs may change the released answer without changing the SQL. Decide
// whether it does, add it to CanonicalPlanText if so, and then update the size
// here. (Sizes are those of g++ on x86-64, the project's only toolchain.)
static_assert(sizeof(Measure) == 592, "Measure changed: update CanonicalPlanText, then this size");
static_assert(sizeof(PlanOutput) == 256, "PlanOutput changed: update CanonicalPlanText, then this size");
static_assert(sizeof(PrivacyParams) == 304,  // + where max_groups / max_rows came from: EXPLAIN only
              "PrivacyParams changed: update CanonicalPlanText, then this size");
static_assert(sizeof(BoundAggregate) == 96,
              "BoundAggregate changed: update CanonicalPlanText, then this size");
static_assert(sizeof(Plan) == 848, "Plan changed: update CanonicalPlanText, then this size");

namespace {

// Length-prefixed, so that no two different sequences of fields render alike.
class Writer {
 public:
  Writer& Field(std::string_view name, std::string_view value) {
    out_ += name;
    out_ += '=';
    out_ += std::to_string(value.size());
    out_ += ':';
    out_ += value;
    out_ += ';';
    return *this;
  }
  Writer& Field(std::string_view name, int64_t value) { return Field(name, std::to_string(value)); }
  Writer& Field(std::string_view name, const Rational& value) { return Field(name, value.str()); }
  Writer& Field(std::string_view name, const BigInt& value) { return Field(name, value.str()); }
  std::string Take() { return std::move(out_); }

 private:
  std::string out_;
};

std::string ExprText(const BoundExpr& expr) {
  Writer w;
  w.Field("k", static_cast<int64_t>(expr.kind))
      .Field("t", static_cast<int64_t>(expr.type))
      .Field("n", expr.name)
      .Field("o", OperatorText(expr.op))
      .Field("l", expr.literal)
      .Field("neg", expr.negated ? 1 : 0)
      .Field("c", expr.column != nullptr ? expr.column->name : "")
      .Field("tb", expr.table != nullptr ? expr.table->name : "");
  for (const auto& child : expr.children) w.Field("ch", ExprText(*child));
  return w.Take();
}

bool IsChain(const BoundExpr& expr, Operator op) {
  return expr.kind == BoundExprKind::kBinary && expr.op == op && expr.children.size() == 2;
}

void Flatten(BoundExprPtr expr, Operator op, std::vector<BoundExprPtr>& out) {
  if (!IsChain(*expr, op)) {
    out.push_back(std::move(expr));
    return;
  }
  for (auto& child : expr->children) Flatten(std::move(child), op, out);
}

// Canonicalizes `expr` bottom-up: operands first, then the chain it heads.
BoundExprPtr Canonicalize(BoundExprPtr expr) {
  for (auto& child : expr->children) child = Canonicalize(std::move(child));
  if (!IsChain(*expr, Operator::kAnd) && !IsChain(*expr, Operator::kOr)) return expr;
  const Operator op = expr->op;
  const SourceLocation loc = expr->loc;
  std::vector<BoundExprPtr> operands;
  Flatten(std::move(expr), op, operands);
  std::vector<std::pair<std::string, BoundExprPtr>> keyed;
  for (auto& operand : operands) keyed.emplace_back(ExprText(*operand), std::move(operand));
  std::stable_sort(keyed.begin(), keyed.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  // Rebuild left-deep: ((a op b) op c) ...
  BoundExprPtr chain = std::move(keyed[0].second);
  for (size_t i = 1; i < keyed.size(); ++i) {
    auto node = std::make_unique<BoundExpr>();
    node->kind = BoundExprKind::kBinary;
    node->type = ValueType::kBool;
    node->op = op;
    node->loc = loc;
    node->children.push_back(std::move(chain));
    node->children.push_back(std::move(keyed[i].second));
    chain = std::move(node);
  }
  return chain;
}

}  // namespace

void CanonicalizePredicates(Plan& plan) {
  if (!plan.select.where) return;
  plan.select.where = Canonicalize(std::move(plan.select.where));
  GenerateSql(plan);
}

std::string CanonicalPlanText(const Plan& plan) {
  Writer w;
  w.Field("format", "dpql-answer-1");
  w.Field("dataset", plan.select.dataset != nullptr ? plan.select.dataset->name : "");
  w.Field("table", plan.select.table != nullptr ? plan.select.table->name : "");
  w.Field("sql", plan.sql);
  for (const std::string& param : plan.params) w.Field("param", param);

  for (const Measure& m : plan.measures) {
    Writer mw;
    mw.Field("kind", static_cast<int64_t>(m.kind))
        .Field("column", m.column != nullptr ? m.column->name : "")
        .Field("grid", m.grid)
        .Field("per_group_bound", m.per_group_bound)
        .Field("sensitivity", m.sensitivity)
        .Field("epsilon", m.epsilon)
        .Field("scale", m.scale)
        .Field("bins", m.bins)
        .Field("bin_lower", m.bin_lower)
        .Field("bin_width", m.bin_width)
        .Field("mechanism", static_cast<int64_t>(m.mechanism))
        .Field("l2_squared", m.l2_sensitivity_squared)
        .Field("sigma2", m.sigma2)
        .Field("rho", m.rho);
    w.Field("measure", mw.Take());
  }
  for (const PlanOutput& out : plan.outputs) {  // by position; the name is the asker's
    Writer ow;
    ow.Field("kind", static_cast<int64_t>(out.kind))
        .Field("type", static_cast<int64_t>(out.type))
        .Field("key", out.key)
        .Field("measure", out.measure)
        .Field("count_measure", out.count_measure)
        .Field("squares_measure", out.squares_measure)
        .Field("percentile", out.percentile)
        .Field("lower", out.lower)
        .Field("upper", out.upper);
    w.Field("output", ow.Take());
  }
  for (const BoundAggregate& a : plan.select.aggregates) {
    w.Field("aggregate", std::string(AggregateKindName(a.kind)) + "/" +
                             (a.column != nullptr ? a.column->name : "") + "/" + a.percentile.str());
  }
  w.Field("groups_bound", plan.groups_bound)
      .Field("bound_groups", plan.bound_groups ? 1 : 0)
      .Field("partition_selection", plan.partition_selection ? 1 : 0)
      .Field("selection_measure", plan.selection_measure)
      .Field("selection_threshold", plan.selection_threshold)
      .Field("cost_epsilon", plan.cost.epsilon)
      .Field("cost_delta", plan.cost.delta)
      .Field("cost_rho", plan.cost.rho);

  const PrivacyParams& p = plan.select.privacy;
  w.Field("epsilon", p.epsilon)
      .Field("delta", p.delta)
      .Field("mechanism", static_cast<int64_t>(p.mechanism))
      .Field("max_groups", p.max_groups)
      .Field("max_rows", p.max_rows)
      // Confidence only changes the intervals, but the cache stores intervals,
      // so a different confidence is a different answer.
      .Field("confidence", p.confidence);
  // Accounting changes what is charged, not the answer; joins are in the SQL.
  return w.Take();
}

std::string CanonicalPlanHash(const Plan& plan) { return Sha256Hex(CanonicalPlanText(plan)); }

}  // namespace dpql
