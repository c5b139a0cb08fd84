// Hostile input through the real server: `dpqld serve` on a loopback port
// against a fresh PostgreSQL database with the hospital demo data, attacked
// the way a malicious analyst, a broken client or a network peer would.
// Every case must get its documented status and error code (docs/API.md),
// the server must still answer /healthz afterwards, and nothing a refused
// case did may change the budget ledger. docs/SECURITY.md lists the families.

#include <gtest/gtest.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <iostream>
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

// Sends `bytes` on a new raw connection and reads until the server closes it
// or `wait` passes.
RawReply SendRaw(uint16_t port, const std::string& bytes, std::chrono::milliseconds wait = 5000ms) {
  RawSocket raw(port);
  EXPECT_TRUE(raw.connected());
  raw.Send(bytes);
  bool closed = false;
  std::string text = raw.ReadAll(wait, &closed);
  return ParseRaw(text, closed);
}

// ---------------------------------------------------------------------------
// One database, one server and three analysts for the whole suite: the cases
// only read, and each checks the ledger around itself.

constexpr int kRequestTimeoutMs = 1500;

class HostileInputTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = std::filesystem::temp_directory_path() / ("dpql_hostile_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    db_ = new TestDatabase();
    db_->LoadHospital(1000);
    int code = 0;
    std::string out = Admin("init", &code);
    ASSERT_EQ(code, 0) << out;
    std::filesystem::copy_file(SourceDir() + "/examples/hospital/catalog.yaml", dir_ / "catalog.yaml",
                               std::filesystem::copy_options::overwrite_existing);
    std::ofstream config(dir_ / "dpqld.yaml");
    config << DpqldConfigBase(db_->url(), "catalog.yaml")
           << "threads: 2\n"
              "db_pool: 4\n"
              "max_body_bytes: 1048576\n"
              "max_query_bytes: 102400\n"
              "request_timeout_ms: "
           << kRequestTimeoutMs << "\n";
    config.close();
    server_ = new DpqldProcess(
        DpqldOptions{.config = (dir_ / "dpqld.yaml").string(), .log_path = (dir_ / "dpqld.log").string()});
    ASSERT_TRUE(server_->started()) << server_->log();
    alice_ = AddAnalyst("alice", 3, false);
    bob_ = AddAnalyst("bob", 2, false);
    admin_ = AddAnalyst("guardian", 1, true);
    // Spend something so that "the ledger is unchanged" compares non-empty sums.
    Reply first =
        PostQuery(server_->port(), alice_, "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.25)");
    ASSERT_EQ(first.status, 200) << first.body;
    tables_before_ = TableCounts();
  }

  static void TearDownTestSuite() {
    delete server_;
    server_ = nullptr;
    delete db_;
    db_ = nullptr;
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  void SetUp() override {
    ASSERT_NE(server_, nullptr);
    ASSERT_TRUE(server_->started());
    port_ = server_->port();
    cases_at_start_ = cases_;
  }

  void TearDown() override {
    // Whatever a test threw at it, the server is up and the data is intact.
    EXPECT_TRUE(server_->Alive()) << server_->log();
    EXPECT_EQ(Call(port_, {"GET", "/healthz", "", "", "", ""}).status, 200);
    EXPECT_EQ(TableCounts(), tables_before_);
    std::cout << "[ hostile ] " << ::testing::UnitTest::GetInstance()->current_test_info()->name() << ": "
              << cases_ - cases_at_start_ << " refused cases\n";
  }

  static std::string Admin(const std::string& args, int* code) { return RunAdmin(db_->url(), args, code); }

  static std::string AddAnalyst(const std::string& name, double epsilon, bool admin) {
    std::ostringstream args;
    args << name << " --dataset hospital --epsilon " << epsilon << " --delta 0.00001"
         << (admin ? " --admin" : "");
    return AddAnalystToken(db_->url(), args.str());
  }

  // Everything the budget accounting holds: ledger rows and sums, and what
  // the budgets say was spent.
  static std::string LedgerState() {
    return db_->QueryValue(
        "SELECT (SELECT count(*) || '/' || coalesce(sum(epsilon), 0) || '/' || coalesce(sum(delta), 0) "
        "FROM dpql.ledger) || ' ' || (SELECT coalesce(sum(epsilon_spent), 0) || '/' || "
        "coalesce(sum(delta_spent), 0) FROM dpql.budgets)");
  }

  // Row counts of the data tables (an injected DROP or DELETE would show).
  static std::string TableCounts() {
    return db_->QueryValue(
        "SELECT (SELECT count(*) FROM admissions) || '/' || (SELECT count(*) FROM wards) || '/' || "
        "(SELECT count(*) FROM bed_days)");
  }

  // Checks a refusal: status, code, a message, no PostgreSQL text, and the
  // server still healthy with the ledger as it was.
  void ExpectRefused(const std::string& label, const Reply& reply, int status, const std::string& code,
                     const std::string& ledger_before) {
    ++cases_;
    EXPECT_EQ(reply.status, status) << label << ": " << reply.body;
    ASSERT_TRUE(reply.doc.is_object() && reply.doc.contains("error")) << label << ": " << reply.body;
    EXPECT_EQ(reply.doc["error"]["code"], code) << label << ": " << reply.body;
    EXPECT_FALSE(reply.doc["error"]["message"].get<std::string>().empty()) << label;
    ExpectNoDatabaseText(label, reply.body);
    EXPECT_EQ(Call(port_, {"GET", "/healthz", "", "", "", ""}).status, 200) << label;
    EXPECT_EQ(LedgerState(), ledger_before) << label << " changed the ledger";
  }

  // Sends `query` to /v1/query and expects it refused.
  void ExpectQueryRefused(const std::string& query, int status, const std::string& code,
                          const std::string& token = "") {
    const std::string before = LedgerState();
    ExpectRefused(query.substr(0, 120), PostQuery(port_, token.empty() ? alice_ : token, query), status, code,
                  before);
  }

  static void ExpectNoDatabaseText(const std::string& label, const std::string& body) {
    for (const char* marker : {"ERROR:", "pqxx", "syntax error at or near", "relation \"", "SQLSTATE"}) {
      EXPECT_EQ(body.find(marker), std::string::npos) << label << " leaks database text: " << body;
    }
  }

  void ExpectRawRefused(const std::string& label, const std::string& bytes, int status,
                        const std::string& code) {
    const std::string before = LedgerState();
    ++cases_;
    RawReply reply = SendRaw(port_, bytes);
    EXPECT_EQ(reply.status, status) << label << ": " << reply.text;
    EXPECT_EQ(reply.doc.is_object() ? reply.doc["error"]["code"] : json(), code)
        << label << ": " << reply.text;
    EXPECT_TRUE(reply.closed) << label << ": the server should close the connection";
    EXPECT_EQ(Call(port_, {"GET", "/healthz", "", "", "", ""}).status, 200) << label;
    EXPECT_EQ(LedgerState(), before) << label;
  }

  static inline std::filesystem::path dir_;
  static inline TestDatabase* db_ = nullptr;
  static inline DpqldProcess* server_ = nullptr;
  static inline std::string alice_, bob_, admin_, tables_before_;
  static inline int cases_ = 0;  // refused cases checked, reported at the end
  uint16_t port_ = 0;
  int cases_at_start_ = 0;
};

