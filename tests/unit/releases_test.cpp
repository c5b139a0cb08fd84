// The releases file (server/releases.h): parsing, validation with
// file:line messages, the cost of a run, its durable key and queries, and
// which day is due when; and the stored answer's round trip
// (runtime/cache/release_answer.h). No database.

#include <gtest/gtest.h>

#include <string>

#include "compiler/common/clock.h"
#include "compiler/common/error.h"
#include "repl/format.h"
#include "runtime/cache/release_answer.h"
#include "server/releases.h"

namespace dpql {
namespace {

const Catalog& Hospital() {
  static const Catalog catalog =
      LoadCatalog(std::string(DPQL_SOURCE_DIR_DEFAULT) + "/examples/hospital/catalog.yaml");
  return catalog;
}

constexpr const char* kFile = R"(releases:
  occupancy:
    title: Occupancy by ward
    parameters:
      day: { type: date, default: 2026-11-27 }
    query: >-
      SELECT ward_code, COUNT(DISTINCT patient_id) AS patients
      FROM bed_days WHERE day = {{day}} GROUP BY ward_code
      WITH PRIVACY (epsilon = 0.3, max_groups = 1)
    schedule: { every: day, at: "06:00", day: yesterday }
  by_hand:
    title: Admissions
    parameters:
      on: { type: date, default: 2026-11-27 }
    query: SELECT COUNT(*) AS n FROM admissions WHERE admitted_on = {{on}} WITH PRIVACY (epsilon = 0.2)
)";

std::string ErrorOf(const std::string& text) {
  try {
    ParseReleases(text, "releases.yaml", Hospital());
  } catch (const DpqlError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kConfigError);
    return error.message();
  }
  return "(no error)";
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  const size_t at = text.find(from);
  EXPECT_NE(at, std::string::npos) << from;
  return text.replace(at, from.size(), to);
}

TimePoint At(const std::string& text) {
  TimePoint at;
  EXPECT_TRUE(ParseTimestamp(text, at)) << text;
  return at;
}

TEST(Releases, ParsesCostScheduleAndParameter) {
  std::vector<ReleaseDefinition> releases = ParseReleases(kFile, "releases.yaml", Hospital());
  ASSERT_EQ(releases.size(), 2u);
  const ReleaseDefinition& occupancy = releases[0];
  EXPECT_EQ(occupancy.name, "occupancy");
  EXPECT_EQ(occupancy.dataset, "hospital");
  EXPECT_EQ(occupancy.parameter.name, "day");
  EXPECT_EQ(occupancy.cost.epsilon_micro, 300000);
  ASSERT_TRUE(occupancy.schedule.has_value());
  EXPECT_EQ(occupancy.schedule->at_minutes, 360);
  EXPECT_EQ(occupancy.schedule->day_offset, 1);
  EXPECT_FALSE(releases[1].schedule.has_value());
  EXPECT_EQ(releases[1].cost.epsilon_micro, 200000);
  EXPECT_EQ(DescribeSchedule(occupancy.schedule), "daily at 06:00 UTC for the day before");
}

TEST(Releases, ARunSubstitutesTheDayAndKeysOnIt) {
  std::vector<ReleaseDefinition> releases = ParseReleases(kFile, "releases.yaml", Hospital());
  ReleaseRunRequest run = MakeReleaseRun(releases[0], "2026-11-20", "admin");
  EXPECT_EQ(run.parameters, "day=2026-11-20");
  EXPECT_EQ(run.day, "2026-11-20");
  ASSERT_EQ(run.queries.size(), 1u);
  EXPECT_NE(run.queries[0].text.find("day = DATE '2026-11-20'"), std::string::npos) << run.queries[0].text;
  EXPECT_EQ(MakeReleaseRun(releases[1], "2026-01-02", "admin").parameters, "on=2026-01-02");
  for (const char* bad : {"2026-13-01", "2026-11-2", "yesterday", "2026-11-20'; --", ""}) {
    try {
      MakeReleaseRun(releases[0], bad, "admin");
      ADD_FAILURE() << bad;
    } catch (const DpqlError& error) {
      EXPECT_EQ(error.code(), ErrorCode::kInvalidParameter) << bad;
    }
  }
}

