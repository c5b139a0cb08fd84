// The data queries on a real streaming read replica, every debit on the
// primary (`replica` in dpqld.yaml; docs/SCALING.md, "Many dpqld instances
// on one ledger"). Two private PostgreSQL 15 clusters on free loopback ports,
// started by scripts/pg-cluster under the build directory: a primary holding
// the hospital data and the ledger, and a replica streaming from it. A
// `dpqld serve` with `database` = the primary and `replica` = the replica.
//
// What proves where each piece of work ran:
// - the replica's replay is paused and the primary's admissions deleted: a
//   fresh query still counts the patients, so its SQL ran on the replica;
//   its debit is in the primary's ledger, exactly;
// - a data version bumped on the primary but not yet replayed refuses fresh
//   queries (not_ready, nothing charged) until the replica catches up;
// - the replica stopped: data queries fail cleanly before any debit, while
//   the primary still serves cached answers, budgets and /healthz;
// - a replica refuses writes, so a debit, an audit row or a cached answer
//   sent there would have failed: every one is found on the primary;
// - release runs likewise: read on the replica, paid and stored on the
//   primary, refused before payment while the replica lags a data version.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <regex>
#include <stdexcept>
#include <string>
#include <thread>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "runtime/engine.h"
#include "runtime/pg/connection_pool.h"
#include "runtime/random/random_source.h"
#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

// A loopback port the kernel found free just now.
uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) throw std::runtime_error("socket() failed");
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  socklen_t length = sizeof address;
  if (bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) != 0 ||
      getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length) != 0) {
    close(fd);
    throw std::runtime_error("cannot find a free loopback port");
  }
  close(fd);
  return ntohs(address.sin_port);
}

// One private cluster of scripts/pg-cluster: started on construction (a
// replica of the cluster on `replica_of` when that is not 0), stopped and
// removed on destruction.
class Cluster {
 public:
  Cluster(std::filesystem::path dir, uint16_t replica_of = 0)
      : dir_(std::move(dir)), port_(FreePort()), replica_of_(replica_of) {
    Start();
  }
  ~Cluster() {
    Stop();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
    std::filesystem::remove(dir_.string() + ".log", ignored);
  }
  Cluster(const Cluster&) = delete;
  Cluster& operator=(const Cluster&) = delete;

  // Starts the cluster (again: its data directory is kept by Stop).
  void Start() {
    std::string command = ShellQuote(SourceDir() + "/scripts/pg-cluster") + " start " +
                          ShellQuote(dir_.string()) + " " + std::to_string(port_);
    if (replica_of_ != 0) command += " --replica-of " + std::to_string(replica_of_);
    int code = 0;
    const std::string out = RunCommand(command, &code);
    std::smatch match;
    static const std::regex kConninfo("host=\\S+ port=\\d+ user=(\\S+) dbname=postgres");
    if (code != 0 || !std::regex_search(out, match, kConninfo)) {
      throw std::runtime_error("scripts/pg-cluster start failed (exit " + std::to_string(code) + "):\n" +
                               out + "\n" + Log());
    }
    user_ = match[1].str();
  }
  void Stop() {
    int code = 0;
    RunCommand(ShellQuote(SourceDir() + "/scripts/pg-cluster") + " stop " + ShellQuote(dir_.string()), &code);
  }

  uint16_t port() const { return port_; }
  std::string Url(const std::string& database) const {
    return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + user_ + " dbname=" + database;
  }
  std::string Log() const {
    std::ifstream in(dir_.string() + ".log");
    return std::string(std::istreambuf_iterator<char>(in), {});
  }

 private:
  std::filesystem::path dir_;
  uint16_t port_;
  uint16_t replica_of_;
  std::string user_;
};

// The first column of the first row of `sql` on `url`, as text.
std::string Value(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  pqxx::result result = txn.exec(sql);
  return result.empty() || result[0][0].is_null() ? "" : result[0][0].as<std::string>();
}

void Exec(const std::string& url, const std::string& sql) {
  pqxx::connection connection(url);
  pqxx::nontransaction txn(connection);
  txn.exec(sql);
}

