// `dpqld admin grant-role`: the PostgreSQL role dpqld connects as can read the
// catalog's tables and write the dpql ledger, and nothing else. Everything is
// checked by connecting AS that role to a real PostgreSQL, and by a real
// `dpqld serve` running as it.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <pqxx/pqxx>
#include <regex>
#include <sstream>
#include <string>
#include <thread>

#include "compiler/common/error.h"
#include "runtime/ledger/ledger.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using namespace std::chrono_literals;

constexpr const char* kPassword = "lp-test-password";

class LeastPrivilegeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    role_ = "dpqld_lp_" + std::to_string(getpid()) + "_" + std::to_string(counter_++);
    db_.LoadHospital(2000);
    db_.Exec("CREATE ROLE " + role_ + " LOGIN PASSWORD '" + kPassword +
             "';"
             "CREATE TABLE secret_notes (patient_id text, note text);"
             "INSERT INTO secret_notes VALUES ('p1', 'not declared in the catalog');");
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
    out = Admin("grant-role " + role_ + " --catalog " + ShellQuote(Catalog()), &code);
    ASSERT_EQ(code, 0) << out;
  }

  void TearDown() override {
    // The role's privileges live in this database only; drop them, then it.
    db_.Exec("DROP OWNED BY " + role_ + "; DROP ROLE " + role_);
  }

  static std::string Catalog() { return SourceDir() + "/examples/hospital/catalog.yaml"; }

  std::string Admin(const std::string& args, int* code) {
    return RunCommand(
        ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(db_.url()) + " " + args, code);
  }

  // The same database, logged in as the restricted role (later keywords win).
  std::string RoleUrl() const { return db_.url() + " user=" + role_ + " password=" + kPassword; }

  // Runs `sql` as the role: "" when it succeeded, else the error message.
  std::string AsRole(const std::string& sql) {
    pqxx::connection connection(RoleUrl());
    pqxx::work txn(connection);
    try {
      txn.exec(sql);
      txn.commit();
      return "";
    } catch (const pqxx::sql_error& e) {
      return e.what();
    }
  }

  void ExpectDenied(const std::string& sql) {
    std::string outcome = AsRole(sql);
    // SQLSTATE 42501 (insufficient_privilege) reads "permission denied for
    // ..." or "must be owner of ..."; libpqxx 6.4 does not expose the code here.
    static const std::regex kDenied("ERROR: +(permission denied for|must be owner of) ");
    EXPECT_TRUE(std::regex_search(outcome, kDenied))
        << sql << " -> " << (outcome.empty() ? "succeeded" : outcome);
  }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::string role_;
};

TEST_F(LeastPrivilegeTest, RoleReadsTheCatalogTablesOnly) {
  EXPECT_EQ(AsRole("SELECT count(*) FROM admissions"), "");
  EXPECT_EQ(AsRole("SELECT count(*) FROM wards"), "");
  ExpectDenied("SELECT * FROM secret_notes");
}

TEST_F(LeastPrivilegeTest, RoleCannotChangeTheDataNorTheSchema) {
  ExpectDenied("INSERT INTO admissions (patient_id) VALUES ('x')");
  ExpectDenied("UPDATE admissions SET patient_id = patient_id");
  ExpectDenied("DELETE FROM wards");
  ExpectDenied("TRUNCATE admissions");
  ExpectDenied("TRUNCATE wards");
  ExpectDenied("DROP TABLE wards");
  ExpectDenied("CREATE TABLE public.planted (i int)");
  ExpectDenied("CREATE TABLE dpql.planted (i int)");
  ExpectDenied("DROP SCHEMA dpql CASCADE");
}

TEST_F(LeastPrivilegeTest, RoleCannotRewriteTheLedgerOrMintAnalysts) {
  ExpectDenied("DELETE FROM dpql.ledger");
  ExpectDenied("UPDATE dpql.ledger SET epsilon = 0");
  ExpectDenied("TRUNCATE dpql.audit");
  ExpectDenied("DELETE FROM dpql.budgets");
  ExpectDenied("INSERT INTO dpql.analysts (name, token_hash) VALUES ('mallory', '\\x00')");
  ExpectDenied("UPDATE dpql.analysts SET revoked_at = NULL");
  ExpectDenied("ALTER TABLE dpql.ledger DISABLE TRIGGER ALL");
  ExpectDenied("DELETE FROM dpql.answer_cache");
}