// ---------------------------------------------------------------------------

TEST_F(HostileInputTest, SqlInjectionIsRefusedAndTouchesNoTable) {
  // Identifiers.
  // A second statement that is not DPQL fails to parse where it starts.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions; DROP TABLE wards", 400, "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM \"admissions\"\"; DROP\"", 400, "unknown_table");
  ExpectQueryRefused("SELECT COUNT(*) FROM \"admissions; DROP TABLE wards; --\"", 400, "unknown_table");
  ExpectQueryRefused("SELECT SUM(\"age\"\" FROM admissions; DROP TABLE wards; --\") FROM admissions", 400,
                     "unknown_column");
  ExpectQueryRefused("SELECT \"sex'); DROP TABLE wards; --\", COUNT(*) FROM admissions GROUP BY sex", 400,
                     "unknown_column");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions GROUP BY 1; DROP TABLE wards", 400, "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions /* */; DELETE FROM admissions", 400, "syntax_error");
  // Strings.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE sex = 'F' OR 1=1; DROP TABLE admissions; --'",
                     400, "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE sex = E'F\\'; DROP TABLE admissions; --'", 400,
                     "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE sex = $$F$$; DROP TABLE admissions", 400,
                     "syntax_error");
  // Numbers and dates.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE age > 1; DROP TABLE admissions", 400,
                     "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE age > 1 UNION SELECT 1", 400,
                     "unsupported_set_operation");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE admitted_on > DATE '2026-01-01''", 400,
                     "syntax_error");
  ExpectQueryRefused(
      "SELECT COUNT(*) FROM admissions WHERE admitted_on > DATE '2026-01-01; DROP TABLE wards'", 400,
      "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE age > 0x1F", 400, "syntax_error");
  // WITH PRIVACY values.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = '0.1; DROP TABLE wards')", 400,
                     "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1); DROP TABLE wards", 400,
                     "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 1e400)", 400,
                     "epsilon_too_large");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = -1)", 400,
                     "invalid_privacy_option");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (\"epsilon; DROP\" = 0.1)", 400,
                     "unknown_privacy_option");

  // Well-formed queries whose quoted names and strings hold SQL are just
  // names and values: answered with exactly one ledger entry each (they
  // spend), and no table is touched.
  const std::string eve = AddAnalyst("eve", 1, false);
  for (const std::string query :
       {"SELECT COUNT(*) FROM admissions AS \"t\"\"; DELETE FROM admissions; --\" WITH PRIVACY (epsilon = "
        "0.05)",
        "SELECT COUNT(*) FROM admissions WHERE sex = 'F''; DROP TABLE admissions; --' "
        "WITH PRIVACY (epsilon = 0.05)",
        "SELECT COUNT(*) FROM admissions WHERE postcode_district = 'x'' OR ''1''=''1' "
        "WITH PRIVACY (epsilon = 0.05)"}) {
    const int rows_before = std::stoi(db_->QueryValue("SELECT count(*) FROM dpql.ledger"));
    Reply value = PostQuery(port_, eve, query);
    EXPECT_EQ(value.status, 200) << query << ": " << value.body;
    EXPECT_EQ(std::stoi(db_->QueryValue("SELECT count(*) FROM dpql.ledger")), rows_before + 1) << query;
    EXPECT_EQ(TableCounts(), tables_before_) << query;
  }
}

