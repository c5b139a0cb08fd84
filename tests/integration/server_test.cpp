// `dpqld serve`: the real binary on a free port against a fresh PostgreSQL
// database with the hospital demo data, driven over HTTP as a client would.

#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
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
using namespace std::chrono_literals;

// ---------------------------------------------------------------------------
// The fixture: a database with 5000 hospital admissions, the dpql schema, a
// catalog (the demo's plus a deliberately slow private view), and a server.

constexpr double kSlowSeconds = 3;

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_server_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(5000);
    db_.Exec(
        "CREATE FUNCTION dpql_test_sleep(seconds float8) RETURNS boolean LANGUAGE plpgsql AS "
        "$$ BEGIN PERFORM pg_sleep(seconds); RETURN true; END $$;"
        "CREATE VIEW slow_admissions AS SELECT patient_id, age FROM admissions "
        "WHERE (SELECT dpql_test_sleep(" +
        std::to_string(kSlowSeconds) + "));");
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;

    std::ifstream in(SourceDir() + "/examples/hospital/catalog.yaml");
    std::stringstream catalog;
    catalog << in.rdbuf();
    catalog << "      slow_admissions:\n"
               "        private: true\n"
               "        columns:\n"
               "          patient_id: { type: text }\n"
               "          age:        { type: int, lower: 0, upper: 110 }\n";
    WriteFile("catalog.yaml", catalog.str());
    admin_token_ = AddAnalyst("guardian", 1, true);
  }

  // Writes a config (database, catalog, small limits so 413s are cheap to hit)
  // plus `extra` lines, and starts a server with it.
  std::unique_ptr<DpqldProcess> Start(const std::string& extra = "") {
    std::string config =
        "# test config\n"
        "listen: 127.0.0.1:8765\n" +
        DpqldConfigBase(db_.url(), "catalog.yaml") +
        "threads: 2\n"
        "db_pool: 4\n"
        "max_body_bytes: 65536\n"
        "max_query_bytes: 4096\n" +
        extra;
    std::string name = "dpqld" + std::to_string(servers_++) + ".yaml";
    WriteFile(name, config);
    auto server = std::make_unique<DpqldProcess>(
        DpqldOptions{.config = (dir_ / name).string(), .log_path = (dir_ / (name + ".log")).string()});
    EXPECT_TRUE(server->started()) << server->log();
    return server;
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::string Admin(const std::string& args, int* code) { return RunAdmin(db_.url(), args, code); }

  // Creates an analyst with `epsilon` on `dataset`; returns the token.
  std::string AddAnalyst(const std::string& name, double epsilon, bool admin = false,
                         const std::string& dataset = "hospital") {
    std::ostringstream args;
    args << name << " --dataset " << dataset << " --epsilon " << epsilon << " --delta 0.00001"
         << (admin ? " --admin" : "");
    return AddAnalystToken(db_.url(), args.str());
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream out(dir_ / name);
    out << text;
  }

  double Spent(const std::string& analyst) { return EpsilonSpent(db_, analyst); }

  int AuditCount(const std::string& where) {
    return std::stoi(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE " + where));
  }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::filesystem::path dir_;
  std::string admin_token_;
  int servers_ = 0;
};

void ExpectError(const Reply& reply, int status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.body;
  ASSERT_TRUE(reply.doc.is_object()) << reply.body;
  ASSERT_TRUE(reply.doc.contains("error")) << reply.body;
  EXPECT_EQ(reply.doc["error"]["code"], code) << reply.body;
  EXPECT_FALSE(reply.doc["error"]["message"].get<std::string>().empty()) << reply.body;
}

// ---------------------------------------------------------------------------

TEST_F(ServerTest, QueryReturnsNoisyCountsIntervalsCostAndBudget) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("alice", 3);
  Reply reply = PostQuery(server->port(), token,
                          "SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex "
                          "WITH PRIVACY (epsilon = 0.5);");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json& doc = reply.doc;
  EXPECT_EQ(doc["columns"], json({"sex", "n"}));
  EXPECT_EQ(doc["column_types"], json({"text", "int"}));
  ASSERT_EQ(doc["rows"].size(), 3u) << reply.body;  // the public domain F, M, X: every key
  int64_t total = 0;
  for (const auto& row : doc["rows"]) {
    EXPECT_TRUE(row[0].is_string());
    ASSERT_TRUE(row[1].is_number_integer()) << row;
    EXPECT_GE(row[1].get<int64_t>(), 0);
    total += row[1].get<int64_t>();
  }
  EXPECT_GT(total, 1000);                 // ~1700 patients at max_rows 1; the noise is far smaller
  ASSERT_EQ(doc["accuracy"].size(), 3u);  // one entry per noisy cell
  for (size_t i = 0; i < 3; ++i) {
    const json& a = doc["accuracy"][i];
    EXPECT_EQ(a["column"], "n");
    EXPECT_EQ(a["row"], i);
    EXPECT_LT(a["ci"][0].get<double>(), a["ci"][1].get<double>());
    EXPECT_DOUBLE_EQ(a["confidence"].get<double>(), 0.95);
  }
  EXPECT_DOUBLE_EQ(doc["cost"]["epsilon"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(doc["cost"]["delta"].get<double>(), 0.0);
  EXPECT_EQ(doc["budget"]["dataset"], "hospital");
  EXPECT_DOUBLE_EQ(doc["budget"]["epsilon_total"].get<double>(), 3.0);
  EXPECT_DOUBLE_EQ(doc["budget"]["epsilon_spent"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(doc["budget"]["epsilon_remaining"].get<double>(), 2.5);
  EXPECT_DOUBLE_EQ(doc["budget"]["delta_total"].get<double>(), 0.00001);
  EXPECT_EQ(doc["cached"], false);
  EXPECT_DOUBLE_EQ(Spent("alice"), 0.5);

  // Dataset named explicitly works the same.
  Reply named = Call(server->port(), {"POST", "/v1/query",
                                      json{{"query",
                                            "SELECT COUNT(*) FROM admissions WITH PRIVACY "
                                            "(epsilon = 0.25)"},
                                           {"dataset", "hospital"}}
                                          .dump(),
                                      token, ""});
  ASSERT_EQ(named.status, 200) << named.body;
  EXPECT_DOUBLE_EQ(named.doc["budget"]["epsilon_spent"].get<double>(), 0.75);
}

TEST_F(ServerTest, MetadataStatementsExplainAndBudgetCostNothing) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("bob", 2);
  const uint16_t port = server->port();

  Reply tables = PostQuery(port, token, "SHOW TABLES");
  ASSERT_EQ(tables.status, 200) << tables.body;
  EXPECT_EQ(tables.doc["columns"][0], "table");
  EXPECT_NE(tables.body.find("\"admissions\""), std::string::npos);
  EXPECT_DOUBLE_EQ(tables.doc["cost"]["epsilon"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(tables.doc["budget"]["epsilon_remaining"].get<double>(), 2);

  Reply describe = PostQuery(port, token, "DESCRIBE admissions;");
  ASSERT_EQ(describe.status, 200) << describe.body;
  EXPECT_NE(describe.body.find("\"length_of_stay\""), std::string::npos);
  Reply show_budget = PostQuery(port, token, "SHOW BUDGET");
  ASSERT_EQ(show_budget.status, 200) << show_budget.body;
  EXPECT_EQ(show_budget.doc["rows"][0][0], "hospital");

  // EXPLAIN through /v1/query: the plan, zero cost.
  Reply explain =
      PostQuery(port, token, "EXPLAIN SELECT AVG(age) FROM admissions WITH PRIVACY (epsilon = 0.7)");
  ASSERT_EQ(explain.status, 200) << explain.body;
  EXPECT_FALSE(explain.doc["explain"].get<std::string>().empty());
  EXPECT_DOUBLE_EQ(explain.doc["cost"]["epsilon"].get<double>(), 0);

  // /v1/explain: the plan and what running it *would* cost, with or without EXPLAIN.
  for (std::string query : {"SELECT AVG(age) FROM admissions WITH PRIVACY (epsilon = 0.7)",
                            "EXPLAIN SELECT AVG(age) FROM admissions WITH PRIVACY (epsilon = 0.7)"}) {
    Reply plan = PostQuery(port, token, query, "/v1/explain");
    ASSERT_EQ(plan.status, 200) << plan.body;
    EXPECT_NE(plan.doc["explain"].get<std::string>().find("SELECT"), std::string::npos) << plan.body;
    EXPECT_DOUBLE_EQ(plan.doc["cost"]["epsilon"].get<double>(), 0.7);
    // Accuracy before spending: the expected error of the one noisy column.
    ASSERT_EQ(plan.doc["expected_error"].size(), 1u) << plan.body;
    EXPECT_EQ(plan.doc["expected_error"][0]["column"], "avg") << plan.body;
    EXPECT_GT(plan.doc["expected_error"][0]["half_width_by_group_size"][0]["half_width"].get<double>(), 0);
    EXPECT_NE(plan.doc["explain"].get<std::string>().find("Expected error"), std::string::npos);
  }
  Reply bad_plan = PostQuery(port, token, "SELECT MAX(age) FROM admissions", "/v1/explain");
  EXPECT_EQ(bad_plan.status, 400) << bad_plan.body;

  // Nothing above spent anything.
  EXPECT_DOUBLE_EQ(Spent("bob"), 0);
  Reply budget = Get(port, "/v1/budget", token);
  ASSERT_EQ(budget.status, 200) << budget.body;
  ASSERT_EQ(budget.doc["budgets"].size(), 1u) << budget.body;  // only the caller's own
  EXPECT_EQ(budget.doc["budgets"][0]["dataset"], "hospital");
  EXPECT_DOUBLE_EQ(budget.doc["budgets"][0]["epsilon_spent"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(budget.doc["budgets"][0]["epsilon_total"].get<double>(), 2);
}

TEST_F(ServerTest, CatalogIsPublicMetadataOnly) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  Reply reply = Get(server->port(), "/v1/catalog", admin_token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json& hospital = reply.doc["datasets"][0];
  EXPECT_EQ(hospital["name"], "hospital");
  EXPECT_EQ(hospital["privacy_unit"], "patient_id");
  EXPECT_DOUBLE_EQ(hospital["defaults"]["epsilon"].get<double>(), 1.0);
  EXPECT_DOUBLE_EQ(hospital["limits"]["max_epsilon_per_query"].get<double>(), 2.0);
  std::map<std::string, json> tables;
  for (const auto& table : hospital["tables"]) tables[table["name"]] = table;
  ASSERT_TRUE(tables.count("admissions") && tables.count("wards"));
  EXPECT_EQ(tables["admissions"]["private"], true);
  EXPECT_EQ(tables["wards"]["private"], false);
  std::map<std::string, json> columns;
  for (const auto& column : tables["admissions"]["columns"]) columns[column["name"]] = column;
  EXPECT_EQ(columns["age"]["type"], "int");
  EXPECT_EQ(columns["age"]["lower"], 0);
  EXPECT_EQ(columns["age"]["upper"], 110);
  EXPECT_EQ(columns["admitted_on"]["lower"], "2024-01-01");
  EXPECT_EQ(columns["sex"]["domain"], json({"F", "M", "X"}));
  EXPECT_EQ(columns["ward_code"]["domain_from"], "wards.ward_code");
  // Never data: no patient identifier, no ward code from the wards table.
  EXPECT_EQ(reply.body.find("P0000"), std::string::npos);
  EXPECT_EQ(reply.body.find("LTH-"), std::string::npos);
  // Needs a token like every /v1 route.
  ExpectError(Get(server->port(), "/v1/catalog"), 401, "unauthorized");
}

TEST_F(ServerTest, HealthzMetricsAndUnknownRoutes) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  Reply health = Get(port, "/healthz");
  ASSERT_EQ(health.status, 200) << health.body;
  EXPECT_EQ(health.doc, json({{"status", "ok"}}));

  ExpectError(Get(port, "/v1/nothing", admin_token_), 404, "not_found");
  ExpectError(Get(port, "/favicon.ico"), 404, "not_found");
  Reply wrong = Get(port, "/v1/query", admin_token_);
  ExpectError(wrong, 405, "method_not_allowed");
  EXPECT_EQ(wrong.headers["Allow"], "POST");
  ExpectError(Call(port, {"POST", "/v1/budget", "{}", admin_token_, ""}), 405, "method_not_allowed");
  ExpectError(PostQuery(port, admin_token_, "SELEKT 1"), 400, "syntax_error");

  Reply metrics = Get(port, "/metrics");
  ASSERT_EQ(metrics.status, 200);
  EXPECT_EQ(metrics.headers["Content-Type"].rfind("text/plain", 0), 0u);
  EXPECT_NE(metrics.body.find("dpql_requests_total{route=\"/healthz\",status=\"200\"} 1"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("dpql_requests_total{route=\"/v1/query\",status=\"405\"} 1"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("dpql_requests_total{route=\"unknown\",status=\"404\"} 2"), std::string::npos)
      << metrics.body;
  EXPECT_NE(metrics.body.find("dpql_refusals_total{code=\"syntax_error\"} 1"), std::string::npos);
  EXPECT_NE(metrics.body.find("dpql_request_duration_seconds_bucket{le=\"+Inf\"}"), std::string::npos);
  EXPECT_NE(metrics.body.find("dpql_epsilon_spent_total 0"), std::string::npos);
}

TEST_F(ServerTest, RequestErrorsHaveTheirStatusCodeAndLocation) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("carol", 2);
  const uint16_t port = server->port();

  Reply syntax = PostQuery(port, token, "SELECT COUNT(*)\nFROM admissions WHERE");
  ExpectError(syntax, 400, "syntax_error");
  EXPECT_EQ(syntax.doc["error"]["line"], 2) << syntax.body;
  EXPECT_TRUE(syntax.doc["error"].contains("column"));

  Reply unknown_column = PostQuery(port, token, "SELECT AVG(agee) FROM admissions");
  ExpectError(unknown_column, 400, "unknown_column");
  EXPECT_EQ(unknown_column.doc["error"]["kind"], "semantic_error");
  EXPECT_EQ(unknown_column.doc["error"]["line"], 1);
  EXPECT_EQ(unknown_column.doc["error"]["column"], 12);

  Reply not_private = PostQuery(port, token, "SELECT MAX(age) FROM admissions");
  EXPECT_EQ(not_private.status, 400) << not_private.body;
  EXPECT_EQ(not_private.doc["error"]["kind"], "privacy_error") << not_private.body;

  ExpectError(Call(port, {"POST", "/v1/query", json{{"query", "SHOW TABLES"}, {"dataset", "clinic"}}.dump(),
                          token, ""}),
              404, "unknown_dataset");

  Reply bad_json = Call(port, {"POST", "/v1/query", "{\"query\": ", token, ""});
  ExpectError(bad_json, 400, "invalid_json");
  EXPECT_NE(bad_json.doc["error"]["message"].get<std::string>().find("parse error"), std::string::npos);
  ExpectError(Call(port, {"POST", "/v1/query", "[1, 2]", token, ""}), 400, "invalid_json");
  ExpectError(Call(port, {"POST", "/v1/query", "{\"dataset\": \"hospital\"}", token, ""}), 400,
              "invalid_request");
  ExpectError(Call(port, {"POST", "/v1/query", "{\"query\": 5}", token, ""}), 400, "invalid_request");
  ExpectError(Call(port, {"POST", "/v1/query", "{\"query\": \"SHOW TABLES\", \"datset\": \"x\"}", token, ""}),
              400, "invalid_request");
  Reply empty = PostQuery(port, token, "  ;  ");
  EXPECT_EQ(empty.status, 400) << empty.body;
  EXPECT_EQ(empty.doc["error"]["kind"], "syntax_error") << empty.body;

  // Several statements: refused before anything runs, located at the second.
  Reply several = PostQuery(port, token,
                            "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5);\n"
                            "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5);");
  ExpectError(several, 400, "multiple_statements");
  EXPECT_EQ(several.doc["error"]["line"], 2);
  EXPECT_DOUBLE_EQ(Spent("carol"), 0);

  // Size limits (this config: 4096-byte queries, 65536-byte bodies).
  std::string long_query = "SELECT COUNT(*) FROM admissions WHERE age > 1" + std::string(5000, ' ');
  ExpectError(PostQuery(port, token, long_query), 413, "query_too_long");
  std::string huge = json{{"query", "SHOW TABLES"}, {"pad", std::string(70000, 'x')}}.dump();
  Connection connection(port);
  Reply too_large = connection.SendRaw(
      "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + token +
      "\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(huge.size()) + "\r\n\r\n");
  ExpectError(too_large, 413, "body_too_large");
  EXPECT_FALSE(too_large.keep_alive);
  EXPECT_TRUE(connection.ClosedByServer());

  // Admin route with an analyst's token.
  ExpectError(Get(port, "/v1/admin/audit", token), 403, "forbidden");
  EXPECT_DOUBLE_EQ(Spent("carol"), 0);
}

TEST_F(ServerTest, AuthenticationFailures) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  const std::string query = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)";
  const std::string body = json{{"query", query}}.dump();

  Reply missing = Call(port, {"POST", "/v1/query", body, "", ""});
  ExpectError(missing, 401, "unauthorized");
  EXPECT_EQ(missing.headers["WWW-Authenticate"].rfind("Bearer", 0), 0u)
      << missing.headers["WWW-Authenticate"];
  ExpectError(Call(port, {"POST", "/v1/query", body, "", "Basic YWxpY2U6c2VjcmV0"}), 401, "unauthorized");
  ExpectError(Call(port, {"POST", "/v1/query", body, "", "Bearer"}), 401, "unauthorized");
  std::string forged = "dpql_" + std::string(43, 'A');
  Reply forged_reply = Call(port, {"POST", "/v1/query", body, forged, ""});
  ExpectError(forged_reply, 401, "unauthorized");
  EXPECT_NE(forged_reply.headers["WWW-Authenticate"].find("invalid_token"), std::string::npos);

  std::string token = AddAnalyst("dave", 1);
  ASSERT_EQ(PostQuery(port, token, query).status, 200);
  int code = 0;
  std::string out = Admin("revoke dave", &code);
  ASSERT_EQ(code, 0) << out;
  ExpectError(PostQuery(port, token, query), 401, "unauthorized");
  ExpectError(Get(port, "/v1/budget", token), 401, "unauthorized");
  EXPECT_NEAR(Spent("dave"), 0.1, 1e-9);  // only the query before the revoke

  // Every refusal was audited without an analyst; the served query with one.
  EXPECT_GE(AuditCount("status = 401 AND analyst_id IS NULL AND source = 'POST /v1/query' "
                       "AND outcome = 'unauthorized'"),
            5);
  EXPECT_EQ(AuditCount("analyst_name = 'dave' AND status = 200"), 1);
}

TEST_F(ServerTest, BudgetDecreasesThenRefusesWith409AndLedgerUnchanged) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("erin", 1);
  auto query = [&](int i) {
    return "SELECT COUNT(*) FROM admissions WHERE age > " + std::to_string(i) +
           " WITH PRIVACY (epsilon = 0.4)";
  };
  Reply first = PostQuery(port, token, query(1));
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_DOUBLE_EQ(first.doc["budget"]["epsilon_remaining"].get<double>(), 0.6);
  Reply second = PostQuery(port, token, query(2));
  ASSERT_EQ(second.status, 200) << second.body;
  EXPECT_DOUBLE_EQ(second.doc["budget"]["epsilon_remaining"].get<double>(), 0.2);

  std::string ledger_before = db_.QueryValue("SELECT count(*) || '/' || sum(epsilon) FROM dpql.ledger");
  Reply refused = PostQuery(port, token, query(3));
  ExpectError(refused, 409, "budget_exhausted");
  EXPECT_EQ(db_.QueryValue("SELECT count(*) || '/' || sum(epsilon) FROM dpql.ledger"), ledger_before);
  EXPECT_NEAR(Spent("erin"), 0.8, 1e-9);
  Reply budget = Get(port, "/v1/budget", token);
  EXPECT_DOUBLE_EQ(budget.doc["budgets"][0]["epsilon_remaining"].get<double>(), 0.2);
  // A cheaper query still fits.
  EXPECT_EQ(PostQuery(port, token, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.2)").status,
            200);

  // No budget on this dataset at all: 403 no_budget.
  std::string other = AddAnalyst("frank", 1, false, "clinic");
  ExpectError(PostQuery(port, other, query(4)), 403, "no_budget");

  EXPECT_EQ(AuditCount("analyst_name = 'erin' AND outcome = 'budget_exhausted' AND status = 409 "
                       "AND epsilon = 0"),
            1);
  EXPECT_EQ(AuditCount("analyst_name = 'erin' AND outcome = 'ok' AND status = 200 AND epsilon = 400000"), 2);
}

// A zCDP dataset with a dataset-wide cap: the guardian grants (epsilon,
// delta), stored as the rho implying it; a Gaussian query costs rho; every
// budget display shows rho and its (epsilon, delta) equivalent; the cap
// refuses with its own code and costs nothing.
TEST_F(ServerTest, ZcdpDatasetChargesRhoAndShowsItsBudgetBothWays) {
  std::ifstream in(SourceDir() + "/examples/hospital/catalog.yaml");
  std::stringstream text;
  text << in.rdbuf();
  std::string catalog = text.str();
  const std::string limits = "    limits:   { max_epsilon_per_query: 2.0 }\n";
  ASSERT_NE(catalog.find(limits), std::string::npos);
  catalog.replace(catalog.find(limits), limits.size(),
                  "    accounting: zcdp\n    limits:   { max_epsilon_per_query: 2.0, dataset_rho: 0.06 }\n");
  WriteFile("catalog.yaml", catalog);
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();

  int code = 0;
  const std::string catalog_flag = " --catalog " + ShellQuote((dir_ / "catalog.yaml").string());
  std::string out =
      Admin("add-analyst zoe --dataset hospital --epsilon 1 --delta 1e-6" + catalog_flag, &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("epsilon 0, delta 0, rho 0.0"), std::string::npos) << out;
  std::smatch match;
  ASSERT_TRUE(std::regex_search(out, match, std::regex("dpql_[A-Za-z0-9_-]{43}"))) << out;
  const std::string token = match.str();
  // A basic-accounting grant flag is refused for this dataset with the fix.
  out = Admin("grant zoe --dataset hospital --rho 0.1 --epsilon 1" + catalog_flag, &code);
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("either --rho or --epsilon"), std::string::npos) << out;

  Reply reply = PostQuery(port, token,
                          "SELECT sex, COUNT(*) AS n FROM admissions GROUP BY sex "
                          "WITH PRIVACY (mechanism = gaussian, epsilon = 0.5, delta = 1e-6)");
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json& cost = reply.doc["cost"];
  ASSERT_TRUE(cost.contains("rho")) << reply.body;
  const double rho_cost = cost["rho"].get<double>();
  EXPECT_GT(rho_cost, 0.003);
  EXPECT_LT(rho_cost, 0.02);
  const json& budget = reply.doc["budget"];
  EXPECT_EQ(budget["accounting"], "zcdp");
  const double rho_total = budget["rho_total"].get<double>();
  EXPECT_GT(rho_total, 0.015);  // the rho of (1, 1e-6)-DP
  EXPECT_NEAR(budget["rho_spent"].get<double>(), rho_cost, 1e-12);
  EXPECT_NEAR(budget["rho_remaining"].get<double>(), rho_total - rho_cost, 1e-12);
  EXPECT_NEAR(budget["epsilon_total"].get<double>(), 1.0, 2e-6);  // shown back as (1, 1e-6)
  EXPECT_DOUBLE_EQ(budget["delta_total"].get<double>(), 1e-6);
  EXPECT_GT(budget["epsilon_spent"].get<double>(), 0.4);
  EXPECT_LT(budget["epsilon_remaining"].get<double>(), 1.0);
  EXPECT_EQ(db_.QueryValue("SELECT rho_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = b.analyst_id "
                           "WHERE a.name = 'zoe'"),
            db_.QueryValue("SELECT sum(rho) FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
                           "WHERE a.name = 'zoe'"));
  EXPECT_EQ(db_.QueryValue("SELECT epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a "
                           "ON a.id = b.analyst_id WHERE a.name = 'zoe'"),
            "0");  // zCDP datasets are charged in rho only

  Reply budgets = Get(port, "/v1/budget", token);
  ASSERT_EQ(budgets.status, 200) << budgets.body;
  EXPECT_EQ(budgets.doc["budgets"][0]["accounting"], "zcdp");
  EXPECT_NEAR(budgets.doc["budgets"][0]["rho_spent"].get<double>(), rho_cost, 1e-12);
  Reply show = PostQuery(port, token, "SHOW BUDGET");
  ASSERT_EQ(show.status, 200) << show.body;
  EXPECT_EQ(show.doc["columns"].back(), "rho_remaining");
  EXPECT_EQ(show.doc["budget"]["accounting"], "zcdp");

  // Partition selection has no rho: refused, nothing spent.
  Reply selection =
      PostQuery(port, token, "SELECT postcode_district, COUNT(*) FROM admissions GROUP BY postcode_district");
  ExpectError(selection, 400, "partition_selection_under_zcdp");

  // A second analyst reaches the dataset cap (rho 0.06 over everyone): 409
  // with its own code, and nothing is written.
  out = Admin("add-analyst yan --dataset hospital --rho 1" + catalog_flag, &code);
  ASSERT_EQ(code, 0) << out;
  ASSERT_TRUE(std::regex_search(out, match, std::regex("dpql_[A-Za-z0-9_-]{43}"))) << out;
  const std::string yan = match.str();
  const std::string big = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.3)";  // rho 0.045
  ASSERT_EQ(PostQuery(port, yan, big).status, 200);
  const std::string ledger_before = db_.QueryValue("SELECT count(*) || '/' || sum(rho) FROM dpql.ledger");
  // Another query of the same cost (a repeat of `big` would be a free cached answer).
  const std::string other = "SELECT COUNT(*) FROM admissions WHERE age >= 18 WITH PRIVACY (epsilon = 0.3)";
  ExpectError(PostQuery(port, yan, other), 409, "dataset_budget_exhausted");
  EXPECT_EQ(db_.QueryValue("SELECT count(*) || '/' || sum(rho) FROM dpql.ledger"), ledger_before);
}

TEST_F(ServerTest, AuditRowsForServedAndRefusedRequestsHoldNoResultValues) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("grace", 2);
  Reply served = PostQuery(port, token, "SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = 0.5)");
  ASSERT_EQ(served.status, 200) << served.body;
  const std::string released = std::to_string(served.doc["rows"][0][0].get<int64_t>());
  ASSERT_GE(released.size(), 4u);  // ~5000 admissions; at max_rows 1, ~1700 patients
  ASSERT_EQ(PostQuery(port, token, "SELECT AVG(nope) FROM admissions").status, 400);
  ASSERT_EQ(Get(port, "/v1/budget", token).status, 200);

  EXPECT_EQ(
      AuditCount("analyst_name = 'grace' AND source = 'POST /v1/query' AND status = 200 AND outcome = 'ok' "
                 "AND dataset = 'hospital' AND epsilon = 500000 "
                 "AND query = 'SELECT COUNT(*) AS n FROM admissions WITH PRIVACY (epsilon = 0.5)'"),
      1);
  EXPECT_EQ(AuditCount("analyst_name = 'grace' AND status = 400 AND outcome = 'unknown_column' "
                       "AND detail LIKE '%nope%'"),
            1);
  EXPECT_EQ(AuditCount("analyst_name = 'grace' AND source = 'GET /v1/budget' AND status = 200"), 1);
  // The released number is nowhere in the audit table's text.
  EXPECT_EQ(AuditCount("concat_ws('|', analyst_name, source, dataset, query, outcome, detail) LIKE '%" +
                       released + "%'"),
            0);

  // The admin route shows them.
  Reply audit = Get(port, "/v1/admin/audit?limit=2&analyst=grace", admin_token_);
  ASSERT_EQ(audit.status, 200) << audit.body;
  ASSERT_EQ(audit.doc["audit"].size(), 2u) << audit.body;
  EXPECT_EQ(audit.doc["audit"][0]["source"], "GET /v1/budget");  // newest first
  EXPECT_EQ(audit.doc["audit"][1]["outcome"], "unknown_column");
  ExpectError(Get(port, "/v1/admin/audit?limit=lots", admin_token_), 400, "invalid_parameter");
  // ...and the admin's own reads of the audit are audited too.
  EXPECT_GE(AuditCount("analyst_name = 'guardian' AND source = 'GET /v1/admin/audit'"), 2);
}

TEST_F(ServerTest, SixteenConcurrentClientsAllAnsweredAndSpendingAddsUp) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("heidi", 10);
  constexpr int kClients = 16;
  std::vector<Reply> replies(kClients);
  std::vector<std::thread> threads;
  for (int i = 0; i < kClients; ++i) {
    threads.emplace_back([&, i] {
      try {
        replies[i] = PostQuery(port, token,
                               "SELECT COUNT(*) FROM admissions WHERE age >= " + std::to_string(i) +
                                   " WITH PRIVACY (epsilon = 0.25)");
      } catch (const std::exception& e) {
        replies[i].body = e.what();
      }
    });
  }
  for (auto& thread : threads) thread.join();
  double reported = 0;
  for (int i = 0; i < kClients; ++i) {
    ASSERT_EQ(replies[i].status, 200) << i << ": " << replies[i].body;
    reported += replies[i].doc["cost"]["epsilon"].get<double>();
  }
  EXPECT_NEAR(reported, 4.0, 1e-9);
  EXPECT_NEAR(Spent("heidi"), reported, 1e-9);
  EXPECT_EQ(
      db_.QueryValue("SELECT sum(epsilon) FROM dpql.ledger l JOIN dpql.analysts a ON a.id = l.analyst_id "
                     "WHERE a.name = 'heidi'"),
      "4000000");
}

TEST_F(ServerTest, KeepAliveServesTwoRequestsOnOneConnection) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("ivan", 1);
  Connection connection(server->port());
  Reply first = connection.Send({"POST", "/v1/query", json{{"query", "SHOW TABLES"}}.dump(), token, ""});
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_TRUE(first.keep_alive);
  Reply second = connection.Send({"GET", "/v1/budget", "", token, ""});
  ASSERT_EQ(second.status, 200) << second.body;
  Reply third = connection.Send({"GET", "/healthz", "", "", ""});
  EXPECT_EQ(third.status, 200);
}

