// The web console's side of dpqld (issue 19): its files served from memory
// with cache validators, compression and security headers, and the API routes
// it uses — explain's "cached", history, public tables, the guardian's
// analysts, and the dashboards file validated at start-up. A real dpqld
// against a real PostgreSQL with the hospital demo data.

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <regex>
#include <sstream>
#include <string>

#include "tests/support/dpqld_process.h"
#include "tests/support/http_client.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;

constexpr const char* kCsp =
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; font-src 'self'; "
    "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

// Bytes that stand for a gzip file: the server sends the sibling as stored.
const std::string kGzipBytes = std::string("\x1f\x8b\x08\x00", 4) + "pretend-compressed-js";

class ConsoleApiTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("dpql_console_api_test_" + std::to_string(getpid()) + "_" + std::to_string(counter_++));
    std::filesystem::create_directories(dir_ / "console" / "assets");
    db_.LoadHospital(2000);
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
    WriteFile("console/index.html",
              "<!doctype html><title>DPQL</title><script src=\"/assets/app-abc.js\"></script>\n");
    WriteFile("console/assets/app-abc.js", "console.log('dpql');\n");
    WriteFile("console/assets/app-abc.js.gz", kGzipBytes);
    WriteFile("console/assets/app-abc.css", "body{margin:0}\n");
    admin_token_ = AddAnalyst("guardian", 1, true);
  }

  void TearDown() override {
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  // Writes a config with the hospital catalog plus `extra` lines and starts dpqld.
  std::unique_ptr<DpqldProcess> Start(const std::string& extra, bool expect_start = true) {
    std::string config = DpqldConfigBase(db_.url(), SourceDir() + "/examples/hospital/catalog.yaml") + extra;
    std::string name = "dpqld" + std::to_string(servers_++) + ".yaml";
    WriteFile(name, config);
    auto server = std::make_unique<DpqldProcess>(
        DpqldOptions{.config = (dir_ / name).string(), .log_path = (dir_ / (name + ".log")).string()});
    if (expect_start) {
      EXPECT_TRUE(server->started()) << server->log();
    }
    return server;
  }

  std::string Admin(const std::string& args, int* code) { return RunAdmin(db_.url(), args, code); }

  std::string AddAnalyst(const std::string& name, double epsilon, bool admin = false) {
    std::ostringstream args;
    args << name << " --dataset hospital --epsilon " << epsilon << " --delta 0.00001"
         << (admin ? " --admin" : "");
    return AddAnalystToken(db_.url(), args.str());
  }

  void WriteFile(const std::string& name, const std::string& text) {
    std::ofstream out(dir_ / name, std::ios::binary);
    out << text;
  }

  double Spent(const std::string& analyst) { return EpsilonSpent(db_, analyst); }

  static inline int counter_ = 0;
  TestDatabase db_;
  std::filesystem::path dir_;
  std::string admin_token_;
  int servers_ = 0;
};

Reply Send(uint16_t port, const std::string& method, const std::string& target,
           std::map<std::string, std::string> headers = {}, const std::string& token = "") {
  Request request;
  request.method = method;
  request.target = target;
  request.token = token;
  request.headers = std::move(headers);
  return Call(port, request);
}

void ExpectError(const Reply& reply, int status, const std::string& code) {
  EXPECT_EQ(reply.status, status) << reply.body;
  ASSERT_TRUE(reply.doc.is_object()) << reply.body;
  EXPECT_EQ(reply.doc["error"]["code"], code) << reply.body;
  EXPECT_FALSE(reply.doc["error"]["message"].get<std::string>().empty()) << reply.body;
}

