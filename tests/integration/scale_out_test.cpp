// Sharded and federated datasets (docs/SCALING.md) against real PostgreSQL:
// the pg_virtualenv cluster is the coordinator (the server's database) and
// scripts/pg-cluster starts three more on loopback, as shards or sites.
//
// The property: for every query of examples/hospital/queries.dpql and of the
// bench workload, the exact, contribution-bounded aggregates (before any
// noise) from the shards, or from the sites, equal those of the same query
// run on one database holding the same rows. Each person's rows are on one
// server (hash of patient_id), so bounding per server bounds per person.
// Then the failure behaviour: a site that is down is refused before the
// debit, with nothing charged; and the federated sensitivity is multiplied.

#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <future>
#include <thread>
#include <fstream>
#include <map>
#include <memory>
#include <pqxx/pqxx>
#include <string>
#include <vector>

#include "bench/workload.h"
#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "runtime/executor/executor.h"
#include "runtime/pg/connection_pool.h"
#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

constexpr int kServers = 3;
constexpr int kRows = 20000;

uint16_t FreePort() {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  address.sin_port = 0;
  bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  socklen_t length = sizeof(address);
  getsockname(fd, reinterpret_cast<sockaddr*>(&address), &length);
  close(fd);
  return ntohs(address.sin_port);
}