TEST_F(ServerTest, SlowQueryDoesNotBlockOtherRequestsAndStatementTimeoutIsQueryFailed) {
  auto server = Start("statement_timeout_ms: 1500\n");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("judy", 5);
  std::atomic<bool> done{false};
  Reply slow;
  const auto sent = std::chrono::steady_clock::now();
  std::chrono::steady_clock::duration took{};
  std::thread client([&] {
    slow = PostQuery(port, token, "SELECT COUNT(*) FROM slow_admissions WITH PRIVACY (epsilon = 0.1)");
    took = std::chrono::steady_clock::now() - sent;
    done = true;
  });
  std::this_thread::sleep_for(200ms);
  auto start = std::chrono::steady_clock::now();
  Reply health = Get(port, "/healthz");
  Reply metrics = Get(port, "/metrics");
  auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(health.status, 200);
  EXPECT_EQ(metrics.status, 200);
  EXPECT_LT(elapsed, 1000ms);
  EXPECT_FALSE(done.load()) << "the slow query finished before the other requests: the test proves nothing";
  client.join();
  // A timeout is a failure like any other: the one code and message, after
  // the timeout and its grace (docs/PRIVACY.md, "Failures and timeouts").
  ExpectError(slow, 500, "query_failed");
  EXPECT_GE(took, 1500ms + 1000ms);
  EXPECT_LT(took, 1500ms + 1000ms + 1500ms);
  EXPECT_NEAR(Spent("judy"), 0.1, 1e-9);  // charged: the debit came first
  EXPECT_NE(server->log().find("query_failed: SQLSTATE 57014"), std::string::npos) << server->log();
}

