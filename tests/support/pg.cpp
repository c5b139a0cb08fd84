#include "tests/support/pg.h"

#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <pqxx/pqxx>
#include <regex>
#include <stdexcept>

namespace dpql {
namespace {

std::string Env(const char* name) {
  const char* value = std::getenv(name);
  return value ? value : "";
}

// Quotes a value for a libpq keyword/value connection string.
std::string ConnQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'' || c == '\\') out.push_back('\\');
    out.push_back(c);
  }
  return out + "'";
}

void RequirePostgresEnvironment() {
  if (Env("PGHOST").empty() && Env("PGPORT").empty() && Env("PGDATABASE").empty()) {
    throw std::runtime_error(
        "no PostgreSQL configured for integration tests: PGHOST, PGPORT and PGDATABASE are all unset. "
        "Run the tests through scripts/test, or under pg_virtualenv, e.g. "
        "`pg_virtualenv -v 15 -o max_connections=200 build/bin/dpql_integration_tests`");
  }
}

// The maintenance connection: the libpq environment as given.
std::unique_ptr<pqxx::connection> ConnectAdmin() {
  RequirePostgresEnvironment();
  try {
    return std::make_unique<pqxx::connection>("");
  } catch (const std::exception& e) {
    throw std::runtime_error(std::string("cannot connect to the test PostgreSQL (PGHOST=") + Env("PGHOST") +
                             ", PGPORT=" + Env("PGPORT") + ", PGUSER=" + Env("PGUSER") + "): " + e.what());
  }
}

}  // namespace

TestDatabase::TestDatabase() {
  static std::atomic<int> counter{0};
  auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                 std::chrono::system_clock::now().time_since_epoch())
                 .count();
  name_ = "dpql_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
          std::to_string(now % 100000000);
  auto admin = ConnectAdmin();
  pqxx::nontransaction txn(*admin);
  txn.exec("CREATE DATABASE " + txn.quote_name(name_));

  url_ = "dbname=" + ConnQuote(name_);
  for (auto [key, env] : {std::pair{"host", "PGHOST"}, {"port", "PGPORT"}, {"user", "PGUSER"}}) {
    std::string value = Env(env);
    if (!value.empty()) url_ += std::string(" ") + key + "=" + ConnQuote(value);
  }
}

TestDatabase::~TestDatabase() {
  try {
    auto admin = ConnectAdmin();
    pqxx::nontransaction txn(*admin);
    txn.exec("DROP DATABASE IF EXISTS " + txn.quote_name(name_) + " WITH (FORCE)");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "warning: could not drop test database %s: %s\n", name_.c_str(), e.what());
  }
}

void TestDatabase::LoadHospital(int rows) {
  std::string script = SourceDir() + "/examples/hospital/load.sh";
  int exit_code = 0;
  std::string output =
      RunCommand(ShellQuote(script) + " --rows " + std::to_string(rows) + " " + ShellQuote(url_), &exit_code);
  if (exit_code != 0) {
    throw std::runtime_error(script + " --rows " + std::to_string(rows) + " failed with exit code " +
                             std::to_string(exit_code) + ":\n" + output);
  }
}

void TestDatabase::Exec(const std::string& sql) {
  pqxx::connection connection(url_);
  pqxx::nontransaction txn(connection);
  txn.exec(sql);
}

std::string TestDatabase::QueryValue(const std::string& sql) {
  pqxx::connection connection(url_);
  pqxx::nontransaction txn(connection);
  pqxx::result result = txn.exec(sql);
  if (result.empty() || result.columns() == 0) {
    throw std::runtime_error("query returned no rows: " + sql);
  }
  return result[0][0].is_null() ? "" : result[0][0].as<std::string>();
}

std::string RunCommand(const std::string& cmdline, int* exit_code) {
  std::string wrapped = "(" + cmdline + ") 2>&1";
  FILE* pipe = popen(wrapped.c_str(), "r");
  if (pipe == nullptr) throw std::runtime_error("popen failed for: " + cmdline);
  std::string output;
  char buffer[4096];
  size_t n;
  while ((n = fread(buffer, 1, sizeof buffer, pipe)) > 0) output.append(buffer, n);
  int status = pclose(pipe);
  int code = -1;
  if (status != -1) {
    if (WIFEXITED(status))
      code = WEXITSTATUS(status);
    else if (WIFSIGNALED(status))
      code = 128 + WTERMSIG(status);
  }
  if (exit_code != nullptr) *exit_code = code;
  return output;
}

std::string ShellQuote(const std::string& value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\'')
      out += "'\\''";
    else
      out.push_back(c);
  }
  return out + "'";
}

std::string BinDir() {
  std::string dir = Env("DPQL_BIN_DIR");
  return dir.empty() ? "build/bin" : dir;
}

std::string SourceDir() {
  std::string dir = Env("DPQL_SOURCE_DIR");
  return dir.empty() ? "." : dir;
}

std::string EpsilonText(int64_t micro) {
  char text[32];
  std::snprintf(text, sizeof text, "%lld.%06lld", static_cast<long long>(micro / 1'000'000),
                static_cast<long long>(micro % 1'000'000));
  return text;
}

double EpsilonSpent(TestDatabase& db, const std::string& analyst) {
  // Test analysts' names are plain identifiers; no quoting needed.
  return std::stod(db.QueryValue(
             "SELECT coalesce(sum(b.epsilon_spent), 0) FROM dpql.budgets b JOIN dpql.analysts a "
             "ON a.id = b.analyst_id WHERE a.name = '" +
             analyst + "'")) /
         1e6;
}

std::string RunAdmin(const std::string& database, const std::string& args, int* exit_code) {
  return RunCommand(
      ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(database) + " " + args, exit_code);
}

std::string AddAnalystToken(const std::string& database, const std::string& args) {
  int code = 0;
  const std::string out = RunAdmin(database, "add-analyst " + args, &code);
  EXPECT_EQ(code, 0) << out;
  std::smatch match;
  static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
  EXPECT_TRUE(std::regex_search(out, match, kToken)) << out;
  return match.str();
}

}  // namespace dpql
