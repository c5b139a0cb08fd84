// dpqld's PostgreSQL front end driven by real clients against a real dpqld and
// PostgreSQL: psql (simple query, \dt and \d, a refusal with psql's own caret,
// the cost NOTICE), psycopg and pandas (the extended protocol with bound
// parameters), libpq's PQexecParams with binary formats, pgjdbc (JDBC's
// Statement, PreparedStatement and DatabaseMetaData), and hostile bytes
// (malformed, truncated and oversized messages, a wrong password, a flood of
// connections) — after each of which the server keeps serving and the ledger
// stays exact.

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/dpqld_process.h"
#include "tests/support/pg.h"

namespace dpql {
namespace {

using nlohmann::json;

constexpr int kHospitalRows = 2000;
constexpr int kWards = 37;  // examples/hospital/schema.sql
constexpr int kMaxConnections = 6;

// A raw TCP connection to the front end, for bytes no client library sends.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in address{};
    address.sin_family = AF_INET;
    address.sin_port = htons(port);
    address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    timeval timeout{10, 0};
    setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
  }
  ~RawConnection() {
    if (fd_ >= 0) close(fd_);
  }
  bool connected() const { return connected_; }
  void Send(const std::string& bytes) { (void)!write(fd_, bytes.data(), bytes.size()); }
  // Everything until the server closes the connection (or 10 s pass).
  std::string ReadToClose() {
    std::string out;
    char buffer[4096];
    while (true) {
      ssize_t got = read(fd_, buffer, sizeof buffer);
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }
  // At least `bytes` bytes (or what arrives before a close or 10 s).
  std::string ReadAtLeast(size_t bytes) {
    std::string out;
    char buffer[4096];
    while (out.size() < bytes) {
      ssize_t got = read(fd_, buffer, sizeof buffer);
      if (got <= 0) break;
      out.append(buffer, static_cast<size_t>(got));
    }
    return out;
  }

 private:
  int fd_ = -1;
  bool connected_ = false;
};

std::string Int32Bytes(int32_t value) {
  uint32_t v = static_cast<uint32_t>(value);
  return std::string{static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
                     static_cast<char>(v)};
}

std::string StartupPacket(const std::string& user) {
  std::string body = Int32Bytes(196608) + "user" + std::string(1, '\0') + user + std::string(1, '\0') +
                     "database" + std::string(1, '\0') + "hospital" + std::string(2, '\0');
  return Int32Bytes(static_cast<int32_t>(body.size() + 4)) + body;
}

// The SQLSTATE of the first ErrorResponse in `bytes`, "" if there is none.
std::string FirstSqlState(const std::string& bytes) {
  size_t at = 0;
  while (at + 5 <= bytes.size()) {
    char type = bytes[at];
    uint32_t length = static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 1])) << 24 |
                      static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 2])) << 16 |
                      static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 3])) << 8 |
                      static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + 4]));
    if (type == 'E') {
      size_t field = at + 5;
      while (field < at + 1 + length && bytes[field] != 0) {
        size_t end = bytes.find('\0', field + 1);
        if (bytes[field] == 'C') return bytes.substr(field + 1, end - field - 1);
        field = end + 1;
      }
      return "?";
    }
    at += 1 + length;
  }
  return "";
}

class PgWireTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("dpql_pg_wire_test_" + std::to_string(getpid()));
    std::filesystem::create_directories(dir_);
    db_.LoadHospital(kHospitalRows);
    int code = 0;
    std::string out = RunAdmin(db_.url(), "init", &code);
    ASSERT_EQ(code, 0) << out;
    token_ = AddAnalystToken(db_.url(), "planner --dataset hospital --epsilon 20");
    server_ = Start("");
    ASSERT_TRUE(server_->started()) << server_->log();
    ASSERT_NE(server_->pg_port(), 0) << server_->log();
  }

  void TearDown() override {
    server_.reset();
    std::error_code ignored;
    std::filesystem::remove_all(dir_, ignored);
  }

  std::unique_ptr<DpqldProcess> Start(const std::string& extra) {
    const std::filesystem::path config = dir_ / ("dpqld" + std::to_string(servers_++) + ".yaml");
    std::ofstream(config) << DpqldConfigBase(db_.url(), SourceDir() + "/examples/hospital/catalog.yaml")
                          << "pg_max_connections: " << kMaxConnections << "\n"
                          << (extra.find("pg_max_connections_per_analyst") == std::string::npos
                                  ? "pg_max_connections_per_analyst: " + std::to_string(kMaxConnections) + "\n"
                                  : "")
                          << "max_body_bytes: 65536\nmax_query_bytes: 4096\n"
                          << extra;
    return std::make_unique<DpqldProcess>(
        DpqldOptions{.config = config.string(), .log_path = (dir_ / (config.filename().string() + ".log")).string()});
  }

  std::string Conninfo(const std::string& password, const std::string& extra = "sslmode=disable") const {
    return "host=127.0.0.1 port=" + std::to_string(server_->pg_port()) +
           " user=planner dbname=hospital password=" + password + " " + extra;
  }

  // psql with the connection string and -c for each command; output and status.
  std::string Psql(const std::vector<std::string>& commands, int* code, const std::string& password = "") {
    std::string line = "psql -X -v ON_ERROR_STOP=1 " + ShellQuote(Conninfo(password.empty() ? token_ : password));
    for (const std::string& command : commands) line += " -c " + ShellQuote(command);
    return RunCommand(line + " 2>&1", code);
  }

  long SpentMicro() {
    return std::stol(db_.QueryValue(
        "SELECT b.epsilon_spent FROM dpql.budgets b JOIN dpql.analysts a ON a.id = b.analyst_id "
        "WHERE a.name = 'planner' AND b.dataset = 'hospital'"));
  }
  long LedgerSumMicro() {
    return std::stol(db_.QueryValue("SELECT coalesce(sum(epsilon), 0) FROM dpql.ledger"));
  }

  // The server still answers a query over the protocol after whatever a test did.
  void ExpectStillServing() {
    int code = 0;
    std::string out = Psql({"SHOW TABLES"}, &code);
    EXPECT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
    EXPECT_NE(out.find("admissions"), std::string::npos) << out;
    EXPECT_EQ(SpentMicro(), LedgerSumMicro()) << "the ledger and the budget disagree";
  }

  TestDatabase db_;
  std::filesystem::path dir_;
  std::string token_;
  int servers_ = 0;
  std::unique_ptr<DpqldProcess> server_;
};

TEST_F(PgWireTest, PsqlRunsAQueryAndReportsItsCostAsANotice) {
  int code = 0;
  std::string out = Psql({"SELECT ward_code, COUNT(*) AS admissions FROM admissions GROUP BY ward_code;"}, &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  EXPECT_NE(out.find("LTH-AMU"), std::string::npos) << out;
  EXPECT_NE(out.find("(" + std::to_string(kWards) + " rows)"), std::string::npos) << out;
  EXPECT_NE(out.find("NOTICE:  cost ε 1"), std::string::npos) << out;
  EXPECT_NE(out.find("budget left ε 19"), std::string::npos) << out;
  EXPECT_EQ(SpentMicro(), 1000000);
  // The same audit row as HTTP, marked as the protocol's.
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE source = 'pg: query' AND outcome = 'ok' "
                           "AND analyst_name = 'planner' AND query LIKE 'SELECT ward_code%'"),
            "1");
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE source = 'pg: login' AND outcome = 'ok'"), "1");
}

TEST_F(PgWireTest, PsqlDrawsItsCaretUnderTheRefusedColumnAndNothingIsCharged) {
  int code = 0;
  const std::string query = "SELECT COUNT(*) FROM admissions WHERE nosuch = 1";
  std::string out = Psql({query}, &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("ERROR:  "), std::string::npos) << out;
  EXPECT_NE(out.find("DETAIL:  DPQL code: unknown_column"), std::string::npos) << out;
  // psql prints "LINE 1: <query>" and a caret under the position it was sent.
  const std::string prefix = "LINE 1: ";
  size_t line = out.find(prefix + query);
  ASSERT_NE(line, std::string::npos) << out;
  size_t caret_line = out.find('\n', line) + 1;
  size_t caret = out.find('^', caret_line);
  ASSERT_NE(caret, std::string::npos) << out;
  EXPECT_EQ(caret - caret_line, prefix.size() + query.find("nosuch")) << out;
  EXPECT_EQ(SpentMicro(), 0);
}

