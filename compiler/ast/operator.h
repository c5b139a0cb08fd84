#pragma once

// The operators of DPQL expressions, shared by the AST and the binder's
// output (and so by the planner, the SQL generator and the cache).

#include <string>

namespace dpql {

enum class Operator {
  kNone,  // the expression is not an operator (no operator text)
  kAnd,
  kOr,
  kNot,
  kEqual,         // =
  kNotEqual,      // <> (also written != in DPQL)
  kLess,          // <
  kLessEqual,     // <=
  kGreater,       // >
  kGreaterEqual,  // >=
  kPlus,          // binary +, or unary + (dropped by the binder)
  kMinus,         // binary -, or unary minus
  kTimes,         // *
  kDivide,        // /
};

// The operator as both DPQL and PostgreSQL spell it ("AND", "<>", "-"): the
// text of messages, of the generated SQL and of the answer cache's canonical
// plans. Empty for kNone.
const std::string& OperatorText(Operator op);

bool IsLogical(Operator op);     // AND, OR
bool IsComparison(Operator op);  // = <> < <= > >=
bool IsArithmetic(Operator op);  // + - * /

// The comparison that holds with its operands swapped (a < b is b > a); any
// other operator is returned as it is.
Operator Mirror(Operator op);

}  // namespace dpql
