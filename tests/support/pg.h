#pragma once

// Integration-test fixture for a real PostgreSQL reached through the libpq
// environment (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE — as set by
// pg_virtualenv in scripts/test). Missing environment or an unreachable server
// is a test FAILURE with a clear message, never a silent skip.

#include <cstdint>
#include <string>

namespace dpql {

class TestDatabase {
 public:
  // Creates a fresh database dpql_test_<pid>_<counter>_<time>. Throws
  // std::runtime_error (which GoogleTest reports as a failure) when no
  // PostgreSQL is configured or reachable.
  TestDatabase();
  // Drops the database WITH (FORCE), ending any connection still open to it.
  ~TestDatabase();
  TestDatabase(const TestDatabase&) = delete;
  TestDatabase& operator=(const TestDatabase&) = delete;

  const std::string& name() const { return name_; }
  // A libpq keyword/value connection string for this database, usable by
  // pqxx, `psql "$url"` and `dpqld --database`. The password is not included:
  // it comes from PGPASSWORD, which child processes inherit.
  const std::string& url() const { return url_; }

  // Runs `examples/hospital/load.sh --rows N <url>` from SourceDir(); throws
  // with the script's output if it fails.
  void LoadHospital(int rows);
  // Runs SQL (possibly several statements) outside a transaction block.
  void Exec(const std::string& sql);
  // Runs a query and returns the first column of the first row as text
  // ("" for NULL); throws if there is no row.
  std::string QueryValue(const std::string& sql);

 private:
  std::string name_;
  std::string url_;
};

// Runs `cmdline` through /bin/sh, returning stdout and stderr interleaved.
// `exit_code` receives the exit status (or 128 + signal).
std::string RunCommand(const std::string& cmdline, int* exit_code);

// Quotes `value` for /bin/sh ('...' with embedded quotes escaped).
std::string ShellQuote(const std::string& value);

// An epsilon in micro-epsilon as decimal text: "0.001234" for 1234.
std::string EpsilonText(int64_t micro);

// The epsilon `analyst` has spent over all datasets, from dpql.budgets.
double EpsilonSpent(TestDatabase& db, const std::string& analyst);

// Runs `dpqld admin --database DATABASE ARGS` (BinDir()'s dpqld).
// `exit_code` receives the exit status.
std::string RunAdmin(const std::string& database, const std::string& args, int* exit_code);

// Runs `dpqld admin --database DATABASE add-analyst ARGS` and returns the
// token it printed; records a test failure (and returns "") if the command
// fails or prints no token.
std::string AddAnalystToken(const std::string& database, const std::string& args);

// Where binaries are: env DPQL_BIN_DIR, else "build/bin".
std::string BinDir();
// The source tree: env DPQL_SOURCE_DIR, else the current directory.
std::string SourceDir();

}  // namespace dpql
