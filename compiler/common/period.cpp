#include "compiler/common/period.h"

#include "compiler/common/date.h"

namespace dpql {

std::optional<BudgetPeriod> ParsePeriod(std::string_view text) {
  if (text == "day") return BudgetPeriod::kDay;
  if (text == "week") return BudgetPeriod::kWeek;
  if (text == "month") return BudgetPeriod::kMonth;
  if (text == "year") return BudgetPeriod::kYear;
  return std::nullopt;
}

std::string PeriodName(BudgetPeriod period) {
  switch (period) {
    case BudgetPeriod::kNone: return "";
    case BudgetPeriod::kDay: return "day";
    case BudgetPeriod::kWeek: return "week";
    case BudgetPeriod::kMonth: return "month";
    case BudgetPeriod::kYear: return "year";
  }
  return "";
}

TimePoint PeriodStart(BudgetPeriod period, TimePoint at) {
  const int64_t day = DayOf(at);
  switch (period) {
    case BudgetPeriod::kNone: return at;
    case BudgetPeriod::kDay: return StartOfDay(day);
    case BudgetPeriod::kWeek: {
      // 1970-01-01 was a Thursday: Monday is 0 in (day + 3) mod 7.
      const int64_t weekday = ((day + 3) % 7 + 7) % 7;
      return StartOfDay(day - weekday);
    }
    case BudgetPeriod::kMonth: {
      CivilDate date = CivilFromDays(day);
      return StartOfDay(DaysFromCivil({date.year, date.month, 1}));
    }
    case BudgetPeriod::kYear: return StartOfDay(DaysFromCivil({CivilFromDays(day).year, 1, 1}));
  }
  return at;
}

TimePoint NextPeriodStart(BudgetPeriod period, TimePoint start) {
  const int64_t day = DayOf(start);
  switch (period) {
    case BudgetPeriod::kNone: return start;
    case BudgetPeriod::kDay: return StartOfDay(day + 1);
    case BudgetPeriod::kWeek: return StartOfDay(DayOf(PeriodStart(period, start)) + 7);
    case BudgetPeriod::kMonth: {
      CivilDate date = CivilFromDays(day);
      return date.month == 12 ? StartOfDay(DaysFromCivil({date.year + 1, 1, 1}))
                              : StartOfDay(DaysFromCivil({date.year, date.month + 1, 1}));
    }
    case BudgetPeriod::kYear: return StartOfDay(DaysFromCivil({CivilFromDays(day).year + 1, 1, 1}));
  }
  return start;
}

}  // namespace dpql
