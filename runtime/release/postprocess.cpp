#include "runtime/release/postprocess.h"

#include <algorithm>
#include <numeric>

namespace dpql {

namespace {

// Numbers compare as numbers, everything else as text (dates are
// yyyy-mm-dd, so text order is date order). NULL sorts first.
struct Comparable {
  bool null = false;
  bool numeric = false;
  double number = 0;
  std::string text;
};

Comparable FromValue(const Value& value) {
  Comparable c;
  if (std::holds_alternative<std::monostate>(value)) {
    c.null = true;
  } else if (const auto* i = std::get_if<int64_t>(&value)) {
    c.numeric = true;
    c.number = static_cast<double>(*i);
  } else if (const auto* d = std::get_if<double>(&value)) {
    c.numeric = true;
    c.number = *d;
  } else if (const auto* b = std::get_if<bool>(&value)) {
    c.text = *b ? "true" : "false";
  } else {
    c.text = std::get<std::string>(value);
  }
  return c;
}

Comparable Evaluate(const PostExpr& expr, const std::vector<Value>& row) {
  if (expr.kind == PostExpr::Kind::kOutput) return FromValue(row.at(expr.output));
  Comparable c;
  if (expr.type == ValueType::kReal) {
    c.numeric = true;
    c.number = std::stod(expr.literal);
  } else {
    c.text = expr.literal;
  }
  return c;
}

int Compare(const Comparable& a, const Comparable& b) {
  if (a.null || b.null) return a.null == b.null ? 0 : (a.null ? -1 : 1);
  if (a.numeric && b.numeric) return a.number < b.number ? -1 : (a.number > b.number ? 1 : 0);
  std::string left = a.numeric ? std::to_string(a.number) : a.text;
  std::string right = b.numeric ? std::to_string(b.number) : b.text;
  return left.compare(right) < 0 ? -1 : (left == right ? 0 : 1);
}

bool Holds(const PostExpr& expr, const std::vector<Value>& row) {
  switch (expr.kind) {
    case PostExpr::Kind::kNot: return !Holds(*expr.children[0], row);
    case PostExpr::Kind::kAnd: return Holds(*expr.children[0], row) && Holds(*expr.children[1], row);
    case PostExpr::Kind::kOr: return Holds(*expr.children[0], row) || Holds(*expr.children[1], row);
    case PostExpr::Kind::kCompare: {
      Comparable a = Evaluate(*expr.children[0], row), b = Evaluate(*expr.children[1], row);
      if (a.null || b.null) return false;
      int c = Compare(a, b);
      switch (expr.op) {
        case Operator::kEqual: return c == 0;
        case Operator::kNotEqual: return c != 0;
        case Operator::kLess: return c < 0;
        case Operator::kLessEqual: return c <= 0;
        case Operator::kGreater: return c > 0;
        default: return c >= 0;
      }
    }
    case PostExpr::Kind::kBetween: {
      Comparable v = Evaluate(*expr.children[0], row);
      Comparable low = Evaluate(*expr.children[1], row), high = Evaluate(*expr.children[2], row);
      if (v.null || low.null || high.null) return false;
      bool inside = Compare(v, low) >= 0 && Compare(v, high) <= 0;
      return inside != expr.negated;
    }
    default: return false;
  }
}

}  // namespace

void PostProcess(const BoundSelect& select, QueryResult& result) {
  std::vector<size_t> order(result.rows.size());
  std::iota(order.begin(), order.end(), 0);
  if (select.having) {
    order.erase(std::remove_if(order.begin(), order.end(),
                               [&](size_t r) { return !Holds(*select.having, result.rows[r]); }),
                order.end());
  }
  if (!select.order_by.empty()) {
    std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
      for (const BoundOrder& o : select.order_by) {
        int c = Compare(FromValue(result.rows[a][o.output]), FromValue(result.rows[b][o.output]));
        if (c != 0) return o.descending ? c > 0 : c < 0;
      }
      return false;
    });
  }
  if (select.limit && order.size() > static_cast<size_t>(*select.limit)) {
    order.resize(static_cast<size_t>(*select.limit));
  }
  std::vector<std::vector<Value>> rows;
  std::vector<std::vector<std::optional<Interval>>> intervals;
  for (size_t r : order) {
    rows.push_back(std::move(result.rows[r]));
    intervals.push_back(std::move(result.intervals[r]));
  }
  result.rows = std::move(rows);
  result.intervals = std::move(intervals);
}

}  // namespace dpql