std::string ReadFile(const std::string& path) {
  std::ifstream in(path);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// The hospital catalog with `extra` after its privacy_unit line.
std::string CatalogWith(const std::string& extra) {
  std::string text = ReadFile(SourceDir() + "/examples/hospital/catalog.yaml");
  const std::string anchor = "privacy_unit: patient_id";
  const size_t at = text.find(anchor);
  EXPECT_NE(at, std::string::npos);
  const size_t line_end = text.find('\n', at);
  return text.substr(0, line_end + 1) + "    " + extra + "\n" + text.substr(line_end + 1);
}

// Exact aggregates as one comparable map: the keys of each row, joined, to
// the row's measures and histogram cells as text.
std::map<std::string, std::string> Comparable(const ExactAggregates& exact) {
  std::map<std::string, std::string> rows;
  for (size_t r = 0; r < exact.keys.size(); ++r) {
    std::string key;
    for (const auto& k : exact.keys[r]) key += (k ? *k : std::string("<null>")) + "|";
    std::string values;
    for (const BigInt& m : exact.measures[r]) values += m.str() + " ";
    for (const auto& cells : exact.histograms[r]) {
      values += "[";
      for (const BigInt& c : cells) values += c.str() + ",";
      values += "]";
    }
    rows[key] = values;
  }
  return rows;
}

// Three private clusters and the coordinator's database with the hospital
// rows, shared by the tests of one process.
class ScaleOut : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    db_ = new TestDatabase();
    db_->LoadHospital(kRows);
    root_ = BinDir() + "/../scale-out/" + std::to_string(getpid());
    std::filesystem::create_directories(root_);
    root_ = std::filesystem::canonical(root_).string();
    const std::string user = db_->QueryValue("SELECT current_user");
    for (int i = 1; i <= kServers; ++i) {
      const uint16_t port = FreePort();
      int code = 0;
      const std::string dir = root_ + "/server_" + std::to_string(i);
      std::string out = RunCommand(ShellQuote(SourceDir() + "/scripts/pg-cluster") + " start " + ShellQuote(dir) +
                                       " " + std::to_string(port),
                                   &code);
      ASSERT_EQ(code, 0) << out;
      dirs_.push_back(dir);
      ports_.push_back(port);
      const std::string cluster_user = out.substr(out.find("user=") + 5, out.find(" dbname") - out.find("user=") - 5);
      users_.push_back(cluster_user);
      pqxx::connection admin("host=127.0.0.1 port=" + std::to_string(port) + " user=" + cluster_user +
                             " dbname=postgres");
      pqxx::nontransaction(admin).exec0("CREATE DATABASE hospital");
      out = RunAdmin(db_->url(),
                     "add-server site_" + std::to_string(i) + " --host 127.0.0.1 --port " + std::to_string(port) +
                         " --dbname hospital --user " + cluster_user,
                     &code);
      ASSERT_EQ(code, 0) << out;
    }
    (void)user;
    sharded_ = new Catalog(ParseCatalog(CatalogWith("shards: [site_1, site_2, site_3]"), "sharded.yaml"));
    federated_ = new Catalog(ParseCatalog(
        CatalogWith("sites: [site_1, site_2, site_3]\n    max_sites_per_person: 2"), "federated.yaml"));
    single_ = new Catalog(LoadCatalog(SourceDir() + "/examples/hospital/catalog.yaml"));
    const std::string sharded_path = root_ + "/sharded.yaml";
    std::ofstream(sharded_path) << CatalogWith("shards: [site_1, site_2, site_3]");
    int code = 0;
    distribute_output_ = RunAdmin(db_->url(), "distribute --catalog " + ShellQuote(sharded_path), &code);
    ASSERT_EQ(code, 0) << distribute_output_;
  }
  static void TearDownTestSuite() {
    for (const std::string& dir : dirs_) {
      int code = 0;
      RunCommand(ShellQuote(SourceDir() + "/scripts/pg-cluster") + " stop " + ShellQuote(dir), &code);
    }
    std::error_code ignored;
    std::filesystem::remove_all(root_, ignored);
    delete sharded_;
    delete federated_;
    delete single_;
    delete db_;
  }

  static std::vector<std::string> WorkloadQueries() {
    std::vector<std::string> queries;
    for (const ast::Statement& statement : ParseScript(ReadFile(SourceDir() + "/examples/hospital/queries.dpql"))) {
      if (statement.select) queries.push_back(statement.text);
    }
    for (const BenchQuery& query : Queries()) {
      queries.push_back(query.dpql + " WITH PRIVACY (epsilon = 1" + query.privacy + ")");
    }
    return queries;
  }

  static ExactAggregates Run(const Catalog& catalog, const std::string& text) {
    ast::Statement statement = ParseStatement(text);
    Plan plan = CompileSelect(*catalog.DefaultDataset(), *statement.select);
    ConnectionPool pool(db_->url(), 1);
    return Executor(pool).RunExact(plan);
  }

  static void StopServer(int index) {
    int code = 0;
    RunCommand(ShellQuote(SourceDir() + "/scripts/pg-cluster") + " stop " + ShellQuote(dirs_[index]), &code);
  }
  static void StartServer(int index) {
    int code = 0;
    const std::string out = RunCommand(ShellQuote(SourceDir() + "/scripts/pg-cluster") + " start " +
                                           ShellQuote(dirs_[index]) + " " + std::to_string(ports_[index]),
                                       &code);
    ASSERT_EQ(code, 0) << out;
  }

  static inline TestDatabase* db_ = nullptr;
  static inline Catalog* sharded_ = nullptr;
  static inline Catalog* federated_ = nullptr;
  static inline Catalog* single_ = nullptr;
  static inline std::string root_;
  static inline std::vector<std::string> dirs_;
  static inline std::vector<uint16_t> ports_;
  static inline std::vector<std::string> users_;

  // A ledger and an analyst with epsilon 10 on the dataset; the token.
  static std::string FederatedAnalyst(const std::string& name) {
    int code = 0;
    RunAdmin(db_->url(), "init", &code);
    EXPECT_EQ(code, 0);
    return AddAnalystToken(db_->url(), name + " --dataset hospital --epsilon 10");
  }

  // dpqld on the coordinator with the federated catalog (and `extra` config).
  static DpqldOptions FederatedServer(const std::string& name, const std::string& extra) {
    const std::string catalog_path = root_ + "/" + name + ".yaml";
    const std::string config_path = root_ + "/" + name + "-dpqld.yaml";
    std::ofstream(catalog_path) << CatalogWith("sites: [site_1, site_2, site_3]\n    max_sites_per_person: 2");
    std::ofstream(config_path) << DpqldConfigBase(db_->url(), catalog_path) << extra;
    DpqldOptions options;
    options.config = config_path;
    options.log_path = root_ + "/" + name + "-dpqld.log";
    return options;
  }

  // The hospital database on server `index` (0-based), as its superuser.
  static std::string ServerUrl(int index) {
    return "host=127.0.0.1 port=" + std::to_string(ports_[index]) + " dbname=hospital user=" + users_[index];
  }
  static inline std::string distribute_output_;
};

