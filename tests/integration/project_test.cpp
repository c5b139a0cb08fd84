// Research projects, periodic budgets, budget requests and the periodic
// dataset-wide cap (issue 20) against a real PostgreSQL: the ledger in-process
// with a ManualClock (64 concurrent debits at a month's boundary), and a real
// dpqld whose time a test moves (--test-clock) for the end date, the default
// account, and requests filed over HTTP and decided with `dpqld admin`.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <latch>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "compiler/common/date.h"
#include "compiler/common/error.h"
#include "runtime/ledger/ledger.h"
#include "runtime/ledger/projects.h"
#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;

TimePoint At(const std::string& text) {
  TimePoint at;
  EXPECT_TRUE(ParseTimestamp(text, at)) << text;
  return at;
}

TimePoint Day(const std::string& date) { return StartOfDay(*ParseDate(date)); }

BudgetCost Epsilon(const std::string& epsilon) { return BudgetCost::FromGrant(*ParseDecimal(epsilon), 0); }

// The refusal's code, or "" when `body` did not throw.
template <typename Body>
std::string CodeOf(Body&& body, std::string* message = nullptr) {
  try {
    body();
  } catch (const DpqlError& error) {
    if (message != nullptr) *message = error.what();
    return std::string(Name(error.code()));
  }
  return "";
}

class ProjectLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ledger_ = std::make_unique<Ledger>(db_.url());
    ledger_->Init();
    projects_ = std::make_unique<ProjectLedger>(db_.url());
    ledger_->AddAnalyst("researcher", "hospital", {}, false);
    ledger_->AddAnalyst("outsider", "hospital", {}, false);
    researcher_ = ledger_->FindAnalyst("researcher")->id;
    outsider_ = ledger_->FindAnalyst("outsider")->id;
  }

  Project Create(const std::string& name, const std::string& epsilon, BudgetPeriod renew,
                 const std::string& start = "2026-01-01", const std::string& last_day = "2027-03-31") {
    ProjectSpec spec{name, "hospital", Epsilon(epsilon), Day(start), Day(last_day) + std::chrono::hours(24),
                     renew};
    Project project = projects_->Create(spec, Day(start));
    EXPECT_TRUE(projects_->AddMember(name, "researcher"));
    return project;
  }

  int64_t Value(const std::string& sql) { return std::stoll(db_.QueryValue(sql)); }
  int64_t ProjectSpent(const std::string& name) {
    return Value("SELECT epsilon_spent FROM dpql.projects WHERE name = '" + name + "'");
  }
  int64_t ProjectTotal(const std::string& name) {
    return Value("SELECT epsilon_total FROM dpql.projects WHERE name = '" + name + "'");
  }
  int64_t Renewals() { return Value("SELECT count(*) FROM dpql.audit WHERE outcome = 'project_renewed'"); }
  int64_t DatasetSpent() {
    return Value("SELECT coalesce(sum(epsilon_spent), 0) FROM dpql.dataset_spend WHERE dataset = 'hospital'");
  }
  int64_t LedgerRows() { return Value("SELECT count(*) FROM dpql.ledger"); }

  TestDatabase db_;
  std::unique_ptr<Ledger> ledger_;
  std::unique_ptr<ProjectLedger> projects_;
  int64_t researcher_ = 0;
  int64_t outsider_ = 0;
};

