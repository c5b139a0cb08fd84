// Load and faults lose nothing: real `dpqld serve` processes on loopback
// ports, many concurrent HTTP clients, and real faults — a contended budget,
// `kill -9` of a server under load, and PostgreSQL stopped and started under
// load. After each run the budget ledger is checked against what the clients
// received: the analyst's spend equals the sum of the ledger in its integer
// units, never exceeds the grant, and every answer a client got (HTTP 200)
// names its own committed ledger row ("ledger_id"). docs/SECURITY.md ("Load
// and faults") says what each test proves and gives the figures of a run.
//
// Each test prints one "figures:" line. DPQL_SOAK_SECONDS=N stretches every
// load phase to N seconds for a longer soak (see docs/SECURITY.md).

#include <gtest/gtest.h>
#include <pwd.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

// A client gives up on a request after this long. Every request in these
// tests must end well before it: a fault must give a prompt, clear error.
constexpr int kClientTimeoutSeconds = 10;
// What "promptly" means for a request that met a fault.
constexpr double kPromptSeconds = 5.0;

double Seconds(Clock::duration d) { return std::chrono::duration<double>(d).count(); }

// A load phase lasts `seconds`, or DPQL_SOAK_SECONDS when set (a soak).
std::chrono::milliseconds Phase(double seconds) {
  if (const char* soak = std::getenv("DPQL_SOAK_SECONDS"); soak != nullptr && *soak != '\0') {
    seconds = std::max(seconds, std::atof(soak));
  }
  return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000));
}

// ---------------------------------------------------------------------------
// One request and what came of it.

struct Outcome {
  int client = 0;
  int server = 0;             // which dpqld the client talks to
  int64_t epsilon_micro = 0;  // what the query asked to spend
  int status = 0;             // 0: no HTTP response at all (a connection error)
  std::string code;           // error.code of a refusal
  bool cached = false;
  int64_t ledger_id = 0;  // an answer's "ledger_id" (0 if absent)
  std::string transport;  // the connection error, when status == 0
  Clock::time_point start, end;
  double seconds() const { return Seconds(end - start); }
};

// POSTs `SELECT COUNT(*) ... WITH PRIVACY (epsilon = <epsilon_micro>)` on a
// fresh connection. A distinct epsilon is a distinct query, so the answer
// cache never answers it and every answer is charged.
Outcome Ask(uint16_t port, const std::string& token, int64_t epsilon_micro) {
  Outcome outcome;
  outcome.epsilon_micro = epsilon_micro;
  outcome.start = Clock::now();
  try {
    const std::string body = json{
        {"query",
         "SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = " + EpsilonText(epsilon_micro) + ")"},
        {"dataset", "hospital"}}.dump();
    const std::chrono::seconds timeout(kClientTimeoutSeconds);
    Reply response =
        Call(port, {"POST", "/v1/query", body, token, ""}, {.receive = timeout, .send = timeout});
    outcome.status = response.status;
    const json& doc = response.doc;
    if (outcome.status == 200 && doc.is_object()) {
      outcome.cached = doc.value("cached", false);
      if (doc.contains("ledger_id") && doc["ledger_id"].is_number_integer()) {
        outcome.ledger_id = doc["ledger_id"].get<int64_t>();
      }
    } else if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
      outcome.code = doc["error"].value("code", "");
    } else {
      outcome.code = "(not an error document) " + response.body.substr(0, 200);
    }
  } catch (const std::exception& error) {
    outcome.status = 0;
    outcome.transport = error.what();
  }
  outcome.end = Clock::now();
  return outcome;
}

// Many client threads, each looping on Ask() against its server's current
// port (a restarted server listens on a new one) until told to stop or until
// `until_refused` and it gets a 409. Every outcome is kept. The loops are
// bounded in time and count whatever happens.
constexpr auto kMaxLoad = 300s;
constexpr int64_t kMaxRequests = 200'000;

class Load {
 public:
  // `ports[s]` is server s's port; client c talks to server c % ports.size().
  Load(std::vector<std::atomic<uint16_t>>* ports, std::string token, int clients, bool until_refused)
      : ports_(ports), token_(std::move(token)), until_refused_(until_refused) {
    for (int c = 0; c < clients; ++c) threads_.emplace_back([this, c] { Client(c); });
  }
  ~Load() {
    Stop();
    Join();
  }