TEST_F(ScaleOut, shardsHoldEveryPersonOnceAndEveryPublicRowEverywhere) {
  // Every admission landed on exactly one shard; no patient is on two.
  const std::string total = db_->QueryValue("SELECT count(*) FROM admissions");
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM dpql_shards.admissions"), total);
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM (SELECT patient_id FROM dpql_shards.admissions GROUP BY "
                            "patient_id HAVING count(DISTINCT tableoid) > 1) s"),
            "0");
  for (int i = 1; i <= kServers; ++i) {
    EXPECT_NE(distribute_output_.find("admissions_site_" + std::to_string(i)), std::string::npos)
        << distribute_output_;
  }
  // Public tables are whole on each shard, read back through dblink.
  const std::string wards = db_->QueryValue("SELECT count(*) FROM wards");
  for (int i = 1; i <= kServers; ++i) {
    EXPECT_EQ(db_->QueryValue("SELECT n FROM dblink('site_" + std::to_string(i) +
                              "', 'SELECT count(*) FROM wards') AS t(n bigint)"),
              wards);
  }
}

TEST_F(ScaleOut, shardedExactAggregatesEqualTheSingleNodeRunForEveryWorkloadQuery) {
  const std::vector<std::string> queries = WorkloadQueries();
  ASSERT_GE(queries.size(), 15u);
  for (const std::string& query : queries) {
    SCOPED_TRACE(query);
    const auto single = Comparable(Run(*single_, query));
    const auto sharded = Comparable(Run(*sharded_, query));
    EXPECT_FALSE(single.empty());
    EXPECT_EQ(sharded, single);
  }
}

TEST_F(ScaleOut, federatedExactAggregatesEqualTheSingleNodeRunOnTheSameRows) {
  int compared = 0;
  for (const std::string& query : WorkloadQueries()) {
    SCOPED_TRACE(query);
    ast::Statement statement = ParseStatement(query);
    try {
      CompileSelect(*federated_->DefaultDataset(), *statement.select);
    } catch (const DpqlError& e) {
      // Private partition selection is refused on a federated dataset.
      EXPECT_EQ(std::string(Name(e.code())), "partition_selection_federated") << e.what();
      continue;
    }
    EXPECT_EQ(Comparable(Run(*federated_, query)), Comparable(Run(*single_, query)));
    ++compared;
  }
  EXPECT_GE(compared, 12);
}

TEST_F(ScaleOut, federatedSensitivityIsMultipliedByMaxSitesPerPerson) {
  const std::string query = "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code";
  Plan one = CompileSelect(*single_->DefaultDataset(), *ParseStatement(query).select);
  Plan federated = CompileSelect(*federated_->DefaultDataset(), *ParseStatement(query).select);
  ASSERT_EQ(one.measures.size(), federated.measures.size());
  EXPECT_EQ(federated.measures[0].sensitivity, one.measures[0].sensitivity * 2);
  EXPECT_EQ(federated.measures[0].scale, one.measures[0].scale * 2);
  // The per-site clamp in the SQL is unchanged: each site bounds its own rows.
  EXPECT_EQ(federated.measures[0].per_group_bound, one.measures[0].per_group_bound);
}