// Waits until the replica has replayed everything the primary has written.
void WaitForReplay(const std::string& primary, const std::string& replica) {
  const std::string lsn = Value(primary, "SELECT pg_current_wal_lsn()::text");
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  while (Value(replica, "SELECT coalesce(pg_last_wal_replay_lsn() >= '" + lsn + "'::pg_lsn, false)") != "t") {
    if (std::chrono::steady_clock::now() > deadline) {
      FAIL() << "the replica did not replay up to " << lsn << " within 30 s";
    }
    std::this_thread::sleep_for(50ms);
  }
}

// What one POST /v1/query came to.
struct Answer {
  int status = 0;
  std::string code;        // error.code of a refusal
  int64_t cost_micro = 0;  // cost.epsilon in micro-epsilon
  bool cached = false;
  double value = NAN;  // the first row's first value
  std::string body;
};

Answer Ask(uint16_t port, const std::string& token, const std::string& query) {
  Reply reply = PostBody(port, token, json{{"query", query}, {"dataset", "hospital"}}.dump());
  Answer answer;
  answer.status = reply.status;
  answer.body = reply.body;
  const json& doc = reply.doc;
  if (!doc.is_object()) return answer;
  if (reply.status == 200) {
    answer.cached = doc.value("cached", false);
    if (doc.contains("cost") && doc["cost"].contains("epsilon")) {
      answer.cost_micro = std::llround(doc["cost"]["epsilon"].get<double>() * 1e6);
    }
    if (doc.contains("rows") && !doc["rows"].empty() && doc["rows"][0][0].is_number()) {
      answer.value = doc["rows"][0][0].get<double>();
    }
  } else if (doc.contains("error")) {
    answer.code = doc["error"].value("code", "");
  }
  return answer;
}

// A count of patients at `epsilon` (a distinct epsilon is a distinct query:
// the answer cache never answers it).
std::string CountQuery(const std::string& epsilon) {
  return "SELECT COUNT(DISTINCT patient_id) AS patients FROM admissions WITH PRIVACY (epsilon = " + epsilon +
         ", mechanism = laplace)";
}

class ReadReplicaTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::absolute(BinDir()) / ".." /
           ("read_replica_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    dir_ = dir_.lexically_normal();
    std::filesystem::create_directories(dir_);
    // The replica is copied from the empty primary, then streams the load.
    primary_ = std::make_unique<Cluster>(dir_ / "primary");
    replica_ = std::make_unique<Cluster>(dir_ / "replica", primary_->port());
    Exec(primary_->Url("postgres"), "CREATE DATABASE hospital");
    primary_url_ = primary_->Url("hospital");
    replica_url_ = replica_->Url("hospital");

    int code = 0;
    std::string out = RunCommand(
        ShellQuote(SourceDir() + "/examples/hospital/load.sh") + " --rows 3000 " + ShellQuote(primary_url_),
        &code);
    ASSERT_EQ(code, 0) << out;
    out = RunAdmin(primary_url_, "init", &code);
    ASSERT_EQ(code, 0) << out;
    token_ = AddAnalystToken(primary_url_, "alice --dataset hospital --epsilon 10");
    ASSERT_NO_FATAL_FAILURE(WaitForReplay(primary_->Url("postgres"), replica_->Url("postgres")));
    ASSERT_EQ(Value(replica_url_, "SELECT pg_is_in_recovery()"), "t");
    patients_ = std::stoll(Value(replica_url_, "SELECT count(DISTINCT patient_id) FROM admissions"));
    ASSERT_GT(patients_, 500);
  }

  // Starts dpqld with `database` = the primary and the replica given by the
  // `replica` key, or by the --replica flag.
  void StartServer(bool by_flag) {
    const std::string catalog =
        (std::filesystem::absolute(SourceDir()) / "examples/hospital/catalog.yaml").string();
    std::ofstream config(dir_ / "dpqld.yaml");
    config << DpqldConfigBase(primary_url_, catalog);
    if (!by_flag) config << "replica: \"" << replica_url_ << "\"\n";
    config.close();
    DpqldOptions options{.config = (dir_ / "dpqld.yaml").string(), .log_path = (dir_ / "dpqld.log").string()};
    if (by_flag) options.extra_args = {"--replica", replica_url_};
    server_ = std::make_unique<DpqldProcess>(options);
    ASSERT_TRUE(server_->started()) << server_->log();
  }

  void TearDown() override {
    if (server_) server_->Stop(5s);
    if (HasFailure()) {
      if (server_) std::cerr << "---- dpqld log\n" << server_->log() << "\n";
      if (replica_) std::cerr << "---- replica log (tail)\n" << Tail(replica_->Log()) << "\n";
    }
    server_.reset();
    replica_.reset();
    primary_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  static std::string Tail(const std::string& text) {
    return text.size() > 4000 ? text.substr(text.size() - 4000) : text;
  }

  // alice's spend on the primary: budgets.epsilon_spent, and the number and
  // sum of her ledger rows (micro-epsilon).
  struct Spend {
    int64_t spent = 0, rows = 0, ledger_sum = 0;
  };
  Spend PrimarySpend() {
    Spend spend;
    pqxx::connection connection(primary_url_);
    pqxx::nontransaction txn(connection);
    spend.spent =
        txn.exec1(
               "SELECT b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = b.analyst_id "
               "WHERE a.name = 'alice'")[0]
            .as<int64_t>();
    pqxx::row row = txn.exec1(
        "SELECT count(*), coalesce(sum(l.epsilon), 0) FROM dpql.ledger l JOIN dpql.analysts a "
        "ON a.id = l.analyst_id WHERE a.name = 'alice'");
    spend.rows = row[0].as<int64_t>();
    spend.ledger_sum = row[1].as<int64_t>();
    return spend;
  }

  // Pauses the replica's replay, then deletes the primary's admissions: from
  // here on, a count of patients is the replica's if it is not 0.
  void PauseReplayAndDeleteAdmissions() {
    Exec(replica_->Url("postgres"), "SELECT pg_wal_replay_pause()");
    for (int i = 0; Value(replica_->Url("postgres"), "SELECT pg_get_wal_replay_pause_state()") != "paused";
         ++i) {
      ASSERT_LT(i, 600) << "the replica's replay did not pause";
      std::this_thread::sleep_for(50ms);
    }
    Exec(primary_url_, "DELETE FROM admissions");
    ASSERT_EQ(Value(primary_url_, "SELECT count(*) FROM admissions"), "0");
  }

  void ResumeReplay() {
    Exec(replica_->Url("postgres"), "SELECT pg_wal_replay_resume()");
    ASSERT_NO_FATAL_FAILURE(WaitForReplay(primary_->Url("postgres"), replica_->Url("postgres")));
  }

  void BumpDataVersion() {
    int code = 0;
    const std::string out = RunAdmin(primary_url_, "data-version hospital", &code);
    ASSERT_EQ(code, 0) << out;
  }

  // Every answer's charge is in the primary's ledger, and nothing else is.
  void ExpectExactSpend(int64_t answered_micro, int64_t charged_answers) {
    const Spend spend = PrimarySpend();
    EXPECT_EQ(spend.spent, answered_micro);
    EXPECT_EQ(spend.ledger_sum, answered_micro);
    EXPECT_EQ(spend.rows, charged_answers);
  }

  // Nothing the server sent was refused as a write on a read-only server,
  // nor was any audit row or cached answer lost.
  void ExpectNoLostWrites() {
    const std::string log = server_->log();
    for (const char* sign : {"read-only transaction", "AUDIT WRITE FAILED", "could not be cached"}) {
      EXPECT_EQ(log.find(sign), std::string::npos) << sign << " in the dpqld log:\n" << log;
    }
  }

  std::filesystem::path dir_;
  std::unique_ptr<Cluster> primary_, replica_;
  std::string primary_url_, replica_url_, token_;
  int64_t patients_ = 0;
  std::unique_ptr<DpqldProcess> server_;
  static inline int counter_ = 0;
};

