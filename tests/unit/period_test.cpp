// Calendar periods (compiler/common/period.h) as research projects and the
// periodic dataset-wide cap use them, and the `dpqld admin project` and
// `request` command lines (server/admin_args.h).

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "compiler/common/date.h"
#include "compiler/common/period.h"
#include "compiler/catalog/catalog.h"
#include "runtime/engine.h"
#include "server/admin_args.h"

namespace dpql {
namespace {

TimePoint At(const std::string& text) {
  TimePoint at;
  EXPECT_TRUE(ParseTimestamp(text, at)) << text;
  return at;
}

std::string DayText(TimePoint at) { return FormatDate(DayOf(at)); }

TEST(Period, StartsAtTheCalendarBoundaryInUtc) {
  const TimePoint at = At("2026-03-18T23:59:59Z");  // a Wednesday
  EXPECT_EQ(DayText(PeriodStart(BudgetPeriod::kDay, at)), "2026-03-18");
  EXPECT_EQ(DayText(PeriodStart(BudgetPeriod::kWeek, at)), "2026-03-16");  // Monday
  EXPECT_EQ(DayText(PeriodStart(BudgetPeriod::kMonth, at)), "2026-03-01");
  EXPECT_EQ(DayText(PeriodStart(BudgetPeriod::kYear, at)), "2026-01-01");
  EXPECT_EQ(PeriodStart(BudgetPeriod::kMonth, At("2026-03-01T00:00:00Z")), At("2026-03-01T00:00:00Z"));
  EXPECT_EQ(PeriodStart(BudgetPeriod::kMonth, At("2026-02-28T23:59:59Z")), At("2026-02-01T00:00:00Z"));
  EXPECT_EQ(PeriodStart(BudgetPeriod::kWeek, At("2026-03-16T00:00:00Z")), At("2026-03-16T00:00:00Z"));
  EXPECT_EQ(PeriodStart(BudgetPeriod::kWeek, At("1970-01-01T12:00:00Z")), At("1969-12-29T00:00:00Z"));
}

TEST(Period, NextStartCrossesMonthsAndYears) {
  EXPECT_EQ(DayText(NextPeriodStart(BudgetPeriod::kMonth, At("2026-12-01T00:00:00Z"))), "2027-01-01");
  EXPECT_EQ(DayText(NextPeriodStart(BudgetPeriod::kMonth, At("2028-02-01T00:00:00Z"))), "2028-03-01");
  EXPECT_EQ(DayText(NextPeriodStart(BudgetPeriod::kDay, At("2028-02-28T00:00:00Z"))), "2028-02-29");
  EXPECT_EQ(DayText(NextPeriodStart(BudgetPeriod::kWeek, At("2026-12-28T00:00:00Z"))), "2027-01-04");
  EXPECT_EQ(DayText(NextPeriodStart(BudgetPeriod::kYear, At("2026-01-01T00:00:00Z"))), "2027-01-01");
}

TEST(Period, NamesRoundTrip) {
  for (BudgetPeriod period : {BudgetPeriod::kDay, BudgetPeriod::kWeek, BudgetPeriod::kMonth, BudgetPeriod::kYear}) {
    EXPECT_EQ(ParsePeriod(PeriodName(period)), period);
  }
  EXPECT_FALSE(ParsePeriod("none"));
  EXPECT_FALSE(ParsePeriod("Month"));
  EXPECT_FALSE(ParsePeriod(""));
}

// The engine's cap for a debit at `now`: the catalog's caps, per calendar
// period when limits.dataset_period says so.
TEST(Period, DatasetCapCountsFromThePeriodHoldingNow) {
  const std::string yaml = R"(
datasets:
  hospital:
    privacy_unit: patient_id
    limits: { dataset_epsilon: 20, dataset_period: month }
    tables: { t: { private: true, columns: { patient_id: { type: text } } } }
)";
  Catalog catalog = ParseCatalog(yaml, "t.yaml");
  BudgetCap cap = DatasetCap(catalog.datasets[0], At("2026-03-18T10:00:00Z"));
  EXPECT_EQ(cap.epsilon_micro, 20'000'000);
  EXPECT_EQ(cap.period, BudgetPeriod::kMonth);
  EXPECT_EQ(cap.period_start, At("2026-03-01T00:00:00Z"));
  // Without the key the cap is over the dataset's life.
  Catalog lifetime = ParseCatalog(R"(
datasets:
  hospital:
    privacy_unit: patient_id
    limits: { dataset_epsilon: 20 }
    tables: { t: { private: true, columns: { patient_id: { type: text } } } }
)",
                                  "t.yaml");
  EXPECT_EQ(DatasetCap(lifetime.datasets[0], At("2026-03-18T10:00:00Z")).period, BudgetPeriod::kNone);
}

TEST(AdminProjectArgs, TwoWordCommandsParse) {
  admin::ParsedArgs create = admin::Parse({"--database", "x", "project", "create", "sepsis", "--dataset", "hospital",
                                           "--epsilon", "5", "--start", "2026-01-01", "--end", "2027-03-31",
                                           "--renew", "month"});
  EXPECT_EQ(create.command, "project create");
  EXPECT_EQ(create.positional, std::vector<std::string>{"sepsis"});
  EXPECT_EQ(create.values.at("--renew"), "month");
  admin::ParsedArgs member = admin::Parse({"project", "add-member", "sepsis", "researcher"});
  EXPECT_EQ(member.command, "project add-member");
  EXPECT_EQ(member.positional, (std::vector<std::string>{"sepsis", "researcher"}));
  admin::ParsedArgs decline = admin::Parse({"request", "decline", "7", "--reason", "not now"});
  EXPECT_EQ(decline.command, "request decline");
  EXPECT_EQ(decline.values.at("--reason"), "not now");
  // A project may be named like a verb.
  EXPECT_EQ(admin::Parse({"project", "close", "list"}).positional, std::vector<std::string>{"list"});
}

TEST(AdminProjectArgs, MistakesNameTheFix) {
  auto message = [](const std::vector<std::string>& args) {
    try {
      admin::Parse(args);
    } catch (const admin::UsageError& error) {
      return std::string(error.what());
    }
    return std::string();
  };
  EXPECT_NE(message({"project"}).find("use project create, add-member"), std::string::npos);
  EXPECT_NE(message({"project", "open", "x"}).find("unknown or missing project command"), std::string::npos);
  EXPECT_NE(message({"request", "approve"}).find("needs a request ID"), std::string::npos);
  EXPECT_NE(message({"project", "add-member", "sepsis"}).find("project add-member PROJECT ANALYST"),
            std::string::npos);
  EXPECT_NE(message({"project", "close", "x", "--renew", "month"}).find("unknown option '--renew'"),
            std::string::npos);
}

}  // namespace
}  // namespace dpql