TEST_F(PgWireTest, PsqlListsAndDescribesTablesFromTheCatalogOnly) {
  int code = 0;
  std::string out = Psql({"\\dt"}, &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  for (const char* table : {"admissions", "bed_days", "wards"}) {
    EXPECT_NE(out.find(table), std::string::npos) << table << "\n" << out;
  }
  out = Psql({"\\d admissions"}, &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  for (const char* column : {"ward_code", "admission_method", "length_of_stay", "postcode_district"}) {
    EXPECT_NE(out.find(column), std::string::npos) << column << "\n" << out;
  }
  // Statistics are data: a client asking for them is refused, not answered.
  out = Psql({"SELECT * FROM pg_catalog.pg_stats"}, &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("not one DPQL answers"), std::string::npos) << out;
  EXPECT_EQ(SpentMicro(), 0);
}

TEST_F(PgWireTest, PsycopgBindsParametersAndPandasReadsAFrame) {
  int code = 0;
  std::string out = RunCommand("/usr/bin/python3 " + ShellQuote(SourceDir() + "/tests/integration/pg_wire_psycopg.py") +
                                   " " + ShellQuote(Conninfo(token_)) + " 2>&1",
                               &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  json seen = json::parse(out.substr(out.find('{')));
  EXPECT_EQ(seen["columns"], json({"ward_code", "admissions"})) << out;
  EXPECT_EQ(seen["type_codes"], json({25, 20})) << out;  // text, bigint
  // Every ward is a group (a public domain); the bound parameter filtered the
  // rows, so only LTH-AMU counts admissions and the others are noise about 0.
  ASSERT_EQ(seen["rows"].size(), static_cast<size_t>(kWards)) << out;
  std::vector<double> others;
  double amu = 0;
  for (const auto& row : seen["rows"]) {
    if (row[0] == "LTH-AMU") amu = row[1].get<double>();
    else others.push_back(row[1].get<double>());
  }
  std::sort(others.begin(), others.end());
  EXPECT_GT(amu, 30) << out;
  EXPECT_LT(others[others.size() / 2], 10) << out;
  EXPECT_TRUE(seen["binary_count"].is_number_integer()) << out;
  EXPECT_EQ(seen["interval_columns"], json({"n", "n_lo", "n_hi"})) << out;
  EXPECT_LE(seen["interval_row"][1].get<double>(), seen["interval_row"][0].get<double>()) << out;
  EXPECT_GE(seen["interval_row"][2].get<double>(), seen["interval_row"][0].get<double>()) << out;
  EXPECT_EQ(seen["dataset"], "hospital");
  EXPECT_EQ(seen["error"]["sqlstate"], "42703") << out;
  EXPECT_EQ(seen["error"]["detail"], "DPQL code: unknown_column") << out;
  if (!seen["pandas_shape"].is_null()) {
    EXPECT_EQ(seen["pandas_shape"], json({4, 2})) << out;  // the four admission methods
  }
  bool cost_notice = false;
  for (const auto& notice : seen["notices"]) cost_notice |= notice.get<std::string>().rfind("cost ε", 0) == 0;
  EXPECT_TRUE(cost_notice) << out;
  // Four charged queries at ε 1 each: the two counts, the intervals' count, and pandas'.
  EXPECT_EQ(SpentMicro(), 4000000) << out;
  EXPECT_EQ(SpentMicro(), LedgerSumMicro());
}

TEST_F(PgWireTest, LibpqExecParamsWithBinaryParametersAndResults) {
  PGconn* conn = PQconnectdb(Conninfo(token_).c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  EXPECT_EQ(PQserverVersion(conn) / 10000, 15);
  const Oid types[1] = {23};  // int4
  const uint32_t age = htonl(65);
  const char* values[1] = {reinterpret_cast<const char*>(&age)};
  const int lengths[1] = {4};
  const int formats[1] = {1};
  PGresult* result = PQexecParams(conn, "SELECT sex, COUNT(*) AS n FROM admissions WHERE age >= $1 GROUP BY sex",
                                  1, types, values, lengths, formats, 1);
  ASSERT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(conn);
  EXPECT_EQ(PQntuples(result), 3);  // F, M, X: a public domain
  EXPECT_EQ(PQftype(result, 1), 20u);
  EXPECT_EQ(PQfformat(result, 1), 1);
  ASSERT_EQ(PQgetlength(result, 0, 1), 8);
  PQclear(result);
  // A parameter that is not an integer is refused before anything runs.
  const char* bad[1] = {"65; SELECT 1"};
  result = PQexecParams(conn, "SELECT COUNT(*) FROM admissions WHERE age >= $1", 1, types, bad, nullptr, nullptr, 0);
  EXPECT_EQ(PQresultStatus(result), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(result, PG_DIAG_SQLSTATE), "22P02");
  PQclear(result);
  PQfinish(conn);
  EXPECT_EQ(SpentMicro(), 1000000);
}

// pgjdbc (Debian's libpostgresql-jdbc-java) as a JDBC tool uses it: a
// Statement, a PreparedStatement with a bound String and int (also as a named
// server-side statement), ResultSetMetaData, the cost NOTICE as an
// SQLWarning, DatabaseMetaData.getTables/getColumns, a refusal's SQLState.
TEST_F(PgWireTest, JdbcDriverQueriesWithBoundParameters) {
  const std::string jar = "/usr/share/java/postgresql.jar";
  int code = 0;
  RunCommand("command -v java >/dev/null 2>&1", &code);
  if (code != 0) GTEST_SKIP() << "no `java` on PATH: install default-jdk-headless (scripts/deps)";
  if (!std::filesystem::exists(jar)) GTEST_SKIP() << jar << " is missing: install libpostgresql-jdbc-java (scripts/deps)";
  std::string out = RunCommand("java -cp " + jar + " " +
                                   ShellQuote(SourceDir() + "/tests/integration/pg_wire_jdbc/JdbcClient.java") + " " +
                                   std::to_string(server_->pg_port()) + " " + ShellQuote(token_) + " 2>&1",
                               &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  std::map<std::string, json> facts;
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);) {
    json fact = json::parse(line, nullptr, false);
    if (!fact.is_discarded() && fact.contains("fact")) facts[fact["fact"].get<std::string>()] = fact;
  }
  for (const auto& [name, fact] : facts) {
    if (name != "refused") {
      EXPECT_FALSE(fact.value("error", false)) << name << ": " << fact.dump() << "\n" << out;
    }
  }
  EXPECT_EQ(facts["connected"]["version"], "15.0 (DPQL)") << out;
  EXPECT_EQ(facts["statement"]["rows"], kWards) << out;
  EXPECT_EQ(facts["statement_metadata"]["columns"], json({"ward_code", "n"})) << out;
  EXPECT_EQ(facts["statement_metadata"]["types"], json({"text", "int8"})) << out;
  EXPECT_EQ(facts["statement_metadata"]["classes"], json({"java.lang.String", "java.lang.Long"})) << out;
  ASSERT_FALSE(facts["statement_warnings"]["warnings"].empty()) << out;
  EXPECT_EQ(facts["statement_warnings"]["warnings"][0].get<std::string>().rfind("cost ε 1", 0), 0u) << out;
  EXPECT_NE(facts["prepared_warnings"]["warnings"][0].get<std::string>().find("budget left ε 18"), std::string::npos)
      << out;
  // Bound parameters filtered the rows: sex is a public domain (F, M, X).
  for (const char* name : {"prepared", "server_prepared"}) {
    const json& rows = facts[name]["rows"];
    ASSERT_EQ(rows.size(), 3u) << name << "\n" << out;
    EXPECT_EQ(rows[0][0], "F") << out;
    EXPECT_EQ(facts[std::string(name) + "_metadata"]["columns"], json({"sex", "n"})) << out;
  }
  EXPECT_EQ(facts["isolation"]["value"], "read committed") << out;
  EXPECT_EQ(facts["get_tables"]["tables"], json({"admissions", "bed_days", "wards"})) << out;
  const json& columns = facts["get_columns"]["columns"];
  EXPECT_NE(std::find(columns.begin(), columns.end(), json("ward_code:text")), columns.end()) << out;
  EXPECT_NE(std::find(columns.begin(), columns.end(), json("age:int8")), columns.end()) << out;
  EXPECT_EQ(facts["refused"]["sqlstate"], "42703") << out;
  // Three charged queries at ε 1: the Statement and the two prepared ones.
  EXPECT_EQ(facts["budget"]["rows"][0][2], "3") << out;
  EXPECT_EQ(SpentMicro(), 3000000) << out;
  EXPECT_EQ(SpentMicro(), LedgerSumMicro());
}

TEST_F(PgWireTest, AWrongPasswordIsRefusedAuditedAndCostsNothing) {
  int code = 0;
  std::string out = Psql({"SHOW TABLES"}, &code, "dpql_" + std::string(43, 'A'));
  EXPECT_EQ(code, 2) << out;
  EXPECT_NE(out.find("password authentication failed for user \"planner\""), std::string::npos) << out;
  // An unknown analyst gets the same answer.
  std::string stranger = RunCommand(
      "psql -X " + ShellQuote("host=127.0.0.1 port=" + std::to_string(server_->pg_port()) +
                              " user=nobody dbname=hospital sslmode=disable password=x") + " -c 'SHOW TABLES' 2>&1",
      &code);
  EXPECT_NE(stranger.find("password authentication failed for user \"nobody\""), std::string::npos) << stranger;
  EXPECT_EQ(db_.QueryValue("SELECT count(*) FROM dpql.audit WHERE source = 'pg: login' AND outcome = 'unauthorized'"),
            "2");
  ExpectStillServing();
}

TEST_F(PgWireTest, MalformedTruncatedAndOversizedMessagesCloseOnlyTheirConnection) {
  {  // Not a startup packet: an HTTP request to the wrong port.
    RawConnection raw(server_->pg_port());
    ASSERT_TRUE(raw.connected());
    raw.Send("GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    EXPECT_EQ(FirstSqlState(raw.ReadToClose()), "08P01");
  }
  {  // A startup packet that ends mid-parameter.
    RawConnection raw(server_->pg_port());
    std::string body = Int32Bytes(196608) + "user";
    raw.Send(Int32Bytes(static_cast<int32_t>(body.size() + 4)) + body);
    EXPECT_EQ(FirstSqlState(raw.ReadToClose()), "08P01");
  }
  {  // Bytes after an SSLRequest, before the answer, are refused.
    RawConnection raw(server_->pg_port());
    raw.Send(Int32Bytes(8) + Int32Bytes(80877103) + StartupPacket("planner"));
    EXPECT_EQ(FirstSqlState(raw.ReadToClose()), "08P01");
  }
  {  // Truncated: half a startup packet, then the client goes away.
    RawConnection raw(server_->pg_port());
    raw.Send(StartupPacket("planner").substr(0, 10));
  }
  {  // An oversized message after login is refused before its body is read.
    PGconn* conn = PQconnectdb(Conninfo(token_).c_str());
    ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
    std::string long_query = "SELECT COUNT(*) FROM admissions WHERE ward_code = '" + std::string(100000, 'x') + "'";
    PGresult* result = PQexec(conn, long_query.c_str());
    EXPECT_NE(PQresultStatus(result), PGRES_TUPLES_OK);
    std::string message = PQerrorMessage(conn);
    EXPECT_NE(message.find("over this server's limit"), std::string::npos) << message;
    PQclear(result);
    PQfinish(conn);
  }
  ExpectStillServing();
  EXPECT_EQ(SpentMicro(), 0);
}

TEST_F(PgWireTest, AFloodOfConnectionsIsCappedAndTheServerRecovers) {
  std::vector<std::unique_ptr<RawConnection>> held;
  for (int i = 0; i < kMaxConnections; ++i) {
    held.push_back(std::make_unique<RawConnection>(server_->pg_port()));
    ASSERT_TRUE(held.back()->connected());
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string refused;
  for (int attempt = 0; attempt < 20 && refused.empty(); ++attempt) {
    RawConnection extra(server_->pg_port());
    refused = FirstSqlState(extra.ReadToClose());
    if (refused.empty()) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_EQ(refused, "53300");
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  ExpectStillServing();
}

TEST_F(PgWireTest, ARevokedAnalystsOpenSessionIsRefusedAtItsNextQuery) {
  PGconn* conn = PQconnectdb(Conninfo(token_).c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  int code = 0;
  std::string out = RunAdmin(db_.url(), "revoke planner", &code);
  ASSERT_EQ(code, 0) << out;
  PGresult* result = PQexec(conn, "SELECT COUNT(*) FROM admissions");
  EXPECT_EQ(PQresultStatus(result), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(result, PG_DIAG_SQLSTATE), "28P01");
  PQclear(result);
  PQfinish(conn);
  EXPECT_EQ(SpentMicro(), 0);
}

TEST_F(PgWireTest, OneAnalystsSessionsAreCappedAndIdleOnesAreClosed) {
  server_.reset();
  server_ = Start("pg_max_connections_per_analyst: 2\npg_idle_timeout_ms: 1000\n");
  ASSERT_TRUE(server_->started()) << server_->log();
  PGconn* first = PQconnectdb(Conninfo(token_).c_str());
  PGconn* second = PQconnectdb(Conninfo(token_).c_str());
  PGconn* third = PQconnectdb(Conninfo(token_).c_str());
  EXPECT_EQ(PQstatus(first), CONNECTION_OK) << PQerrorMessage(first);
  EXPECT_EQ(PQstatus(second), CONNECTION_OK) << PQerrorMessage(second);
  EXPECT_EQ(PQstatus(third), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(third)).find("too many connections for analyst \"planner\""),
            std::string::npos)
      << PQerrorMessage(third);
  PQfinish(third);
  // Idle past pg_idle_timeout_ms: the server closes the session (57P05).
  std::this_thread::sleep_for(std::chrono::milliseconds(2500));
  PGresult* late = PQexec(first, "SHOW TABLES");
  EXPECT_NE(PQresultStatus(late), PGRES_TUPLES_OK);
  EXPECT_NE(std::string(PQerrorMessage(first)).find("idle-session timeout"), std::string::npos)
      << PQerrorMessage(first);
  PQclear(late);
  PQfinish(first);
  PQfinish(second);
  // Both slots are free again once the sessions are gone.
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PGconn* again = PQconnectdb(Conninfo(token_).c_str());
  EXPECT_EQ(PQstatus(again), CONNECTION_OK) << PQerrorMessage(again);
  PQfinish(again);
}

TEST_F(PgWireTest, ANewTokenEndsTheSessionsThatLoggedInWithTheOldOne) {
  PGconn* conn = PQconnectdb(Conninfo(token_).c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  PGresult* before = PQexec(conn, "SHOW TABLES");
  EXPECT_EQ(PQresultStatus(before), PGRES_TUPLES_OK) << PQerrorMessage(conn);
  PQclear(before);
  int code = 0;
  std::string out = RunAdmin(db_.url(), "new-token planner", &code);
  ASSERT_EQ(code, 0) << out;
  PGresult* after = PQexec(conn, "SELECT COUNT(*) FROM admissions");
  EXPECT_EQ(PQresultStatus(after), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(after, PG_DIAG_SQLSTATE), "28P01");
  EXPECT_NE(std::string(PQerrorMessage(conn)).find("new token"), std::string::npos) << PQerrorMessage(conn);
  PQclear(after);
  PQfinish(conn);
  EXPECT_EQ(SpentMicro(), 0);
}

TEST_F(PgWireTest, ACancelledQueryThatHadNotStartedRunsNothingAndIsNotCharged) {
  // One database worker, held by a query blocked on a lock the test takes:
  // the second query waits in the queue, where psql's Ctrl-C (a
  // CancelRequest) stops it.
  server_.reset();
  server_ = Start("db_pool: 1\n");
  ASSERT_TRUE(server_->started()) << server_->log();
  PGconn* lock = PQconnectdb(db_.url().c_str());
  ASSERT_EQ(PQstatus(lock), CONNECTION_OK) << PQerrorMessage(lock);
  PQclear(PQexec(lock, "BEGIN"));
  PGresult* locked = PQexec(lock, "LOCK TABLE admissions IN ACCESS EXCLUSIVE MODE");
  ASSERT_EQ(PQresultStatus(locked), PGRES_COMMAND_OK) << PQerrorMessage(lock);
  PQclear(locked);
  PGconn* first = PQconnectdb(Conninfo(token_).c_str());
  PGconn* second = PQconnectdb(Conninfo(token_).c_str());
  ASSERT_EQ(PQstatus(first), CONNECTION_OK) << PQerrorMessage(first);
  ASSERT_EQ(PQstatus(second), CONNECTION_OK) << PQerrorMessage(second);
  ASSERT_EQ(PQsendQuery(first, "SELECT COUNT(*) FROM admissions"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  ASSERT_EQ(PQsendQuery(second, "SELECT sex, COUNT(*) FROM admissions GROUP BY sex"), 1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PGcancel* cancel = PQgetCancel(second);
  char error[256];
  EXPECT_EQ(PQcancel(cancel, error, sizeof error), 1) << error;
  PQfreeCancel(cancel);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  PQclear(PQexec(lock, "COMMIT"));
  PGresult* answered = PQgetResult(first);
  EXPECT_EQ(PQresultStatus(answered), PGRES_TUPLES_OK) << PQerrorMessage(first);
  PQclear(answered);
  while (PGresult* rest = PQgetResult(first)) PQclear(rest);
  PGresult* cancelled = PQgetResult(second);
  EXPECT_EQ(PQresultStatus(cancelled), PGRES_FATAL_ERROR);
  EXPECT_STREQ(PQresultErrorField(cancelled, PG_DIAG_SQLSTATE), "57014") << PQerrorMessage(second);
  PQclear(cancelled);
  while (PGresult* rest = PQgetResult(second)) PQclear(rest);
  // The control: the session is still usable, and only the first query was charged.
  PGresult* again = PQexec(second, "SHOW TABLES");
  EXPECT_EQ(PQresultStatus(again), PGRES_TUPLES_OK) << PQerrorMessage(second);
  PQclear(again);
  PQfinish(first);
  PQfinish(second);
  PQfinish(lock);
  EXPECT_EQ(SpentMicro(), 1000000);
  EXPECT_EQ(SpentMicro(), LedgerSumMicro());
}

TEST_F(PgWireTest, SessionDefaultsForEpsilonAndConfidenceApplyOnlyWhereTheQueryIsSilent) {
  int code = 0;
  std::string out = Psql({"SET dpql.epsilon = 0.25", "SELECT COUNT(*) FROM admissions",
                          "SELECT COUNT(*) FROM admissions WITH PRIVACY (epsilon = 0.5)", "SHOW dpql.epsilon"},
                         &code);
  ASSERT_EQ(code, 0) << out << "\nserver:\n" << server_->log();
  EXPECT_NE(out.find("NOTICE:  cost ε 0.25"), std::string::npos) << out;
  EXPECT_NE(out.find("NOTICE:  cost ε 0.5"), std::string::npos) << out;
  EXPECT_EQ(SpentMicro(), 750000) << out;
  out = Psql({"SET dpql.epsilon = 'lots'"}, &code);
  EXPECT_NE(code, 0) << out;
  EXPECT_NE(out.find("dpql.epsilon is a positive number"), std::string::npos) << out;
  EXPECT_EQ(SpentMicro(), 750000);
}

TEST_F(PgWireTest, TlsCarriesThePasswordAndCanBeRequired) {
  int code = 0;
  std::string out = RunCommand(
      "openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=localhost -keyout " +
          ShellQuote((dir_ / "key.pem").string()) + " -out " + ShellQuote((dir_ / "cert.pem").string()) + " 2>&1",
      &code);
  ASSERT_EQ(code, 0) << out;
  server_.reset();
  server_ = Start("tls_cert: " + (dir_ / "cert.pem").string() + "\ntls_key: " + (dir_ / "key.pem").string() +
                  "\npg_require_tls: true\n");
  ASSERT_TRUE(server_->started()) << server_->log();
  PGconn* conn = PQconnectdb(Conninfo(token_, "sslmode=require").c_str());
  ASSERT_EQ(PQstatus(conn), CONNECTION_OK) << PQerrorMessage(conn);
  EXPECT_EQ(PQsslInUse(conn), 1);
  PGresult* result = PQexec(conn, "SHOW TABLES");
  EXPECT_EQ(PQresultStatus(result), PGRES_TUPLES_OK) << PQerrorMessage(conn);
  PQclear(result);
  PQfinish(conn);
  // Without TLS the session is refused before any password is asked for.
  conn = PQconnectdb(Conninfo(token_, "sslmode=disable").c_str());
  EXPECT_EQ(PQstatus(conn), CONNECTION_BAD);
  EXPECT_NE(std::string(PQerrorMessage(conn)).find("only over TLS"), std::string::npos) << PQerrorMessage(conn);
  PQfinish(conn);
}

}  // namespace
}  // namespace dpql