TEST_F(HostileInputTest, HugeAndDeeplyNestedQueriesGetCleanLimitErrors) {
  // 1 MiB of query text: the body is over max_body_bytes.
  std::string mega = "SELECT COUNT(*) FROM admissions WHERE age > 1" + std::string(1 << 20, ' ');
  std::string before = LedgerState();
  ExpectRefused("1 MiB query", PostQuery(port_, alice_, mega), 413, "body_too_large", before);
  // A body many times the limit: the server answers 413 while the client is
  // still sending, and must drain the rest instead of resetting the
  // connection (a reset fails the client's write with EPIPE and can discard
  // the 413 before it is read). Repeated, since a reset is a race.
  const std::string huge = json{{"query", "SHOW TABLES"}, {"pad", std::string(8 << 20, 'x')}}.dump();
  for (int i = 0; i < 5; ++i) {
    ExpectRefused("8 MiB body #" + std::to_string(i + 1), PostBody(port_, alice_, huge), 413,
                  "body_too_large", before);
  }
  // Under the body limit but over max_query_bytes.
  std::string large = "SELECT COUNT(*) FROM admissions WHERE age > 1" + std::string(200 * 1024, ' ');
  ExpectRefused("200 KiB query", PostQuery(port_, alice_, large), 413, "query_too_long", before);
  // 10,000 parentheses, balanced and not.
  const std::string open(10000, '('), close(10000, ')');
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE " + open + "age > 1" + close, 400,
                     "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE " + open, 400, "syntax_error");
  ExpectQueryRefused("SELECT SUM(" + open + "age" + close + ") FROM admissions", 400, "syntax_error");
  std::string nots;
  for (int i = 0; i < 10000; ++i) nots += "NOT ";
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE " + nots + "age > 1", 400, "syntax_error");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE age > " + std::string(5000, '-') + "1", 400,
                     "syntax_error");
  std::string chain = "SELECT COUNT(*) FROM admissions WHERE age = 0";
  for (int i = 1; i < 5000; ++i) chain += " OR age = " + std::to_string(i % 110);
  ExpectQueryRefused(chain, 400, "syntax_error");
}

