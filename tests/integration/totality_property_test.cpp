// Totality of the generated SQL, as a property: random DPQL queries over a
// table whose columns cover every PostgreSQL type a catalog column can sit on
// (catalog int over smallint, integer, bigint and numeric; real over real,
// double precision and numeric; date, text, bool; with and without bounds),
// filled with adversarial rows (NULL, each type's minimum and maximum, NaN,
// ±Infinity, infinite and extreme dates, numerics of 100,001 digits and of
// 16,000 decimals, text with backslashes, % and _). Every query the compiler
// accepts must run without error in PostgreSQL: an expression that can fail
// on some value would make the query's status depend on the data (an error
// oracle, issue 17). Refusals are fine, but at least kMinCompiledShare of
// the queries must compile, so that refusing everything cannot pass.
//
// The generator is seeded (kSeed, or DPQL_TOTALITY_SEED to explore); a
// failure prints the DPQL query, PostgreSQL's error, whether the same SQL
// also fails on an empty copy of the table (then the failure comes from the
// query's literals alone, not from the data) and, for the first few, the SQL
// and its parameters.

#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <initializer_list>
#include <iostream>
#include <map>
#include <pqxx/pqxx>
#include <sstream>
#include <string>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "compiler/common/error.h"
#include "compiler/parser/parser.h"
#include "compiler/planner/plan.h"
#include "tests/support/pg.h"
#include "tests/support/seeded_random.h"

