// Releases (issue 20): a release declared in the releases file is paid once
// per day from the dataset's release account, stored, and served free to
// every analyst of the dataset. Real PostgreSQL, real dpqld, the server's time
// moved through --test-clock; the scheduler checks every second.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;

// Cost per run: epsilon 0.3 (one level).
constexpr const char* kReleases = R"(releases:
  occupancy:
    title: Occupancy by ward
    description: Patients on each ward on the day.
    dataset: hospital
    parameters:
      day: { type: date, label: Day, default: 2026-11-27 }
    query: >-
      SELECT ward_code, COUNT(DISTINCT patient_id) AS patients
      FROM bed_days WHERE day = {{day}} GROUP BY ward_code
      WITH PRIVACY (epsilon = 0.3, max_groups = 1)
    schedule: { every: day, at: "06:00", day: yesterday }
)";

class ReleaseTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_release_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(2000);
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
    WriteFile("releases.yaml", kReleases);
    SetClock("2026-11-27T07:00:00Z");
  }

  void TearDown() override {
    unsetenv("DPQL_TEST_RELEASE_PAUSE_MS");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream out(dir_ / name, std::ios::binary);
    out << text;
  }

  void SetClock(const std::string& at) { WriteFile("clock", at + "\n"); }

  std::string ConfigPath() {
    const std::string config = DpqldConfigBase(db_.url(), SourceDir() + "/examples/hospital/catalog.yaml") +
                               "releases: \"" + (dir_ / "releases.yaml").string() +
                               "\"\nrelease_check_seconds: 1\n";
    WriteFile("dpqld.yaml", config);
    return (dir_ / "dpqld.yaml").string();
  }

  std::unique_ptr<DpqldProcess> Start(const std::string& log_name, bool append = false) {
    auto server = std::make_unique<DpqldProcess>(
        DpqldOptions{.config = ConfigPath(),
                     .log_path = (dir_ / log_name).string(),
                     .append_log = append,
                     .extra_args = {"--test-clock", (dir_ / "clock").string()}});
    EXPECT_TRUE(server->started()) << server->log();
    return server;
  }

  std::string Admin(const std::string& args, int* code) { return RunAdmin(db_.url(), args, code); }

  std::string AdminWithConfig(const std::string& args, int* code) {
    return RunAdmin(db_.url(), "--config " + ShellQuote(ConfigPath()) + " " + args, code);
  }

  void GrantReleaseAccount(const std::string& epsilon) {
    int code = 0;
    std::string out = Admin("release grant --dataset hospital --epsilon " + epsilon, &code);
    ASSERT_EQ(code, 0) << out;
  }

  int Count(const std::string& sql) { return std::stoi(db_.QueryValue(sql)); }

  // Waits up to `seconds` until `sql` returns `want`.
  bool WaitFor(const std::string& sql, const std::string& want, int seconds = 20) {
    const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    while (std::chrono::steady_clock::now() < until) {
      if (db_.QueryValue(sql) == want) return true;
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
    }
    return false;
  }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::filesystem::path dir_;
};

constexpr const char* kPublished =
    "SELECT count(*) FROM dpql.release_runs WHERE release = 'occupancy' AND state = 'published'";
constexpr const char* kReleaseDebits = "SELECT count(*) FROM dpql.ledger WHERE release = 'occupancy'";
constexpr const char* kAccountSpent =
    "SELECT epsilon_spent FROM dpql.release_accounts WHERE dataset = 'hospital'";