TEST_F(ScaleOut, federatedSiteDownIsRefusedBeforeTheDebitAndNothingIsCharged) {
  const std::string token = FederatedAnalyst("fed_analyst");
  ASSERT_FALSE(token.empty());
  DpqldProcess server(FederatedServer("federated", ""));
  ASSERT_TRUE(server.started()) << server.log();
  Reply ok = PostQuery(server.port(), token, "SELECT sex, COUNT(*) FROM admissions GROUP BY sex");
  ASSERT_EQ(ok.status, 200) << ok.body;
  EXPECT_DOUBLE_EQ(EpsilonSpent(*db_, "fed_analyst"), 1.0);

  StopServer(1);
  const std::string query = "SELECT sex, COUNT(*) FROM admissions WHERE age > 3 GROUP BY sex";
  Reply refused = PostQuery(server.port(), token, query);
  Reply ready = Get(server.port(), "/readyz");
  StartServer(1);
  EXPECT_EQ(ready.status, 503) << ready.body;
  EXPECT_NE(ready.body.find("site site_2"), std::string::npos) << ready.body;
  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("site_unavailable"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("site_2"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("nothing was spent"), std::string::npos) << refused.body;
  EXPECT_DOUBLE_EQ(EpsilonSpent(*db_, "fed_analyst"), 1.0) << "a refused query must cost nothing";

  // The site is back: the same query is answered, and charged once.
  Reply again = PostQuery(server.port(), token, query);
  EXPECT_EQ(again.status, 200) << again.body;
  EXPECT_DOUBLE_EQ(EpsilonSpent(*db_, "fed_analyst"), 2.0);
}

TEST_F(ScaleOut, federatedSiteStoppedMidQueryIsNamedChargedAndAnsweredAtTheTimeout) {
  const std::string token = FederatedAnalyst("mid_analyst");
  ASSERT_FALSE(token.empty());
  // A short statement timeout: the failure is answered when any failure of
  // a debited query is, the timeout after the SQL was sent.
  DpqldProcess server(FederatedServer("federated-mid", "statement_timeout_ms: 4000\n"));
  ASSERT_TRUE(server.started()) << server.log();

  // Site 3's admissions become a view that waits 30 s before its first row:
  // the readiness probe (LIMIT 0) passes, the query then waits there, and
  // the site is stopped under it.
  auto site_sql = [&](const std::string& sql) {
    pqxx::connection c(ServerUrl(2));
    return pqxx::nontransaction(c).exec(sql);
  };
  site_sql("ALTER TABLE admissions RENAME TO admissions_rows; CREATE VIEW admissions AS SELECT a.* FROM "
           "admissions_rows a, (SELECT pg_sleep(30)) s");
  const auto sent = std::chrono::steady_clock::now();
  auto reply = std::async(std::launch::async, [&] {
    return PostQuery(server.port(), token, "SELECT admission_method, COUNT(*) FROM admissions GROUP BY admission_method");
  });
  // Wait until the query sleeps on site 3, then stop it.
  bool sleeping = false;
  for (int i = 0; i < 100 && !sleeping; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    sleeping = site_sql("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'PgSleep' AND query LIKE '%dpql_rows%'")
                   .size() == 1;
  }
  ASSERT_TRUE(sleeping) << "the query never reached site 3";
  StopServer(2);
  Reply refused = reply.get();
  const auto waited = std::chrono::steady_clock::now() - sent;
  StartServer(2);
  site_sql("DROP VIEW admissions; ALTER TABLE admissions_rows RENAME TO admissions");

  EXPECT_EQ(refused.status, 503) << refused.body;
  EXPECT_NE(refused.body.find("site_unavailable"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("site_3"), std::string::npos) << refused.body;
  EXPECT_NE(refused.body.find("budget was spent"), std::string::npos) << refused.body;
  // Not at once: at the statement timeout (4 s) plus a second after the SQL
  // went out, like every failure of a debited query.
  EXPECT_GE(waited, std::chrono::milliseconds(4900));
  // The debit came first and stands: exactly one ledger row, of the query's cost.
  EXPECT_DOUBLE_EQ(EpsilonSpent(*db_, "mid_analyst"), 1.0);
  EXPECT_EQ(db_->QueryValue("SELECT count(*) FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
                            "WHERE a.name = 'mid_analyst'"),
            "1");

  // The site is back: the same query is answered and charged once more.
  Reply answered = PostQuery(server.port(), token, "SELECT admission_method, COUNT(*) FROM admissions GROUP BY admission_method");
  EXPECT_EQ(answered.status, 200) << answered.body;
  EXPECT_DOUBLE_EQ(EpsilonSpent(*db_, "mid_analyst"), 2.0);
}

}  // namespace
}  // namespace dpql
