// Many dpqld, one ledger (docs/SCALING.md, "Many dpqld instances on one
// ledger"): three real `dpqld serve` processes on one PostgreSQL database,
// which holds the data, the ledger, the answer cache and the audit.
//
// - 64 concurrent HTTP clients spend one analyst's budget through all three
//   with distinct (uncached) queries: the epsilon released — the cost of
//   every 200 answer — never exceeds the grant, the ledger's spend equals it
//   exactly, and every refusal is 409 budget_exhausted.
// - A query answered by one instance is a free repeat on every instance:
//   64 clients asking it again through all three get the stored answer
//   (cached, cost 0, the same noisy value), and the analyst is charged once.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <pqxx/pqxx>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;
using namespace std::chrono_literals;

constexpr int kServers = 3;
constexpr int kClients = 64;

// What one request came to.
struct Outcome {
  int server = 0;
  int64_t asked_micro = 0;
  int status = 0;  // 0: no HTTP response (the transport failed)
  std::string code;
  int64_t cost_micro = 0;
  int64_t delta_cost = 0;  // cost.delta != 0
  bool cached = false;
  json rows;
  std::string text;  // the body, or the transport's error
};

Outcome Ask(uint16_t port, const std::string& token, const std::string& query) {
  Outcome outcome;
  try {
    const std::chrono::seconds timeout(30);
    Reply reply =
        Call(port, {"POST", "/v1/query", json{{"query", query}, {"dataset", "hospital"}}.dump(), token, ""},
             {.receive = timeout, .send = timeout});
    outcome.status = reply.status;
    outcome.text = reply.body.substr(0, 300);
    const json& doc = reply.doc;
    if (reply.status == 200 && doc.is_object()) {
      outcome.cached = doc.value("cached", false);
      outcome.cost_micro = std::llround(doc["cost"]["epsilon"].get<double>() * 1e6);
      outcome.delta_cost = doc["cost"]["delta"].get<double>() != 0;
      outcome.rows = doc["rows"];
    } else if (doc.is_object() && doc.contains("error")) {
      outcome.code = doc["error"].value("code", "");
    }
  } catch (const std::exception& error) {
    outcome.text = error.what();
  }
  return outcome;
}

class ScaleOutLedgerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_scale_out_ledger_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    db_ = std::make_unique<TestDatabase>();
    ASSERT_NO_THROW(db_->LoadHospital(2000));
    int code = 0;
    const std::string out = RunAdmin(db_->url(), "init", &code);
    ASSERT_EQ(code, 0) << out;
    const std::string catalog =
        (std::filesystem::absolute(SourceDir()) / "examples/hospital/catalog.yaml").string();
    std::ofstream(dir_ / "dpqld.yaml") << DpqldConfigBase(db_->url(), catalog) << "threads: 2\ndb_pool: 4\n";
    // Three stateless instances of one configuration, as behind a load balancer.
    for (int i = 0; i < kServers; ++i) {
      servers_.push_back(std::make_unique<DpqldProcess>(
          DpqldOptions{.config = (dir_ / "dpqld.yaml").string(),
                       .log_path = (dir_ / ("dpqld" + std::to_string(i) + ".log")).string()}));
      ASSERT_TRUE(servers_.back()->started()) << servers_.back()->log();
    }
  }

  void TearDown() override {
    for (auto& server : servers_) {
      server->Stop(5s);
      if (HasFailure()) std::cerr << "---- dpqld log\n" << server->log().substr(0, 4000) << "\n";
    }
    servers_.clear();
    db_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  uint16_t Port(int i) const { return servers_[static_cast<size_t>(i % kServers)]->port(); }

  // Runs `ask(client, request)` for `requests` requests on each of kClients
  // threads, all started together; returns every outcome.
  std::vector<Outcome> RunClients(int requests, const std::function<Outcome(int, int)>& ask) {
    std::vector<Outcome> outcomes;
    std::mutex mutex;
    std::atomic<bool> go{false};
    std::vector<std::thread> threads;
    for (int client = 0; client < kClients; ++client) {
      threads.emplace_back([&, client] {
        while (!go.load()) std::this_thread::yield();
        for (int request = 0; request < requests; ++request) {
          Outcome outcome = ask(client, request);
          std::lock_guard<std::mutex> lock(mutex);
          outcomes.push_back(std::move(outcome));
        }
      });
    }
    go = true;
    for (auto& thread : threads) thread.join();
    return outcomes;
  }

  // The analyst's budget and ledger in micro-epsilon.
  struct LedgerState {
    int64_t total = 0, spent = 0, ledger_rows = 0, ledger_sum = 0;
  };
  LedgerState Ledger(const std::string& analyst) {
    pqxx::connection connection(db_->url());
    pqxx::nontransaction txn(connection);
    LedgerState state;
    pqxx::row budget = txn.exec1(
        "SELECT b.epsilon_total, b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a "
        "ON a.id = b.analyst_id WHERE a.name = " +
        txn.quote(analyst));
    state.total = budget[0].as<int64_t>();
    state.spent = budget[1].as<int64_t>();
    pqxx::row ledger = txn.exec1(
        "SELECT count(*), coalesce(sum(l.epsilon), 0) FROM dpql.ledger l JOIN dpql.analysts a "
        "ON a.id = l.analyst_id WHERE a.name = " +
        txn.quote(analyst));
    state.ledger_rows = ledger[0].as<int64_t>();
    state.ledger_sum = ledger[1].as<int64_t>();
    return state;
  }

  std::filesystem::path dir_;
  std::unique_ptr<TestDatabase> db_;
  std::vector<std::unique_ptr<DpqldProcess>> servers_;
  static inline int counter_ = 0;
};

