#include "compiler/ast/operator.h"

namespace dpql {

const std::string& OperatorText(Operator op) {
  static const std::string kText[] = {"",   "AND", "OR", "NOT", "=", "<>", "<",
                                      "<=", ">",   ">=", "+",   "-", "*",  "/"};
  return kText[static_cast<int>(op)];
}

bool IsLogical(Operator op) { return op == Operator::kAnd || op == Operator::kOr; }

bool IsComparison(Operator op) {
  switch (op) {
    case Operator::kEqual:
    case Operator::kNotEqual:
    case Operator::kLess:
    case Operator::kLessEqual:
    case Operator::kGreater:
    case Operator::kGreaterEqual: return true;
    default: return false;
  }
}

bool IsArithmetic(Operator op) {
  return op == Operator::kPlus || op == Operator::kMinus || op == Operator::kTimes || op == Operator::kDivide;
}

Operator Mirror(Operator op) {
  switch (op) {
    case Operator::kLess: return Operator::kGreater;
    case Operator::kLessEqual: return Operator::kGreaterEqual;
    case Operator::kGreater: return Operator::kLess;
    case Operator::kGreaterEqual: return Operator::kLessEqual;
    default: return op;
  }
}

}  // namespace dpql