// The wire protocol's login reads an analyst's SCRAM verifier as the server's
// role; the role cannot replace one (that is `dpqld admin new-token`).
TEST_F(LeastPrivilegeTest, RoleReadsScramVerifiersButCannotChangeThem) {
  int code = 0;
  std::string out = Admin("add-analyst ada --dataset hospital --epsilon 1", &code);
  ASSERT_EQ(code, 0) << out;
  Ledger ledger(RoleUrl());
  std::optional<Login> login = ledger.FindLogin("ada");
  ASSERT_TRUE(login.has_value());
  ASSERT_TRUE(login->verifier.has_value());
  EXPECT_EQ(AsRole("SELECT scram_verifier FROM dpql.analysts"), "");
  ExpectDenied("UPDATE dpql.analysts SET scram_verifier = NULL");
  ExpectDenied("UPDATE dpql.analysts SET token_hash = token_hash");
  EXPECT_THROW(ledger.NewToken("ada"), DpqlError);
}

TEST_F(LeastPrivilegeTest, RoleDebitsABudgetThroughTheLedger) {
  int code = 0;
  std::string out = Admin("add-analyst ada --dataset hospital --epsilon 1", &code);
  ASSERT_EQ(code, 0) << out;
  std::smatch token;
  ASSERT_TRUE(std::regex_search(out, token, std::regex("dpql_[A-Za-z0-9_-]{43}"))) << out;

  Ledger ledger(RoleUrl());
  std::optional<Analyst> analyst = ledger.Authenticate(token.str());
  ASSERT_TRUE(analyst.has_value());
  DebitResult debit = ledger.Debit(analyst->id, "hospital", BudgetCost{250000, 0, 0}, "SELECT COUNT(*) ...");
  ASSERT_TRUE(debit.ok());
  AuditRecord record;
  record.analyst_id = analyst->id;
  record.analyst_name = "ada";
  record.source = "POST /v1/query";
  record.dataset = "hospital";
  record.outcome = "ok";
  EXPECT_GT(ledger.WriteAudit(record), 0);
  EXPECT_EQ(db_.QueryValue("SELECT epsilon_spent FROM dpql.budgets"), "250000");
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.ledger"), "1");
}

// Negative control: the demo's former broad grant lets the role read an
// undeclared table — the very check above fails under it — and a rerun of
// grant-role takes it away again.
TEST_F(LeastPrivilegeTest, BroadGrantIsCaughtAndGrantRoleRevokesIt) {
  db_.Exec("GRANT SELECT ON ALL TABLES IN SCHEMA public TO " + role_);
  EXPECT_EQ(AsRole("SELECT * FROM secret_notes"), "");  // ExpectDenied would fail here
  int code = 0;
  std::string out = Admin("grant-role " + role_ + " --catalog " + ShellQuote(Catalog()), &code);
  ASSERT_EQ(code, 0) << out;
  ExpectDenied("SELECT * FROM secret_notes");
  EXPECT_EQ(AsRole("SELECT count(*) FROM admissions"), "");
}

TEST_F(LeastPrivilegeTest, PrintShowsQuotedSqlAndUsageErrorsExitTwo) {
  const std::string odd = "Lp \"Odd\" " + std::to_string(getpid());
  db_.Exec("CREATE ROLE \"Lp \"\"Odd\"\" " + std::to_string(getpid()) + "\"");
  int code = 0;
  std::string out =
      Admin("grant-role " + ShellQuote(odd) + " --catalog " + ShellQuote(Catalog()) + " --print", &code);
  db_.Exec("DROP ROLE \"Lp \"\"Odd\"\" " + std::to_string(getpid()) + "\"");
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("GRANT SELECT ON TABLE \"public\".\"admissions\" TO \"Lp \"\"Odd\"\" "),
            std::string::npos)
      << out;
  EXPECT_NE(out.find("GRANT SELECT, UPDATE ON TABLE dpql.\"budgets\""), std::string::npos) << out;
  EXPECT_EQ(out.find("secret_notes"), std::string::npos) << out;
  EXPECT_EQ(out.find("DELETE"), std::string::npos) << out;
  // The console's guardian page only with --guardian-console: then its one
  // DELETE (removing a project member) and the inserts it makes.
  out = Admin("grant-role " + ShellQuote(role_) + " --catalog " + ShellQuote(Catalog()) +
                  " --guardian-console --print",
              &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("GRANT INSERT, DELETE ON TABLE dpql.\"project_members\""), std::string::npos) << out;
  EXPECT_NE(out.find("GRANT INSERT ON TABLE dpql.\"projects\""), std::string::npos) << out;
  EXPECT_EQ(out.find("DELETE ON TABLE dpql.\"ledger\""), std::string::npos) << out;

  out = Admin("grant-role " + role_, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("needs --catalog"), std::string::npos) << out;
  out = Admin("grant-role " + role_ + " --catalog " + ShellQuote(Catalog()) + " --dataset nowhere", &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("no dataset 'nowhere'"), std::string::npos) << out;
  out = Admin("grant-role --catalog " + ShellQuote(Catalog()), &code);
  EXPECT_EQ(code, 2) << out;
  out = Admin("grant-role no_such_role_lp --catalog " + ShellQuote(Catalog()), &code);
  EXPECT_EQ(code, 1) << out;
  EXPECT_NE(out.find("does not exist"), std::string::npos) << out;
}

