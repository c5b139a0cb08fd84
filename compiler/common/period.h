#pragma once

// Calendar periods in UTC (a day, an ISO week from Monday, a calendar month, a
// calendar year): the renewal period of a research project's budget and of a
// periodic dataset-wide cap (docs/PRIVACY.md, "Periodic budgets").

#include <optional>
#include <string>
#include <string_view>

#include "compiler/common/clock.h"

namespace dpql {

enum class BudgetPeriod { kNone, kDay, kWeek, kMonth, kYear };

// "day", "week", "month", "year"; nullopt otherwise ("none" is not a period).
std::optional<BudgetPeriod> ParsePeriod(std::string_view text);
// "day", "week", "month", "year", or "" for kNone.
std::string PeriodName(BudgetPeriod period);

// The start of the period holding `at` (midnight UTC of its first day);
// `at` itself for kNone.
TimePoint PeriodStart(BudgetPeriod period, TimePoint at);
// The start of the period after the one starting at `start`; `start` for kNone.
TimePoint NextPeriodStart(BudgetPeriod period, TimePoint start);

}  // namespace dpql
