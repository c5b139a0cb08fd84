// Runtime failures and readiness (docs/PRIVACY.md, "Failures and timeouts";
// docs/API.md, "GET /readyz"), against a real PostgreSQL and a real dpqld:
//
// - A query whose SQL fails in PostgreSQL after its debit — whatever the
//   SQLSTATE, a statement timeout included — gets one status, code and
//   message, only after the statement timeout, and is charged; the server log
//   (never the response or the audit row) has the SQLSTATE, PostgreSQL's
//   message and the audit row's id.
// - A table the server's role cannot read (the demo data reloaded under a
//   running server, which drops its grants; a renamed column) makes
//   GET /readyz say which, and its queries are refused with 503 not_ready
//   before the debit, at no cost; once the grant is back, everything works.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "runtime/pg/database_errors.h"
#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr const char* kPassword = "failure-policy-test-password";
constexpr int kTimeoutMs = 1500;  // the servers' statement timeout
// A failure is answered the statement timeout plus one second (Executor::
// kFailureGrace) after its SQL was sent; allow that much again for a busy machine.
constexpr auto kFailureAnsweredAt = std::chrono::milliseconds(kTimeoutMs) + 1000ms;
constexpr auto kSlack = 1500ms;

class FailurePolicyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const std::string suffix = std::to_string(getpid()) + "_" + std::to_string(counter_);
    dir_ = std::filesystem::temp_directory_path() / ("dpql_failure_policy_test_" + suffix);
    role_ = "dpqld_fp_" + std::to_string(getpid()) + "_" + std::to_string(counter_++);
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(2000);
    db_.Exec("CREATE ROLE " + role_ + " LOGIN PASSWORD '" + kPassword + "'");
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
  }

  void TearDown() override {
    server_.reset();
    db_.Exec("DROP OWNED BY " + role_ + "; DROP ROLE " + role_);
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Admin(const std::string& args, int* code) { return RunAdmin(db_.url(), args, code); }

  // The same database as the restricted role dpqld runs as (later keywords win).
  std::string RoleUrl() const { return db_.url() + " user=" + role_ + " password=" + kPassword; }

  // The demo catalog plus `extra_tables` (YAML under hospital's `tables:`).
  std::string WriteCatalog(const std::string& extra_tables) {
    std::ifstream in(SourceDir() + "/examples/hospital/catalog.yaml");
    std::stringstream catalog;
    catalog << in.rdbuf() << extra_tables;
    std::ofstream((dir_ / "catalog.yaml")) << catalog.str();
    return (dir_ / "catalog.yaml").string();
  }

  void GrantRole(const std::string& catalog) {
    int code = 0;
    std::string out = Admin("grant-role " + role_ + " --catalog " + ShellQuote(catalog), &code);
    ASSERT_EQ(code, 0) << out;
  }

  std::string AddAnalyst(const std::string& name, double epsilon) {
    std::ostringstream args;
    args << name << " --dataset hospital --epsilon " << epsilon;
    return AddAnalystToken(db_.url(), args.str());
  }

  // Starts dpqld as the restricted role.
  void Start(const std::string& catalog) {
    std::ofstream(dir_ / "dpqld.yaml")
        << "listen: 127.0.0.1:8765\ncatalog: \"" << catalog
        << "\"\nthreads: 2\ndb_pool: 4\nstatement_timeout_ms: " << kTimeoutMs << "\n";
    server_ = std::make_unique<DpqldProcess>(DpqldOptions{.config = (dir_ / "dpqld.yaml").string(),
                                                          .log_path = (dir_ / "dpqld.log").string(),
                                                          .extra_args = {"--database", RoleUrl()}});
    ASSERT_TRUE(server_->started()) << server_->log();
  }

  Reply Query(const std::string& token, const std::string& query) {
    return PostBody(server_->port(), token, json{{"query", query}}.dump());
  }

  // The analyst's spent epsilon, in micro-epsilon, and their ledger rows.
  int64_t SpentMicro(const std::string& analyst) {
    return std::stoll(
        db_.QueryValue("SELECT coalesce(sum(b.epsilon_spent), 0) FROM dpql.budgets b JOIN dpql.analysts a "
                       "ON a.id = b.analyst_id WHERE a.name = '" +
                       analyst + "'"));
  }
  int LedgerRows(const std::string& analyst) {
    return std::stoi(
        db_.QueryValue("SELECT count(*) FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
                       "WHERE a.name = '" +
                       analyst + "'"));
  }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::filesystem::path dir_;
  std::string role_;
  std::unique_ptr<DpqldProcess> server_;
};