TEST_F(HostileInputTest, InvalidUtf8AndNulBytes) {
  const std::string before = LedgerState();
  auto raw_body = [&](const std::string& label, const std::string& body, int status,
                      const std::string& code) {
    ExpectRefused(label, PostBody(port_, alice_, body), status, code, before);
  };
  raw_body("invalid UTF-8 in the query",
           "{\"query\": \"SELECT COUNT(*) FROM admissions WHERE sex = '\xff\xfe'\"}", 400, "invalid_json");
  raw_body("overlong UTF-8", "{\"query\": \"SELECT COUNT(*) FROM adm\xc0\xafissions\"}", 400, "invalid_json");
  raw_body("truncated UTF-8", "{\"query\": \"SELECT COUNT(*) FROM admissions \xe2\x82\"}", 400,
           "invalid_json");
  raw_body("lone surrogate escape", "{\"query\": \"SELECT COUNT(*) FROM admissions WHERE sex = '\\ud800'\"}",
           400, "invalid_json");
  raw_body("invalid UTF-8 in the dataset", "{\"query\": \"SHOW TABLES\", \"dataset\": \"hosp\xff\"}", 400,
           "invalid_json");
  raw_body("invalid UTF-8 in a key", "{\"que\xffry\": \"SHOW TABLES\"}", 400, "invalid_json");
  raw_body("raw NUL in the body", std::string("{\"query\": \"SHOW\0TABLES\"}", 24), 400, "invalid_json");
  // NUL through a JSON escape reaches the compiler.
  raw_body("NUL between tokens", "{\"query\": \"SELECT COUNT(*)\\u0000 FROM admissions\"}", 400,
           "syntax_error");
  Reply located = PostBody(port_, alice_, "{\"query\": \"SELECT COUNT(*)\\n  FROM adm\\u0000issions\"}");
  EXPECT_EQ(located.doc["error"]["line"], 2) << located.body;
  EXPECT_EQ(located.doc["error"]["column"], 11) << located.body;  // "  FROM adm" is 10 characters
  raw_body("NUL in an identifier", "{\"query\": \"SELECT COUNT(*) FROM \\\"admis\\u0000sions\\\"\"}", 400,
           "syntax_error");
  raw_body("NUL in a string literal",
           "{\"query\": \"SELECT COUNT(*) FROM admissions WHERE postcode_district = 'AB\\u00001'\"}", 400,
           "syntax_error");
  raw_body("NUL in the dataset", "{\"query\": \"SHOW TABLES\", \"dataset\": \"hospital\\u0000x\"}", 404,
           "unknown_dataset");
  // Valid but unusual UTF-8 in a name is a clean semantic error.
  raw_body("non-ASCII identifier", "{\"query\": \"SELECT COUNT(*) FROM admissi\xc3\xb6ns\"}", 400,
           "unknown_table");
}