namespace dpql {
namespace {

constexpr uint64_t kSeed = 17;              // issue 17
constexpr int kQueries = 6000;              // generated per run
constexpr int kMinQueries = 2000;           // even when the time limit cuts the run short
constexpr double kMinCompiledShare = 0.40;  // of the generated queries
constexpr auto kTimeLimit = std::chrono::seconds(90);

enum class Kind { kNumber, kDate, kText, kBool };

struct Column {
  const char* name;
  const char* pg_type;
  const char* catalog;  // the catalog entry's flow mapping
  Kind kind;
  bool bounded;
  std::vector<const char*> values;  // SQL literals, NULL included
};

// Each PostgreSQL type's adversarial values, as SQL literals, NULL included.
const std::vector<const char*> kSmallintValues = {"NULL", "-32768", "32767", "0", "1", "-1", "181"};
const std::vector<const char*> kIntegerValues = {"NULL", "-2147483648", "2147483647", "0",
                                                 "1",    "-1",          "46341"};
const std::vector<const char*> kBigintValues = {
    "NULL", "-9223372036854775808", "9223372036854775807", "0", "1", "-1", "3037000500"};
// clang-format off
const std::vector<const char*> kNumericValues = {
    "NULL", "'NaN'", "'Infinity'", "'-Infinity'", "('1e100000')::numeric",
    "('-1e100000')::numeric", "('1e-16000')::numeric", "9223372036854775808",
    "-9223372036854775809", "0", "2.5", "-0.5"};
const std::vector<const char*> kRealValues = {
    "NULL", "'NaN'", "'Infinity'", "'-Infinity'", "3.4028235e38", "-3.4028235e38", "1.4e-45",
    "0", "'-0'", "1"};
const std::vector<const char*> kDoubleValues = {
    "NULL", "'NaN'", "'Infinity'", "'-Infinity'", "1.7976931348623157e308",
    "-1.7976931348623157e308", "5e-324", "0", "'-0'", "1"};
const std::vector<const char*> kDateValues = {
    "NULL", "'infinity'", "'-infinity'", "'4713-01-01 BC'", "'5874897-12-31'", "'2000-02-29'",
    "'1970-01-01'", "'2030-12-31'"};
const std::vector<const char*> kTextValues = {
    "NULL", "''", "E'\\\\'", "E'abc\\\\'", "'%'", "'_'", "E'a%b_c\\\\d'", "'é'", "''''"};
const std::vector<const char*> kBoolValues = {"NULL", "true", "false"};

// Columns of table "adversarial" and their catalog declarations.
const std::vector<Column>& Columns() {
  using K = Kind;
  static const std::vector<Column> columns = {
      {"i2",  "smallint", "{ type: int }", K::kNumber, false, kSmallintValues},
      {"i2b", "smallint", "{ type: int, lower: -100, upper: 100 }", K::kNumber, true,
       kSmallintValues},
      {"i4",  "integer", "{ type: int }", K::kNumber, false, kIntegerValues},
      {"i4b", "integer", "{ type: int, lower: -1000, upper: 1000 }", K::kNumber, true,
       kIntegerValues},
      {"i4e", "integer", "{ type: int, lower: -2147483648, upper: 2147483647 }", K::kNumber, true,
       kIntegerValues},
      {"i8",  "bigint", "{ type: int }", K::kNumber, false, kBigintValues},
      {"i8b", "bigint", "{ type: int, lower: -5, upper: 5 }", K::kNumber, true, kBigintValues},
      {"i8e", "bigint", "{ type: int, lower: -9000000000000000000, upper: 9000000000000000000 }",
       K::kNumber, true, kBigintValues},
      {"n",   "numeric", "{ type: int }", K::kNumber, false, kNumericValues},
      {"nb",  "numeric", "{ type: int, lower: -5, upper: 5 }", K::kNumber, true, kNumericValues},
      {"f4",  "real", "{ type: real }", K::kNumber, false, kRealValues},
      {"f4b", "real", "{ type: real, lower: -0.5, upper: 1000.25 }", K::kNumber, true,
       kRealValues},
      {"f8",  "double precision", "{ type: real }", K::kNumber, false, kDoubleValues},
      {"f8b", "double precision", "{ type: real, lower: -1000000, upper: 1000000 }", K::kNumber,
       true, kDoubleValues},
      {"r",   "numeric", "{ type: real }", K::kNumber, false, kNumericValues},
      {"rb",  "numeric", "{ type: real, lower: -0.5, upper: 0.5 }", K::kNumber, true,
       kNumericValues},
      {"d",   "date", "{ type: date }", K::kDate, false, kDateValues},
      {"db",  "date", "{ type: date, lower: 2000-01-01, upper: 2030-12-31 }", K::kDate, true,
       kDateValues},
      {"de",  "date", "{ type: date, lower: 0001-01-01, upper: 9999-12-31 }", K::kDate, true,
       kDateValues},
      {"s",   "text", "{ type: text }", K::kText, false, kTextValues},
      {"sd",  "text", "{ type: text, domain: ['a', '%', '\\', 'abc\\'] }", K::kText, true,
       kTextValues},
      {"b",   "boolean", "{ type: bool }", K::kBool, true, kBoolValues},
  };
  return columns;
}
// clang-format on

constexpr int kRows = 36;
constexpr int kPeople = 9;  // rows per person vary; one row has no person

std::string SchemaSql() {
  std::ostringstream sql;
  sql << "CREATE TABLE adversarial (person text";
  for (const Column& c : Columns()) sql << ", " << c.name << " " << c.pg_type;
  sql << ");\nINSERT INTO adversarial VALUES\n";
  const auto& columns = Columns();
  for (int r = 0; r < kRows; ++r) {
    // Every value of every column occurs (kRows >= each list's length), in
    // a different combination with the other columns' values.
    const std::string person =
        r == kRows - 1 ? "NULL"
                       : (r % kPeople == kPeople - 1 ? "E'p\\\\'" : "'p" + std::to_string(r % kPeople) + "'");
    sql << (r ? ",\n" : "") << "  (" << person;
    for (size_t c = 0; c < columns.size(); ++c) {
      const auto& values = columns[c].values;
      sql << ", " << values[(static_cast<size_t>(r) + 3 * c) % values.size()];
    }
    sql << ")";
  }
  sql << ";\n"
         // The same table, empty: a failure that happens there too comes from
         // the query's literals, not from the rows.
         "CREATE SCHEMA empty;\n"
         "CREATE TABLE empty.adversarial (LIKE public.adversarial);\n";
  return sql.str();
}

std::string CatalogYaml() {
  std::ostringstream yaml;
  yaml << "datasets:\n"
          "  edge:\n"
          "    privacy_unit: person\n"
          "    defaults: { epsilon: 1.0, delta: 1.0e-6, max_groups: 2, max_rows: 1 }\n"
          "    limits: { max_epsilon_per_query: 10, max_delta_per_query: 0.001 }\n"
          "    tables:\n"
          "      adversarial:\n"
          "        private: true\n"
          "        columns:\n"
          "          person: { type: text }\n";
  for (const Column& c : Columns()) yaml << "          " << c.name << ": " << c.catalog << "\n";
  return yaml.str();
}

// Random DPQL over Columns(): typed, so that many queries compile, with
// literals at the edges of every type. Every random draw happens inside a
// braced list (Cat) or its own statement: C++ sequences the elements of a
// braced list left to right, but not the operands of `+`, so the same seed
// gives the same queries with any compiler.
class QueryGenerator {
 public:
  explicit QueryGenerator(uint64_t seed) : random_(seed) {}