  void Stop() { stop_ = true; }
  void Join() {
    for (auto& thread : threads_) {
      if (thread.joinable()) thread.join();
    }
  }
  // Copies of the outcomes so far (safe while running).
  std::vector<Outcome> Outcomes() {
    std::lock_guard<std::mutex> lock(mutex_);
    return outcomes_;
  }

 private:
  void Client(int c) {
    const int server = static_cast<int>(c % ports_->size());
    const auto deadline = Clock::now() + kMaxLoad;
    while (!stop_ && Clock::now() < deadline) {
      const int64_t n = next_++;
      if (n >= kMaxRequests) return;
      // 1000 + n micro-epsilon: distinct for every request of the test.
      Outcome outcome = Ask((*ports_)[server].load(), token_, 1000 + n);
      outcome.client = c;
      outcome.server = server;
      const bool refused = outcome.status == 409;
      const bool failed = outcome.status != 200 && !refused;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        outcomes_.push_back(std::move(outcome));
      }
      if (until_refused_ && refused) return;
      // A dead port or database fails at once; don't spin on it.
      if (failed) std::this_thread::sleep_for(20ms);
    }
  }

  std::vector<std::atomic<uint16_t>>* ports_;
  std::string token_;
  bool until_refused_;
  std::atomic<bool> stop_{false};
  std::atomic<int64_t> next_{0};
  std::mutex mutex_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> threads_;
};

// ---------------------------------------------------------------------------
// The ledger as PostgreSQL holds it, in its integer units (micro-epsilon).

struct LedgerState {
  int64_t total = 0;                // the analyst's grant
  int64_t spent = 0;                // dpql.budgets.epsilon_spent
  int64_t ledger_sum = 0;           // sum of the analyst's dpql.ledger rows
  std::map<int64_t, int64_t> rows;  // the analyst's ledger rows: id -> epsilon
  int64_t dataset_spent = 0;        // dpql.dataset_spend for hospital
  int64_t dataset_ledger_sum = 0;
  int64_t audit_ok = 0;  // audit rows of charged answers
  int64_t audit_ok_sum = 0;
  int64_t audit_exhausted = 0;      // audit rows of budget_exhausted refusals
  int64_t audit_exhausted_sum = 0;  // what they cost (must be 0)
};

LedgerState ReadLedger(const std::string& url, const std::string& analyst) {
  pqxx::connection connection(url);
  pqxx::read_transaction txn(connection);
  LedgerState state;
  pqxx::row budget = txn.exec_params1(
      "SELECT b.epsilon_total, b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = "
      "b.analyst_id "
      "WHERE a.name = $1 AND b.dataset = 'hospital'",
      analyst);
  state.total = budget[0].as<int64_t>();
  state.spent = budget[1].as<int64_t>();
  for (const auto& row : txn.exec_params(
           "SELECT l.id, l.epsilon FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
           "WHERE a.name = $1 AND l.dataset = 'hospital'",
           analyst)) {
    state.rows[row[0].as<int64_t>()] = row[1].as<int64_t>();
    state.ledger_sum += row[1].as<int64_t>();
  }
  state.dataset_spent =
      txn.exec1(
             "SELECT coalesce((SELECT epsilon_spent FROM dpql.dataset_spend WHERE dataset = 'hospital'), 0)")
          [0]
              .as<int64_t>();
  state.dataset_ledger_sum =
      txn.exec1("SELECT coalesce(sum(epsilon), 0) FROM dpql.ledger WHERE dataset = 'hospital'")[0]
          .as<int64_t>();
  pqxx::row ok = txn.exec_params1(
      "SELECT count(*), coalesce(sum(epsilon), 0) FROM dpql.audit "
      "WHERE analyst_name = $1 AND outcome = 'ok' AND status = 200 AND epsilon > 0",
      analyst);
  state.audit_ok = ok[0].as<int64_t>();
  state.audit_ok_sum = ok[1].as<int64_t>();
  pqxx::row exhausted = txn.exec_params1(
      "SELECT count(*), coalesce(sum(epsilon + delta + rho), 0) FROM dpql.audit "
      "WHERE analyst_name = $1 AND outcome = 'budget_exhausted'",
      analyst);
  state.audit_exhausted = exhausted[0].as<int64_t>();
  state.audit_exhausted_sum = exhausted[1].as<int64_t>();
  return state;
}