TEST_F(ReleaseTest, DailyReleaseRunsOncePerDayIsChargedOnceAndServedFreeToThirtyAnalysts) {
  GrantReleaseAccount("10");
  auto server = Start("dpqld.log");
  ASSERT_TRUE(server->started());

  // 07:00 on the 27th: the run for the 26th is due, and runs once.
  ASSERT_TRUE(WaitFor(kPublished, "1")) << server->log();
  std::this_thread::sleep_for(std::chrono::seconds(3));  // three more scheduler passes
  EXPECT_EQ(Count(kPublished), 1);
  EXPECT_EQ(Count(kReleaseDebits), 1);
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "300000");
  EXPECT_EQ(db_.QueryValue("SELECT parameters FROM dpql.release_runs"), "day=2026-11-26");

  // 05:00 on the 28th: still before the hour, nothing new is due.
  SetClock("2026-11-28T05:00:00Z");
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Count(kReleaseDebits), 1);

  // 06:30 on the 28th: the 27th runs, charged once more.
  SetClock("2026-11-28T06:30:00Z");
  ASSERT_TRUE(WaitFor(kPublished, "2")) << server->log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Count(kReleaseDebits), 2);
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "600000");
  const std::string dataset_spent =
      db_.QueryValue("SELECT epsilon_spent FROM dpql.dataset_spend WHERE dataset = 'hospital'");
  EXPECT_EQ(dataset_spent, "600000");  // the dataset-wide spend counts the releases
  const std::string ledger_total = db_.QueryValue("SELECT sum(epsilon) FROM dpql.ledger");

  // 30 analysts read it: each sees both days with intervals; nothing is spent.
  for (int i = 0; i < 30; ++i) {
    const std::string token =
        AddAnalystToken(db_.url(), "planner" + std::to_string(i) + " --dataset hospital --epsilon 1");
    ASSERT_FALSE(token.empty());
    Reply list = Get(server->port(), "/v1/releases", token);
    ASSERT_EQ(list.status, 200) << list.body;
    ASSERT_EQ(list.doc["releases"].size(), 1u) << list.body;
    EXPECT_EQ(list.doc["releases"][0]["latest"]["day"], "2026-11-27") << list.body;
    EXPECT_DOUBLE_EQ(list.doc["releases"][0]["cost"]["epsilon"].get<double>(), 0.3);
    Reply runs = Get(server->port(), "/v1/releases/occupancy?from=2026-11-20&to=2026-11-30", token);
    ASSERT_EQ(runs.status, 200) << runs.body;
    ASSERT_EQ(runs.doc["runs"].size(), 2u) << runs.body;
    const json& run = runs.doc["runs"][1];
    EXPECT_EQ(run["day"], "2026-11-27");
    EXPECT_EQ(run["columns"], json::array({"ward_code", "patients"}));
    EXPECT_FALSE(run["rows"].empty());
    ASSERT_FALSE(run["accuracy"].empty()) << runs.body;  // the ± intervals, as /v1/query gives them
    EXPECT_EQ(run["cost"]["epsilon"], 0);
    if (i == 0) {
      // The range is honoured: from the 27th on, one run.
      Reply one = Get(server->port(), "/v1/releases/occupancy?from=2026-11-27", token);
      ASSERT_EQ(one.status, 200) << one.body;
      EXPECT_EQ(one.doc["runs"].size(), 1u);
      // Every analyst sees the same stored answer.
      Reply again = Get(server->port(), "/v1/releases/occupancy", token);
      EXPECT_EQ(again.doc["runs"][1]["rows"], run["rows"]);
    }
  }
  EXPECT_EQ(db_.QueryValue("SELECT sum(epsilon) FROM dpql.ledger"), ledger_total);
  EXPECT_EQ(Count(kReleaseDebits), 2);
  EXPECT_EQ(db_.QueryValue("SELECT epsilon_spent FROM dpql.dataset_spend WHERE dataset = 'hospital'"),
            dataset_spent);
  EXPECT_EQ(EpsilonSpent(db_, "planner7"), 0.0);
  // Each read is audited, at cost 0, without values.
  EXPECT_GE(
      Count("SELECT count(*) FROM dpql.audit WHERE source = 'GET /v1/releases/occupancy' AND epsilon = 0 "
            "AND status = 200"),
      30);
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.audit WHERE source LIKE 'GET /v1/releases%' AND epsilon <> 0"),
            0);
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.audit WHERE source = 'release_run' AND outcome = 'published'"),
            2);

  // The REPL reads the same, free: \releases and \release NAME FROM TO.
  {
    const std::string token = AddAnalystToken(db_.url(), "repl_reader --dataset hospital --epsilon 1");
    int code = 0;
    const std::string dpql = BinDir() + "/dpql --url " + server->url() + " --token " + token + " -c ";
    std::string out = RunCommand(dpql + ShellQuote("\\releases"), &code);
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("occupancy"), std::string::npos) << out;
    EXPECT_NE(out.find("2026-11-27"), std::string::npos) << out;
    out = RunCommand(dpql + ShellQuote("\\release occupancy 2026-11-27 2026-11-27"), &code);
    EXPECT_EQ(code, 0) << out;
    EXPECT_NE(out.find("2026-11-27 (published"), std::string::npos) << out;
    EXPECT_NE(out.find(" \xC2\xB1 "), std::string::npos) << out;  // value ± half-width
    EXPECT_EQ(out.find("2026-11-26 (published"), std::string::npos) << out;
    EXPECT_EQ(EpsilonSpent(db_, "repl_reader"), 0.0);
  }

  // Refusals: no token, an unknown release, a bad day.
  EXPECT_EQ(Get(server->port(), "/v1/releases/occupancy").status, 401);
  const std::string token = AddAnalystToken(db_.url(), "late --dataset hospital --epsilon 1");
  Reply unknown = Get(server->port(), "/v1/releases/nope", token);
  EXPECT_EQ(unknown.status, 404);
  EXPECT_EQ(unknown.doc["error"]["code"], "unknown_release") << unknown.body;
  Reply bad_day = Get(server->port(), "/v1/releases/occupancy?from=yesterday", token);
  EXPECT_EQ(bad_day.status, 400);
  EXPECT_EQ(bad_day.doc["error"]["code"], "invalid_parameter") << bad_day.body;
}