// At the first debit after a month's boundary the project's budget is granted
// anew exactly once, however many debits race for it: 64 threads, each with
// its own connection, debit at 00:00:01 on 1 February.
TEST_F(ProjectLedgerTest, MonthlyRenewalHappensOnceUnder64ConcurrentDebits) {
  Create("sepsis", "5", BudgetPeriod::kMonth);
  const TimePoint january = At("2026-01-20T12:00:00Z");
  ASSERT_TRUE(projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("4.9"), "q1", {}, january).ok());
  // January's budget is spent: a further 0.2 is refused, and says when it renews.
  ProjectDebit refused = projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("0.2"), "q2", {}, january);
  EXPECT_EQ(refused.outcome, ProjectDebit::Outcome::kInsufficient);
  EXPECT_EQ(refused.project.RenewsOn(), "2026-02-01");
  EXPECT_EQ(Renewals(), 0);

  ManualClock clock(At("2026-02-01T00:00:01Z"));
  constexpr int kThreads = 64;
  std::latch start(kThreads);
  std::atomic<int> debited{0};
  std::atomic<int> failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      try {
        ProjectLedger own(db_.url());
        start.arrive_and_wait();
        ProjectDebit debit = own.Debit(researcher_, "sepsis", "hospital", Epsilon("0.05"),
                                       "q" + std::to_string(t), {}, clock.Now());
        (debit.ok() ? debited : failed).fetch_add(1);
      } catch (const std::exception&) {
        failed.fetch_add(1);
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(debited.load(), kThreads);
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(Renewals(), 1);
  // February's spend is exactly what was debited in February: 64 x 0.05.
  EXPECT_EQ(ProjectSpent("sepsis"), kThreads * 50000);
  EXPECT_EQ(Value("SELECT sum(epsilon) FROM dpql.ledger WHERE project_id IS NOT NULL"), 4900000 + kThreads * 50000);
  EXPECT_EQ(DatasetSpent(), 4900000 + kThreads * 50000);
  // Reads do not renew twice; the next month renews once more.
  EXPECT_EQ(projects_->ForAnalyst(researcher_, clock.Now()).at(0).spent.epsilon_micro, kThreads * 50000);
  EXPECT_EQ(Renewals(), 1);
  clock.Set(At("2026-03-02T09:00:00Z"));
  EXPECT_EQ(projects_->ForAnalyst(researcher_, clock.Now()).at(0).spent.epsilon_micro, 0);
  EXPECT_TRUE(projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("5"), "q", {}, clock.Now()).ok());
  EXPECT_EQ(Renewals(), 2);
}

// Every refusal is coded, names its cause, and charges nothing.
TEST_F(ProjectLedgerTest, RefusalsNameTheCauseAndChargeNothing) {
  Create("sepsis", "5", BudgetPeriod::kMonth);
  Create("later", "5", BudgetPeriod::kNone, "2026-06-01", "2026-12-31");
  Create("closing", "5", BudgetPeriod::kNone);
  ASSERT_TRUE(projects_->Close("closing", At("2026-02-10T10:00:00Z")));
  const int64_t rows = LedgerRows();
  std::string message;
  auto debit = [&](int64_t analyst, const std::string& project, const std::string& at) {
    return CodeOf([&] { (void)projects_->Debit(analyst, project, "hospital", Epsilon("1"), "q", {}, At(at)); },
                  &message);
  };
  EXPECT_EQ(debit(outsider_, "sepsis", "2026-03-01T10:00:00Z"), "not_project_member");
  EXPECT_NE(message.find("not a member of project 'sepsis'"), std::string::npos) << message;
  EXPECT_EQ(debit(researcher_, "closing", "2026-03-01T10:00:00Z"), "project_closed");
  EXPECT_NE(message.find("closed on 2026-02-10"), std::string::npos) << message;
  EXPECT_EQ(debit(researcher_, "later", "2026-05-31T23:59:59Z"), "project_not_started");
  EXPECT_NE(message.find("starts on 2026-06-01"), std::string::npos) << message;
  EXPECT_EQ(debit(researcher_, "sepsis", "2027-04-01T00:00:00Z"), "project_ended");
  EXPECT_NE(message.find("ended on 2027-03-31"), std::string::npos) << message;
  EXPECT_EQ(debit(researcher_, "nonesuch", "2026-03-01T10:00:00Z"), "unknown_project");
  EXPECT_EQ(CodeOf([&] { (void)projects_->Debit(researcher_, "sepsis", "other", Epsilon("1"), "q", {},
                                                At("2026-03-01T10:00:00Z")); }),
            "unknown_project");
  EXPECT_EQ(LedgerRows(), rows);
  EXPECT_EQ(ProjectSpent("sepsis"), 0);
  EXPECT_EQ(DatasetSpent(), 0);
  // Its last moment still pays (negative control for the end date).
  EXPECT_TRUE(
      projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("1"), "q", {}, At("2027-03-31T23:59:59Z")).ok());
}

