// dpql's rendering of dpqld answers, statement splitting, completion and its
// HTTP client, without a real server (tests/integration/repl_test.cpp drives
// the real binaries).

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "repl/api_client.h"
#include "repl/completion.h"
#include "repl/format.h"
#include "repl/http_client.h"
#include "repl/repl.h"
#include "repl/statements.h"
#include "tests/support/canned_server.h"

namespace dpql {
namespace {

using nlohmann::json;

// A /v1/query answer as dpqld sends it: two wards, noisy counts.
json WardCounts() {
  return json::parse(R"({
    "columns": ["ward_code", "count"],
    "column_types": ["text", "int"],
    "rows": [["W01", 12], ["W10", 150]],
    "accuracy": [
      {"column": "count", "row": 0, "ci": [9, 15], "confidence": 0.95},
      {"column": "count", "row": 1, "ci": [146, 153], "confidence": 0.95}
    ],
    "cost": {"epsilon": 1.0, "delta": 0.0},
    "budget": {"dataset": "hospital", "epsilon_total": 5, "epsilon_spent": 1, "epsilon_remaining": 4,
               "delta_total": 0, "delta_spent": 0, "delta_remaining": 0},
    "cached": false
  })");
}

TEST(ReplFormatTable, AlignsColumnsAndPlusMinusSigns) {
  EXPECT_EQ(FormatTable(WardCounts()),
            " ward_code |  count\n"
            "-----------+---------\n"
            " W01       |  12 \xC2\xB1 3\n"
            " W10       | 150 \xC2\xB1 4\n");
}

TEST(ReplFormatTable, PlainValuesNullsAndNumbersWithoutTypes) {
  json answer = json::parse(R"({"columns": ["name", "beds", "note"],
                                "rows": [["Acute", 24, null], ["Maternity ward", 8, "x"]]})");
  EXPECT_EQ(FormatTable(answer),
            "      name      | beds | note\n"
            "----------------+------+------\n"
            " Acute          |   24 |\n"
            " Maternity ward |    8 | x\n");
}

TEST(ReplFormatTable, WideCharactersCountAsOneColumn) {
  EXPECT_EQ(DisplayWidth("12 \xC2\xB1 3"), 6u);
  EXPECT_EQ(DisplayWidth("\xCE\xB5"), 1u);
  std::string table = RenderTable({"a"}, {{"\xCE\xB5\xCE\xB5"}, {"xyz"}}, {false});
  EXPECT_EQ(table, "  a\n-----\n \xCE\xB5\xCE\xB5\n xyz\n");
}

TEST(ReplFormatPlusMinus, HalfWidthIsTheLargerSideRoundedUp) {
  EXPECT_EQ(FormatNoisyValue(12, 9, 15, true), "12 \xC2\xB1 3");
  // Asymmetric interval (a count clamped at 0 has a short lower side).
  EXPECT_EQ(FormatNoisyValue(12, 10, 17, true), "12 \xC2\xB1 5");
  EXPECT_EQ(FormatNoisyValue(2, 0, 7, true), "2 \xC2\xB1 5");
  // Floating-point dust must not turn an exact 3 into 4.
  EXPECT_EQ(FormatNoisyValue(12, 8.9999999999, 15.0000000001, true), "12 \xC2\xB1 3");
  // A fractional half-width of an integer value rounds up, never down.
  EXPECT_EQ(FormatNoisyValue(12, 9.4, 14.2, true), "12 \xC2\xB1 3");
}

TEST(ReplFormatPlusMinus, MeansUseTwoDecimalsOrMoreForTinyErrors) {
  EXPECT_EQ(FormatNoisyValue(45.678, 44.1, 47.0, false), "45.68 \xC2\xB1 1.58");
  EXPECT_EQ(FormatNoisyValue(3.14159, 3.1411, 3.1421, false), "3.1416 \xC2\xB1 0.0006");
  // No "-0.00"; and a half-width just over 1 rounds up to 1.01, never down.
  EXPECT_EQ(FormatNoisyValue(-0.001, -1.001, 0.999, false), "0.00 \xC2\xB1 1.00");
  EXPECT_EQ(FormatNoisyValue(-0.001, -1, 1, false), "0.00 \xC2\xB1 1.01");
}