TEST_F(ReleaseTest, KillNineBetweenPaymentAndPublicationCompletesOnRestartWithoutPayingAgain) {
  GrantReleaseAccount("10");
  // For tests only: hold each run 30 s after its payment, so the kill lands there.
  setenv("DPQL_TEST_RELEASE_PAUSE_MS", "30000", 1);
  auto server = Start("dpqld.log");
  unsetenv("DPQL_TEST_RELEASE_PAUSE_MS");
  ASSERT_TRUE(server->started());
  ASSERT_TRUE(WaitFor("SELECT count(*) FROM dpql.release_runs WHERE state = 'paid'", "1")) << server->log();
  server->KillHard();
  EXPECT_EQ(Count(kReleaseDebits), 1);
  EXPECT_EQ(Count(kPublished), 0);  // paid, never released

  auto restarted = Start("dpqld.log", /*append=*/true);
  ASSERT_TRUE(restarted->started());
  ASSERT_TRUE(WaitFor(kPublished, "1")) << restarted->log();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.release_runs"), 1);  // one stored answer
  EXPECT_EQ(Count(kReleaseDebits), 1);                            // one charge
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "300000");
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.audit WHERE source = 'release_run' AND outcome = 'completed' "
                  "AND epsilon = 0"),
            1);
}