// The invariants that hold after any run, fault or not: the spend is the sum
// of the ledger and within the grant, the dataset-wide spend is the sum of
// the dataset's ledger, and every answer a client received names a distinct,
// committed ledger row that charged exactly what the query asked for — so no
// answer was released without its debit, and no 200 came from a debit that
// was rolled back. Returns how many ledger rows no client saw answered.
int64_t ExpectLedgerMatches(const LedgerState& ledger, const std::vector<Outcome>& outcomes) {
  EXPECT_LE(ledger.spent, ledger.total) << "overspent";
  EXPECT_EQ(ledger.spent, ledger.ledger_sum) << "the analyst's spend is not the sum of the ledger";
  EXPECT_EQ(ledger.dataset_spent, ledger.dataset_ledger_sum)
      << "the dataset's spend is not the sum of its ledger";
  std::set<int64_t> answered;
  for (const Outcome& outcome : outcomes) {
    if (outcome.status != 200) continue;
    EXPECT_FALSE(outcome.cached) << "epsilon " << outcome.epsilon_micro << " came from the answer cache";
    EXPECT_GT(outcome.ledger_id, 0) << "an answer without a ledger_id";
    EXPECT_TRUE(answered.insert(outcome.ledger_id).second)
        << "two answers name ledger row " << outcome.ledger_id;
    auto row = ledger.rows.find(outcome.ledger_id);
    if (row == ledger.rows.end()) {
      ADD_FAILURE() << "an answer was released but its ledger row " << outcome.ledger_id
                    << " is not in the ledger (epsilon " << outcome.epsilon_micro << " micro)";
      continue;
    }
    EXPECT_EQ(row->second, outcome.epsilon_micro)
        << "ledger row " << row->first << " charged the wrong amount";
  }
  return static_cast<int64_t>(ledger.rows.size()) - static_cast<int64_t>(answered.size());
}

int Count(const std::vector<Outcome>& outcomes, const std::function<bool(const Outcome&)>& pred) {
  return static_cast<int>(std::count_if(outcomes.begin(), outcomes.end(), pred));
}

double Longest(const std::vector<Outcome>& outcomes) {
  double longest = 0;
  for (const Outcome& outcome : outcomes) longest = std::max(longest, outcome.seconds());
  return longest;
}

// Up to `limit` unexpected outcomes, for a failure message.
std::string Describe(const std::vector<Outcome>& outcomes, const std::function<bool(const Outcome&)>& pred,
                     int limit = 5) {
  std::ostringstream out;
  for (const Outcome& outcome : outcomes) {
    if (!pred(outcome)) continue;
    if (limit-- == 0) break;
    out << "\n  server " << outcome.server << " status " << outcome.status << " code '" << outcome.code
        << "' transport '" << outcome.transport << "' after " << outcome.seconds() << " s";
  }
  return out.str();
}

// ---------------------------------------------------------------------------
// Fixture: a database with the hospital data and the dpql schema, a catalog,
// and a directory for configs and logs.

class FaultTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_fault_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    std::filesystem::copy_file(SourceDir() + "/examples/hospital/catalog.yaml", dir_ / "catalog.yaml");
  }
  void TearDown() override {
    if (HasFailure()) {
      for (const auto& entry : std::filesystem::directory_iterator(dir_)) {
        if (entry.path().extension() != ".log") continue;
        // Each distinct line once (an outage repeats the same few lines).
        std::ifstream in(entry.path());
        std::set<std::string> seen;
        std::cerr << "---- " << entry.path().filename().string() << "\n";
        for (std::string line; std::getline(in, line) && seen.size() < 40;) {
          if (seen.insert(line.substr(0, 120)).second) std::cerr << line << "\n";
        }
      }
    }
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Loads the data and the dpql schema into the database at `url`.
  void Prepare(const std::string& url, int rows) {
    int code = 0;
    std::string out = RunCommand(ShellQuote(SourceDir() + "/examples/hospital/load.sh") + " --rows " +
                                     std::to_string(rows) + " " + ShellQuote(url),
                                 &code);
    ASSERT_EQ(code, 0) << out;
    out = Admin(url, "init", &code);
    ASSERT_EQ(code, 0) << out;
  }

  std::string Admin(const std::string& url, const std::string& args, int* code) {
    return RunCommand(ShellQuote(BinDir() + "/dpqld") + " admin --database " + ShellQuote(url) + " " + args,
                      code);
  }

  // Creates analyst `name` with `epsilon` on hospital; returns the token.
  std::string AddAnalyst(const std::string& url, const std::string& name, const std::string& epsilon) {
    int code = 0;
    std::string out = Admin(
        url, "add-analyst " + name + " --dataset hospital --epsilon " + epsilon + " --delta 0.00001", &code);
    EXPECT_EQ(code, 0) << out;
    std::smatch match;
    static const std::regex kToken("dpql_[A-Za-z0-9_-]{43}");
    EXPECT_TRUE(std::regex_search(out, match, kToken)) << out;
    return match.str();
  }

  // Writes config `name` and starts a server with it (its log: name.log).
  std::unique_ptr<DpqldProcess> Start(const std::string& name, const std::string& url) {
    std::ofstream(dir_ / (name + ".yaml")) << DpqldConfigBase(url, "catalog.yaml") << "threads: 4\n"
                                           << "db_pool: 8\n";
    // A restart appends to the same log.
    auto server = std::make_unique<DpqldProcess>(DpqldOptions{.config = (dir_ / (name + ".yaml")).string(),
                                                              .log_path = (dir_ / (name + ".log")).string(),
                                                              .append_log = true});
    EXPECT_TRUE(server->started()) << "dpqld " << name << " did not start";
    return server;
  }

  std::filesystem::path dir_;
  static inline int counter_ = 0;
};

// ---------------------------------------------------------------------------
// 1. Budget under contention: two servers on one database, 64 clients
//    spending one analyst's budget with uncached queries until each is
//    refused.

TEST_F(FaultTest, ContendedBudgetIsNeverOverspentAndEveryAnswerHasOneLedgerRow) {
  constexpr int kClients = 64;
  TestDatabase db;
  ASSERT_NO_FATAL_FAILURE(Prepare(db.url(), 2000));
  // About 450 answers at 0.0010..0.0013 epsilon each.
  const std::string token = AddAnalyst(db.url(), "ada", "0.5");
  auto first = Start("first", db.url());
  auto second = Start("second", db.url());
  ASSERT_TRUE(first->started() && second->started());
  std::vector<std::atomic<uint16_t>> ports(2);
  ports[0] = first->port();
  ports[1] = second->port();

  const auto start = Clock::now();
  Load load(&ports, token, kClients, /*until_refused=*/true);
  load.Join();
  const double elapsed = Seconds(Clock::now() - start);
  const std::vector<Outcome> outcomes = load.Outcomes();

  const int served = Count(outcomes, [](const Outcome& o) { return o.status == 200; });
  const int refused = Count(outcomes, [](const Outcome& o) { return o.status == 409; });
  auto unexpected = [](const Outcome& o) {
    return !(o.status == 200 || (o.status == 409 && o.code == "budget_exhausted"));
  };
  EXPECT_EQ(Count(outcomes, unexpected), 0) << Describe(outcomes, unexpected);
  EXPECT_EQ(refused, kClients) << "every client ends on its first refusal";
  EXPECT_GT(served, 300);
  EXPECT_GT(Count(outcomes, [](const Outcome& o) { return o.status == 200 && o.server == 0; }), 0);
  EXPECT_GT(Count(outcomes, [](const Outcome& o) { return o.status == 200 && o.server == 1; }), 0);

  const LedgerState ledger = ReadLedger(db.url(), "ada");
  EXPECT_EQ(ExpectLedgerMatches(ledger, outcomes), 0) << "a ledger row that no client got an answer for";
  EXPECT_EQ(static_cast<int64_t>(ledger.rows.size()), served) << "answers served != ledger rows";
  // The budget really ran out: what is left is less than the cheapest refused ask.
  int64_t cheapest_refused = INT64_MAX;
  for (const Outcome& o : outcomes) {
    if (o.status == 409) cheapest_refused = std::min(cheapest_refused, o.epsilon_micro);
  }
  EXPECT_LT(ledger.total - ledger.spent, cheapest_refused);
  // Refusals cost nothing: no ledger row (above) and a zero-cost audit row each.
  EXPECT_EQ(ledger.audit_exhausted, refused);
  EXPECT_EQ(ledger.audit_exhausted_sum, 0);
  EXPECT_EQ(ledger.audit_ok, served);
  EXPECT_EQ(ledger.audit_ok_sum, ledger.ledger_sum);

  std::printf(
      "figures: contention: servers 2, clients %d, requests %zu, answers %d, refusals 409 %d, "
      "ledger rows %zu, spent %lld of %lld micro-epsilon (ledger sum %lld), %.1f s\n",
      kClients, outcomes.size(), served, refused, ledger.rows.size(), static_cast<long long>(ledger.spent),
      static_cast<long long>(ledger.total), static_cast<long long>(ledger.ledger_sum), elapsed);
}

