// The injected clock (compiler/common/clock.h): timestamps as PostgreSQL reads
// them, strict parsing, UTC days, and the clocks tests move.

#include "compiler/common/clock.h"

#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "compiler/common/date.h"

namespace dpql {
namespace {

TimePoint At(const std::string& text) {
  TimePoint at;
  EXPECT_TRUE(ParseTimestamp(text, at)) << text;
  return at;
}

TEST(ClockTest, FormatsWhatItParsesAsATimestamptz) {
  EXPECT_EQ(FormatTimestamp(At("2026-11-27T06:00:00Z")), "2026-11-27 06:00:00.000000+00");
  EXPECT_EQ(FormatTimestamp(At("2026-12-31 23:59:59")), "2026-12-31 23:59:59.000000+00");
  EXPECT_EQ(FormatTimestamp(At("2027-01-01")), "2027-01-01 00:00:00.000000+00");
  EXPECT_EQ(FormatTimestamp(At("2026-11-27T06:00:00Z") + std::chrono::microseconds(1)),
            "2026-11-27 06:00:00.000001+00");
  // Before 1970 the day and the time of day still come out right.
  EXPECT_EQ(FormatTimestamp(At("1969-12-31T23:00:00Z")), "1969-12-31 23:00:00.000000+00");
}

TEST(ClockTest, RefusesMalformedTimes) {
  TimePoint at;
  for (const char* text : {"", "2026-11-27T", "2026-11-27T6:00:00Z", "2026-11-27T24:00:00Z",
                           "2026-02-30T00:00:00Z", "2026-11-27X06:00:00", "2026-11-27T06:00:60",
                           "27/11/2026", "2026-11-27T06:00:00+01"}) {
    EXPECT_FALSE(ParseTimestamp(text, at)) << text;
  }
}

TEST(ClockTest, DaysAreUtcCalendarDays) {
  EXPECT_EQ(FormatDate(DayOf(At("2026-11-27T00:00:00Z"))), "2026-11-27");
  EXPECT_EQ(FormatDate(DayOf(At("2026-11-27T23:59:59Z"))), "2026-11-27");
  EXPECT_EQ(FormatDate(DayOf(At("1969-12-31T23:59:59Z"))), "1969-12-31");
  EXPECT_EQ(StartOfDay(DayOf(At("2026-11-27T13:14:15Z"))), At("2026-11-27"));
}

TEST(ClockTest, ManualClockMovesOnlyWhenTold) {
  ManualClock clock(At("2026-11-30T23:59:59Z"));
  EXPECT_EQ(clock.Now(), At("2026-11-30T23:59:59Z"));
  clock.Advance(std::chrono::seconds(1));
  EXPECT_EQ(clock.Now(), At("2026-12-01"));
  clock.Set(At("2027-01-01"));
  EXPECT_EQ(FormatDate(DayOf(clock.Now())), "2027-01-01");
}

TEST(ClockTest, FileClockReadsTheFileOnEveryCall) {
  const std::string path = testing::TempDir() + "/dpql_clock_test.txt";
  std::ofstream(path) << "2026-11-27T06:00:00Z\n";
  FileClock clock(path);
  EXPECT_EQ(clock.Now(), At("2026-11-27T06:00:00Z"));
  std::ofstream(path) << "2026-11-28T06:00:00Z\n";
  EXPECT_EQ(clock.Now(), At("2026-11-28T06:00:00Z"));
  // An unreadable time falls back to the system clock, which is not 2026-11-28.
  std::ofstream(path) << "tomorrow\n";
  EXPECT_NE(clock.Now(), At("2026-11-28T06:00:00Z"));
  std::remove(path.c_str());
}

}  // namespace
}  // namespace dpql