TEST(ReplFormatTable, MeanColumnFromRealValues) {
  json answer = json::parse(R"({"columns": ["avg_age"], "column_types": ["real"], "rows": [[45.678]],
                                "accuracy": [{"column": "avg_age", "row": 0, "ci": [44.1, 47.0], "confidence": 0.9}],
                                "cost": {"epsilon": 0.5, "delta": 1e-6}})");
  EXPECT_EQ(FormatTable(answer), "   avg_age\n--------------\n 45.68 \xC2\xB1 1.58\n");
  EXPECT_EQ(FormatFooter(answer), "(1 row)  cost: \xCE\xB5 0.5, \xCE\xB4 1e-06  \xC2\xB7  90% intervals");
}

TEST(ReplFormatFooter, RowsCostBudgetAndConfidence) {
  EXPECT_EQ(FormatFooter(WardCounts()),
            "(2 rows)  cost: \xCE\xB5 1  \xC2\xB7  budget left: \xCE\xB5 4  \xC2\xB7  95% intervals");
  json cached = WardCounts();
  cached["cached"] = true;
  EXPECT_EQ(FormatFooter(cached),
            "(2 rows)  cached answer: no cost  \xC2\xB7  budget left: \xCE\xB5 4  \xC2\xB7  95% intervals");
  json exact = json::parse(R"({"budget": {"epsilon_remaining": "3.999999", "delta_total": "0.00001",
                                          "delta_remaining": "0.000009"}})");
  EXPECT_EQ(FormatFooter(exact), "(0 rows)  budget left: \xCE\xB5 3.999999, \xCE\xB4 0.000009");
  json noted = WardCounts();
  noted["notes"] = {"groups with few people are suppressed"};
  EXPECT_EQ(FormatFooter(noted),
            "(2 rows)  cost: \xCE\xB5 1  \xC2\xB7  budget left: \xCE\xB5 4  \xC2\xB7  95% intervals\n"
            "note: groups with few people are suppressed");
  json biased = WardCounts();
  biased["bias"] = json::parse(R"j([{"code": "rows_capped", "outputs": ["count"],
      "message": "at most 1 row per patient per group is counted (max_rows = 1)"}])j");
  EXPECT_EQ(FormatFooter(biased),
            "(2 rows)  cost: \xCE\xB5 1  \xC2\xB7  budget left: \xCE\xB5 4  \xC2\xB7  95% intervals\n"
            "bias: at most 1 row per patient per group is counted (max_rows = 1)");
  // An EXPLAIN's plan text lists the notes itself: the footer does not repeat them.
  json explained = json::parse(R"j({"explain": "Plan", "cost": {"epsilon": 0, "delta": 0},
      "bias": [{"code": "rows_capped", "message": "m", "outputs": []}]})j");
  EXPECT_EQ(FormatFooter(explained), "EXPLAIN: nothing spent");
}

TEST(ReplFormatAmount, PeopleReadableDecimals) {
  EXPECT_EQ(FormatAmount(json(4)), "4");
  EXPECT_EQ(FormatAmount(json(4.0)), "4");
  EXPECT_EQ(FormatAmount(json(4.5)), "4.5");
  EXPECT_EQ(FormatAmount(json(3.999999)), "3.999999");
  EXPECT_EQ(FormatAmount(json(1e-6)), "1e-06");
  EXPECT_EQ(FormatAmount(json("2.25")), "2.25");
}

TEST(ReplFormatCsv, QuotesOnlyWhenNeeded) {
  EXPECT_EQ(CsvField("plain"), "plain");
  EXPECT_EQ(CsvField("a,b"), "\"a,b\"");
  EXPECT_EQ(CsvField("say \"hi\""), "\"say \"\"hi\"\"\"");
  EXPECT_EQ(CsvField("two\nlines"), "\"two\nlines\"");
  EXPECT_EQ(CsvField(" padded"), "\" padded\"");
  EXPECT_EQ(CsvField(""), "");
}