  std::string Query() {
    std::vector<std::string> items;
    const int key_count = Pick({5, 4, 1});  // 0, 1 or 2 keys
    for (int i = 0; i < key_count; ++i) items.push_back(Key() + " AS g" + std::to_string(i));
    const int aggregates = 1 + static_cast<int>(Below(3));
    for (int i = 0; i < aggregates; ++i) items.push_back(Aggregate());
    std::string query = "SELECT ";
    for (size_t i = 0; i < items.size(); ++i) query += (i ? ", " : "") + items[i];
    query += " FROM adversarial";
    if (Below(10) < 9) {
      const int depth = static_cast<int>(Below(4));
      query += " WHERE " + Predicate(depth);
    }
    for (int i = 0; i < key_count; ++i) query += (i ? ", g" : " GROUP BY g") + std::to_string(i);
    query += " WITH PRIVACY (epsilon = 1";
    if (Below(2)) query += ", max_rows = " + std::to_string(1 + Below(3));
    if (Below(2)) query += ", max_groups = " + OneOf({"1", "2", "5"});
    switch (Below(6)) {
      case 0: query += ", delta = 0"; break;
      case 1: query += ", mechanism = gaussian, delta = 1e-5"; break;
      default: break;
    }
    return query + ")";
  }

 private:
  static std::string Cat(std::initializer_list<std::string> parts) {
    std::string out;
    for (const std::string& part : parts) out += part;
    return out;
  }

  uint64_t Below(uint64_t n) { return random_.UniformBelow(n); }
  int Depth(uint64_t n) { return static_cast<int>(Below(n)); }

  std::string OneOf(const std::vector<std::string>& options) { return options[Below(options.size())]; }

  // An index drawn with the given weights.
  int Pick(const std::vector<int>& weights) {
    int total = 0;
    for (int w : weights) total += w;
    int x = static_cast<int>(Below(static_cast<uint64_t>(total)));
    for (size_t i = 0; i < weights.size(); ++i) {
      if (x < weights[i]) return static_cast<int>(i);
      x -= weights[i];
    }
    return 0;
  }

  const Column& AnyColumn(Kind kind, bool bounded_only) {
    std::vector<const Column*> found;
    for (const Column& c : Columns()) {
      if (c.kind == kind && (c.bounded || !bounded_only)) found.push_back(&c);
    }
    return *found[Below(found.size())];
  }

  std::string NumberColumn(bool bounded_only = false) { return AnyColumn(Kind::kNumber, bounded_only).name; }
  std::string DateColumn(bool bounded_only = false) { return AnyColumn(Kind::kDate, bounded_only).name; }
  std::string TextColumn() { return OneOf({"s", "sd", "person"}); }

  std::string NumberLiteral() {
    static const std::vector<std::string> kLiterals = {"0",
                                                       "1",
                                                       "2",
                                                       "10",
                                                       "0.5",
                                                       "1.5",
                                                       "32767",
                                                       "32768",
                                                       "2147483647",
                                                       "2147483648",
                                                       "46341",
                                                       "3037000500",
                                                       "999999999999999999",
                                                       "9223372036854775807",
                                                       "99999999999999999999",
                                                       "1e300",
                                                       "1e-400",
                                                       "1e4000",
                                                       "1e-4000",
                                                       "0.000001",
                                                       "1.7976931348623157e308",
                                                       "5e-324",
                                                       "3.4028235e38",
                                                       "1e39",
                                                       "1e309"};
    return OneOf(kLiterals);
  }

  std::string DateLiteral() {
    return "DATE '" +
           OneOf({"2024-02-29", "2000-01-01", "2030-12-31", "1970-01-01", "0001-01-01", "9999-12-31",
                  "1582-10-10"}) +
           "'";
  }

  std::string TextLiteral() {
    return "'" + OneOf({"a", "", "%", "_", "\\", "abc\\", "%\\%", "a%b_c\\d", "''"}) + "'";
  }

  std::string Extract(bool bounded_only) {
    return Cat({"EXTRACT(", OneOf({"YEAR", "QUARTER", "MONTH", "WEEK", "DAY", "DOW", "ISODOW", "DOY"}),
                " FROM ", DateColumn(bounded_only), ")"});
  }

  std::string DateTrunc(bool bounded_only) {
    return Cat({"DATE_TRUNC('", OneOf({"day", "week", "month", "quarter", "year"}), "', ",
                DateColumn(bounded_only), ")"});
  }