TEST_F(LeastPrivilegeTest, ServerRunningAsTheRoleAnswersAndCharges) {
  int code = 0;
  std::string out = Admin("add-analyst bea --dataset hospital --epsilon 2", &code);
  ASSERT_EQ(code, 0) << out;
  std::smatch token;
  ASSERT_TRUE(std::regex_search(out, token, std::regex("dpql_[A-Za-z0-9_-]{43}"))) << out;

  auto dir = std::filesystem::temp_directory_path() / ("dpql_lp_test_" + std::to_string(getpid()));
  std::filesystem::create_directories(dir);
  {
    std::ofstream config(dir / "dpqld.yaml");
    config << "listen: 127.0.0.1:8765\ncatalog: \"" << Catalog() << "\"\nthreads: 2\ndb_pool: 2\n";
  }
  const std::string log = (dir / "dpqld.log").string();
  std::string pid_text =
      RunCommand(ShellQuote(BinDir() + "/dpqld") + " serve --config " +
                     ShellQuote((dir / "dpqld.yaml").string()) + " --listen 127.0.0.1:0 --database " +
                     ShellQuote(RoleUrl()) + " >" + ShellQuote(log) + " 2>&1 & echo $!",
                 &code);
  const pid_t pid = static_cast<pid_t>(std::stol(pid_text));
  std::string port;
  std::string text;
  for (auto deadline = std::chrono::steady_clock::now() + 60s; std::chrono::steady_clock::now() < deadline;) {
    std::ifstream in(log);
    std::stringstream all;
    all << in.rdbuf();
    text = all.str();
    std::smatch match;
    if (std::regex_search(text, match, std::regex("listening on http://127\\.0\\.0\\.1:([0-9]+)"))) {
      port = match[1];
      break;
    }
    std::this_thread::sleep_for(100ms);
  }
  if (port.empty()) kill(pid, SIGKILL);
  ASSERT_FALSE(port.empty()) << text;

  std::string reply = RunCommand(
      "curl -s -w '\\n%{http_code}' -H 'Authorization: Bearer " + token.str() +
          "' -H 'Content-Type: application/json' -d " +
          ShellQuote(R"({"query": "SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = 0.5);"})") +
          " http://127.0.0.1:" + port + "/v1/query",
      &code);

  // The guardian page's changes: refused plainly (403, nothing changed) while
  // the role lacks --guardian-console; made once grant-role gives it.
  out = Admin("add-analyst gus --dataset hospital --epsilon 1 --admin", &code);
  std::smatch admin_match;
  ASSERT_TRUE(std::regex_search(out, admin_match, std::regex("dpql_[A-Za-z0-9_-]{43}"))) << out;
  const std::string admin_token = admin_match.str();  // `out` is reused below
  auto create_project = [&] {
    return RunCommand("curl -s -w '\\n%{http_code}' -H 'Authorization: Bearer " + admin_token +
                          "' -H 'Content-Type: application/json' -d " +
                          ShellQuote(R"({"action": "create", "project": "p1", "dataset": "hospital", )"
                                     R"("epsilon": 1, "start": "2026-01-01", "end": "2027-01-31"})") +
                          " http://127.0.0.1:" + port + "/v1/admin/projects",
                      &code);
  };
  std::string refused = create_project();
  EXPECT_EQ(refused.substr(refused.size() - 3), "403") << refused;
  EXPECT_NE(refused.find("--guardian-console"), std::string::npos) << refused;
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.projects"), "0");
  out = Admin("grant-role " + ShellQuote(role_) + " --catalog " + ShellQuote(Catalog()) + " --guardian-console",
              &code);
  EXPECT_EQ(code, 0) << out;
  std::string created = create_project();
  EXPECT_EQ(created.substr(created.size() - 3), "200") << created;
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.projects WHERE name = 'p1'"), "1");

  kill(pid, SIGTERM);
  std::error_code ignored;
  EXPECT_NE(reply.find("\"rows\""), std::string::npos) << reply;
  EXPECT_EQ(reply.substr(reply.size() - 3), "200") << reply;
  EXPECT_EQ(
      db_.QueryValue("SELECT b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = b.analyst_id "
                     "WHERE a.name = 'bea'"),
      "500000");
  EXPECT_GE(std::stoi(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE analyst_name = 'bea'")), 1);
  std::this_thread::sleep_for(200ms);
  std::filesystem::remove_all(dir, ignored);
}

}  // namespace
}  // namespace dpql