// ---------------------------------------------------------------------------
// 2. kill -9 of one of two servers under sustained load, then a restart.

TEST_F(FaultTest, KillNineUnderLoadLosesNoDebitAndClientsGetAPromptError) {
  constexpr int kClients = 24;  // 12 per server
  TestDatabase db;
  ASSERT_NO_FATAL_FAILURE(Prepare(db.url(), 2000));
  const std::string token = AddAnalyst(db.url(), "bob", "1000");
  auto victim = Start("victim", db.url());
  auto survivor = Start("survivor", db.url());
  ASSERT_TRUE(victim->started() && survivor->started());
  std::vector<std::atomic<uint16_t>> ports(2);
  ports[0] = victim->port();
  ports[1] = survivor->port();

  Load load(&ports, token, kClients, /*until_refused=*/false);
  std::this_thread::sleep_for(Phase(2));
  const auto killed_at = Clock::now();
  victim->KillHard();
  std::this_thread::sleep_for(1s);  // the victim's clients meet a dead server
  const auto restart_at = Clock::now();
  victim = Start("victim", db.url());
  ASSERT_TRUE(victim->started());
  const auto restarted_at = Clock::now();
  ports[0] = victim->port();
  std::this_thread::sleep_for(Phase(2));
  load.Stop();
  load.Join();
  const std::vector<Outcome> outcomes = load.Outcomes();

  // The survivor never noticed; the victim's clients got 200 or a connection
  // error, each promptly.
  auto bad_status = [](const Outcome& o) { return o.status != 200 && o.status != 0; };
  EXPECT_EQ(Count(outcomes, bad_status), 0) << Describe(outcomes, bad_status);
  auto survivor_failed = [](const Outcome& o) { return o.server == 1 && o.status != 200; };
  EXPECT_EQ(Count(outcomes, survivor_failed), 0) << Describe(outcomes, survivor_failed);
  const int connection_errors = Count(outcomes, [](const Outcome& o) { return o.status == 0; });
  EXPECT_GT(connection_errors, 0) << "the kill was not observed";
  auto slow_error = [](const Outcome& o) { return o.status == 0 && o.seconds() > kPromptSeconds; };
  EXPECT_EQ(Count(outcomes, slow_error), 0) << Describe(outcomes, slow_error);
  // In flight at the kill: cut off with an error, not left hanging.
  const int cut_off = Count(
      outcomes, [&](const Outcome& o) { return o.status == 0 && o.start < killed_at && o.end >= killed_at; });
  // After the restart the victim's clients are served again.
  const int served_after_restart = Count(outcomes, [&](const Outcome& o) {
    return o.server == 0 && o.status == 200 && o.start >= restarted_at;
  });
  EXPECT_GT(served_after_restart, 0);
  EXPECT_TRUE(survivor->Alive() && victim->Alive());

  const LedgerState ledger = ReadLedger(db.url(), "bob");
  const int64_t unanswered = ExpectLedgerMatches(ledger, outcomes);
  const int served = Count(outcomes, [](const Outcome& o) { return o.status == 200; });
  // A debit committed by the victim just before it died is kept (budgets are
  // never refunded) though its answer never left: at most one per request in
  // flight at the kill.
  EXPECT_GE(unanswered, 0);
  EXPECT_LE(unanswered, kClients / 2);
  // Every answer was audited before it was sent; an audit row of an answer
  // needs a debit first.
  EXPECT_GE(ledger.audit_ok, served);
  EXPECT_LE(ledger.audit_ok, static_cast<int64_t>(ledger.rows.size()));

  std::printf(
      "figures: kill -9: servers 2, clients %d, requests %zu, answers %d, connection errors %d "
      "(cut off in flight %d, longest %.2f s), restart %.2f s, answers after restart %d, ledger rows %zu, "
      "debits kept without an answer %lld, spent %lld = ledger sum %lld micro-epsilon\n",
      kClients, outcomes.size(), served, connection_errors, cut_off, Longest(outcomes),
      Seconds(restarted_at - restart_at), served_after_restart, ledger.rows.size(),
      static_cast<long long>(unanswered), static_cast<long long>(ledger.spent),
      static_cast<long long>(ledger.ledger_sum));
}