TEST_F(ServerTest, SigtermFinishesTheRequestInFlightAndExitsZero) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("ken", 5);
  Reply slow;
  std::thread client([&] {
    try {
      slow = PostQuery(port, token, "SELECT COUNT(*) FROM slow_admissions WITH PRIVACY (epsilon = 0.1)");
    } catch (const std::exception& e) {
      slow.body = e.what();
    }
  });
  std::this_thread::sleep_for(400ms);
  server->Signal(SIGTERM);
  client.join();
  EXPECT_EQ(slow.status, 200) << slow.body << "\n" << server->log();
  EXPECT_FALSE(slow.keep_alive);  // the server says it is closing
  EXPECT_EQ(server->Wait(15s), 0) << server->log();
  // It no longer accepts connections.
  EXPECT_THROW(Connection{port}, std::exception);
}

TEST_F(ServerTest, DatabaseUnavailableIs503) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("liam", 5);
  ASSERT_EQ(PostQuery(port, token, "SHOW TABLES").status, 200);
  TestDatabase control;  // a second database to run the admin statements from
  auto on_control = [&](const std::string& sql) {
    int code = 0;
    std::string out = RunCommand(
        "psql -X -q -v ON_ERROR_STOP=1 " + ShellQuote(control.url()) + " -c " + ShellQuote(sql), &code);
    ASSERT_EQ(code, 0) << out;
  };
  on_control("ALTER DATABASE " + db_.name() + " ALLOW_CONNECTIONS false");
  on_control("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '" + db_.name() +
             "' AND pid <> pg_backend_pid()");
  Reply health = Get(port, "/healthz");
  EXPECT_EQ(health.status, 503) << health.body;
  EXPECT_EQ(health.doc["status"], "unavailable");
  Reply query = PostQuery(port, token, "SHOW TABLES");
  ExpectError(query, 503, "database_unavailable");
  EXPECT_EQ(query.body.find("FATAL"), std::string::npos) << "PostgreSQL's text must not reach clients";
  on_control("ALTER DATABASE " + db_.name() + " ALLOW_CONNECTIONS true");
  // Recovers once the database is back.
  EXPECT_EQ(Get(port, "/healthz").status, 200);
  EXPECT_EQ(PostQuery(port, token, "SHOW TABLES").status, 200);
}