TEST_F(HostileInputTest, MalformedHttpOverRawTcp) {
  ExpectRawRefused("garbage request line", "\x16\x03\x01\x02\x00garbage\r\n\r\n", 400, "bad_request");
  ExpectRawRefused("no version", "GET /healthz\r\n\r\n", 400, "bad_request");
  ExpectRawRefused("HTTP/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 400, "bad_request");
  ExpectRawRefused("header without colon", "GET /healthz HTTP/1.1\r\nHost x\r\n\r\n", 400, "bad_request");
  ExpectRawRefused("huge header",
                   "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(20000, 'a') + "\r\n\r\n", 431,
                   "header_too_large");
  std::string many = "GET /healthz HTTP/1.1\r\nHost: x\r\n";
  for (int i = 0; i < 2000; ++i) many += "X-" + std::to_string(i) + ": y\r\n";
  ExpectRawRefused("many headers", many + "\r\n", 431, "header_too_large");
  const std::string post = "POST /v1/query HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer " + alice_ +
                           "\r\nContent-Type: application/json\r\n";
  ExpectRawRefused("non-numeric Content-Length", post + "Content-Length: lots\r\n\r\n{}", 400, "bad_request");
  ExpectRawRefused("negative Content-Length", post + "Content-Length: -5\r\n\r\n{}", 400, "bad_request");
  ExpectRawRefused("two Content-Lengths", post + "Content-Length: 2\r\nContent-Length: 7\r\n\r\n{}", 400,
                   "bad_request");
  ExpectRawRefused("huge Content-Length", post + "Content-Length: 99999999999999999999\r\n\r\n{}", 400,
                   "bad_request");
  ExpectRawRefused("chunked garbage", post + "Transfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n",
                   400, "bad_request");
  ExpectRawRefused("chunked oversized", post + "Transfer-Encoding: chunked\r\n\r\nFFFFFFFF\r\nabc", 413,
                   "body_too_large");
  ExpectRawRefused("Content-Length over max_body_bytes", post + "Content-Length: 2000000\r\n\r\n{", 413,
                   "body_too_large");

  // A short Content-Length: the body is cut, then the rest is not HTTP.
  {
    const std::string before = LedgerState();
    ++cases_;
    std::string body = json{{"query", "SHOW TABLES"}}.dump();
    RawReply reply = SendRaw(port_, post + "Content-Length: 5\r\n\r\n" + body);
    EXPECT_EQ(reply.status, 400) << reply.text;
    EXPECT_EQ(reply.doc["error"]["code"], "invalid_json") << reply.text;
    EXPECT_NE(reply.text.find("bad_request"), std::string::npos) << "the leftover bytes: " << reply.text;
    EXPECT_EQ(LedgerState(), before);
  }
  // A long Content-Length: the server waits for the body, then gives up at
  // request_timeout_ms and closes without answering.
  {
    const std::string before = LedgerState();
    ++cases_;
    RawSocket raw(port_);
    ASSERT_TRUE(raw.connected());
    raw.Send(post + "Content-Length: 500\r\n\r\n{\"query\": \"SHOW TABLES\"}");
    bool closed = false;
    auto start = std::chrono::steady_clock::now();
    std::string text = raw.ReadAll(std::chrono::milliseconds(kRequestTimeoutMs * 4), &closed);
    EXPECT_TRUE(closed);
    EXPECT_TRUE(text.empty()) << text;
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::milliseconds(kRequestTimeoutMs * 3));
    EXPECT_EQ(LedgerState(), before);
  }
}

TEST_F(HostileInputTest, MalformedJsonWrongContentTypesUnknownRoutesAndMethods) {
  const std::string before = LedgerState();
  auto body = [&](const std::string& label, const std::string& text, int status, const std::string& code) {
    ExpectRefused(label, PostBody(port_, alice_, text), status, code, before);
  };
  body("empty body", "", 400, "invalid_json");
  body("truncated JSON", "{\"query\": \"SHOW", 400, "invalid_json");
  body("trailing garbage", "{\"query\": \"SHOW TABLES\"} x", 400, "invalid_json");
  body("a string", "\"SHOW TABLES\"", 400, "invalid_json");
  body("null", "null", 400, "invalid_json");
  body("single quotes", "{'query': 'SHOW TABLES'}", 400, "invalid_json");
  body("comment", "{/* */\"query\": \"SHOW TABLES\"}", 400, "invalid_json");
  body("deep JSON nesting", std::string(100000, '[') + std::string(100000, ']'), 400, "invalid_json");
  body("deep object in a field",
       "{\"query\": \"SHOW TABLES\", \"dataset\": " + std::string(50000, '[') + std::string(50000, ']') + "}",
       400, "invalid_request");
  body("query is an array", "{\"query\": [\"SHOW TABLES\"]}", 400, "invalid_request");
  body("query is null", "{\"query\": null}", 400, "invalid_request");
  body("duplicate query keys", "{\"query\": \"SHOW TABLES\", \"query\": \"SELECT MAX(age) FROM admissions\"}",
       400, "min_max_not_private");
  body("unknown field", "{\"query\": \"SHOW TABLES\", \"epsilon\": 100}", 400, "invalid_request");
  body("dataset is an object", "{\"query\": \"SHOW TABLES\", \"dataset\": {\"name\": \"hospital\"}}", 400,
       "invalid_request");
  body("dataset injection", "{\"query\": \"SHOW TABLES\", \"dataset\": \"hospital' OR '1'='1\"}", 404,
       "unknown_dataset");
  body("huge number", "{\"query\": \"SHOW TABLES\", \"dataset\": 1e999999}", 400, "invalid_json");
  // Oversized JSON: a body just over max_body_bytes.
  body("oversized JSON", json{{"query", "SHOW TABLES"}, {"pad", std::string(1 << 20, 'x')}}.dump(), 413,
       "body_too_large");

  // The body decides, not Content-Type: a form-encoded body is not JSON.
  ExpectRefused("form body",
                Call(port_, {"POST", "/v1/query", "query=SHOW+TABLES", alice_, "",
                             "application/x-www-form-urlencoded"}),
                400, "invalid_json", before);
  ExpectRefused("multipart body",
                Call(port_, {"POST", "/v1/query",
                             "--b\r\nContent-Disposition: form-data; name=\"query\"\r\n\r\nx\r\n--b--",
                             alice_, "", "multipart/form-data; boundary=b"}),
                400, "invalid_json", before);

  // Unknown routes and methods.
  auto route = [&](const std::string& method, const std::string& target, const std::string& token, int status,
                   const std::string& code) {
    ExpectRefused(method + " " + target, Call(port_, {method, target, "", token, "", ""}), status, code,
                  before);
  };
  route("GET", "/v1/../v1/admin/audit", alice_, 404, "not_found");
  route("GET", "/v1/query/../admin/audit", alice_, 404, "not_found");
  route("GET", "/v1/admin", admin_, 404, "not_found");
  route("GET", "/etc/passwd", "", 404, "not_found");
  route("GET", "/" + std::string(8000, 'a'), "", 404, "not_found");
  route("GET", "/v1/query%00", alice_, 404, "not_found");
  route("DELETE", "/v1/budget", alice_, 405, "method_not_allowed");
  route("PUT", "/v1/query", alice_, 405, "method_not_allowed");
  route("GET", "/v1/explain", alice_, 405, "method_not_allowed");
  route("POST", "/healthz", "", 405, "method_not_allowed");
  route("BREW", "/v1/query", alice_, 405, "method_not_allowed");
  route("GET", "/v1/admin/audit?limit=-1", admin_, 400, "invalid_parameter");
  route("GET", "/v1/admin/audit?limit=1%27%20OR%201=1", admin_, 400, "invalid_parameter");
}

