// examples/clients/: the curl script and the Python client, run as a user
// would run them against a real `dpqld serve` and a real PostgreSQL.

#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <memory>
#include <regex>
#include <sstream>
#include <string>

#include "tests/support/dpqld_process.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

constexpr int kHospitalRows = 3000;
constexpr int kWards = 37;  // examples/hospital/schema.sql
constexpr auto kStartTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(15);

size_t Occurrences(const std::string& haystack, const std::string& needle) {
  size_t count = 0;
  for (size_t at = haystack.find(needle); at != std::string::npos; at = haystack.find(needle, at + 1))
    ++count;
  return count;
}

struct CommandResult {
  int exit_code = -1;
  std::string output;
};

class ClientsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    db_.LoadHospital(kHospitalRows);
    CommandResult init = Admin("init");
    ASSERT_EQ(init.exit_code, 0) << init.output;
    CommandResult add = Admin("add-analyst planner --dataset hospital --epsilon 10");
    ASSERT_EQ(add.exit_code, 0) << add.output;
    std::smatch match;
    static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
    ASSERT_TRUE(std::regex_search(add.output, match, kToken)) << add.output;
    token_ = match.str();
    char log_template[] = "/tmp/dpql_clients_test_XXXXXX";
    int fd = mkstemp(log_template);
    ASSERT_GE(fd, 0) << "cannot create a temporary file for the server log";
    close(fd);
    log_path_ = log_template;
    server_ =
        std::make_unique<DpqldProcess>(DpqldOptions{.config = SourceDir() + "/examples/hospital/dpqld.yaml",
                                                    .log_path = log_path_,
                                                    .extra_args = {"--database", db_.url()},
                                                    .start_timeout = kStartTimeout});
    ASSERT_TRUE(server_->started()) << "dpqld serve did not start:\n" << server_->log();
  }

  void TearDown() override {
    if (server_ && server_->started()) {
      std::string log = server_->log();
      EXPECT_EQ(server_->Stop(kStopTimeout), 0) << "dpqld did not exit 0 on SIGTERM; its output:\n" << log;
    }
    server_.reset();
    if (!log_path_.empty()) unlink(log_path_.c_str());
  }

  CommandResult Admin(const std::string& args) {
    return Run(ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(db_.url()) + " " + args);
  }

  // Runs a client from examples/clients with DPQL_URL and DPQL_TOKEN set.
  CommandResult Client(const std::string& command, const std::string& token, const std::string& url = "") {
    return Run("DPQL_URL=" + ShellQuote(url.empty() ? server_->url() : url) +
               " DPQL_TOKEN=" + ShellQuote(token) + " " + command);
  }

  CommandResult Run(const std::string& cmdline) {
    CommandResult result;
    result.output = RunCommand(cmdline, &result.exit_code);
    return result;
  }

  std::string CurlScript() const { return ShellQuote(SourceDir() + "/examples/clients/curl.sh"); }
  std::string PythonClient() const {
    return "python3 " + ShellQuote(SourceDir() + "/examples/clients/client.py");
  }

  // Micro-epsilon spent by the planner, from the ledger.
  long EpsilonSpent() {
    return std::stol(db_.QueryValue(
        "SELECT b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = b.analyst_id "
        "WHERE a.name = 'planner' AND b.dataset = 'hospital'"));
  }

  TestDatabase db_;
  std::string token_;
  std::string log_path_;
  std::unique_ptr<DpqldProcess> server_;
};