TEST_F(ServerTest, ServesHttpsWhenTlsIsConfigured) {
  int code = 0;
  std::string out = RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
          ShellQuote((dir_ / "key.pem").string()) + " -out " + ShellQuote((dir_ / "cert.pem").string()),
      &code);
  ASSERT_EQ(code, 0) << out;
  auto server = Start("tls_cert: cert.pem\ntls_key: key.pem\n");
  ASSERT_TRUE(server->started());
  EXPECT_EQ(server->scheme(), "https");

  Connection tls = Connection::Tls(server->port(), (dir_ / "cert.pem").string(), {.receive = 30s});
  Reply reply = tls.Send({"GET", "/v1/budget", "", admin_token_, ""});
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.doc["budgets"][0]["dataset"], "hospital");

  // Plain HTTP to the TLS port gets no answer.
  Connection plain(server->port());
  EXPECT_THROW(plain.Send({"GET", "/healthz", "", "", ""}), std::exception);
}

TEST_F(ServerTest, StartupRefusesBadConfigCatalogOrDatabase) {
  auto serve = [&](const std::string& name, const std::string& text, int* code) {
    WriteFile(name, text);
    // `timeout`: a config wrongly accepted must fail the test, not hang it.
    return RunCommand("timeout 30 " + ShellQuote(BinDir() + "/dpqld") + " serve --config " +
                          ShellQuote((dir_ / name).string()) + " --listen 127.0.0.1:0",
                      code);
  };
  const std::string base = "database: \"" + db_.url() + "\"\ncatalog: catalog.yaml\n";
  int code = 0;
  std::string out = serve("unknown.yaml", base + "thread: 4\n", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("unknown.yaml:3: unknown key 'thread'"), std::string::npos) << out;
  out = serve("bad_value.yaml", base + "db_pool: many\n", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("bad_value.yaml:3: db_pool: expected a whole number, got 'many'"), std::string::npos)
      << out;
  out = serve("bad_listen.yaml", base + "listen: localhost\n", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("expected HOST:PORT"), std::string::npos) << out;
  out = serve("no_catalog.yaml", "database: \"" + db_.url() + "\"\n", &code);
  EXPECT_EQ(code, 2);
  EXPECT_NE(out.find("no `catalog` key"), std::string::npos) << out;

  WriteFile("broken_catalog.yaml", "datasets:\n  hospital:\n    privacy_unit: 12\n    tablez: {}\n");
  out = serve("broken.yaml", "database: \"" + db_.url() + "\"\ncatalog: broken_catalog.yaml\n", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("broken_catalog.yaml"), std::string::npos) << out;

  TestDatabase empty;  // reachable, but no dpql schema
  out = serve("uninitialised.yaml", "database: \"" + empty.url() + "\"\ncatalog: catalog.yaml\n", &code);
  EXPECT_EQ(code, 1);
  EXPECT_NE(out.find("dpqld admin"), std::string::npos) << out;
  EXPECT_NE(out.find("init"), std::string::npos) << out;
  EXPECT_EQ(out.find("listening"), std::string::npos) << out;
}