TEST_F(HostileInputTest, SlowLorisIsClosedAtItsTimeoutWhileOthersAreServed) {
  ++cases_;
  const std::string before = LedgerState();
  RawSocket slow(port_);
  ASSERT_TRUE(slow.connected());
  // Enough header bytes that dripping them takes well over the timeout.
  const std::string header =
      "GET /healthz HTTP/1.1\r\nHost: x\r\nX-Pad: " + std::string(100, 'a') + "\r\n\r\n";
  std::atomic<bool> stop{false};
  std::atomic<int> served{0}, failed{0};
  std::thread others([&] {
    while (!stop) {
      auto start = std::chrono::steady_clock::now();
      Reply reply = PostQuery(port_, bob_, "SHOW BUDGET");
      bool quick = std::chrono::steady_clock::now() - start < 1000ms;
      (reply.status == 200 && quick ? served : failed)++;
      std::this_thread::sleep_for(50ms);
    }
  });
  const auto start = std::chrono::steady_clock::now();
  bool closed = false;
  size_t sent = 0;
  for (; sent < header.size(); ++sent) {
    if (!slow.Send(header.substr(sent, 1)) || slow.PeerClosed()) {
      closed = true;
      break;
    }
    std::this_thread::sleep_for(50ms);  // 140 bytes: 7 s if never cut off
  }
  const auto elapsed = std::chrono::steady_clock::now() - start;
  stop = true;
  others.join();
  EXPECT_TRUE(closed) << "the slow connection was not closed";
  EXPECT_LT(sent, header.size());
  EXPECT_GE(elapsed, std::chrono::milliseconds(kRequestTimeoutMs - 200));
  EXPECT_LT(elapsed, std::chrono::milliseconds(kRequestTimeoutMs + 1500));
  EXPECT_GE(served.load(), 5) << "other clients were not served meanwhile";
  EXPECT_EQ(failed.load(), 0);

  // Several at once do not starve the server either.
  std::vector<std::unique_ptr<RawSocket>> lorises;
  for (int i = 0; i < 20; ++i) {
    lorises.push_back(std::make_unique<RawSocket>(port_));
    lorises.back()->Send("GET /healthz HTTP/1.1\r\nHo");
  }
  Reply reply = PostQuery(port_, bob_, "SHOW BUDGET");
  EXPECT_EQ(reply.status, 200) << reply.body;
  std::this_thread::sleep_for(std::chrono::milliseconds(kRequestTimeoutMs + 500));
  for (auto& loris : lorises) EXPECT_TRUE(loris->PeerClosed());
  EXPECT_EQ(LedgerState(), before);
}