TEST_F(ReadReplicaTest, DataQueriesRunOnTheReplicaAndEveryDebitOnThePrimary) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*by_flag=*/false));
  int64_t answered = 0, charged = 0;
  auto expect_charged = [&](const Answer& answer, int64_t micro) {
    ASSERT_EQ(answer.status, 200) << answer.body;
    EXPECT_FALSE(answer.cached);
    EXPECT_EQ(answer.cost_micro, micro);
    answered += answer.cost_micro;
    ++charged;
  };

  // 1. Answered, paid on the primary, stored in the primary's answer cache.
  const Answer first = Ask(server_->port(), token_, CountQuery("1.0"));
  ASSERT_NO_FATAL_FAILURE(expect_charged(first, 1'000'000));
  EXPECT_NEAR(first.value, static_cast<double>(patients_), 100);
  ExpectExactSpend(answered, charged);
  const Answer repeat = Ask(server_->port(), token_, CountQuery("1.0"));
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_TRUE(repeat.cached);
  EXPECT_EQ(repeat.cost_micro, 0);
  EXPECT_EQ(repeat.value, first.value) << "a repeat is the stored answer, never a fresh draw";
  EXPECT_EQ(Value(primary_url_, "SELECT count(*) FROM dpql.answer_cache"), "1");
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 200);

  // 2. The replica stops replaying; the primary's admissions are deleted. A
  //    fresh query still counts every patient: its SQL ran on the replica,
  //    and its debit landed on the primary.
  ASSERT_NO_FATAL_FAILURE(PauseReplayAndDeleteAdmissions());
  const Answer lagging = Ask(server_->port(), token_, CountQuery("0.5"));
  ASSERT_NO_FATAL_FAILURE(expect_charged(lagging, 500'000));
  EXPECT_NEAR(lagging.value, static_cast<double>(patients_), 100)
      << "the primary has no admissions left: this count was read on the replica";
  ExpectExactSpend(answered, charged);

  // 3. A data version bumped on the primary that the replica has not
  //    replayed: fresh queries are refused before their debit, free.
  ASSERT_NO_FATAL_FAILURE(BumpDataVersion());
  const Answer behind = Ask(server_->port(), token_, CountQuery("0.25"));
  EXPECT_EQ(behind.status, 503) << behind.body;
  EXPECT_EQ(behind.code, "not_ready") << behind.body;
  ExpectExactSpend(answered, charged);

  // 4. Replay resumes: the replica catches up with the deletion, and the
  //    same query is answered from the data of the new version.
  ASSERT_NO_FATAL_FAILURE(ResumeReplay());
  const Answer caught_up = Ask(server_->port(), token_, CountQuery("0.25"));
  ASSERT_NO_FATAL_FAILURE(expect_charged(caught_up, 250'000));
  EXPECT_LT(caught_up.value, 60) << "the replica now has no admissions either";
  ExpectExactSpend(answered, charged);

  // Every request's audit row is on the primary (a replica refuses them).
  EXPECT_EQ(Value(primary_url_, "SELECT count(*) FROM dpql.audit WHERE source = 'POST /v1/query'"), "5");
  ExpectNoLostWrites();
}

TEST_F(ReadReplicaTest, AReplicaDownRefusesDataQueriesCleanlyAndChargesNothing) {
  ASSERT_NO_FATAL_FAILURE(StartServer(/*by_flag=*/true));
  const Answer first = Ask(server_->port(), token_, CountQuery("1.0"));
  ASSERT_EQ(first.status, 200) << first.body;
  ASSERT_EQ(first.cost_micro, 1'000'000);
  ExpectExactSpend(1'000'000, 1);

  replica_->Stop();
  // Refused before the debit, for as long as the replica is down.
  for (const char* epsilon : {"0.5", "0.5", "0.75"}) {
    const Answer refused = Ask(server_->port(), token_, CountQuery(epsilon));
    EXPECT_EQ(refused.status, 503) << refused.body;
    EXPECT_EQ(refused.code, "database_unavailable") << refused.body;
  }
  ExpectExactSpend(1'000'000, 1);
  // The primary still serves everything that is not a data query.
  const Answer repeat = Ask(server_->port(), token_, CountQuery("1.0"));
  EXPECT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_TRUE(repeat.cached);
  EXPECT_EQ(repeat.value, first.value);
  const Answer budget = Ask(server_->port(), token_, "SHOW BUDGET");
  EXPECT_EQ(budget.status, 200) << budget.body;
  EXPECT_EQ(Get(server_->port(), "/healthz").status, 200);
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 503) << "the data cannot be read";

  // Back up: the next data query reconnects and is answered and charged.
  replica_->Start();
  const auto deadline = std::chrono::steady_clock::now() + 30s;
  Answer answered;
  do {
    answered = Ask(server_->port(), token_, CountQuery("0.5"));
    if (answered.status == 200) break;
    ASSERT_EQ(answered.status, 503) << answered.body;
    std::this_thread::sleep_for(200ms);
  } while (std::chrono::steady_clock::now() < deadline);
  ASSERT_EQ(answered.status, 200) << answered.body;
  EXPECT_EQ(answered.cost_micro, 500'000);
  EXPECT_NEAR(answered.value, static_cast<double>(patients_), 100);
  ExpectExactSpend(1'500'000, 2);
  EXPECT_EQ(Get(server_->port(), "/readyz").status, 200);
  ExpectNoLostWrites();
}

// The engine as dpqld's release scheduler drives it, with the primary's and
// the replica's pools.
TEST_F(ReadReplicaTest, ReleaseRunsReadTheReplicaAndArePaidOnThePrimary) {
  int code = 0;
  const std::string granted = RunAdmin(primary_url_, "release grant --dataset hospital --epsilon 2", &code);
  ASSERT_EQ(code, 0) << granted;
  const Catalog catalog = LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml");
  ConnectionPool primary(primary_url_, 2);
  ConnectionPool replica(replica_url_, 2);
  Engine engine(catalog, primary, std::make_unique<SecureRandom>(), 60000, nullptr, &replica);
  ASSERT_TRUE(engine.has_replica());
  auto run = [&](const std::string& day) {
    ReleaseRunRequest request;
    request.release = "patients";
    request.dataset = "hospital";
    request.parameters = "day=" + day;
    request.day = day;
    request.queries = {{"patients", CountQuery("0.5")}};
    request.origin = "test";
    return engine.RunRelease(request);
  };
  auto published = [&](const std::string& day) -> double {
    std::vector<PublishedRelease> runs = engine.ReleaseRuns("patients", day, day, 1);
    if (runs.empty() || runs[0].levels.empty() || runs[0].levels[0].answer.rows.empty()) return NAN;
    return static_cast<double>(std::get<int64_t>(runs[0].levels[0].answer.rows[0][0]));
  };
  auto account_spent = [&] {
    return std::stoll(
        Value(primary_url_, "SELECT epsilon_spent FROM dpql.release_accounts WHERE dataset = 'hospital'"));
  };

  // Read on the replica (the primary has no admissions), paid on the primary.
  ASSERT_NO_FATAL_FAILURE(PauseReplayAndDeleteAdmissions());
  const ReleaseRunOutcome first = run("2026-01-01");
  EXPECT_EQ(first.state, ReleaseRunOutcome::State::kPublished);
  EXPECT_NEAR(published("2026-01-01"), static_cast<double>(patients_), 100);
  EXPECT_EQ(account_spent(), 500'000);

  // A data version the replica has not replayed: refused before payment.
  ASSERT_NO_FATAL_FAILURE(BumpDataVersion());
  try {
    run("2026-01-02");
    ADD_FAILURE() << "a release run read a replica behind the primary's data version";
  } catch (const DpqlError& error) {
    EXPECT_EQ(error.code(), ErrorCode::kNotReady) << error.what();
  }
  EXPECT_EQ(account_spent(), 500'000);
  EXPECT_EQ(Value(primary_url_, "SELECT count(*) FROM dpql.release_runs"), "1");

  // Caught up: the run is paid once and publishes the new data.
  ASSERT_NO_FATAL_FAILURE(ResumeReplay());
  const ReleaseRunOutcome second = run("2026-01-02");
  EXPECT_EQ(second.state, ReleaseRunOutcome::State::kPublished);
  EXPECT_LT(published("2026-01-02"), 60);
  EXPECT_EQ(account_spent(), 1'000'000);
  EXPECT_EQ(run("2026-01-02").state, ReleaseRunOutcome::State::kAlreadyPublished);
  EXPECT_EQ(account_spent(), 1'000'000);
}

}  // namespace
}  // namespace dpql