// Repeat queries are free, through the real server: the repeat (rewritten)
// says "cached": true, costs nothing, writes no ledger row and an audit row
// with outcome "cached"; another analyst gets it free too; after
// `dpqld admin data-version` the same query is new again and charged.
TEST_F(ServerTest, RepeatIsCachedFreeUntilTheDataVersionChanges) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string kim = AddAnalyst("kim", 2);
  std::string lou = AddAnalyst("lou", 2);
  const std::string query =
      "SELECT sex, COUNT(*) AS n FROM admissions WHERE age >= 18 AND admission_method = 'elective' "
      "GROUP BY sex WITH PRIVACY (epsilon = 0.5)";
  const std::string rewritten =
      "select a.sex as gender, count(*) as elective_adults\n  from admissions as a\n"
      " where a.admission_method = 'elective' and a.age >= 18\n group by a.sex "
      "with privacy (epsilon = 0.5);";
  auto ledger_rows = [&] { return db_.QueryValue("SELECT count(*) FROM dpql.ledger"); };

  Reply first = PostQuery(port, kim, query);
  ASSERT_EQ(first.status, 200) << first.body;
  EXPECT_EQ(first.doc["cached"], false);
  EXPECT_DOUBLE_EQ(first.doc["cost"]["epsilon"].get<double>(), 0.5);
  const std::string ledger_after_first = ledger_rows();

  Reply repeat = PostQuery(port, kim, rewritten);
  ASSERT_EQ(repeat.status, 200) << repeat.body;
  EXPECT_EQ(repeat.doc["cached"], true);
  EXPECT_DOUBLE_EQ(repeat.doc["cost"]["epsilon"].get<double>(), 0);
  EXPECT_DOUBLE_EQ(repeat.doc["cost"]["delta"].get<double>(), 0);
  EXPECT_EQ(repeat.doc["columns"], json({"gender", "elective_adults"}));  // the asker's names
  EXPECT_EQ(repeat.doc["rows"], first.doc["rows"]);
  ASSERT_EQ(repeat.doc["accuracy"].size(), first.doc["accuracy"].size());
  for (size_t i = 0; i < first.doc["accuracy"].size(); ++i) {
    EXPECT_EQ(repeat.doc["accuracy"][i]["ci"], first.doc["accuracy"][i]["ci"]);
    EXPECT_EQ(repeat.doc["accuracy"][i]["column"], "elective_adults");
  }
  EXPECT_DOUBLE_EQ(repeat.doc["budget"]["epsilon_spent"].get<double>(), 0.5);
  EXPECT_EQ(ledger_rows(), ledger_after_first);
  EXPECT_NEAR(Spent("kim"), 0.5, 1e-9);
  EXPECT_EQ(AuditCount("analyst_name = 'kim' AND outcome = 'cached' AND status = 200 AND epsilon = 0"), 1);
  EXPECT_EQ(AuditCount("analyst_name = 'kim' AND outcome = 'ok' AND epsilon = 500000"), 1);

  // Another analyst: the same answer, free.
  Reply other = PostQuery(port, lou, query);
  ASSERT_EQ(other.status, 200) << other.body;
  EXPECT_EQ(other.doc["cached"], true);
  EXPECT_EQ(other.doc["rows"], first.doc["rows"]);
  EXPECT_DOUBLE_EQ(other.doc["budget"]["epsilon_spent"].get<double>(), 0);
  EXPECT_NEAR(Spent("lou"), 0, 1e-9);

  // A different epsilon is a different query.
  Reply other_epsilon = PostQuery(port, lou,
                                  "SELECT sex, COUNT(*) AS n FROM admissions WHERE age >= 18 AND "
                                  "admission_method = 'elective' GROUP BY sex WITH PRIVACY (epsilon = 0.6)");
  ASSERT_EQ(other_epsilon.status, 200) << other_epsilon.body;
  EXPECT_EQ(other_epsilon.doc["cached"], false);
  EXPECT_NEAR(Spent("lou"), 0.6, 1e-9);

  // The data changed: bump the version; the old answer is no longer served.
  int code = 0;
  std::string out = Admin("data-version hospital", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_NE(out.find("data version 2"), std::string::npos) << out;
  Reply after = PostQuery(port, kim, query);
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.doc["cached"], false);
  EXPECT_DOUBLE_EQ(after.doc["cost"]["epsilon"].get<double>(), 0.5);
  EXPECT_NEAR(Spent("kim"), 1.0, 1e-9);
  EXPECT_EQ(PostQuery(port, kim, query).doc["cached"], true);
  EXPECT_EQ(db_.QueryValue("SELECT string_agg(DISTINCT data_version::text, ',') FROM dpql.answer_cache "
                           "WHERE dataset = 'hospital'"),
            "1,2");
  EXPECT_EQ(AuditCount("source = 'admin' AND dataset = 'hospital' AND query = 'data-version 2'"), 1);

  // Usage errors of the command.
  Admin("data-version", &code);
  EXPECT_EQ(code, 2);
  out = Admin("data-version nosuchset", &code);
  EXPECT_EQ(code, 0) << out;
  EXPECT_NE(out.find("warning: no analyst has a budget on dataset 'nosuchset'"), std::string::npos) << out;
}

}  // namespace
}  // namespace dpql