// libpqxx 6.4 throws insufficient_privilege without its SQLSTATE: the reason
// the server log used to say "(SQLSTATE )" after a reload. SqlStateOf reads
// it from the exception's type.
TEST_F(FailurePolicyTest, PermissionDeniedHasItsSqlstateInTheLog) {
  db_.Exec("REVOKE ALL ON admissions FROM " + role_);
  pqxx::connection connection(RoleUrl());
  try {
    pqxx::nontransaction txn(connection);
    txn.exec("SELECT count(*) FROM admissions");
    FAIL() << "the role could read admissions";
  } catch (const pqxx::sql_error& error) {
    EXPECT_EQ(error.sqlstate(), "") << "libpqxx now reports it: SqlStateOf's fallback is moot";
    EXPECT_EQ(SqlStateOf(error), "42501");
    const std::string log = DescribeForLog(error);
    EXPECT_EQ(log.rfind("SQLSTATE 42501: ", 0), 0u) << log;
    EXPECT_NE(log.find("permission denied for table admissions"), std::string::npos) << log;
    EXPECT_EQ(log.find('\n'), std::string::npos) << log;
  }
}

// Views that fail on one real patient's row, each with its own SQLSTATE
// (never at plan time: every failing expression depends on the row), and a
// slow one that runs into the statement timeout.
TEST_F(FailurePolicyTest, EveryRuntimeFailureGetsOneAnswerAfterTheTimeoutAndIsCharged) {
  const std::string patient = db_.QueryValue("SELECT min(patient_id) FROM admissions");
  auto failing_view = [&](const std::string& name, const std::string& expression) {
    db_.Exec("CREATE VIEW " + name + " AS SELECT CASE WHEN patient_id = '" + patient + "' THEN (" +
             expression + ")::text ELSE patient_id END AS patient_id, age FROM admissions");
  };
  failing_view("fails_division", "1 / (age - age)");            // 22012
  failing_view("fails_overflow", "(age + 2147483000) * 1000");  // 22003
  failing_view("fails_cast", "patient_id::int");                // 22P02, quotes the value
  db_.Exec(
      "CREATE FUNCTION fp_test_sleep(seconds float8) RETURNS boolean LANGUAGE plpgsql AS "
      "$$ BEGIN PERFORM pg_sleep(seconds); RETURN true; END $$;"
      "CREATE VIEW fails_slowly AS SELECT patient_id, age FROM admissions "
      "WHERE (SELECT fp_test_sleep(10));");  // 57014
  const std::vector<std::pair<std::string, std::string>> views = {{"fails_division", "22012"},
                                                                  {"fails_overflow", "22003"},
                                                                  {"fails_cast", "22P02"},
                                                                  {"fails_slowly", "57014"}};
  std::string tables;
  for (const auto& [view, sqlstate] : views) {
    tables += "      " + view +
              ":\n        private: true\n        columns:\n"
              "          patient_id: { type: text }\n"
              "          age:        { type: int, lower: 0, upper: 110 }\n";
  }
  const std::string catalog = WriteCatalog(tables);
  GrantRole(catalog);
  Start(catalog);
  const std::string token = AddAnalyst("ida", 5);
  // The views are readable: no probe refuses them.
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 200);

  // All four at once, each timed from its send.
  std::vector<Reply> replies(views.size());
  std::vector<std::chrono::steady_clock::duration> took(views.size());
  std::vector<std::thread> clients;
  for (size_t i = 0; i < views.size(); ++i) {
    clients.emplace_back([&, i] {
      const auto start = std::chrono::steady_clock::now();
      replies[i] = Query(token, "SELECT COUNT(*) FROM " + views[i].first + " WITH PRIVACY (epsilon = 0.1)");
      took[i] = std::chrono::steady_clock::now() - start;
    });
  }
  for (auto& client : clients) client.join();

  std::set<std::string> bodies;
  for (size_t i = 0; i < views.size(); ++i) {
    SCOPED_TRACE(views[i].first);
    EXPECT_EQ(replies[i].status, 500) << replies[i].body;
    EXPECT_EQ(replies[i].doc["error"]["code"], "query_failed") << replies[i].body;
    EXPECT_GE(took[i], kFailureAnsweredAt);
    EXPECT_LT(took[i], kFailureAnsweredAt + kSlack);
    bodies.insert(replies[i].body);
    // Nothing of the data or of PostgreSQL's text.
    EXPECT_EQ(replies[i].body.find(patient), std::string::npos) << replies[i].body;
    EXPECT_EQ(replies[i].body.find("SQLSTATE"), std::string::npos) << replies[i].body;
    EXPECT_EQ(replies[i].body.find(views[i].second), std::string::npos) << replies[i].body;
  }
  EXPECT_EQ(bodies.size(), 1u) << "the four failures were told apart";

  // Charged: the debit came first.
  EXPECT_EQ(SpentMicro("ida"), 4 * 100000);
  EXPECT_EQ(LedgerRows("ida"), 4);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE analyst_name = 'ida' AND "
                           "outcome = 'query_failed' AND status = 500 AND epsilon = 100000 AND "
                           "detail LIKE '%(charged: ledger %' AND detail NOT LIKE '%SQLSTATE%' "
                           "AND detail NOT LIKE '%" +
                           patient + "%'"),
            "4");

  // The administrator's log: each SQLSTATE with PostgreSQL's message, the
  // ledger row and the audit row.
  const std::string log = server_->log();
  for (const auto& [view, sqlstate] : views) {
    std::regex line("POST /v1/query: query_failed: SQLSTATE " + sqlstate +
                    ": [^\n]*\\(charged: ledger [0-9]+\\) \\[audit [0-9]+\\]");
    EXPECT_TRUE(std::regex_search(log, line)) << sqlstate << "\n" << log;
  }
  const std::string quoted = "invalid input syntax for type integer: \"" + patient + "\"";
  EXPECT_NE(log.find(quoted), std::string::npos) << log;
  EXPECT_NE(log.find("division by zero"), std::string::npos) << log;

  // The same queries on data without the failing row are answered.
  db_.Exec("DELETE FROM admissions WHERE patient_id = '" + patient + "'");
  Reply fine = Query(token, "SELECT COUNT(*) FROM fails_cast WITH PRIVACY (epsilon = 0.1)");
  EXPECT_EQ(fine.status, 200) << fine.body;
}