TEST_F(HostileInputTest, TokensMissingMalformedForgedRevokedAndOtherAnalysts) {
  const std::string before = LedgerState();
  const std::string body =
      json{{"query", "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.1)"}}.dump();
  auto auth = [&](const std::string& label, const std::string& authorization, int status,
                  const std::string& code, const std::string& target = "/v1/query") {
    Request request{target == "/v1/query" ? "POST" : "GET",
                    target,
                    target == "/v1/query" ? body : "",
                    "",
                    authorization,
                    "application/json"};
    if (authorization.empty()) request.token.clear();
    ExpectRefused(label, Call(port_, request), status, code, before);
  };
  auth("missing", "", 401, "unauthorized");
  auth("empty bearer", "Bearer ", 401, "unauthorized");
  auth("basic", "Basic YWxpY2U6c2VjcmV0", 401, "unauthorized");
  auth("lowercase dpql prefix missing", "Bearer " + alice_.substr(5), 401, "unauthorized");
  auth("forged", "Bearer dpql_QmFkVG9rZW5CYWRUb2tlbkJhZFRva2VuQmFkVG9rZW4x", 401, "unauthorized");
  auth("truncated", "Bearer " + alice_.substr(0, alice_.size() - 1), 401, "unauthorized");
  auth("extended", "Bearer " + alice_ + "A", 401, "unauthorized");
  auth("two tokens", "Bearer " + alice_ + " " + bob_, 401, "unauthorized");
  auth("SQL in the token", "Bearer dpql_' OR '1'='1", 401, "unauthorized");
  auth("huge token", "Bearer dpql_" + std::string(10000, 'A'), 401, "unauthorized");
  // Control bytes in a header are not HTTP at all.
  auth("control bytes", std::string("Bearer dpql_\x01\x02\x7f"), 400, "bad_request");
  auth("forged, budget", "Bearer dpql_" + std::string(43, 'z'), 401, "unauthorized", "/v1/budget");
  auth("forged, audit", "Bearer dpql_" + std::string(43, 'z'), 401, "unauthorized", "/v1/admin/audit");

  // A revoked analyst.
  std::string mallory = AddAnalyst("mallory", 1, false);
  int code = 0;
  std::string out = Admin("revoke mallory", &code);
  ASSERT_EQ(code, 0) << out;
  const std::string after_revoke = LedgerState();
  ExpectRefused("revoked", PostBody(port_, mallory, body), 401, "unauthorized", after_revoke);
  ExpectRefused("revoked, budget", Call(port_, {"GET", "/v1/budget", "", mallory, "", ""}), 401,
                "unauthorized", after_revoke);

  // Another analyst's budget is invisible: bob sees only his own.
  Reply bob_budget = Call(port_, {"GET", "/v1/budget", "", bob_, "", ""});
  ASSERT_EQ(bob_budget.status, 200) << bob_budget.body;
  ASSERT_EQ(bob_budget.doc["budgets"].size(), 1u) << bob_budget.body;
  EXPECT_DOUBLE_EQ(bob_budget.doc["budgets"][0]["epsilon_total"].get<double>(), 2.0);
  EXPECT_DOUBLE_EQ(bob_budget.doc["budgets"][0]["epsilon_spent"].get<double>(), 0.0);
  EXPECT_EQ(bob_budget.body.find("alice"), std::string::npos);
  Reply alice_budget = Call(port_, {"GET", "/v1/budget", "", alice_, "", ""});
  ASSERT_EQ(alice_budget.status, 200);
  EXPECT_GT(alice_budget.doc["budgets"][0]["epsilon_spent"].get<double>(), 0.0);
  Reply show = PostQuery(port_, bob_, "SHOW BUDGET");
  ASSERT_EQ(show.status, 200) << show.body;
  EXPECT_EQ(show.doc["rows"].size(), 1u);
  EXPECT_EQ(show.doc["rows"][0][2], "0") << show.body;  // bob's spent, not alice's
  EXPECT_EQ(Call(port_, {"GET", "/v1/budget?analyst=alice", "", bob_, "", ""}).body, bob_budget.body);

  // Admin routes with an analyst's token.
  ExpectRefused("audit as analyst", Call(port_, {"GET", "/v1/admin/audit", "", bob_, "", ""}), 403,
                "forbidden", after_revoke);
  ExpectRefused("audit filtered as analyst",
                Call(port_, {"GET", "/v1/admin/audit?analyst=alice", "", bob_, "", ""}), 403, "forbidden",
                after_revoke);
  ExpectRefused("audit, POST as analyst",
                Call(port_, {"POST", "/v1/admin/audit", "{}", bob_, "", "application/json"}), 405,
                "method_not_allowed", after_revoke);
  EXPECT_EQ(Call(port_, {"GET", "/v1/admin/audit?limit=1", "", admin_, "", ""}).status, 200);
}