TEST_F(ScaleOutLedgerTest, ThreeServersUnderSixtyFourClientsNeverOverspendOneBudget) {
  constexpr int kRequests = 4;           // per client: 256 asks of about 0.05 epsilon
  constexpr int64_t kGrant = 3'000'000;  // about 59 of them fit
  const std::string token = AddAnalystToken(db_->url(), "ada --dataset hospital --epsilon 3");
  ASSERT_FALSE(token.empty());

  const auto start = std::chrono::steady_clock::now();
  const std::vector<Outcome> outcomes = RunClients(kRequests, [&](int client, int request) {
    // Each ask has its own epsilon: a distinct query that the answer cache
    // never answers, so every answer is charged.
    const int64_t micro = 50'000 + client * kRequests + request;
    Outcome outcome =
        Ask(Port(client + request), token,
            "SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = " + EpsilonText(micro) +
                ", mechanism = laplace)");
    outcome.server = (client + request) % kServers;
    outcome.asked_micro = micro;
    return outcome;
  });
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int64_t released = 0;
  int answered = 0, refused = 0;
  int64_t cheapest_refused = INT64_MAX;
  std::vector<int> answered_by(kServers, 0);
  for (const Outcome& o : outcomes) {
    if (o.status == 200) {
      EXPECT_FALSE(o.cached) << "a distinct query was answered from the cache";
      EXPECT_EQ(o.cost_micro, o.asked_micro);
      EXPECT_EQ(o.delta_cost, 0);
      released += o.cost_micro;
      ++answered;
      ++answered_by[static_cast<size_t>(o.server)];
    } else if (o.status == 409 && o.code == "budget_exhausted") {
      ++refused;
      cheapest_refused = std::min(cheapest_refused, o.asked_micro);
    } else {
      ADD_FAILURE() << "server " << o.server << ": status " << o.status << " " << o.code << ": " << o.text;
    }
  }
  EXPECT_LE(released, kGrant) << "more epsilon released than granted";
  const LedgerState ledger = Ledger("ada");
  EXPECT_EQ(ledger.total, kGrant);
  EXPECT_EQ(ledger.spent, released) << "the ledger's spend is not the sum of the answers' costs";
  EXPECT_EQ(ledger.ledger_sum, released);
  EXPECT_EQ(ledger.ledger_rows, answered);
  // The budget really ran out through the contention: some asks were refused,
  // and what is left would not pay for the cheapest of them.
  EXPECT_GT(refused, 0);
  EXPECT_LT(kGrant - ledger.spent, cheapest_refused);
  for (int i = 0; i < kServers; ++i) EXPECT_GT(answered_by[static_cast<size_t>(i)], 0) << "server " << i;
  std::printf(
      "figures: servers %d, clients %d, requests %zu, answers %d, refusals %d, released %lld of %lld "
      "micro-epsilon, %.1f s\n",
      kServers, kClients, outcomes.size(), answered, refused, static_cast<long long>(released),
      static_cast<long long>(kGrant), seconds);
}

TEST_F(ScaleOutLedgerTest, ARepeatIsChargedOnceWhicheverServerAnswersIt) {
  const std::string token = AddAnalystToken(db_->url(), "bea --dataset hospital --epsilon 1");
  ASSERT_FALSE(token.empty());
  const std::string query =
      "SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.5, mechanism = "
      "laplace)";

  const Outcome first = Ask(Port(1), token, query);
  ASSERT_EQ(first.status, 200) << first.text;
  EXPECT_FALSE(first.cached);
  EXPECT_EQ(first.cost_micro, 500'000);

  // Every client asks it again through every server: the stored answer,
  // free, the same noisy figures — never a fresh draw.
  const std::vector<Outcome> repeats = RunClients(kServers, [&](int client, int request) {
    Outcome outcome = Ask(Port(client + request), token, query);
    outcome.server = (client + request) % kServers;
    return outcome;
  });
  ASSERT_EQ(repeats.size(), static_cast<size_t>(kClients * kServers));
  for (const Outcome& o : repeats) {
    ASSERT_EQ(o.status, 200) << "server " << o.server << ": " << o.code << " " << o.text;
    EXPECT_TRUE(o.cached) << "server " << o.server;
    EXPECT_EQ(o.cost_micro, 0);
    EXPECT_EQ(o.rows, first.rows) << "server " << o.server << " answered with other figures";
  }
  const LedgerState ledger = Ledger("bea");
  EXPECT_EQ(ledger.spent, 500'000);
  EXPECT_EQ(ledger.ledger_sum, 500'000);
  EXPECT_EQ(ledger.ledger_rows, 1);
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM dpql.answer_cache"), "1");
  // Each request is audited once, by the instance that answered it.
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM dpql.audit WHERE analyst_id IS NOT NULL "
                            "AND source = 'POST /v1/query'"),
            std::to_string(1 + kClients * kServers));
}

}  // namespace
}  // namespace dpql