namespace dpql {
namespace {

// A JOIN with a public table over HTTP: a key from the public table lists
// every trust, EXPLAIN shows the join in the SQL, and a join of two private
// tables is refused with its location and costs nothing.
TEST_F(ServerTest, PercentilesVarianceAndConfidenceThroughTheServer) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("stats_researcher", 2);
  const uint16_t port = server->port();
  // Every output is a noisy figure with its own interval, inside the column's
  // declared bounds (age 0..110), and the value lies inside its interval.
  Reply reply = PostQuery(port, token,
                          "SELECT sex, MEDIAN(age) AS median_age, PERCENTILE(age, 0.9) AS p90, "
                          "VARIANCE(age) AS var_age, STDDEV(age) AS sd_age FROM admissions "
                          "GROUP BY sex WITH PRIVACY (epsilon = 1, confidence = 0.9)");
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.doc["columns"], json({"sex", "median_age", "p90", "var_age", "sd_age"}));
  EXPECT_EQ(reply.doc["column_types"], json({"text", "int", "int", "real", "real"}));
  ASSERT_EQ(reply.doc["rows"].size(), 3u) << reply.body;  // F, M, X: the declared domain
  ASSERT_EQ(reply.doc["accuracy"].size(), 12u) << reply.body;
  for (const auto& entry : reply.doc["accuracy"]) {
    EXPECT_DOUBLE_EQ(entry["confidence"].get<double>(), 0.9) << reply.body;
    const auto& row = reply.doc["rows"][entry["row"].get<size_t>()];
    const std::string column = entry["column"].get<std::string>();
    size_t c = 0;
    while (reply.doc["columns"][c] != column) ++c;
    const double value = row[c].get<double>();
    EXPECT_LE(entry["ci"][0].get<double>(), value) << reply.body;
    EXPECT_GE(entry["ci"][1].get<double>(), value) << reply.body;
    EXPECT_GE(entry["ci"][0].get<double>(), 0) << reply.body;
    const double most = column == "var_age" ? 55.0 * 55.0 : column == "sd_age" ? 55.0 : 110.0;
    EXPECT_LE(entry["ci"][1].get<double>(), most + 1e-9) << reply.body;
  }
  EXPECT_DOUBLE_EQ(reply.doc["cost"]["epsilon"].get<double>(), 1.0);