TEST(Releases, DueDayIsTheLatestDueRun) {
  ReleaseSchedule yesterday;  // 06:00, for the day before
  EXPECT_EQ(DueDay(yesterday, At("2026-11-28T06:00:00Z")), "2026-11-27");
  EXPECT_EQ(DueDay(yesterday, At("2026-11-28T05:59:59Z")), "2026-11-26");
  EXPECT_EQ(DueDay(yesterday, At("2026-11-28T23:59:59Z")), "2026-11-27");
  EXPECT_EQ(DueDay(yesterday, At("2027-01-01T07:00:00Z")), "2026-12-31");
  ReleaseSchedule today{.at_minutes = 22 * 60, .day_offset = 0};
  EXPECT_EQ(DueDay(today, At("2026-11-28T22:30:00Z")), "2026-11-28");
  EXPECT_EQ(DueDay(today, At("2026-11-28T21:00:00Z")), "2026-11-27");
}

TEST(Releases, HierarchyLevelsAreRunAndPaidTogether) {
  const std::string text = std::string(kFile).substr(0, std::string(kFile).find("  by_hand:")) +
                           R"(    hierarchy:
      all:
        query: SELECT COUNT(DISTINCT patient_id) AS patients FROM bed_days WHERE day = {{day}} WITH PRIVACY (epsilon = 0.1)
        from: { table: wards, child: ward_code, parent: trust }
)";
  std::vector<ReleaseDefinition> releases = ParseReleases(text, "releases.yaml", Hospital());
  ASSERT_EQ(releases.size(), 1u);
  ASSERT_EQ(releases[0].hierarchy.size(), 1u);
  EXPECT_EQ(releases[0].cost.epsilon_micro, 400000);  // 0.3 + 0.1, debited once
  ReleaseRunRequest run = MakeReleaseRun(releases[0], "2026-11-20", "admin");
  ASSERT_EQ(run.queries.size(), 2u);
  EXPECT_EQ(run.queries[1].level, "all");
  EXPECT_NE(run.queries[1].text.find("DATE '2026-11-20'"), std::string::npos);
  EXPECT_NE(ErrorOf(Replace(text, "parent: trust", "parent: region"))
                .find("releases.yaml:14: releases.occupancy.hierarchy.all.from.parent: table wards has no "
                      "column 'region'"),
            std::string::npos)
      << ErrorOf(Replace(text, "parent: trust", "parent: region"));
}

TEST(Releases, MistakesNameFileLineAndKey) {
  struct Case {
    std::string text, expected;
  };
  const std::vector<Case> cases = {
      {Replace(kFile, "ward_code, COUNT", "wrd_code, COUNT"),
       "releases.yaml:6: releases.occupancy.query: unknown_column"},
      {Replace(kFile, "\"06:00\"", "6am"),
       "releases.yaml:10: releases.occupancy.schedule.at: expected a UTC time"},
      {Replace(kFile, "every: day", "every: week"),
       "releases.yaml:10: releases.occupancy.schedule.every: unknown period"},
      {Replace(kFile, "day: yesterday", "day: tomorrow"),
       "releases.yaml:10: releases.occupancy.schedule.day: unknown day"},
      {Replace(kFile, "type: date, default: 2026-11-27 }\n    query: >-",
               "type: int, default: 3 }\n    query: >-"),
       "releases.yaml:5: releases.occupancy.parameters.day.type: a release's parameter must be of type date"},
      {Replace(kFile, "{{day}}", "{{days}}"),
       "releases.yaml:6: releases.occupancy.query: placeholder {{days}}"},
      {Replace(kFile, "    title: Occupancy by ward\n", "    title: Occupancy by ward\n    colour: red\n"),
       "releases.yaml:4: releases.occupancy: unknown key 'colour'"},
      {Replace(kFile, "occupancy:", "occupancy!:"), "releases.yaml:2: releases: release name 'occupancy!'"},
      {"dashboards: {}\n", "releases.yaml:1: expected a mapping with one key, `releases:`"},
      {Replace(kFile, "WITH PRIVACY (epsilon = 0.3", "WITH PRIVACY (epsilon = 30"),
       "releases.yaml:6: releases.occupancy.query: epsilon_too_large"},
  };
  for (const Case& c : cases) {
    const std::string message = ErrorOf(c.text);
    EXPECT_NE(message.find(c.expected), std::string::npos)
        << "expected: " << c.expected << "\ngot: " << message;
  }
}

