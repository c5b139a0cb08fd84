#include "runtime/budget/budget_units.h"

#include "compiler/common/error.h"

namespace dpql {

namespace {

// value * scale as an exact integer in [0, max]; `what` names the parameter.
int64_t ExactUnits(const Rational& value, int64_t scale, int64_t max, const char* what, const char* unit_text,
                   const char* max_text) {
  if (value < 0) ThrowInvalidBudget(std::string(what) + " must be >= 0");
  Rational scaled = value * scale;
  if (boost::multiprecision::denominator(scaled) != 1) {
    ThrowInvalidBudget(std::string(what) + " must be a multiple of " + unit_text);
  }
  if (scaled > max) ThrowInvalidBudget(std::string(what) + " must be at most " + max_text);
  return boost::multiprecision::numerator(scaled).convert_to<int64_t>();
}

int64_t RoundedUpUnits(const Rational& value, int64_t scale, int64_t max, const char* what) {
  if (value < 0) {
    throw DpqlError(ErrorCode::kInvalidCost, std::string("negative ") + what + " cost");
  }
  BigInt units = Ceil(value * scale);
  if (units > max) {
    throw DpqlError(ErrorCode::kInvalidCost,
                    std::string(what) + " cost " + ToDecimalString(value) + " is out of range");
  }
  return units.convert_to<int64_t>();
}

}  // namespace

void ThrowInvalidBudget(const std::string& message) { throw DpqlError(ErrorCode::kInvalidBudget, message); }

BudgetCost BudgetCost::FromCost(const Rational& epsilon, const Rational& delta, const Rational& rho) {
  return {RoundedUpUnits(epsilon, kMicroPerEpsilon, kMaxEpsilonMicro, "epsilon"),
          RoundedUpUnits(delta, kPicoPerDelta, kMaxDeltaPico, "delta"),
          RoundedUpUnits(rho, kPicoPerRho, kMaxRhoPico, "rho")};
}

BudgetCost BudgetCost::FromGrant(const Rational& epsilon, const Rational& delta, const Rational& rho) {
  return {ExactUnits(epsilon, kMicroPerEpsilon, kMaxEpsilonMicro, "epsilon", "0.000001", "1000000"),
          ExactUnits(delta, kPicoPerDelta, kMaxDeltaPico, "delta", "0.000000000001", "1"),
          ExactUnits(rho, kPicoPerRho, kMaxRhoPico, "rho", "0.000000000001", "1000000")};
}

std::string BudgetCost::EpsilonString() const { return FormatFixedPoint(epsilon_micro, 6); }
std::string BudgetCost::DeltaString() const { return FormatFixedPoint(delta_pico, 12); }
std::string BudgetCost::RhoString() const { return FormatFixedPoint(rho_pico, 12); }

BudgetCost operator+(const BudgetCost& a, const BudgetCost& b) {
  return {a.epsilon_micro + b.epsilon_micro, a.delta_pico + b.delta_pico, a.rho_pico + b.rho_pico};
}

BudgetCost operator-(const BudgetCost& a, const BudgetCost& b) {
  return {a.epsilon_micro - b.epsilon_micro, a.delta_pico - b.delta_pico, a.rho_pico - b.rho_pico};
}

bool BudgetCap::Allows(const BudgetCost& spent, const BudgetCost& cost) const {
  // Costs and spends are bounded far below INT64_MAX / 2 (kMax*), so the sums cannot overflow.
  auto fits = [](const std::optional<int64_t>& cap, int64_t spent_units, int64_t cost_units) {
    return !cap || spent_units + cost_units <= *cap;
  };
  return fits(epsilon_micro, spent.epsilon_micro, cost.epsilon_micro) &&
         fits(delta_pico, spent.delta_pico, cost.delta_pico) && fits(rho_pico, spent.rho_pico, cost.rho_pico);
}

std::string FormatFixedPoint(int64_t units, int scale) {
  bool negative = units < 0;
  // Work in unsigned to keep INT64_MIN well-defined.
  uint64_t magnitude = negative ? uint64_t(0) - static_cast<uint64_t>(units) : static_cast<uint64_t>(units);
  std::string digits = std::to_string(magnitude);
  if (digits.size() <= static_cast<size_t>(scale)) {
    digits.insert(0, static_cast<size_t>(scale) + 1 - digits.size(), '0');
  }
  std::string whole = digits.substr(0, digits.size() - scale);
  std::string fraction = digits.substr(digits.size() - scale);
  while (!fraction.empty() && fraction.back() == '0') fraction.pop_back();
  std::string out = negative ? "-" : "";
  out += whole;
  if (!fraction.empty()) out += "." + fraction;
  return out;
}

}  // namespace dpql