TEST_F(ClientsTest, CurlScriptRunsHealthQueryBudgetAndExplain) {
  CommandResult run = Client(CurlScript(), token_);
  ASSERT_EQ(run.exit_code, 0) << run.output << "\nserver:\n" << server_->log();
  for (const char* section :
       {"== Health: GET /healthz", "POST /v1/query", "GET /v1/budget", "POST /v1/explain"}) {
    EXPECT_NE(run.output.find(section), std::string::npos) << section << " missing:\n" << run.output;
  }
  // The query's answer: every ward (a public domain), each with an interval.
  EXPECT_NE(run.output.find("\"columns\": [\"ward_code\", \"patients\"]"), std::string::npos) << run.output;
  for (const char* ward : {"LTH-AMU", "LTH-MAT", "LTH-PAE"}) {
    EXPECT_NE(run.output.find(std::string("\"") + ward + "\""), std::string::npos) << ward << "\n"
                                                                                   << run.output;
  }
  EXPECT_GE(Occurrences(run.output, "\"ci\": ["), static_cast<size_t>(kWards)) << run.output;
  EXPECT_NE(run.output.find("epsilon_remaining"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("\"error\""), std::string::npos) << run.output;
  // One query was charged (EXPLAIN and the budget are free): the default epsilon 1.
  EXPECT_EQ(EpsilonSpent(), 1000000) << run.output;
}

TEST_F(ClientsTest, CurlScriptFailsOnBadToken) {
  CommandResult run = Client(CurlScript(), "dpql_" + std::string(43, 'A'));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("unauthorized"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("HTTP 401"), std::string::npos) << run.output;
  EXPECT_EQ(EpsilonSpent(), 0);
}

TEST_F(ClientsTest, PythonClientPrintsTablesWithErrorBars) {
  CommandResult run = Client(PythonClient(), token_);
  ASSERT_EQ(run.exit_code, 0) << run.output << "\nserver:\n" << server_->log();
  // Bed occupancy lists all 37 wards; the admissions mix all four methods.
  EXPECT_NE(run.output.find("(" + std::to_string(kWards) + " rows)"), std::string::npos) << run.output;
  for (const char* value :
       {"LTH-AMU", "STH-", "MFT-", "BTH-", "elective", "emergency", "maternity", "transfer"}) {
    EXPECT_NE(run.output.find(value), std::string::npos) << value << "\n" << run.output;
  }
  // Every ward's count is printed as `value ± half-width`.
  static const std::regex kWardRow(R"( (LTH|BTH|MFT|STH)-[A-Z0-9]+ *\| +[0-9.]+ ± [0-9.]+)");
  int ward_rows = 0;
  std::istringstream lines(run.output);
  for (std::string line; std::getline(lines, line);) ward_rows += std::regex_match(line, kWardRow) ? 1 : 0;
  EXPECT_EQ(ward_rows, kWards) << run.output;
  EXPECT_GE(Occurrences(run.output, " ± "), static_cast<size_t>(kWards + 4)) << run.output;
  EXPECT_NE(run.output.find("confidence interval"), std::string::npos) << run.output;
  EXPECT_NE(run.output.find("Budget on hospital: epsilon 3 spent, 7 remaining of 10"), std::string::npos)
      << run.output;
  EXPECT_EQ(EpsilonSpent(), 3000000);  // three queries at the catalog's default epsilon 1
}

TEST_F(ClientsTest, PythonClientRunsGivenQueryAndReportsItsError) {
  CommandResult ok =
      Client(PythonClient() + " \"SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex;\"", token_);
  ASSERT_EQ(ok.exit_code, 0) << ok.output;
  EXPECT_NE(ok.output.find("(3 rows)"), std::string::npos) << ok.output;  // F, M, X
  CommandResult bad = Client(PythonClient() + " \"SELECT patient_id FROM admissions;\"", token_);
  EXPECT_EQ(bad.exit_code, 1) << bad.output;
  EXPECT_NE(bad.output.find("client.py: "), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("[HTTP 400]"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("(line 1, column 8)"), std::string::npos) << bad.output;
  EXPECT_NE(bad.output.find("  SELECT patient_id FROM admissions;\n         ^"), std::string::npos)
      << bad.output;
}

TEST_F(ClientsTest, PythonClientFailsOnBadToken) {
  CommandResult run = Client(PythonClient(), "dpql_" + std::string(43, 'A'));
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("client.py: unauthorized [HTTP 401]"), std::string::npos) << run.output;
  EXPECT_EQ(run.output.find("(37 rows)"), std::string::npos) << run.output;
  EXPECT_EQ(EpsilonSpent(), 0);
}

TEST_F(ClientsTest, PythonClientSaysWhenServerIsUnreachable) {
  std::string url = server_->url();
  ASSERT_EQ(server_->Stop(kStopTimeout), 0) << server_->log();
  server_.reset();
  CommandResult run = Client(PythonClient(), token_, url);
  EXPECT_EQ(run.exit_code, 1) << run.output;
  EXPECT_NE(run.output.find("cannot reach dpqld at " + url), std::string::npos) << run.output;
}

}  // namespace
}  // namespace dpql