TEST(ReleaseAnswer, RoundTripsNamesIntervalsAndConfidence) {
  QueryResult answer;
  answer.columns = {{"ward_code", ValueType::kText, false}, {"patients", ValueType::kInt, true}};
  answer.rows = {{std::string("LTH01"), int64_t{41}}, {std::string("LTH02"), int64_t{0}}};
  answer.intervals = {{std::nullopt, Interval{31, 51}}, {std::nullopt, Interval{0, 10}}};
  answer.confidence = Rational(9, 10);
  std::optional<std::string> text = EncodeReleaseAnswer({{"occupancy", answer}});
  ASSERT_TRUE(text.has_value());
  std::vector<ReleaseLevelAnswer> back = DecodeReleaseAnswer(*text);
  ASSERT_EQ(back.size(), 1u);
  EXPECT_EQ(back[0].level, "occupancy");
  EXPECT_EQ(back[0].answer.columns[1].name, "patients");
  EXPECT_TRUE(back[0].answer.columns[1].noisy);
  EXPECT_EQ(std::get<int64_t>(back[0].answer.rows[0][1]), 41);
  ASSERT_TRUE(back[0].answer.intervals[0][1].has_value());
  EXPECT_EQ(back[0].answer.intervals[0][1]->upper, 51);
  EXPECT_EQ(back[0].answer.confidence, Rational(9, 10));
  EXPECT_THROW(DecodeReleaseAnswer("{\"format\":2,\"levels\":[]}"), DpqlError);
  EXPECT_THROW(DecodeReleaseAnswer("not json"), DpqlError);
}

}  // namespace
}  // namespace dpql

namespace dpql {
namespace {

TEST(ReleaseFormat, ListsReleasesAndShowsEachDayWithIntervals) {
  const nlohmann::json list = nlohmann::json::parse(R"({"releases":[{"name":"occupancy","title":"Occupancy",
    "cost":{"epsilon":0.3,"delta":0.0},"schedule_text":"daily at 06:00 UTC for the day before",
    "latest":{"day":"2026-11-27"}}]})");
  const std::string table = FormatReleases(list);
  EXPECT_NE(table.find("occupancy"), std::string::npos) << table;
  EXPECT_NE(table.find("\xCE\xB5 0.3"), std::string::npos) << table;
  EXPECT_NE(table.find("2026-11-27"), std::string::npos) << table;
  EXPECT_NE(table.find("(1 release; reading one is free"), std::string::npos) << table;

  const nlohmann::json runs = nlohmann::json::parse(R"({"release":"occupancy","title":"Occupancy","runs":[
    {"day":"2026-11-27","published_at":"2026-11-28 06:00:00+00","columns":["ward_code","patients"],
     "column_types":["text","int"],"rows":[["LTH01",41]],
     "accuracy":[{"column":"patients","row":0,"ci":[31.0,51.0],"confidence":0.95}]}]})");
  const std::string text = FormatReleaseRuns(runs);
  EXPECT_NE(text.find("2026-11-27 (published 2026-11-28 06:00:00+00)"), std::string::npos) << text;
  EXPECT_NE(text.find("41 \xC2\xB1 10"), std::string::npos) << text;
  EXPECT_NE(text.find("(1 published day; read free"), std::string::npos) << text;
  // Negative control: no runs says so rather than printing an empty table.
  EXPECT_NE(FormatReleaseRuns(nlohmann::json::parse(R"({"release":"x","title":"X","runs":[]})"))
                .find("no published run"),
            std::string::npos);
}

}  // namespace
}  // namespace dpql