// ---------------------------------------------------------------------------
// 3. PostgreSQL stopped and started under load. The test owns a private
//    cluster (initdb under the temp directory, a Unix socket only) so that
//    stopping it disturbs no other test sharing scripts/test's cluster.

class PrivateCluster {
 public:
  explicit PrivateCluster(const std::filesystem::path& dir) : dir_(dir) {
    bin_ = "/usr/lib/postgresql/15/bin";
    port_ = 20000 + getpid() % 20000;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);  // left over by a killed run
    std::filesystem::create_directories(dir_);
    // PostgreSQL refuses to run as root; it then runs as `postgres`.
    if (geteuid() == 0) {
      if (passwd* pw = getpwnam("postgres"); pw != nullptr) {
        owner_ = "postgres";
        if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) error_ = "chown failed";
      }
    }
    error_ += Run("initdb -D " + ShellQuote((dir_ / "data").string()) +
                  " -U postgres -E UTF8 --locale=C --auth=trust -N");
    std::ofstream(dir_ / "data" / "postgresql.auto.conf", std::ios::app)
        << "listen_addresses = ''\nunix_socket_directories = '" << dir_.string() << "'\nport = " << port_
        << "\nmax_connections = 60\nfsync = off\n";
    if (error_.empty()) error_ = StartServer();
  }
  ~PrivateCluster() {
    Run("pg_ctl stop -D " + ShellQuote((dir_ / "data").string()) + " -m immediate -w");
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Empty when the cluster is up; else what went wrong.
  const std::string& error() const { return error_; }
  std::string Url(const std::string& dbname) const {
    return "host=" + dir_.string() + " port=" + std::to_string(port_) + " user=postgres dbname=" + dbname;
  }
  // `pg_ctl stop -m fast|immediate`: "" on success, else pg_ctl's output.
  std::string Stop(const std::string& mode) {
    return Run("pg_ctl stop -D " + ShellQuote((dir_ / "data").string()) + " -m " + mode + " -w -t 30");
  }
  std::string StartServer() {
    return Run("pg_ctl start -D " + ShellQuote((dir_ / "data").string()) + " -l " +
               ShellQuote((dir_ / "postgres.log").string()) + " -w -t 60");
  }

 private:
  // Runs a PostgreSQL program as the cluster's owner; "" on success.
  std::string Run(const std::string& command) {
    std::string line =
        "cd / && " + (owner_.empty() ? "" : "runuser -u " + owner_ + " -- ") + bin_ + "/" + command;
    int code = 0;
    std::string out = RunCommand(line, &code);
    return code == 0 ? "" : line + " failed (" + std::to_string(code) + "): " + out;
  }

  std::filesystem::path dir_;
  std::string bin_, owner_, error_;
  int port_ = 0;
};