void ExpectConsoleHeaders(const Reply& reply) {
  EXPECT_EQ(reply.headers.at("Content-Security-Policy"), kCsp);
  EXPECT_EQ(reply.headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(reply.headers.at("Referrer-Policy"), "no-referrer");
  EXPECT_EQ(reply.headers.at("X-Frame-Options"), "DENY");
  EXPECT_EQ(reply.headers.at("Cross-Origin-Opener-Policy"), "same-origin");
  EXPECT_EQ(reply.headers.at("Vary"), "Accept-Encoding");
}

// ---------------------------------------------------------------------------
// B. The console's files.

TEST_F(ConsoleApiTest, IndexIsServedWithSecurityHeadersAndRevalidatedByEtag) {
  auto server = Start("console_dir: console\n");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  const std::string audit_rows = db_.QueryValue("SELECT count(*) FROM dpql.audit");

  Reply index = Send(port, "GET", "/");
  ASSERT_EQ(index.status, 200) << index.body;
  EXPECT_EQ(index.body, "<!doctype html><title>DPQL</title><script src=\"/assets/app-abc.js\"></script>\n");
  EXPECT_EQ(index.headers.at("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(index.headers.at("Cache-Control"), "no-cache");
  ExpectConsoleHeaders(index);
  const std::string etag = index.headers.at("ETag");
  EXPECT_TRUE(std::regex_match(etag, std::regex("\"[0-9a-f]{32}\""))) << etag;

  Reply again = Send(port, "GET", "/", {{"If-None-Match", etag}});
  EXPECT_EQ(again.status, 304);
  EXPECT_TRUE(again.body.empty());
  EXPECT_EQ(again.headers.at("ETag"), etag);
  EXPECT_EQ(again.headers.at("Cache-Control"), "no-cache");
  EXPECT_EQ(Send(port, "GET", "/", {{"If-None-Match", "\"other\", W/" + etag}}).status, 304);
  EXPECT_EQ(Send(port, "GET", "/", {{"If-None-Match", "\"0123\""}}).status, 200);

  Reply head = Send(port, "HEAD", "/");
  EXPECT_EQ(head.status, 200);
  EXPECT_TRUE(head.body.empty());
  EXPECT_EQ(head.headers.at("Content-Length"), std::to_string(index.body.size()));
  EXPECT_EQ(head.headers.at("ETag"), etag);

  ExpectError(Send(port, "POST", "/"), 405, "method_not_allowed");
  // The console's answers never wait for (or write to) the database.
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit"), audit_rows);
}

TEST_F(ConsoleApiTest, AssetsAreImmutableAndSentGzippedWhenTheClientAcceptsIt) {
  auto server = Start("console_dir: console\n");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();

  Reply plain = Send(port, "GET", "/assets/app-abc.js");
  ASSERT_EQ(plain.status, 200) << plain.body;
  EXPECT_EQ(plain.body, "console.log('dpql');\n");
  EXPECT_EQ(plain.headers.count("Content-Encoding"), 0u);
  EXPECT_EQ(plain.headers.at("Content-Type"), "text/javascript; charset=utf-8");
  EXPECT_EQ(plain.headers.at("Cache-Control"), "public, max-age=31536000, immutable");
  ExpectConsoleHeaders(plain);

  Reply gzip = Send(port, "GET", "/assets/app-abc.js", {{"Accept-Encoding", "br, gzip;q=0.8"}});
  ASSERT_EQ(gzip.status, 200);
  EXPECT_EQ(gzip.body, kGzipBytes);
  EXPECT_EQ(gzip.headers.at("Content-Encoding"), "gzip");
  EXPECT_EQ(gzip.headers.at("Content-Length"), std::to_string(kGzipBytes.size()));
  EXPECT_NE(gzip.headers.at("ETag"), plain.headers.at("ETag"));  // one strong ETag per representation
  ExpectConsoleHeaders(gzip);

  Reply refused = Send(port, "GET", "/assets/app-abc.js", {{"Accept-Encoding", "gzip;q=0, identity"}});
  EXPECT_EQ(refused.body, "console.log('dpql');\n");
  EXPECT_EQ(refused.headers.count("Content-Encoding"), 0u);

  Reply revalidated = Send(port, "GET", "/assets/app-abc.js",
                           {{"Accept-Encoding", "gzip"}, {"If-None-Match", gzip.headers.at("ETag")}});
  EXPECT_EQ(revalidated.status, 304);
  EXPECT_TRUE(revalidated.body.empty());

  // No .gz sibling: always the file itself.
  Reply css = Send(port, "GET", "/assets/app-abc.css", {{"Accept-Encoding", "gzip"}});
  EXPECT_EQ(css.body, "body{margin:0}\n");
  EXPECT_EQ(css.headers.at("Content-Type"), "text/css; charset=utf-8");
  EXPECT_EQ(css.headers.count("Content-Encoding"), 0u);
}

TEST_F(ConsoleApiTest, OnlyFilesReadAtStartUpExist) {
  auto server = Start("console_dir: console\n");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  WriteFile("console/assets/later.js", "added after start-up");
  WriteFile("secret.txt", "outside the console folder");
  for (const char* target :
       {"/assets/later.js", "/assets/../index.html", "/assets/../../secret.txt", "/assets/%2e%2e/secret.txt",
        "/assets/", "/assets/app-abc.js.gz", "/index.html"}) {
    Reply reply = Send(port, "GET", target);
    EXPECT_EQ(reply.status, 404) << target << ": " << reply.body;
    EXPECT_EQ(reply.body.find("outside"), std::string::npos) << target;
  }
}

TEST_F(ConsoleApiTest, ApiAnswersCarryNosniffAndALockedDownCsp) {
  auto server = Start("console_dir: console\n");
  ASSERT_TRUE(server->started());
  Reply budget = Get(server->port(), "/v1/budget", admin_token_);
  ASSERT_EQ(budget.status, 200) << budget.body;
  EXPECT_EQ(budget.headers.at("X-Content-Type-Options"), "nosniff");
  EXPECT_EQ(budget.headers.at("Content-Security-Policy"), "default-src 'none'; frame-ancestors 'none'");
  Reply refused = Get(server->port(), "/v1/budget", "dpql_wrong");
  EXPECT_EQ(refused.status, 401);
  EXPECT_EQ(refused.headers.at("X-Content-Type-Options"), "nosniff");
}

TEST_F(ConsoleApiTest, AConsoleDirWithoutIndexStopsTheServerAtStartUp) {
  std::filesystem::create_directories(dir_ / "empty");
  auto server = Start("console_dir: empty\n", /*expect_start=*/false);
  EXPECT_FALSE(server->started());
  EXPECT_NE(server->log().find("index.html does not exist"), std::string::npos) << server->log();
  EXPECT_NE(server->log().find("scripts/console-build"), std::string::npos) << server->log();
}

TEST_F(ConsoleApiTest, TheConsoleDirFlagOverridesTheConfig) {
  std::filesystem::create_directories(dir_ / "other");
  WriteFile("other/index.html", "other console");
  std::string name = "flag.yaml";
  WriteFile(name, DpqldConfigBase(db_.url(), SourceDir() + "/examples/hospital/catalog.yaml") +
                      "console_dir: console\n");
  DpqldProcess server(DpqldOptions{.config = (dir_ / name).string(),
                                   .log_path = (dir_ / "flag.log").string(),
                                   .extra_args = {"--console-dir", (dir_ / "other").string()}});
  ASSERT_TRUE(server.started()) << server.log();
  EXPECT_EQ(Send(server.port(), "GET", "/").body, "other console");
}

// ---------------------------------------------------------------------------
// C. The API routes the console uses.

TEST_F(ConsoleApiTest, ExplainSaysWhetherAnAnswerIsCachedAndChargesNothing) {
  auto server = Start("");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string token = AddAnalyst("alice", 3);
  const std::string query = "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.5)";

  Reply before = PostQuery(port, token, query, "/v1/explain");
  ASSERT_EQ(before.status, 200) << before.body;
  EXPECT_EQ(before.doc["cached"], false);
  EXPECT_DOUBLE_EQ(before.doc["cost"]["epsilon"].get<double>(), 0.5);
  EXPECT_DOUBLE_EQ(Spent("alice"), 0.0);

  ASSERT_EQ(PostQuery(port, token, query).status, 200);
  EXPECT_DOUBLE_EQ(Spent("alice"), 0.5);

  // The same canonical plan, written differently, by another analyst.
  std::string bob = AddAnalyst("bob", 1);
  Reply after =
      PostQuery(port, bob, "select sex, count(*) from admissions group by sex with privacy (epsilon = 0.5);",
                "/v1/explain");
  ASSERT_EQ(after.status, 200) << after.body;
  EXPECT_EQ(after.doc["cached"], true);
  EXPECT_DOUBLE_EQ(Spent("bob"), 0.0);
  // A different epsilon is another answer.
  Reply other = PostQuery(port, token,
                          "SELECT sex, COUNT(*) FROM admissions GROUP BY sex WITH PRIVACY (epsilon = 0.25)",
                          "/v1/explain");
  EXPECT_EQ(other.doc["cached"], false);
  // After the data changes, the stored answer is no longer served.
  int code = 0;
  std::string out = Admin("data-version hospital", &code);
  ASSERT_EQ(code, 0) << out;
  EXPECT_EQ(PostQuery(port, token, query, "/v1/explain").doc["cached"], false);
  EXPECT_DOUBLE_EQ(Spent("alice"), 0.5);
}

TEST_F(ConsoleApiTest, HistoryHoldsExactlyTheCallersOwnRowsNewestFirst) {
  auto server = Start("");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string alice = AddAnalyst("alice", 3);
  std::string bob = AddAnalyst("bob", 3);
  ASSERT_EQ(PostQuery(port, alice, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)").status,
            200);
  const std::string bob_query = "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.2)";
  ASSERT_EQ(PostQuery(port, bob, bob_query).status, 200);
  ASSERT_EQ(PostQuery(port, alice, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)").status,
            200);
  ASSERT_EQ(PostQuery(port, alice, "SELECT nope FROM admissions").status, 400);

  Reply reply = Get(port, "/v1/history", alice);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json& rows = reply.doc["history"];
  ASSERT_EQ(rows.size(), 3u) << reply.body;
  EXPECT_EQ(rows[0]["query"], "SELECT nope FROM admissions");
  EXPECT_EQ(rows[0]["outcome"], "unknown_column");
  EXPECT_EQ(rows[0]["status"], 400);
  EXPECT_EQ(rows[1]["outcome"], "cached");
  EXPECT_EQ(rows[1]["cached"], true);
  EXPECT_DOUBLE_EQ(rows[1]["epsilon"].get<double>(), 0.0);
  EXPECT_EQ(rows[2]["outcome"], "ok");
  EXPECT_EQ(rows[2]["cached"], false);
  EXPECT_DOUBLE_EQ(rows[2]["epsilon"].get<double>(), 0.1);
  for (const json& row : rows) {
    EXPECT_FALSE(row.contains("analyst")) << row;
    EXPECT_FALSE(row.contains("analyst_id")) << row;
    EXPECT_NE(row["query"], bob_query) << row;
    EXPECT_EQ(row["source"], "POST /v1/query");
    EXPECT_EQ(row["dataset"], "hospital");
    EXPECT_GT(row["id"].get<int64_t>(), 0);
  }
  EXPECT_GT(rows[0]["id"].get<int64_t>(), rows[2]["id"].get<int64_t>());

  // The first request for history is itself in the second.
  Reply limited = Get(port, "/v1/history?limit=1", alice);
  ASSERT_EQ(limited.doc["history"].size(), 1u) << limited.body;
  EXPECT_EQ(limited.doc["history"][0]["source"], "GET /v1/history");
  EXPECT_EQ(Get(port, "/v1/history?dataset=other", alice).doc["history"].size(), 0u);
  ExpectError(Get(port, "/v1/history?limit=0", alice), 400, "invalid_parameter");
  ExpectError(Get(port, "/v1/history?analyst=bob", alice), 400, "invalid_parameter");
  ExpectError(Get(port, "/v1/history"), 401, "unauthorized");
}

TEST_F(ConsoleApiTest, PublicTablesAreListedAndPrivateOnesRefused) {
  auto server = Start("");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string alice = AddAnalyst("alice", 1);

  Reply wards = Get(port, "/v1/public/wards?dataset=hospital", alice);
  ASSERT_EQ(wards.status, 200) << wards.body;
  EXPECT_EQ(wards.doc["dataset"], "hospital");
  EXPECT_EQ(wards.doc["table"], "wards");
  EXPECT_EQ(wards.doc["columns"], json({"ward_code", "name", "trust", "specialty", "beds"}));
  EXPECT_EQ(wards.doc["column_types"], json({"text", "text", "text", "text", "int"}));
  EXPECT_EQ(wards.doc["truncated"], false);
  const std::string count = db_.QueryValue("SELECT count(*) FROM wards");
  ASSERT_EQ(std::to_string(wards.doc["rows"].size()), count);
  const std::string icu_beds = db_.QueryValue("SELECT beds FROM wards WHERE ward_code = 'LTH-ICU'");
  bool found = false;
  for (const json& row : wards.doc["rows"]) {
    ASSERT_EQ(row.size(), 5u);
    EXPECT_TRUE(row[4].is_number_integer()) << row;
    if (row[0] == "LTH-ICU") {
      found = true;
      EXPECT_EQ(std::to_string(row[4].get<int64_t>()), icu_beds);
    }
  }
  EXPECT_TRUE(found) << wards.body;
  EXPECT_EQ(Get(port, "/v1/public/wards", alice).status, 200);  // the only dataset by default

  Reply admissions = Get(port, "/v1/public/admissions", alice);
  ExpectError(admissions, 403, "table_is_private");
  EXPECT_EQ(admissions.body.find("patient"), std::string::npos);  // no row, no column values
  ExpectError(Get(port, "/v1/public/bed_days", alice), 403, "table_is_private");
  ExpectError(Get(port, "/v1/public/no_such_table", alice), 404, "unknown_table");
  ExpectError(Get(port, "/v1/public/wards?dataset=nope", alice), 404, "unknown_dataset");
  ExpectError(Get(port, "/v1/public/wards"), 401, "unauthorized");
  EXPECT_DOUBLE_EQ(Spent("alice"), 0.0);
}

TEST_F(ConsoleApiTest, AnalystsAreListedForAnAdministratorOnly) {
  auto server = Start("");
  ASSERT_TRUE(server->started());
  const uint16_t port = server->port();
  std::string alice = AddAnalyst("alice", 2);
  ASSERT_EQ(PostQuery(port, alice, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)").status,
            200);

  ExpectError(Get(port, "/v1/admin/analysts", alice), 403, "forbidden");
  Reply reply = Get(port, "/v1/admin/analysts", admin_token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  std::map<std::string, json> by_name;
  for (const json& analyst : reply.doc["analysts"]) by_name[analyst["name"]] = analyst;
  ASSERT_EQ(by_name.size(), 2u) << reply.body;
  EXPECT_EQ(by_name["guardian"]["admin"], true);
  EXPECT_EQ(by_name["alice"]["admin"], false);
  EXPECT_EQ(by_name["alice"]["revoked"], false);
  EXPECT_FALSE(by_name["alice"]["created_at"].get<std::string>().empty());
  ASSERT_EQ(by_name["alice"]["budgets"].size(), 1u);
  const json& budget = by_name["alice"]["budgets"][0];
  EXPECT_EQ(budget["dataset"], "hospital");
  EXPECT_DOUBLE_EQ(budget["epsilon_total"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(budget["epsilon_spent"].get<double>(), 0.5);
  EXPECT_EQ(reply.body.find("dpql_"), std::string::npos);  // never a token
  ASSERT_EQ(reply.doc["datasets"].size(), 1u);
  const json& dataset = reply.doc["datasets"][0];
  EXPECT_EQ(dataset["dataset"], "hospital");
  EXPECT_DOUBLE_EQ(dataset["epsilon_cap"].get<double>(), 50.0);
  EXPECT_DOUBLE_EQ(dataset["delta_cap"].get<double>(), 0.0001);
  EXPECT_DOUBLE_EQ(dataset["epsilon_spent"].get<double>(), 0.5);
}

// ---------------------------------------------------------------------------
// D. The dashboards file.

constexpr const char* kDashboards = R"YAML(dashboards:
  daily:
    title: Daily bed occupancy
    description: Patients in each ward on one day
    dataset: hospital
    parameters:
      day:   { type: date, label: Day, default: 2025-11-27 }
      trust: { type: text, label: Trust, default: "O'Hara", choices_from: wards.trust }
      top:   { type: int, default: 5 }
    panels:
      occupancy:
        title: Occupancy by ward
        query: SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = {{day}} GROUP BY ward_code
        chart: bars
        capacity: { table: wards, key: ward_code, value: beds }
      ages:
        title: Admissions by age
        query: SELECT BUCKET(age, 10) AS band, COUNT(*) FROM admissions WHERE admitted_on <= {{day}} GROUP BY band
        chart: histogram
)YAML";

TEST_F(ConsoleApiTest, DashboardsAreServedAsValidated) {
  {
    auto server = Start("");
    ASSERT_TRUE(server->started());
    Reply none = Get(server->port(), "/v1/dashboards", admin_token_);
    ASSERT_EQ(none.status, 200) << none.body;
    EXPECT_EQ(none.doc, json::parse(R"({"dashboards":[]})"));
  }
  WriteFile("dashboards.yaml", kDashboards);
  auto server = Start("dashboards: dashboards.yaml\n");
  ASSERT_TRUE(server->started());
  ExpectError(Get(server->port(), "/v1/dashboards"), 401, "unauthorized");
  Reply reply = Get(server->port(), "/v1/dashboards", admin_token_);
  ASSERT_EQ(reply.status, 200) << reply.body;
  const json& list = reply.doc["dashboards"];
  ASSERT_EQ(list.size(), 1u);
  const json& daily = list[0];
  EXPECT_EQ(daily["name"], "daily");
  EXPECT_EQ(daily["title"], "Daily bed occupancy");
  EXPECT_EQ(daily["dataset"], "hospital");
  EXPECT_EQ(daily["parameters"], json::parse(R"([
    {"name":"day","label":"Day","type":"date","default":"2025-11-27"},
    {"name":"trust","label":"Trust","type":"text","default":"O'Hara","choices_from":"wards.trust"},
    {"name":"top","label":"top","type":"int","default":5}])"));
  ASSERT_EQ(daily["panels"].size(), 2u);
  EXPECT_EQ(daily["panels"][0]["id"], "occupancy");
  EXPECT_EQ(daily["panels"][0]["chart"], "bars");
  EXPECT_EQ(
      daily["panels"][0]["query"],
      "SELECT ward_code, COUNT(DISTINCT patient_id) FROM bed_days WHERE day = {{day}} GROUP BY ward_code");
  EXPECT_EQ(daily["panels"][0]["capacity"],
            json::parse(R"({"table":"wards","key":"ward_code","value":"beds"})"));
  EXPECT_EQ(daily["panels"][1]["id"], "ages");
  EXPECT_FALSE(daily["panels"][1].contains("capacity"));
}

// Each broken file stops the server and names the file, the line and the key.
TEST_F(ConsoleApiTest, ABadDashboardsFileIsRefusedAtStartUpWithFileAndLine) {
  struct Case {
    std::string from, to;  // a replacement in kDashboards
    std::string expected;  // in the log
  };
  const Case cases[] = {
      {"GROUP BY ward_code", "GROUP BY ward", ":13: dashboards.daily.panels.occupancy.query: unknown_column"},
      {"WHERE day = {{day}}", "WHERE day = {{dya}}",
       ":13: dashboards.daily.panels.occupancy.query: placeholder {{dya}} names no parameter"},
      {"chart: bars", "chart: pie", ":14: dashboards.daily.panels.occupancy.chart: unknown chart 'pie'"},
      {"choices_from: wards.trust", "choices_from: admissions.sex",
       ":8: dashboards.daily.parameters.trust.choices_from: table admissions is private"},
      {"default: 2025-11-27", "default: yesterday",
       ":7: dashboards.daily.parameters.day.default: expected a date YYYY-MM-DD"},
      {"value: beds", "value: seats",
       ":15: dashboards.daily.panels.occupancy.capacity.value: table wards has no column 'seats'"},
      {"dataset: hospital", "dataset: clinic",
       ":5: dashboards.daily.dataset: the catalog has no dataset 'clinic'"},
      {"    description: Patients", "    colour: red\n    description: Patients",
       ":4: dashboards.daily: unknown key 'colour'"},
  };
  for (const Case& c : cases) {
    std::string text = kDashboards;
    const size_t at = text.find(c.from);
    ASSERT_NE(at, std::string::npos) << c.from;
    text.replace(at, c.from.size(), c.to);
    WriteFile("bad.yaml", text);
    auto server = Start("dashboards: bad.yaml\n", /*expect_start=*/false);
    EXPECT_FALSE(server->started()) << c.to;
    const std::string log = server->log();
    EXPECT_NE(log.find("the dashboards file is invalid; nothing was started"), std::string::npos) << log;
    EXPECT_NE(log.find((dir_ / "bad.yaml").string() + c.expected), std::string::npos)
        << "expected '" << c.expected << "' in:\n"
        << log;
  }
  auto missing = Start("dashboards: missing.yaml\n", /*expect_start=*/false);
  EXPECT_FALSE(missing->started());
  EXPECT_NE(missing->log().find("cannot read the dashboards file"), std::string::npos) << missing->log();
}

}  // namespace
}  // namespace dpql