// A declined request changes no budget; an approved one adds exactly what was asked.
TEST_F(ProjectLedgerTest, DeclinedRequestChangesNothingApprovedAddsExactly) {
  Create("sepsis", "5", BudgetPeriod::kMonth);
  const TimePoint now = At("2026-03-01T10:00:00Z");
  const std::string budgets_before = db_.QueryValue("SELECT string_agg(epsilon_total::text, ',' ORDER BY "
                                                    "analyst_id) FROM dpql.budgets");
  BudgetRequest declined = projects_->File(researcher_, "sepsis", "", Epsilon("1.5"), "more cohorts", now);
  EXPECT_EQ(declined.status, "pending");
  EXPECT_EQ(declined.dataset, "hospital");
  projects_->Decline(declined.id, "guardian", "not this quarter", now);
  EXPECT_EQ(ProjectTotal("sepsis"), 5000000);
  EXPECT_EQ(db_.QueryValue("SELECT string_agg(epsilon_total::text, ',' ORDER BY analyst_id) FROM dpql.budgets"),
            budgets_before);
  EXPECT_EQ(CodeOf([&] { projects_->Approve(declined.id, "guardian", now); }), "request_decided");
  EXPECT_EQ(ProjectTotal("sepsis"), 5000000);

  BudgetRequest approved = projects_->File(researcher_, "sepsis", "", Epsilon("1.234567"), "sensitivity", now);
  projects_->Approve(approved.id, "guardian", now);
  EXPECT_EQ(ProjectTotal("sepsis"), 5000000 + 1234567);
  // A personal request adds to the analyst's own budget on the dataset.
  BudgetRequest own = projects_->File(researcher_, "", "hospital", Epsilon("0.75"), "pilot", now);
  projects_->Approve(own.id, "guardian", now);
  EXPECT_EQ(ledger_->GetBudget(researcher_, "hospital")->total.epsilon_micro, 750000);
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.audit WHERE outcome IN ('request_filed', 'request_approved', "
                  "'request_declined')"),
            6);
  // Only members ask for a project's budget; justifications are bounded.
  EXPECT_EQ(CodeOf([&] { projects_->File(outsider_, "sepsis", "", Epsilon("1"), "me too", now); }),
            "not_project_member");
  EXPECT_EQ(CodeOf([&] { projects_->File(researcher_, "sepsis", "", Epsilon("1"), std::string(2001, 'x'), now); }),
            "justification_too_long");
  EXPECT_EQ(CodeOf([&] { projects_->File(researcher_, "sepsis", "", Epsilon("1"), "", now); }),
            "invalid_parameter");
  EXPECT_EQ(projects_->Requests(researcher_, true).size(), 0u);
  EXPECT_EQ(projects_->Requests(std::nullopt, false).size(), 3u);
}

// A periodic dataset-wide cap refuses past the cap within a period — whoever
// pays, an analyst or a project — and allows again in the next period.
TEST_F(ProjectLedgerTest, PeriodicCapRefusesWithinAPeriodAndAllowsInTheNext) {
  Create("sepsis", "5", BudgetPeriod::kMonth);
  ledger_->Grant("outsider", "hospital", Epsilon("10"));
  BudgetCap cap;
  cap.epsilon_micro = 1000000;  // epsilon 1 per month over all accounts
  cap.period = BudgetPeriod::kMonth;
  auto at = [&](const std::string& when) {
    BudgetCap c = cap;
    c.period_start = PeriodStart(cap.period, At(when));
    return c;
  };
  EXPECT_TRUE(ledger_->Debit(outsider_, "hospital", Epsilon("0.6"), "q", at("2026-03-05T10:00:00Z")).ok());
  EXPECT_TRUE(ledger_->Debit(outsider_, "hospital", Epsilon("0.6"), "q", at("2026-03-06T10:00:00Z")).cap_refused());
  EXPECT_EQ(projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("0.6"), "q", at("2026-03-07T10:00:00Z"),
                             At("2026-03-07T10:00:00Z"))
                .outcome,
            ProjectDebit::Outcome::kCapRefused);
  EXPECT_EQ(ProjectSpent("sepsis"), 0);
  // The next month: the cap allows again, for the project and the analyst.
  EXPECT_TRUE(projects_->Debit(researcher_, "sepsis", "hospital", Epsilon("0.6"), "q", at("2026-04-01T00:00:00Z"),
                               At("2026-04-01T00:00:00Z"))
                  .ok());
  EXPECT_TRUE(ledger_->Debit(outsider_, "hospital", Epsilon("0.4"), "q", at("2026-04-02T10:00:00Z")).ok());
  EXPECT_TRUE(ledger_->Debit(outsider_, "hospital", Epsilon("0.1"), "q", at("2026-04-02T11:00:00Z")).cap_refused());
  // Negative control: the same cap over the dataset's life refuses in April too.
  BudgetCap lifetime = cap;
  lifetime.period = BudgetPeriod::kNone;
  EXPECT_TRUE(ledger_->Debit(outsider_, "hospital", Epsilon("0.1"), "q", lifetime).cap_refused());
  EXPECT_EQ(DatasetSpent(), 1600000);
}