// The demo's reload (examples/hospital/load.sh recreates the tables, so the
// role's grants are gone) under a running server, then a renamed column.
TEST_F(FailurePolicyTest, ReloadUnderARunningServerIsNotReadyAndFreeUntilTheGrantIsBack) {
  const std::string catalog = WriteCatalog("");
  GrantRole(catalog);
  Start(catalog);
  const std::string token = AddAnalyst("jon", 5);
  const uint16_t port = server_->port();
  Reply ready = Get(port, "/readyz");
  EXPECT_EQ(ready.status, 200) << ready.body;
  EXPECT_EQ(ready.doc, json({{"status", "ready"}}));
  const std::string count = "SELECT COUNT(*) FROM admissions WITH PRIVACY ";
  ASSERT_EQ(Query(token, count + "(epsilon = 0.1)").status, 200);
  ASSERT_EQ(SpentMicro("jon"), 100000);

  db_.LoadHospital(1000);

  Reply not_ready = Get(port, "/readyz");
  EXPECT_EQ(not_ready.status, 503) << not_ready.body;
  EXPECT_EQ(not_ready.doc["status"], "not_ready") << not_ready.body;
  EXPECT_EQ(not_ready.doc["error"]["code"], "not_ready") << not_ready.body;
  std::set<std::string> unreadable;
  for (const json& table : not_ready.doc["tables"]) {
    unreadable.insert(table["table"].get<std::string>());
    EXPECT_EQ(table["dataset"], "hospital");
    EXPECT_EQ(table["sqlstate"], "42501") << table;
    EXPECT_NE(table["problem"].get<std::string>().find("grant-role"), std::string::npos) << table;
  }
  EXPECT_EQ(unreadable, (std::set<std::string>{"admissions", "wards", "bed_days"})) << not_ready.body;
  EXPECT_EQ(Get(port, "/healthz").status, 200);  // alive: only readiness says why queries fail

  // An answer released before is still served (from the answer cache: it
  // reads no table), free as ever.
  Reply cached = Query(token, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)");
  EXPECT_EQ(cached.status, 200) << cached.body;
  EXPECT_EQ(cached.doc["cached"], true) << cached.body;

  // A new query is refused before the debit: nothing spent, no ledger row;
  // the same answer whatever the query.
  Reply refused = Query(token, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.3)");
  Reply refused_too = Query(token, "SELECT AVG(age) FROM admissions WHERE age > 50");
  for (const Reply& reply : {refused, refused_too}) {
    EXPECT_EQ(reply.status, 503) << reply.body;
    EXPECT_EQ(reply.doc["error"]["code"], "not_ready") << reply.body;
    EXPECT_NE(reply.doc["error"]["message"].get<std::string>().find("nothing was spent"), std::string::npos)
        << reply.body;
  }
  EXPECT_EQ(refused.body, refused_too.body);
  EXPECT_EQ(SpentMicro("jon"), 100000);
  EXPECT_EQ(LedgerRows("jon"), 1);
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE analyst_name = 'jon' AND "
                           "outcome = 'not_ready' AND status = 503 AND epsilon = 0"),
            "2");
  // The administrator's log has the SQLSTATE and PostgreSQL's message.
  std::regex logged(
      "POST /v1/query: not_ready: dataset hospital: SQLSTATE 42501: [^\n]*permission "
      "denied for [^\n]*\\[audit [0-9]+\\]");
  EXPECT_TRUE(std::regex_search(server_->log(), logged)) << server_->log();

  // The grant back: ready, answered and charged again.
  GrantRole(catalog);
  EXPECT_EQ(Get(port, "/readyz").status, 200);
  Reply answered = Query(token, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.3)");
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(SpentMicro("jon"), 400000);

  // A column the catalog names, renamed: /readyz names the column.
  db_.Exec("ALTER TABLE admissions RENAME COLUMN age TO age_years");
  Reply renamed = Get(port, "/readyz");
  EXPECT_EQ(renamed.status, 503) << renamed.body;
  ASSERT_EQ(renamed.doc["tables"].size(), 1u) << renamed.body;
  EXPECT_EQ(renamed.doc["tables"][0]["table"], "admissions") << renamed.body;
  EXPECT_EQ(renamed.doc["tables"][0]["sqlstate"], "42703") << renamed.body;
  EXPECT_EQ(renamed.doc["tables"][0]["columns"], json::array({"age"})) << renamed.body;
  EXPECT_EQ(Query(token, count + "(epsilon = 0.2)").status, 503);
  EXPECT_EQ(SpentMicro("jon"), 400000);
  db_.Exec("ALTER TABLE admissions RENAME COLUMN age_years TO age");
  EXPECT_EQ(Get(port, "/readyz").status, 200);
  EXPECT_EQ(Query(token, count + "(epsilon = 0.2)").status, 200);
  EXPECT_EQ(SpentMicro("jon"), 600000);
}

// A server started before its tables are readable serves, says so in its
// log, and refuses their queries at no cost.
TEST_F(FailurePolicyTest, ServerStartedBeforeItsGrantSaysSoAndChargesNothing) {
  const std::string catalog = WriteCatalog("");
  GrantRole(catalog);
  db_.Exec("REVOKE ALL ON bed_days FROM " + role_);
  Start(catalog);
  const std::string token = AddAnalyst("kim", 5);
  EXPECT_NE(server_->log().find("not ready"), std::string::npos) << server_->log();
  EXPECT_NE(server_->log().find("hospital.bed_days: SQLSTATE 42501"), std::string::npos) << server_->log();
  Reply readyz = Get(server_->port(), "/readyz");
  EXPECT_EQ(readyz.status, 503) << readyz.body;
  EXPECT_EQ(readyz.doc["tables"].size(), 1u) << readyz.body;
  Reply refused = Query(token, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)");
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_EQ(SpentMicro("kim"), 0);
}

}  // namespace
}  // namespace dpql