TEST_F(FaultTest, PostgresRestartUnderLoadIs503ThenServesAgainWithoutRestartingDpqld) {
  constexpr int kClients = 16;
  PrivateCluster cluster(std::filesystem::path("/tmp") / ("dpql_fault_pg_" + std::to_string(getpid())));
  ASSERT_EQ(cluster.error(), "");
  {
    pqxx::connection admin(cluster.Url("postgres"));
    pqxx::nontransaction txn(admin);
    txn.exec("CREATE DATABASE faults");
  }
  const std::string url = cluster.Url("faults");
  ASSERT_NO_FATAL_FAILURE(Prepare(url, 2000));
  const std::string token = AddAnalyst(url, "cleo", "1000");
  auto server = Start("server", url);
  ASSERT_TRUE(server->started());
  std::vector<std::atomic<uint16_t>> ports(1);
  ports[0] = server->port();

  struct Fault {
    std::string mode;
    Clock::time_point stopping, stopped, started;  // pg_ctl stop called, returned; start returned
  };
  std::vector<Fault> faults;
  Load load(&ports, token, kClients, /*until_refused=*/false);
  for (const std::string mode : {"fast", "immediate"}) {
    std::this_thread::sleep_for(Phase(1.5));
    Fault fault{mode, Clock::now(), {}, {}};
    ASSERT_EQ(cluster.Stop(mode), "");
    fault.stopped = Clock::now();
    std::this_thread::sleep_for(1500ms);  // the outage
    ASSERT_EQ(cluster.StartServer(), "");
    fault.started = Clock::now();
    faults.push_back(fault);
  }
  std::this_thread::sleep_for(Phase(2));
  load.Stop();
  load.Join();
  const std::vector<Outcome> outcomes = load.Outcomes();

  // dpqld stayed up: every request got an HTTP answer, promptly, and each was
  // an answer or the documented 503 database_unavailable — never a 500.
  auto unexpected = [](const Outcome& o) {
    return !(o.status == 200 || (o.status == 503 && o.code == "database_unavailable"));
  };
  EXPECT_EQ(Count(outcomes, unexpected), 0) << Describe(outcomes, unexpected);
  auto slow = [](const Outcome& o) { return o.seconds() > kPromptSeconds; };
  EXPECT_EQ(Count(outcomes, slow), 0) << Describe(outcomes, slow);
  EXPECT_TRUE(server->Alive());

  std::ostringstream recovery;
  for (size_t f = 0; f < faults.size(); ++f) {
    const Fault& fault = faults[f];
    const Clock::time_point next_fault =
        f + 1 < faults.size() ? faults[f + 1].stopping : Clock::time_point::max();
    // Clients saw the outage as 503s...
    const int unavailable = Count(outcomes, [&](const Outcome& o) {
      return o.status == 503 && o.start >= fault.stopped && o.end <= fault.started;
    });
    EXPECT_GT(unavailable, 0) << "no 503 during the " << fault.mode << " outage";
    // ...and dpqld, not restarted, answers again once PostgreSQL is back:
    // the first answer after the restart, and no 503 for a request sent
    // after that answer (no stale pooled connection fails a request).
    Clock::time_point first_answer = Clock::time_point::max();
    for (const Outcome& o : outcomes) {
      if (o.status == 200 && o.start >= fault.started) first_answer = std::min(first_answer, o.end);
    }
    ASSERT_NE(first_answer, Clock::time_point::max()) << "no answer after the " << fault.mode << " restart";
    // Stragglers: 503s for requests sent after that first answer (reported).
    const int straggling = Count(outcomes, [&](const Outcome& o) {
      return o.status == 503 && o.start >= first_answer && o.end < next_fault;
    });
    // Recovered: no 503 for a request sent a second or more after PostgreSQL is up.
    const int late_503 = Count(outcomes, [&](const Outcome& o) {
      return o.status == 503 && o.start >= fault.started + 1s && o.end < next_fault;
    });
    EXPECT_EQ(late_503, 0) << "503s a second after PostgreSQL was back from the " << fault.mode << " restart";
    recovery << " " << fault.mode << ": 503s " << unavailable << ", first answer "
             << Seconds(first_answer - fault.started) << " s after PostgreSQL was up, then " << straggling
             << " straggling 503s;";
  }

  const LedgerState ledger = ReadLedger(url, "cleo");
  const int64_t unanswered = ExpectLedgerMatches(ledger, outcomes);
  const int served = Count(outcomes, [](const Outcome& o) { return o.status == 200; });
  // A debit that committed just before its query's SQL was cut off is kept,
  // though its answer was refused with a 503: at most one per client per fault.
  EXPECT_GE(unanswered, 0);
  EXPECT_LE(unanswered, kClients * static_cast<int64_t>(faults.size()));

  std::printf(
      "figures: PostgreSQL restart: clients %d, requests %zu, answers %d, 503s %d, other errors %d, "
      "longest request %.2f s, ledger rows %zu, debits kept without an answer %lld, "
      "spent %lld = ledger sum %lld micro-epsilon;%s\n",
      kClients, outcomes.size(), served, Count(outcomes, [](const Outcome& o) { return o.status == 503; }),
      Count(outcomes, unexpected), Longest(outcomes), ledger.rows.size(), static_cast<long long>(unanswered),
      static_cast<long long>(ledger.spent), static_cast<long long>(ledger.ledger_sum),
      recovery.str().c_str());
}

}  // namespace
}  // namespace dpql
