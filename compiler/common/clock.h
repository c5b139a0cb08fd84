#pragma once

// The time every dated decision reads (release schedules, project end dates,
// budget periods): one interface, so tests move time instead of waiting for
// it. Production uses SystemClock; tests use ManualClock in-process, or start
// dpqld with --test-clock FILE (FileClock) to move a real server's time.
// Times are UTC; a day is a UTC calendar day (compiler/common/date.h).

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>

namespace dpql {

using TimePoint = std::chrono::system_clock::time_point;

class Clock {
 public:
  virtual ~Clock() = default;
  virtual TimePoint Now() const = 0;
};

class SystemClock final : public Clock {
 public:
  TimePoint Now() const override { return std::chrono::system_clock::now(); }
};

// A clock the test sets and moves; safe to read from several threads.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(TimePoint start) : micros_(ToMicros(start)) {}
  TimePoint Now() const override { return TimePoint(std::chrono::microseconds(micros_.load())); }
  void Set(TimePoint at) { micros_.store(ToMicros(at)); }
  void Advance(std::chrono::microseconds by) { micros_.fetch_add(by.count()); }

 private:
  static int64_t ToMicros(TimePoint at) {
    return std::chrono::duration_cast<std::chrono::microseconds>(at.time_since_epoch()).count();
  }
  std::atomic<int64_t> micros_;
};

// Reads the time from a file on every call: one line "YYYY-MM-DDTHH:MM:SSZ"
// (or "YYYY-MM-DD HH:MM:SS"). For tests of a running dpqld only
// (`dpqld serve --test-clock FILE`); an unreadable or malformed file is the
// system time, and the server logs it once.
class FileClock final : public Clock {
 public:
  explicit FileClock(std::string path) : path_(std::move(path)) {}
  TimePoint Now() const override;

 private:
  std::string path_;
  mutable std::atomic<bool> warned_{false};
};

// "YYYY-MM-DD HH:MM:SS.ffffff+00", which PostgreSQL reads as a timestamptz.
std::string FormatTimestamp(TimePoint at);
// Strict "YYYY-MM-DDTHH:MM:SSZ", "YYYY-MM-DD HH:MM:SS" (UTC) or
// "YYYY-MM-DD" (midnight UTC); false when malformed.
bool ParseTimestamp(const std::string& text, TimePoint& at);
// The UTC calendar day of `at`, as days since 1970-01-01 (date.h).
int64_t DayOf(TimePoint at);
// Midnight UTC starting day `days` (days since 1970-01-01).
TimePoint StartOfDay(int64_t days);

}  // namespace dpql