TEST(ReplFormatCsv, HeaderRowsAndIntervalColumns) {
  json answer = WardCounts();
  answer["rows"][0][0] = "W,01";
  EXPECT_EQ(FormatCsv(answer),
            "ward_code,count,count_ci_lower,count_ci_upper\n"
            "\"W,01\",12,9,15\n"
            "W10,150,146,153\n");
}

TEST(ReplFormatJson, OneParsableLinePerAnswer) {
  std::string text = FormatJson(WardCounts());
  ASSERT_FALSE(text.empty());
  EXPECT_EQ(text.back(), '\n');
  EXPECT_EQ(text.find('\n'), text.size() - 1);
  EXPECT_EQ(json::parse(text), WardCounts());
}

TEST(ReplFormatExplain, PlanTextAndWouldBeCost) {
  json answer = json::parse(R"j({"explain": "Aggregate\n  count(*)", "cost": {"epsilon": 1, "delta": 0}})j");
  // /v1/explain: the cost is what running the query would spend.
  EXPECT_EQ(FormatExplain(answer), "Aggregate\n  count(*)\ncost if run: \xCE\xB5 1  (nothing spent)\n");
  // EXPLAIN through /v1/query: "cost" is what was spent, i.e. nothing.
  json via_query = json::parse(R"j({"explain": "Aggregate", "cost": {"epsilon": 0, "delta": 0}})j");
  EXPECT_EQ(FormatTable(via_query), "Aggregate\n");
  EXPECT_EQ(FormatFooter(via_query), "EXPLAIN: nothing spent");
  EXPECT_EQ(FormatCsv(answer), "explain\n\"Aggregate\n  count(*)\"\n");
}

TEST(ReplFormatError, CaretUnderTheColumn) {
  EXPECT_EQ(FormatErrorText("unknown_table", "unknown table \"admisions\"", 2, 6,
                            "SELECT COUNT(*)\nFROM admisions"),
            "ERROR [unknown_table]: unknown table \"admisions\"\n"
            "LINE 2: FROM admisions\n"
            "             ^\n");
  // Columns count characters: the 'é' is two bytes but one column.
  EXPECT_EQ(FormatErrorText("unknown_column", "unknown column", 1, 13, "SELECT '\xC3\xA9', agee FROM t"),
            "ERROR [unknown_column]: unknown column\n"
            "LINE 1: SELECT '\xC3\xA9', agee FROM t\n"
            "                    ^\n");
}

TEST(ReplFormatError, WithoutOrOutsideALocationOnlyTheMessage) {
  EXPECT_EQ(FormatErrorText("budget_exhausted", "budget exhausted", 0, 0, "SELECT 1"),
            "ERROR [budget_exhausted]: budget exhausted\n");
  EXPECT_EQ(FormatErrorText("internal_error", "oops", 5, 1, "SELECT 1"), "ERROR [internal_error]: oops\n");
  // A column past the end of the line (unexpected end of input) points just after it.
  EXPECT_EQ(FormatErrorText("syntax_error", "missing FROM", 1, 40, "SELECT 1"),
            "ERROR [syntax_error]: missing FROM\nLINE 1: SELECT 1\n                ^\n");
}

TEST(ReplFormatError, WithoutACodeThePlainPrefix) {
  EXPECT_EQ(FormatErrorText("", "unknown format 'xml'", 0, 0, ""), "ERROR: unknown format 'xml'\n");
}

TEST(ReplFormatStatements, SplitsOnSemicolonsOutsideQuotesAndComments) {
  std::vector<Statement> statements =
      SplitStatements("SELECT 1; SELECT 'a;b';\nSELECT \"x;y\" /* ; */ FROM t -- ;\n;");
  ASSERT_EQ(statements.size(), 3u);
  EXPECT_EQ(statements[0].text, "SELECT 1");
  EXPECT_EQ(statements[1].text, "SELECT 'a;b'");
  EXPECT_EQ(statements[2].text, "SELECT \"x;y\" /* ; */ FROM t -- ;");
}

