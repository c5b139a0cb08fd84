#include "compiler/common/clock.h"

#include <cstdio>
#include <fstream>
#include <iostream>

#include "compiler/common/date.h"

namespace dpql {

namespace {

bool ParseClockTime(const std::string& text, int& hour, int& minute, int& second) {
  if (text.size() != 8 || text[2] != ':' || text[5] != ':') return false;
  for (size_t i : {0, 1, 3, 4, 6, 7}) {
    if (text[i] < '0' || text[i] > '9') return false;
  }
  hour = (text[0] - '0') * 10 + (text[1] - '0');
  minute = (text[3] - '0') * 10 + (text[4] - '0');
  second = (text[6] - '0') * 10 + (text[7] - '0');
  return hour < 24 && minute < 60 && second < 60;
}

}  // namespace

TimePoint FileClock::Now() const {
  std::ifstream in(path_);
  std::string line;
  TimePoint at;
  if (in && std::getline(in, line)) {
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
    if (ParseTimestamp(line, at)) return at;
  }
  if (!warned_.exchange(true)) {
    std::cerr << "dpqld: --test-clock " << path_
              << ": cannot read a time (YYYY-MM-DDTHH:MM:SSZ); using the system clock until it can\n";
  }
  return std::chrono::system_clock::now();
}

std::string FormatTimestamp(TimePoint at) {
  const int64_t micros = std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  const int64_t per_day = int64_t{86400} * 1000000;
  int64_t days = micros / per_day;
  int64_t rest = micros % per_day;
  if (rest < 0) {
    rest += per_day;
    days -= 1;
  }
  const int64_t seconds = rest / 1000000;
  char buffer[48];
  std::snprintf(buffer, sizeof buffer, "%s %02d:%02d:%02d.%06d+00", FormatDate(days).c_str(),
                static_cast<int>(seconds / 3600), static_cast<int>(seconds / 60 % 60),
                static_cast<int>(seconds % 60), static_cast<int>(rest % 1000000));
  return buffer;
}

bool ParseTimestamp(const std::string& text, TimePoint& at) {
  if (text.size() < 10) return false;
  std::optional<int64_t> day = ParseDate(text.substr(0, 10));
  if (!day) return false;
  int hour = 0, minute = 0, second = 0;
  if (text.size() > 10) {
    std::string rest = text.substr(11);
    if (text[10] != 'T' && text[10] != ' ') return false;
    if (!rest.empty() && rest.back() == 'Z') rest.pop_back();
    if (!ParseClockTime(rest, hour, minute, second)) return false;
  }
  at = StartOfDay(*day) + std::chrono::hours(hour) + std::chrono::minutes(minute) +
       std::chrono::seconds(second);
  return true;
}

int64_t DayOf(TimePoint at) {
  const int64_t seconds = std::chrono::duration_cast<std::chrono::seconds>(at.time_since_epoch()).count();
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

TimePoint StartOfDay(int64_t days) { return TimePoint(std::chrono::seconds(days * 86400)); }

}  // namespace dpql