// ---------------------------------------------------------------------------
// A real dpqld with a test clock.

class ProjectServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_project_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(2000);
    Admin("init");
    SetClock("2027-03-31T12:00:00Z");
  }
  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Admin(const std::string& args, int expect = 0) {
    int code = -1;
    std::string out = RunAdmin(db_.url(), args, &code);
    EXPECT_EQ(code, expect) << args << "\n" << out;
    return out;
  }
  void SetClock(const std::string& at) {
    std::ofstream out(dir_ / "clock");
    out << at << "\n";
  }
  void Start() {
    std::ofstream(dir_ / "dpqld.yaml")
        << DpqldConfigBase(db_.url(), SourceDir() + "/examples/hospital/catalog.yaml");
    server_ = std::make_unique<DpqldProcess>(DpqldOptions{.config = (dir_ / "dpqld.yaml").string(),
                                                          .log_path = (dir_ / "dpqld.log").string(),
                                                          .extra_args = {"--test-clock", (dir_ / "clock").string()}});
    ASSERT_TRUE(server_->started()) << server_->log();
  }
  Reply Query(const std::string& token, const std::string& query, const std::string& project = "") {
    Request request;
    request.method = "POST";
    request.target = "/v1/query";
    request.token = token;
    request.body = json{{"query", query}}.dump();
    if (!project.empty()) request.headers["DPQL-Project"] = project;
    return Call(server_->port(), request);
  }
  int64_t Value(const std::string& sql) { return std::stoll(db_.QueryValue(sql)); }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::filesystem::path dir_;
  std::unique_ptr<DpqldProcess> server_;
};