TEST(ReplFormatStatements, EscapedQuotesAndLineNumbers) {
  std::vector<Statement> statements = SplitStatements("\n\nSELECT 'it''s; fine';\n/* a\n b; */ SELECT\n 2");
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0].text, "SELECT 'it''s; fine'");
  EXPECT_EQ(statements[0].line, 3);
  EXPECT_EQ(statements[1].text, "/* a\n b; */ SELECT\n 2");
  EXPECT_EQ(statements[1].line, 4);
}

TEST(ReplFormatStatements, CommentOnlyPiecesAreDropped) {
  EXPECT_TRUE(SplitStatements(";; -- nothing; here\n/* ; */").empty());
  std::vector<Statement> statements = SplitStatements("SELECT 1; -- trailing comment\n");
  ASSERT_EQ(statements.size(), 1u);
  EXPECT_EQ(statements[0].text, "SELECT 1");
}

TEST(ReplFormatStatements, ScanKeepsTheUnfinishedRest) {
  StatementScan scan = ScanStatements("SELECT COUNT(*)\nFROM admissions");
  EXPECT_TRUE(scan.complete.empty());
  EXPECT_TRUE(scan.rest_has_content);
  scan = ScanStatements("SELECT 1; SELECT 'unterminated;");
  ASSERT_EQ(scan.complete.size(), 1u);
  EXPECT_TRUE(scan.rest_has_content);
  EXPECT_EQ(scan.rest.text, "SELECT 'unterminated;");
}

json HospitalDataset() {
  return json::parse(R"({"name": "hospital", "privacy_unit": "patient_id", "tables": [
    {"name": "admissions", "private": true, "columns": [
      {"name": "patient_id", "type": "text"},
      {"name": "ward_code", "type": "text", "domain_from": "wards.ward_code"},
      {"name": "sex", "type": "text", "domain": ["F", "M", "X"]},
      {"name": "age", "type": "int", "lower": 0, "upper": 110},
      {"name": "admitted_on", "type": "date", "lower": "2024-01-01", "upper": "2026-12-31"}]},
    {"name": "wards", "private": false, "columns": [{"name": "ward_code", "type": "text"}, {"name": "beds", "type": "int"}]}
  ]})");
}

TEST(ReplFormatCatalog, TableListAndDescription) {
  json catalog = {{"datasets", json::array({HospitalDataset()})}};
  const json* dataset = FindDataset(catalog, "");
  ASSERT_NE(dataset, nullptr);
  EXPECT_EQ(FindDataset(catalog, "hospital"), dataset);
  EXPECT_EQ(FindDataset(catalog, "nope"), nullptr);
  EXPECT_EQ(FormatTableList(*dataset),
            "   Table    |  Kind   | Columns\n"
            "------------+---------+---------\n"
            " admissions | private |       5\n"
            " wards      | public  |       2\n"
            "(2 tables)  privacy unit: patient_id\n");
  json with_defaults = *dataset;
  with_defaults["defaults"] = {{"epsilon", 1.0}, {"delta", 1e-6},      {"max_groups", 4},
                               {"max_rows", 1},  {"confidence", 0.95}, {"mechanism", "laplace"}};
  std::string listed = FormatTableList(with_defaults);
  EXPECT_NE(
      listed.find(
          "defaults per query: \xCE\xB5 1, \xCE\xB4 1e-06, max_groups 4, max_rows 1, mechanism laplace, "
          "95% intervals\n"),
      std::string::npos)
      << listed;
  std::string described = FormatTableDescription(*dataset, "ADMISSIONS");
  EXPECT_NE(described.find("Table \"admissions\" (private"), std::string::npos) << described;
  EXPECT_NE(described.find(" age         | int  | 0 .. 110"), std::string::npos) << described;
  EXPECT_NE(described.find("2024-01-01 .. 2026-12-31"), std::string::npos) << described;
  EXPECT_NE(described.find("F, M, X"), std::string::npos) << described;
  EXPECT_NE(described.find("values of wards.ward_code"), std::string::npos) << described;
  EXPECT_NE(described.find("privacy unit (never output)"), std::string::npos) << described;
  EXPECT_NE(described.find("(5 columns)"), std::string::npos) << described;
  try {
    FormatTableDescription(*dataset, "admisions");
    FAIL() << "an unknown table must be refused";
  } catch (const std::invalid_argument& error) {
    EXPECT_NE(std::string(error.what()).find("tables are: admissions, wards"), std::string::npos)
        << error.what();
  }
}