TEST_F(ReleaseTest, TwoServersOnOneLedgerRunEachReleaseOnce) {
  GrantReleaseAccount("10");
  auto first = Start("first.log");
  auto second = Start("second.log");
  ASSERT_TRUE(first->started() && second->started());
  ASSERT_TRUE(WaitFor(kPublished, "1"));
  SetClock("2026-11-28T06:30:00Z");
  ASSERT_TRUE(WaitFor(kPublished, "2"));
  std::this_thread::sleep_for(std::chrono::seconds(3));
  EXPECT_EQ(Count(kReleaseDebits), 2);
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "600000");
  // One of them holds the lease; the other stands by.
  const std::string logs = first->log() + second->log();
  EXPECT_NE(logs.find("holds the release lease"), std::string::npos) << logs;
  EXPECT_NE(logs.find("lease is held elsewhere"), std::string::npos) << logs;

  // The holder dies: the other takes the lease and runs the next day.
  const bool first_holds = first->log().find("holds the release lease") != std::string::npos;
  (first_holds ? first : second)->KillHard();
  SetClock("2026-11-29T06:30:00Z");
  ASSERT_TRUE(WaitFor(kPublished, "3")) << (first_holds ? second : first)->log();
  EXPECT_EQ(Count(kReleaseDebits), 3);

  // A run by hand of a published day pays nothing.
  int code = 0;
  std::string out = AdminWithConfig("release run occupancy --day 2026-11-27", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("already published"), std::string::npos) << out;
  EXPECT_EQ(Count(kReleaseDebits), 3);
}

TEST_F(ReleaseTest, AdminRunsARangeAndTheReleaseAccountRefusesOverspending) {
  // 0.5 pays for one run of 0.3, not two.
  GrantReleaseAccount("0.5");
  int code = 0;
  std::string out = AdminWithConfig("release run occupancy --from 2026-11-01 --to 2026-11-02", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("day=2026-11-01: published"), std::string::npos) << out;
  EXPECT_NE(out.find("release_account_exhausted"), std::string::npos) << out;
  EXPECT_EQ(Count(kReleaseDebits), 1);
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "300000");
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.release_runs"), 1);
  EXPECT_EQ(Count("SELECT count(*) FROM dpql.audit WHERE source = 'release_run' AND "
                  "outcome = 'release_account_exhausted' AND epsilon = 0"),
            1);

  GrantReleaseAccount("1");
  out = AdminWithConfig("release run occupancy --from 2026-11-01 --to 2026-11-03", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("day=2026-11-01: already published"), std::string::npos) << out;
  EXPECT_EQ(Count(kReleaseDebits), 3);

  out = AdminWithConfig("release list", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("occupancy"), std::string::npos) << out;
  EXPECT_NE(out.find("2026-11-03"), std::string::npos) << out;
  EXPECT_NE(out.find(" 0.9 "), std::string::npos) << out;  // spent from the release account

  out = AdminWithConfig("release run nope --day 2026-11-01", &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("no release named 'nope'"), std::string::npos) << out;
  out = AdminWithConfig("release run occupancy --day 2026-13-01", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("--day expects a day YYYY-MM-DD"), std::string::npos) << out;
}

// Wards -> trusts -> all: every level runs in the one paid run, and the
// published counts add up (each trust the sum of its wards, the total the sum
// of the trusts) as non-negative integers.
constexpr const char* kHierarchy = R"(    hierarchy:
      trust:
        query: >-
          SELECT w.trust, COUNT(DISTINCT b.patient_id) AS patients
          FROM bed_days AS b JOIN wards AS w ON b.ward_code = w.ward_code
          WHERE b.day = {{day}} GROUP BY w.trust
          WITH PRIVACY (epsilon = 0.2, max_groups = 1)
        from: { table: wards, child: ward_code, parent: trust }
      all:
        query: >-
          SELECT COUNT(DISTINCT patient_id) AS patients FROM bed_days WHERE day = {{day}}
          WITH PRIVACY (epsilon = 0.1, max_groups = 1)
)";