TEST_F(ProjectServerTest, QueriesStopAtTheEndDateAndRequestsGoThroughTheGuardian) {
  Admin("project create sepsis --dataset hospital --epsilon 5 --start 2026-01-01 --end 2027-03-31 --renew month");
  Admin("project create audit-2027 --dataset hospital --epsilon 2 --start 2027-01-01 --end 2027-12-31");
  // A researcher with no budget of their own: their only project pays.
  const std::string researcher = AddAnalystToken(db_.url(), "researcher --dataset hospital --epsilon 0");
  const std::string outsider = AddAnalystToken(db_.url(), "outsider --dataset hospital --epsilon 1");
  Admin("project add-member sepsis researcher");
  Start();

  Reply answered = Query(researcher, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)");
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.doc["budget"]["project"], "sepsis");
  EXPECT_EQ(answered.doc["budget"]["ends_on"], "2027-03-31");
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.projects WHERE name = 'sepsis'"), 500000);
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.ledger l JOIN dpql.projects p ON p.id = l.project_id "
                  "WHERE p.name = 'sepsis'"),
            1);
  // Not a member: named or not, refused.
  Reply outsider_named = Query(outsider, "SELECT COUNT(*) FROM admissions", "sepsis");
  EXPECT_EQ(outsider_named.status, 403) << outsider_named.body;
  EXPECT_EQ(outsider_named.doc["error"]["code"], "not_project_member");
  // Two projects and no choice: refused, listing both; naming one pays from it.
  Admin("project add-member audit-2027 researcher");
  Reply ambiguous = Query(researcher, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.25)");
  EXPECT_EQ(ambiguous.status, 403) << ambiguous.body;
  EXPECT_EQ(ambiguous.doc["error"]["code"], "project_required");
  EXPECT_NE(ambiguous.body.find("audit-2027"), std::string::npos) << ambiguous.body;
  Reply named = Query(researcher, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.25)", "audit-2027");
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.projects WHERE name = 'audit-2027'"), 250000);
  Admin("project close audit-2027");
  Reply closed = Query(researcher, "SELECT COUNT(*) FROM bed_days", "audit-2027");
  EXPECT_EQ(closed.status, 403) << closed.body;
  EXPECT_EQ(closed.doc["error"]["code"], "project_closed");

  Reply budget = Get(server_->port(), "/v1/budget", researcher);
  ASSERT_EQ(budget.status, 200) << budget.body;
  ASSERT_EQ(budget.doc["projects"].size(), 2u) << budget.body;
  EXPECT_EQ(budget.doc["projects"][1]["project"], "sepsis");
  EXPECT_EQ(budget.doc["projects"][1]["ends_on"], "2027-03-31");
  // March is its last month: no renewal to come.
  EXPECT_TRUE(budget.doc["projects"][1]["renews_on"].is_null()) << budget.body;
  EXPECT_EQ(budget.doc["projects"][1]["status"], "open");
  EXPECT_EQ(budget.doc["projects"][0]["status"], "closed");

  // After the end date: refused, naming the date; nothing charged.
  SetClock("2027-04-01T00:00:01Z");
  const int64_t dataset_spent = Value("SELECT epsilon_spent FROM dpql.dataset_spend WHERE dataset = 'hospital'");
  Reply ended = Query(researcher, "SELECT sex, COUNT(*) FROM admissions GROUP BY sex", "sepsis");
  EXPECT_EQ(ended.status, 403) << ended.body;
  EXPECT_EQ(ended.doc["error"]["code"], "project_ended");
  EXPECT_NE(ended.doc["error"]["message"].get<std::string>().find("ended on 2027-03-31"), std::string::npos);
  Reply ended_default = Query(researcher, "SELECT COUNT(*) FROM bed_days WITH PRIVACY (epsilon = 0.5)");
  EXPECT_EQ(ended_default.doc["error"]["code"], "project_ended") << ended_default.body;
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.projects WHERE name = 'sepsis'"), 500000);
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.dataset_spend WHERE dataset = 'hospital'"), dataset_spent);

  // Budget requests: filed over HTTP, decided by the guardian.
  Admin("project extend sepsis --end 2027-06-30");
  Request file;
  file.method = "POST";
  file.target = "/v1/budget-requests";
  file.token = researcher;
  file.body = R"({"project": "sepsis", "epsilon": 2.5, "justification": "a second cohort"})";
  Reply filed = Call(server_->port(), file);
  ASSERT_EQ(filed.status, 201) << filed.body;
  const int64_t first = filed.doc["request"]["id"].get<int64_t>();
  file.body = R"({"project": "sepsis", "epsilon": "0.5", "justification": "a sensitivity analysis"})";
  Reply filed_again = Call(server_->port(), file);
  ASSERT_EQ(filed_again.status, 201) << filed_again.body;
  const int64_t second = filed_again.doc["request"]["id"].get<int64_t>();
  Admin("request decline " + std::to_string(first) + " --reason 'too much for one month'");
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'sepsis'"), 5000000);
  Admin("request approve " + std::to_string(second));
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'sepsis'"), 5500000);
  Admin("request approve " + std::to_string(second), 1);
  Reply mine = Get(server_->port(), "/v1/budget-requests", researcher);
  ASSERT_EQ(mine.status, 200) << mine.body;
  ASSERT_EQ(mine.doc["requests"].size(), 2u);
  EXPECT_EQ(mine.doc["requests"][0]["status"], "approved");
  EXPECT_EQ(mine.doc["requests"][1]["status"], "declined");
  EXPECT_EQ(mine.doc["requests"][1]["reason"], "too much for one month");
  // Extended, the project pays again from April's budget: renewed once for
  // March (its first use) and once for April.
  Reply extended = Query(researcher, "SELECT sex, COUNT(*) FROM admissions GROUP BY sex", "sepsis");
  EXPECT_EQ(extended.status, 200) << extended.body;
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.projects WHERE name = 'sepsis'"), 1000000);
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.audit WHERE outcome = 'project_renewed'"), 2);
  std::string list = Admin("project list");
  EXPECT_NE(list.find("2027-06-30"), std::string::npos) << list;
}

}  // namespace
}  // namespace dpql