TEST(ReplFormatCatalog, BudgetTable) {
  json answer = json::parse(R"({"budgets": [{"dataset": "hospital", "epsilon_total": 5, "epsilon_spent": 1.5,
      "epsilon_remaining": 3.5, "delta_total": 1e-5, "delta_spent": 0, "delta_remaining": 1e-5}]})");
  std::string table = FormatBudgets(answer);
  EXPECT_NE(table.find(" hospital |       5 |     1.5 |    3.5 |   1e-05 |       0 |  1e-05"),
            std::string::npos)
      << table;
  EXPECT_NE(table.find("(1 dataset)"), std::string::npos) << table;
}

TEST(ReplFormatCompletion, TablesColumnsKeywordsAndMetaCommands) {
  Completer completer;
  completer.LoadDataset(HospitalDataset());
  EXPECT_EQ(completer.Complete("adm", "SELECT COUNT(*) FROM "), std::vector<std::string>{"admissions"});
  // After FROM only tables: no 'age', no 'AND'/'AVG'.
  EXPECT_EQ(completer.Complete("a", "SELECT x FROM "), std::vector<std::string>{"admissions"});
  std::vector<std::string> in_select = completer.Complete("a", "SELECT ");
  EXPECT_NE(std::find(in_select.begin(), in_select.end(), "age"), in_select.end());
  EXPECT_NE(std::find(in_select.begin(), in_select.end(), "avg"), in_select.end());
  EXPECT_NE(std::find(in_select.begin(), in_select.end(), "admitted_on"), in_select.end());
  EXPECT_EQ(completer.Complete("sel", ""), std::vector<std::string>{"select"});
  EXPECT_EQ(completer.Complete("SEL", ""), std::vector<std::string>{"SELECT"});
  EXPECT_EQ(completer.Complete("\\bu", ""), std::vector<std::string>{"\\budget"});
  EXPECT_EQ(completer.Complete("wa", "\\d "), std::vector<std::string>{"wards"});
  EXPECT_TRUE(completer.Complete("zzz", "SELECT ").empty());
}

TEST(ReplFormatOptions, FlagsEnvironmentAndErrors) {
  auto env = [](const char* name) -> const char* {
    static const std::map<std::string, std::string> kEnv = {{"DPQL_TOKEN", "from-env"},
                                                            {"DPQL_URL", "http://10.0.0.1:9000"}};
    auto found = kEnv.find(name);
    return found == kEnv.end() ? nullptr : found->second.c_str();
  };
  auto none = [](const char*) -> const char* { return nullptr; };
  ReplOptions options = ParseReplOptions({"-c", "SELECT 1", "--format", "csv", "--dataset", "hospital"}, env);
  EXPECT_EQ(options.token, "from-env");
  EXPECT_EQ(options.url, "http://10.0.0.1:9000");
  EXPECT_EQ(*options.command, "SELECT 1");
  EXPECT_EQ(options.format, OutputFormat::kCsv);
  EXPECT_EQ(options.dataset, "hospital");
  options = ParseReplOptions({"--token=flag", "--url", "https://example.org"}, env);
  EXPECT_EQ(options.token, "flag");
  EXPECT_EQ(options.url, "https://example.org");
  EXPECT_EQ(ParseReplOptions({}, none).url, "http://127.0.0.1:8765");
  EXPECT_THROW(ParseReplOptions({"--format", "xml"}, none), ReplUsageError);
  EXPECT_THROW(ParseReplOptions({"-c", "a", "-f", "b"}, none), ReplUsageError);
  EXPECT_THROW(ParseReplOptions({"--url", "ftp://x"}, none), ReplUsageError);
  EXPECT_THROW(ParseReplOptions({"--bogus"}, none), ReplUsageError);
  EXPECT_THROW(ParseReplOptions({"--token"}, none), ReplUsageError);
}