  std::string Number(int depth) {
    switch (depth <= 0 ? Pick({6, 3}) : Pick({6, 3, 2, 6, 1, 2})) {
      case 0: return NumberColumn();
      case 1: return Below(4) ? NumberLiteral() : "-" + NumberLiteral();
      case 2: return "-(" + Number(depth - 1) + ")";  // "--" would start a comment
      case 3:
        return Cat({"(", Number(depth - 1), " ", OneOf({"+", "-", "*", "/"}), " ", Number(depth - 1), ")"});
      case 4:
        return Cat(
            {"BUCKET(", NumberColumn(), ", ", OneOf({"1", "3", "7", "10", "1000", "1000000000"}), ")"});
      default: return Extract(false);
    }
  }

  std::string Date() {
    switch (Pick({5, 3, 2})) {
      case 0: return DateColumn();
      case 1: return DateLiteral();
      default: return DateTrunc(false);
    }
  }

  std::string Text() { return Below(3) ? TextColumn() : TextLiteral(); }

  std::string Comparison() { return OneOf({"=", "<>", "<", "<=", ">", ">="}); }

  std::string Predicate(int depth) {
    const int choice = depth <= 0 ? Pick({8, 3, 2, 2, 2, 2, 2, 1}) : Pick({8, 3, 2, 2, 2, 2, 2, 1, 2, 6});
    const std::string negation = Below(5) ? "" : "NOT ";
    switch (choice) {
      case 0:  // a comparison of two values of one type
        switch (Pick({6, 3, 2})) {
          case 0: return Cat({Number(Depth(3)), " ", Comparison(), " ", Number(Depth(2))});
          case 1: return Cat({Date(), " ", Comparison(), " ", Date()});
          default: return Cat({Text(), " ", Comparison(), " ", Text()});
        }
      case 1:
        if (Below(2)) {
          return Cat({Number(Depth(2)), " ", negation, "BETWEEN ", Number(0), " AND ", Number(0)});
        }
        return Cat({Date(), " ", negation, "BETWEEN ", Date(), " AND ", Date()});
      case 2: {
        const bool dates = Below(3) == 0;
        std::string operand = dates ? Date() : Number(Depth(2));
        std::string list;
        const int n = 1 + static_cast<int>(Below(3));
        for (int i = 0; i < n; ++i) {
          list += (i ? ", " : "") + (dates ? DateLiteral() : NumberLiteral());
        }
        return operand + " " + negation + "IN (" + list + ")";
      }
      case 3: {
        std::string operand;
        switch (Below(4)) {
          case 0: operand = Number(Depth(3)); break;
          case 1: operand = Date(); break;
          case 2: operand = Text(); break;
          default: operand = "b"; break;
        }
        return operand + (Below(2) ? " IS NULL" : " IS NOT NULL");
      }
      case 4:  // LIKE with a literal pattern or a column as the pattern
        return Cat({TextColumn(), " ", negation, "LIKE ", Below(2) ? TextLiteral() : TextColumn()});
      case 5: return Below(2) ? "b" : "b = " + OneOf({"TRUE", "FALSE"});
      case 6:  // a key function in WHERE
        switch (Below(3)) {
          case 0:
            return Cat({"BUCKET(", NumberColumn(), ", ", OneOf({"1", "7", "1000000000"}), ") ", Comparison(),
                        " ", NumberLiteral()});
          case 1: return Cat({DateTrunc(false), " ", Comparison(), " ", DateLiteral()});
          default: return Cat({Extract(false), " ", Comparison(), " ", NumberLiteral()});
        }
      case 7: return "(" + Number(1) + ") * 0 = 0";
      case 8: return "NOT (" + Predicate(depth - 1) + ")";
      default:
        return Cat({"(", Predicate(depth - 1), Below(2) ? " AND " : " OR ", Predicate(depth - 1), ")"});
    }
  }

  std::string Key() {
    switch (Pick({2, 2, 3, 3, 3, 2, 1})) {
      case 0: return OneOf({"b", "sd"});
      case 1: return OneOf({"i2b", "i4b", "i8b", "nb", "db"});
      case 2:
        return Cat({"BUCKET(", NumberColumn(true), ", ",
                    OneOf({"1", "2", "3", "7", "10", "1000", "1000000000"}), ")"});
      case 3: return DateTrunc(true);
      case 4: return Extract(true);
      case 5: return OneOf({"s", "i8", "i4", "n", "d"});  // no public domain: partition selection
      default: return OneOf({"f8b", "rb", "i8e", "de"});  // refused, or very large domains
    }
  }