namespace dpql {
namespace {

// The guardian's HTTP routes the console's guardian page uses: each action
// changes the ledger exactly as the CLI's would, is audited, and is refused
// to an analyst who is not an administrator.
TEST_F(ProjectServerTest, GuardianRoutesCreateManageAndDecide) {
  Start();
  const std::string guardian = AddAnalystToken(db_.url(), "guardian --dataset hospital --epsilon 1 --admin");
  const std::string researcher = AddAnalystToken(db_.url(), "researcher --dataset hospital --epsilon 0");
  auto post = [&](const std::string& token, const std::string& target, const json& body) {
    Request request;
    request.method = "POST";
    request.target = target;
    request.token = token;
    request.body = body.dump();
    return Call(server_->port(), request);
  };
  const json create = {{"action", "create"}, {"project", "trial"},     {"dataset", "hospital"},
                       {"epsilon", "2"},     {"start", "2027-01-01"}, {"end", "2027-06-30"},
                       {"renew", "month"}};
  // Not an administrator: refused, nothing created.
  Reply refused = post(researcher, "/v1/admin/projects", create);
  EXPECT_EQ(refused.status, 403) << refused.body;
  EXPECT_EQ(Get(server_->port(), "/v1/admin/projects", researcher).status, 403);
  EXPECT_EQ(Value("SELECT count(*) FROM dpql.projects"), 0);

  Reply created = post(guardian, "/v1/admin/projects", create);
  ASSERT_EQ(created.status, 200) << created.body;
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'trial'"), 2'000'000);
  ASSERT_EQ(post(guardian, "/v1/admin/projects",
                 {{"action", "add-member"}, {"project", "trial"}, {"analyst", "researcher"}})
                .status,
            200);
  // The member's query is paid by the project.
  Reply answered = Query(researcher, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)", "trial");
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(Value("SELECT epsilon_spent FROM dpql.projects WHERE name = 'trial'"), 500'000);

  // Extended: a later last day, and more budget.
  ASSERT_EQ(post(guardian, "/v1/admin/projects",
                 {{"action", "extend"}, {"project", "trial"}, {"end", "2027-12-31"}, {"epsilon", "1"}})
                .status,
            200);
  EXPECT_EQ(db_.QueryValue("SELECT (ends_at AT TIME ZONE 'UTC')::date FROM dpql.projects WHERE name = 'trial'"),
            "2028-01-01");
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'trial'"), 3'000'000);

  // Two requests: one approved (adds exactly what was asked), one declined
  // (needs a reason; changes nothing).
  auto file = [&](const std::string& epsilon) {
    Reply filed = post(researcher, "/v1/budget-requests",
                       {{"project", "trial"}, {"epsilon", epsilon}, {"justification", "second cohort"}});
    EXPECT_EQ(filed.status, 201) << filed.body;
    return filed.doc["request"]["id"].get<int64_t>();
  };
  const int64_t approve = file("0.5"), decline = file("4");
  Reply listed = Get(server_->port(), "/v1/admin/projects", guardian);
  ASSERT_EQ(listed.status, 200) << listed.body;
  ASSERT_EQ(listed.doc["projects"].size(), 1u);
  EXPECT_EQ(listed.doc["projects"][0]["members"], json::array({"researcher"}));
  EXPECT_EQ(listed.doc["requests"].size(), 2u);
  ASSERT_EQ(post(guardian, "/v1/admin/budget-requests", {{"id", approve}, {"decision", "approve"}}).status, 200);
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'trial'"), 3'500'000);
  Reply no_reason = post(guardian, "/v1/admin/budget-requests", {{"id", decline}, {"decision", "decline"}});
  EXPECT_EQ(no_reason.status, 400) << no_reason.body;
  Reply declined = post(guardian, "/v1/admin/budget-requests",
                        {{"id", decline}, {"decision", "decline"}, {"reason", "over the study's approval"}});
  ASSERT_EQ(declined.status, 200) << declined.body;
  EXPECT_EQ(declined.doc["request"]["status"], "declined");
  EXPECT_EQ(Value("SELECT epsilon_total FROM dpql.projects WHERE name = 'trial'"), 3'500'000);
  EXPECT_EQ(post(guardian, "/v1/admin/budget-requests", {{"id", approve}, {"decision", "approve"}}).status,
            409);  // decided already

  // Bad input: a clear refusal, nothing changed.
  EXPECT_EQ(post(guardian, "/v1/admin/projects", {{"action", "rename"}, {"project", "trial"}}).status, 400);
  EXPECT_EQ(post(guardian, "/v1/admin/projects", {{"action", "create"}, {"project", "x"}, {"start", "soon"}}).status,
            400);
  EXPECT_EQ(post(guardian, "/v1/admin/projects", {{"action", "close"}, {"project", "nope"}}).status, 404);

  // Removed, then closed: the project pays for nothing more.
  ASSERT_EQ(post(guardian, "/v1/admin/projects",
                 {{"action", "remove-member"}, {"project", "trial"}, {"analyst", "researcher"}})
                .status,
            200);
  ASSERT_EQ(post(guardian, "/v1/admin/projects", {{"action", "close"}, {"project", "trial"}}).status, 200);
  EXPECT_EQ(db_.QueryValue("SELECT closed_at IS NOT NULL FROM dpql.projects WHERE name = 'trial'"), "t");
  EXPECT_GE(Value("SELECT count(*) FROM dpql.audit WHERE source = 'POST /v1/admin/projects' AND status = 200"), 5);
}

}  // namespace
}  // namespace dpql