  // MIN stays refused with the percentile hint, and costs nothing.
  Reply min = PostQuery(port, token, "SELECT MIN(age) FROM admissions");
  ExpectError(min, 400, "min_max_not_private");
  EXPECT_NE(min.doc["error"]["message"].get<std::string>().find("PERCENTILE(age, 0.05)"), std::string::npos)
      << min.body;
  EXPECT_DOUBLE_EQ(Spent("stats_researcher"), 1.0);
}

TEST_F(ServerTest, JoinWithAPublicTableGroupsByItsColumn) {
  auto server = Start();
  ASSERT_TRUE(server->started());
  std::string token = AddAnalyst("trust_planner", 2);
  const uint16_t port = server->port();
  const std::string query =
      "SELECT w.trust, COUNT(*) AS admissions FROM admissions AS a JOIN wards AS w "
      "ON a.ward_code = w.ward_code GROUP BY w.trust WITH PRIVACY (epsilon = 0.5, max_groups = 1, "
      "max_rows = 3);";

  Reply reply = PostQuery(port, token, query);
  ASSERT_EQ(reply.status, 200) << reply.body;
  EXPECT_EQ(reply.doc["columns"], json({"trust", "admissions"}));
  const size_t trusts = std::stoul(db_.QueryValue("SELECT count(DISTINCT trust) FROM wards"));
  ASSERT_EQ(reply.doc["rows"].size(), trusts) << reply.body;
  std::string previous;
  int64_t total = 0;
  for (const auto& row : reply.doc["rows"]) {
    const std::string trust = row[0].get<std::string>();
    EXPECT_LT(previous, trust);  // every trust once, in key order
    EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM wards WHERE trust = '" + trust + "'") != "0", true);
    previous = trust;
    total += row[1].get<int64_t>();
  }
  // Each patient has one trust, so (max_groups = 1 drops nothing) the
  // noise-free total is the admissions counted at most 3 per patient; four
  // noise draws of scale 6 (sensitivity 1 x 3, epsilon 0.5) stay far within
  // 150 of it (a miss has probability below 1e-6). (With the default
  // max_groups = 4 the scale is 24 and 150 is only 2.2 standard deviations.)
  const int64_t bounded = std::stoll(db_.QueryValue(
      "SELECT sum(least(n, 3)) FROM (SELECT count(*) AS n FROM admissions GROUP BY patient_id) p"));
  EXPECT_NEAR(static_cast<double>(total), static_cast<double>(bounded), 150);
  EXPECT_EQ(reply.doc["accuracy"].size(), trusts);
  EXPECT_DOUBLE_EQ(reply.doc["cost"]["epsilon"].get<double>(), 0.5);

  Reply plan = PostQuery(port, token, query, "/v1/explain");
  ASSERT_EQ(plan.status, 200) << plan.body;
  const std::string explain = plan.doc["explain"].get<std::string>();
  EXPECT_NE(explain.find("JOIN \"wards\" AS j1 ON t.\"ward_code\" = j1.\"ward_code\""), std::string::npos)
      << explain;
  EXPECT_NE(explain.find("distinct wards.trust (public table)"), std::string::npos) << explain;

  Reply refused = PostQuery(port, token,
                            "SELECT COUNT(*)\nFROM admissions a JOIN bed_days b ON a.patient_id = "
                            "b.patient_id;");
  ExpectError(refused, 400, "private_join");
  EXPECT_EQ(refused.doc["error"]["kind"], "privacy_error") << refused.body;
  EXPECT_EQ(refused.doc["error"]["line"], 2);
  EXPECT_EQ(refused.doc["error"]["column"], 24);
  EXPECT_DOUBLE_EQ(Spent("trust_planner"), 0.5);
}

}  // namespace
}  // namespace dpql