  std::string Aggregate() {
    switch (Pick({3, 2, 1, 3, 2, 2, 1, 2, 2})) {
      case 0: return "COUNT(*)";
      case 1: return "COUNT(" + OneOf({"i4", "n", "f8", "d", "s", "b", "rb"}) + ")";
      case 2: return "COUNT(DISTINCT person)";
      case 3: return "SUM(" + NumberColumn(Below(4) != 0) + ")";
      case 4: return "AVG(" + NumberColumn(Below(4) != 0) + ")";
      case 5: return Cat({OneOf({"VARIANCE", "STDDEV"}), "(", NumberColumn(Below(4) != 0), ")"});
      case 6: return "MEDIAN(" + NumberColumn(true) + ")";
      case 7:
        return Cat({"PERCENTILE(", NumberColumn(Below(4) != 0), ", ",
                    OneOf({"0.5", "0.1", "0.999999", "0.000001"}), ")"});
      default: return "SUM(" + NumberColumn(true) + ")";
    }
  }

  SeededRandom random_;
};

// PostgreSQL's message with quoted values cut short ("1e309 is out of range
// for type double precision" quotes all 310 digits), so that failures group
// by kind.
std::string FailureKind(const std::string& sqlstate, const std::string& error) {
  std::string out = sqlstate + " ";
  bool quoted = false;
  for (size_t i = 0; i < error.size(); ++i) {
    if (error[i] == '"') {
      out += quoted ? "...\"" : "\"";
      quoted = !quoted;
    } else if (!quoted) {
      out += error[i];
    }
  }
  if (quoted) out += "...\"";
  return out;
}

struct Failure {
  std::string query;
  std::string sql;
  std::vector<std::string> params;
  std::string error;  // PostgreSQL's message, first line
  std::string sqlstate;
  bool also_empty = false;  // fails on the empty table too: the literals alone
};

// Runs the plan's SQL as the executor does (read-only, with its parameters);
// returns "" or PostgreSQL's first line of error, with the SQLSTATE.
std::string RunPlan(pqxx::connection& connection, const Plan& plan, bool empty_table, std::string* sqlstate) {
  try {
    pqxx::read_transaction txn(connection);
    txn.exec0("SET LOCAL statement_timeout = 20000");
    if (empty_table) txn.exec0("SET LOCAL search_path = empty");
    txn.exec_params(plan.sql, pqxx::prepare::make_dynamic_params(plan.params));
    txn.commit();
    return "";
  } catch (const pqxx::sql_error& e) {
    *sqlstate = e.sqlstate();
    std::string text = e.what();
    const size_t newline = text.find('\n');
    if (newline != std::string::npos) text.resize(newline);
    if (text.rfind("ERROR:", 0) == 0) text.erase(0, text.find_first_not_of(' ', 6));
    return text.empty() ? "(no message)" : text;
  }
}

TEST(TotalityPropertyTest, EveryCompiledQueryRunsOnAdversarialRows) {
  uint64_t seed = kSeed;
  if (const char* env = std::getenv("DPQL_TOTALITY_SEED")) seed = std::strtoull(env, nullptr, 10);
  std::cout << "[ totality ] seed " << seed << "\n";

  TestDatabase db;
  db.Exec(SchemaSql());
  ASSERT_EQ(db.QueryValue("SELECT count(*) FROM adversarial"), std::to_string(kRows));
  // Each column holds each of its adversarial values.
  for (const Column& c : Columns()) {
    ASSERT_EQ(db.QueryValue(std::string("SELECT count(DISTINCT ") + c.name + "::text) + " +
                            "(count(*) FILTER (WHERE " + c.name + " IS NULL) > 0)::int FROM adversarial"),
              std::to_string(c.values.size()))
        << c.name;
  }
  const Catalog catalog = ParseCatalog(CatalogYaml(), "totality.yaml");
  const Dataset& dataset = *catalog.DefaultDataset();
  pqxx::connection connection(db.url());

  QueryGenerator generator(seed);
  int generated = 0, compiled = 0, executed = 0, unlocated = 0;
  std::map<std::string, int> refusals;                 // by code
  std::map<std::string, std::string> refusal_example;  // by code: a query and its message
  std::map<std::string, int> failure_kinds;            // by PostgreSQL's message
  std::vector<Failure> failures;
  std::vector<std::string> internal;  // compiler errors that are not refusals
  const auto start = std::chrono::steady_clock::now();
  for (; generated < kQueries; ++generated) {
    if (generated >= kMinQueries && std::chrono::steady_clock::now() - start > kTimeLimit) break;
    const std::string query = generator.Query();
    Plan plan;
    try {
      ast::Statement statement = ParseStatement(query);
      ASSERT_NE(statement.select, nullptr) << query;
      plan = CompileSelect(dataset, *statement.select);
    } catch (const DpqlError& e) {
      if (++refusals[std::string(Name(e.code()))] == 1)
        refusal_example[std::string(Name(e.code()))] = query + "\n    " + e.what();
      if (e.kind() == ErrorKind::kInternal)
        internal.push_back(query + "\n    " + std::string(Name(e.code())) + ": " + e.what());
      // Every refusal of an expression says where it is.
      if (!e.location().Known() && (e.kind() == ErrorKind::kSemantic || e.kind() == ErrorKind::kSyntax)) {
        ++unlocated;
        if (unlocated <= 5)
          std::cout << "[ totality ] refusal without a position: " << std::string(Name(e.code())) << ": "
                    << e.what() << "\n    " << query << "\n";
      }
      continue;
    } catch (const std::exception& e) {
      internal.push_back(query + "\n    exception: " + e.what());
      continue;
    }
    ++compiled;
    std::string sqlstate;
    const std::string error = RunPlan(connection, plan, false, &sqlstate);
    if (error.empty()) {
      ++executed;
      continue;
    }
    Failure failure{query, plan.sql, plan.params, error, sqlstate};
    std::string ignored;
    failure.also_empty = !RunPlan(connection, plan, true, &ignored).empty();
    ++failure_kinds[FailureKind(sqlstate, error) +
                    (failure.also_empty ? "  [also on the empty table]" : "  [data only]")];
    failures.push_back(std::move(failure));
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

  int refused = 0;
  for (const auto& [code, n] : refusals) refused += n;
  int data_only = 0;
  for (const Failure& f : failures) data_only += f.also_empty ? 0 : 1;
  std::cout << "[ totality ] " << generated << " generated, " << compiled << " compiled, " << refused
            << " refused, " << executed << " executed, " << failures.size() << " failed (" << data_only
            << " only with the adversarial rows) in " << seconds << " s\n";
  std::cout << "[ totality ] refusals by code:";
  for (const auto& [code, n] : refusals) std::cout << " " << code << "=" << n;
  std::cout << "\n";
  for (const auto& [code, example] : refusal_example) {
    std::cout << "[ totality ] refused (" << code << "): " << example << "\n";
  }
  for (const auto& [kind, n] : failure_kinds)
    std::cout << "[ totality ] failure " << n << "x  " << kind << "\n";
  // One example of each kind of failure, the first three with their SQL.
  std::map<std::string, bool> shown;
  int with_sql = 0;
  for (const Failure& f : failures) {
    const std::string kind = FailureKind(f.sqlstate, f.error) + (f.also_empty ? "e" : "d");
    if (shown[kind]) continue;
    shown[kind] = true;
    const std::string error = f.error.size() > 200 ? f.error.substr(0, 197) + "..." : f.error;
    std::cout << "[ totality ] FAILED " << f.query << "\n    PostgreSQL (" << f.sqlstate << "): " << error
              << (f.also_empty ? "\n    (fails on the empty table too)"
                               : "\n    (fails only with the adversarial rows)")
              << "\n";
    if (with_sql++ < 3) {
      std::cout << "    SQL:\n" << f.sql << "\n    params:";
      for (size_t i = 0; i < f.params.size(); ++i) std::cout << " $" << i + 1 << "=" << f.params[i];
      std::cout << "\n";
    }
  }

  EXPECT_GE(generated, kMinQueries);
  EXPECT_GE(compiled, static_cast<int>(kMinCompiledShare * generated))
      << "fewer than " << kMinCompiledShare * 100 << "% of the generated queries compile";
  EXPECT_EQ(failures.size(), 0u) << "compiled queries failed in PostgreSQL (see the examples above)";
  EXPECT_EQ(data_only, 0) << "failures that depend on the rows: an error oracle";
  EXPECT_TRUE(internal.empty()) << internal.size() << " internal compiler errors, e.g.\n    "
                                << (internal.empty() ? "" : internal.front());
  EXPECT_EQ(unlocated, 0) << "refusals of an expression without a position";
}

}  // namespace
}  // namespace dpql