TEST_F(HostileInputTest, QueriesFishingForRowsAreRefusedAndCostNothing) {
  // Grouping by or outputting the privacy unit.
  ExpectQueryRefused("SELECT patient_id, COUNT(*) FROM admissions GROUP BY patient_id", 400,
                     "privacy_unit_key");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions GROUP BY patient_id", 400, "privacy_unit_key");
  // A near-unique column without a domain and no delta for partition selection.
  ExpectQueryRefused(
      "SELECT postcode_district, COUNT(*) FROM admissions GROUP BY postcode_district WITH PRIVACY (delta = "
      "0)",
      400, "no_public_domain");
  ExpectQueryRefused(
      "SELECT admission_id, COUNT(*) FROM admissions GROUP BY admission_id WITH PRIVACY (delta = 0)", 400,
      "no_public_domain");
  // Non-aggregates, MIN/MAX, SELECT *.
  ExpectQueryRefused("SELECT age FROM admissions", 400, "not_aggregate");
  ExpectQueryRefused("SELECT patient_id FROM admissions WHERE age > 100", 400, "privacy_unit_output");
  ExpectQueryRefused("SELECT sex, age, COUNT(*) FROM admissions GROUP BY sex", 400, "not_aggregate");
  ExpectQueryRefused("SELECT MIN(age) FROM admissions", 400, "min_max_not_private");
  ExpectQueryRefused("SELECT MAX(admitted_on) FROM admissions", 400, "min_max_not_private");
  ExpectQueryRefused("SELECT * FROM admissions", 400, "select_star");
  ExpectQueryRefused("SELECT * FROM wards", 400, "select_star");
  // Subqueries.
  ExpectQueryRefused("SELECT COUNT(*) FROM (SELECT * FROM admissions) AS t", 400, "subquery");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE age = (SELECT MAX(age) FROM admissions)", 400,
                     "subquery");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WHERE patient_id IN (SELECT patient_id FROM bed_days)",
                     400, "subquery");
  // Joins between private tables, and on the privacy unit.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions a JOIN bed_days b ON a.patient_id = b.patient_id", 400,
                     "private_join");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions a JOIN bed_days b ON a.ward_code = b.ward_code", 400,
                     "private_join");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions a JOIN wards w ON a.patient_id = w.ward_code", 400,
                     "privacy_unit_join");
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions a, bed_days b", 400, "comma_join");
  // Contribution limits pushed past the catalog's.
  ExpectQueryRefused("SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 1000)", 400,
                     "epsilon_too_large");
  ExpectQueryRefused(
      "SELECT ward_code, COUNT(*) FROM admissions GROUP BY ward_code WITH PRIVACY (max_rows = 100000)", 400,
      "invalid_privacy_option");
  // EXPLAIN of a refused query is refused too, and never shows rows.
  ExpectQueryRefused("EXPLAIN SELECT patient_id, COUNT(*) FROM admissions GROUP BY patient_id", 400,
                     "privacy_unit_key", bob_);
  const std::string before = LedgerState();
  ExpectRefused("explain fishing",
                PostQuery(port_, alice_, "SELECT patient_id FROM admissions", "/v1/explain"), 400,
                "privacy_unit_output", before);
}

}  // namespace
}  // namespace dpql