TEST(ReplFormatUrl, ParsesHostPortAndPath) {
  Url url = ParseUrl("http://127.0.0.1:8765");
  EXPECT_EQ(url.scheme, "http");
  EXPECT_EQ(url.host, "127.0.0.1");
  EXPECT_EQ(url.port, "8765");
  EXPECT_EQ(url.path, "");
  url = ParseUrl("HTTPS://dpql.example.org/api/");
  EXPECT_EQ(url.scheme, "https");
  EXPECT_EQ(url.port, "443");
  EXPECT_EQ(url.path, "/api");
  url = ParseUrl("http://[::1]:9000");
  EXPECT_EQ(url.host, "::1");
  EXPECT_EQ(url.port, "9000");
  EXPECT_THROW(ParseUrl("127.0.0.1:8765"), std::invalid_argument);
  EXPECT_THROW(ParseUrl("http://host:99999"), std::invalid_argument);
  EXPECT_THROW(ParseUrl("http://:80"), std::invalid_argument);
}

TEST(ReplFormatApi, ErrorAnswersBecomeApiErrors) {
  HttpClientResponse response;
  response.status = 400;
  response.body =
      R"({"error": {"code": "syntax_error", "message": "unexpected 'FORM'", "line": 2, "column": 3}})";
  try {
    ParseApiResponse(response);
    FAIL() << "a 400 must throw";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 400);
    EXPECT_EQ(error.code(), "syntax_error");
    EXPECT_EQ(error.message(), "unexpected 'FORM'");
    EXPECT_EQ(error.line(), 2);
    EXPECT_EQ(error.column(), 3);
  }
  response.status = 502;
  response.reason = "Bad Gateway";
  response.body = "<html>proxy</html>";
  try {
    ParseApiResponse(response);
    FAIL() << "a 502 must throw";
  } catch (const ApiError& error) {
    EXPECT_EQ(error.status(), 502);
    EXPECT_NE(error.message().find("HTTP 502"), std::string::npos) << error.message();
  }
  response.status = 200;
  response.body = R"({"budgets": []})";
  EXPECT_EQ(ParseApiResponse(response), json::parse(R"({"budgets": []})"));
}

TEST(ReplFormatHttpClient, KeepAliveChunkedAndReconnectAfterClose) {
  CannedServer server({
      "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 15\r\n\r\n{\"budgets\": []}",
      "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n{\"a\": \r\n2\r\n1}\r\n0\r\n\r\n",
      "HTTP/1.1 401 Unauthorized\r\nContent-Length: 52\r\nConnection: close\r\n\r\n"
      "{\"error\": {\"code\": \"unauthorized\", \"message\": \"no\"}}",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n{}",
  });
  ApiClient client(ParseUrl("http://127.0.0.1:" + std::to_string(server.port())), "secret");
  EXPECT_EQ(client.Budget(), json::parse(R"({"budgets": []})"));
  EXPECT_EQ(client.Query("SELECT 1", "hospital"), json::parse(R"({"a": 1})"));
  EXPECT_THROW(client.Catalog(), ApiError);
  EXPECT_EQ(client.Explain("SELECT 2", ""), json::object());
  server.Join();
  const std::vector<std::string>& requests = server.requests();
  int connections = server.connections();
  ASSERT_EQ(requests.size(), 4u);
  EXPECT_EQ(connections, 2)
      << "three requests on one kept-alive connection, then a new one after Connection: close";
  EXPECT_EQ(requests[0].rfind("GET /v1/budget HTTP/1.1\r\n", 0), 0u) << requests[0];
  EXPECT_NE(requests[0].find("Authorization: Bearer secret\r\n"), std::string::npos) << requests[0];
  EXPECT_EQ(requests[1].rfind("POST /v1/query HTTP/1.1\r\n", 0), 0u) << requests[1];
  EXPECT_EQ(json::parse(requests[1].substr(requests[1].find("\r\n\r\n") + 4)),
            json::parse(R"({"query": "SELECT 1", "dataset": "hospital"})"));
  EXPECT_EQ(json::parse(requests[3].substr(requests[3].find("\r\n\r\n") + 4)),
            json::parse(R"({"query": "SELECT 2"})"));
}

}  // namespace
}  // namespace dpql
