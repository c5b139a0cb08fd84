#pragma once

// The budget ledger's exact units: a cost or a grant as integers (micro-ε,
// pico-δ, pico-ρ), and the dataset-wide cap in the same units. Pure values:
// no database (the ledger, runtime/ledger, stores them).

#include <cstdint>
#include <optional>
#include <string>

#include "compiler/common/period.h"
#include "compiler/common/rational.h"

namespace dpql {

// Budget amounts in the ledger's exact units.
inline constexpr int64_t kMicroPerEpsilon = 1'000'000;       // 1 ε = 10^6 micro-ε
inline constexpr int64_t kPicoPerDelta = 1'000'000'000'000;  // 1 δ = 10^12 pico-δ
inline constexpr int64_t kPicoPerRho = 1'000'000'000'000;    // 1 ρ = 10^12 pico-ρ
// Upper bounds on a single grant or cost, so sums stay far from BIGINT overflow.
inline constexpr int64_t kMaxEpsilonMicro = 1'000'000 * kMicroPerEpsilon;  // ε <= 10^6
inline constexpr int64_t kMaxDeltaPico = kPicoPerDelta;                    // δ <= 1
inline constexpr int64_t kMaxRhoPico = 1'000'000 * kPicoPerRho;            // ρ <= 10^6

struct BudgetCost {
  int64_t epsilon_micro = 0;
  int64_t delta_pico = 0;
  int64_t rho_pico = 0;

  // The cost of a query: each component rounded UP to the next unit, so the
  // ledger never records less than was spent. Throws DpqlError (kInternal)
  // on a negative or absurdly large cost — a bug in the caller.
  static BudgetCost FromCost(const Rational& epsilon, const Rational& delta, const Rational& rho = 0);

  // A grant: converted exactly, or refused with a DpqlError (kSemantic,
  // code "invalid_budget") saying e.g. "epsilon must be a multiple of 0.000001".
  static BudgetCost FromGrant(const Rational& epsilon, const Rational& delta, const Rational& rho = 0);

  Rational Epsilon() const { return Rational(epsilon_micro) / kMicroPerEpsilon; }
  Rational Delta() const { return Rational(delta_pico) / kPicoPerDelta; }
  Rational Rho() const { return Rational(rho_pico) / kPicoPerRho; }
  std::string EpsilonString() const;  // exact decimal: "1.5", "0.000001"
  std::string DeltaString() const;    // exact decimal: "0.000001", "0"
  std::string RhoString() const;      // exact decimal: "0.0125"

  bool operator==(const BudgetCost&) const = default;
};

BudgetCost operator+(const BudgetCost& a, const BudgetCost& b);
BudgetCost operator-(const BudgetCost& a, const BudgetCost& b);

// Exact decimal rendering of `units / 10^scale` with trailing zeros removed.
std::string FormatFixedPoint(int64_t units, int scale);

// A dataset-wide cap on what all analysts together may spend on one dataset
// (catalog `limits.dataset_*`). An unset component is unlimited.
struct BudgetCap {
  std::optional<int64_t> epsilon_micro, delta_pico, rho_pico;
  // A periodic cap (catalog `limits.dataset_period`) applies to what was spent
  // since `period_start`, the start of the current period; kNone: to what was
  // ever spent on the dataset.
  BudgetPeriod period = BudgetPeriod::kNone;
  TimePoint period_start{};

  // Whether spending `cost` on top of `spent` stays within every set component.
  [[nodiscard]] bool Allows(const BudgetCost& spent, const BudgetCost& cost) const;
};

// Refuses a grant: DpqlError (kSemantic, "invalid_budget") with `message`.
[[noreturn]] void ThrowInvalidBudget(const std::string& message);

}  // namespace dpql