TEST_F(ReleaseTest, AHierarchyRunsEveryLevelInOnePaidRunAndItsCountsAddUp) {
  WriteFile("releases.yaml", std::string(kReleases) + kHierarchy);
  GrantReleaseAccount("5");
  SetClock("2026-11-21T07:00:00Z");  // the scheduler's due day, 2026-11-20, is one of the days run below
  auto server = Start("dpqld.log");
  ASSERT_TRUE(server->started());
  const std::string token = AddAnalystToken(db_.url(), "reader --dataset hospital --epsilon 1");
  // The ward -> trust map, read from the public table as the release does.
  std::map<std::string, std::string> trust_of;
  pqxx::connection connection(db_.url());
  pqxx::work txn(connection);
  for (const auto& row : txn.exec("SELECT ward_code, trust FROM wards")) {
    trust_of[row[0].as<std::string>()] = row[1].as<std::string>();
  }
  txn.commit();
  ASSERT_GT(trust_of.size(), 4u);

  // Several days, so that small wards' noise goes negative at least once
  // before the consistency step (counts are then still never negative).
  int code = 0;
  std::string out = AdminWithConfig("release run occupancy --from 2026-11-14 --to 2026-11-20", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(Count(kReleaseDebits), 7);                  // one debit per day for all three levels
  EXPECT_EQ(db_.QueryValue(kAccountSpent), "4200000");  // 7 x (0.3 + 0.2 + 0.1)

  Reply runs = Get(server->port(), "/v1/releases/occupancy?from=2026-11-14&to=2026-11-20", token);
  ASSERT_EQ(runs.status, 200) << runs.body;
  ASSERT_EQ(runs.doc["runs"].size(), 7u) << runs.body;
  for (const json& run : runs.doc["runs"]) {
    ASSERT_EQ(run["levels"].size(), 3u) << runs.body;
    EXPECT_EQ(run["consistent"], true);
    EXPECT_DOUBLE_EQ(run["release_cost"]["epsilon"].get<double>(), 0.6);
    const json& wards = run["levels"][0];
    const json& trusts = run["levels"][1];
    const json& all = run["levels"][2];
    EXPECT_EQ(trusts["level"], "trust");
    EXPECT_EQ(all["level"], "all");
    ASSERT_EQ(all["rows"].size(), 1u);
    std::map<std::string, int64_t> ward_sum_by_trust;
    for (const json& row : wards["rows"]) {
      const int64_t count = row[1].get<int64_t>();
      EXPECT_GE(count, 0) << row;
      ward_sum_by_trust[trust_of.at(row[0].get<std::string>())] += count;
    }
    int64_t trust_sum = 0;
    for (const json& row : trusts["rows"]) {
      const int64_t count = row[1].get<int64_t>();
      EXPECT_GE(count, 0) << row;
      EXPECT_EQ(count, ward_sum_by_trust[row[0].get<std::string>()]) << "trust " << row[0];
      trust_sum += count;
    }
    EXPECT_EQ(trusts["rows"].size(), ward_sum_by_trust.size());
    EXPECT_EQ(all["rows"][0][0].get<int64_t>(), trust_sum);
    // Each figure keeps an interval around it.
    ASSERT_EQ(all["accuracy"].size(), 1u);
    EXPECT_LE(all["accuracy"][0]["ci"][0].get<double>(), all["rows"][0][0].get<double>());
    EXPECT_GE(all["accuracy"][0]["ci"][1].get<double>(), all["rows"][0][0].get<double>());
  }
}

// A research project's members are analysts of its dataset: they read its
// releases free, like grant holders; before they join, they cannot.
TEST_F(ReleaseTest, ProjectMembersReadReleasesOfTheProjectsDataset) {
  WriteFile("releases.yaml", kReleases);
  GrantReleaseAccount("1");
  int code = 0;
  std::string out = AdminWithConfig("release run occupancy --day 2026-11-20", &code);
  ASSERT_EQ(code, 0) << out;
  auto server = Start("dpqld.log");
  ASSERT_TRUE(server->started());
  // A budget only on another dataset: not an analyst of hospital.
  const std::string token = AddAnalystToken(db_.url(), "member --dataset elsewhere --epsilon 1");
  const std::string path = "/v1/releases/occupancy?from=2026-11-20&to=2026-11-20";
  Reply before = Get(server->port(), path, token);
  EXPECT_EQ(before.status, 403) << before.body;
  EXPECT_EQ(Get(server->port(), "/v1/releases", token).doc["releases"].size(), 0u);

  Admin("project create study --dataset hospital --epsilon 1 --start 2026-01-01 --end 2027-03-31", &code);
  ASSERT_EQ(code, 0);
  Admin("project add-member study member", &code);
  ASSERT_EQ(code, 0);
  Reply after = Get(server->port(), path, token);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.doc["runs"].size(), 1u);
  EXPECT_EQ(Get(server->port(), "/v1/releases", token).doc["releases"].size(), 1u);

  // After the project's end (the server's clock moved past it), not any more.
  SetClock("2027-04-01T07:00:00Z");
  EXPECT_EQ(Get(server->port(), path, token).status, 403);
}

