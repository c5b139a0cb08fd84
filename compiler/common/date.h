#pragma once

// Proleptic Gregorian dates as days since 1970-01-01, for public bounds and
// key domains. Exact integer arithmetic only.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace dpql {

struct CivilDate {
  int64_t year;
  int month;  // 1..12
  int day;    // 1..31
};

int64_t DaysFromCivil(const CivilDate& date);
CivilDate CivilFromDays(int64_t days);
// Strict "yyyy-mm-dd" with a real calendar day; nullopt otherwise.
std::optional<int64_t> ParseDate(std::string_view text);
std::string FormatDate(int64_t days);

}  // namespace dpql