TEST_F(ReleaseTest, AHierarchyThatCannotAddUpIsRefusedAtStartUp) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      // A grouped higher level without its map.
      {std::string(kHierarchy).replace(std::string(kHierarchy).find("        from:"),
                                       std::string("        from: { table: wards, child: ward_code, parent: trust }\n").size(), ""),
       "hierarchy level 'trust' has a key: declare `from: {table, child, parent}`"},
      // A level with two aggregates.
      {std::string(kHierarchy).replace(std::string(kHierarchy).find("COUNT(DISTINCT patient_id) AS patients FROM"),
                                       std::string("COUNT(DISTINCT patient_id) AS patients").size(),
                                       "COUNT(DISTINCT patient_id) AS patients, COUNT(*) AS stays"),
       "hierarchy level 'all' must select one key and one COUNT"},
  };
  for (const auto& [hierarchy, expected] : cases) {
    WriteFile("releases.yaml", std::string(kReleases) + hierarchy);
    DpqldProcess server(DpqldOptions{.config = ConfigPath(),
                                     .log_path = (dir_ / "bad.log").string(),
                                     .start_timeout = std::chrono::seconds(20)});
    EXPECT_FALSE(server.started()) << expected;
    EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 1);
    EXPECT_NE(server.log().find("releases.occupancy.hierarchy: " + expected), std::string::npos)
        << server.log();
  }
}

TEST_F(ReleaseTest, ABadReleasesFileStopsTheServerWithFileAndLine) {
  struct Case {
    std::string text;
    std::string expected;  // in the log
  };
  const std::vector<Case> cases = {
      {std::string(kReleases).replace(std::string(kReleases).find("ward_code, COUNT"), 9, "wrd_code"),
       "releases.yaml:8: releases.occupancy.query: unknown_column"},
      {std::string(kReleases).replace(std::string(kReleases).find("\"06:00\""), 7, "6am"),
       "releases.yaml:12: releases.occupancy.schedule.at: expected a UTC time of day HH:MM"},
      {std::string(kReleases).replace(std::string(kReleases).find("type: date"), 10, "type: text"),
       "releases.yaml:7: releases.occupancy.parameters.day.type: a release's parameter must be of type date"},
      {std::string(kReleases) + "    colour: red\n",
       "releases.yaml:13: releases.occupancy: unknown key 'colour'"},
  };
  for (const Case& c : cases) {
    WriteFile("releases.yaml", c.text);
    DpqldProcess server(DpqldOptions{.config = ConfigPath(),
                                     .log_path = (dir_ / "bad.log").string(),
                                     .start_timeout = std::chrono::seconds(20)});
    EXPECT_FALSE(server.started()) << c.expected;
    EXPECT_EQ(server.Wait(std::chrono::seconds(10)), 1);
    EXPECT_NE(server.log().find("the releases file is invalid; nothing was started"), std::string::npos)
        << server.log();
    EXPECT_NE(server.log().find(c.expected), std::string::npos) << server.log();
  }
}

}  // namespace
}  // namespace dpql
