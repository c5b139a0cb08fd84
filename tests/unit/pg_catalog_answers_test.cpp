// The catalog queries PostgreSQL clients send, answered from the hospital
// example's catalog. tests/unit/pg_catalog_queries/*.sql are the exact texts
// psql 15 sent a PostgreSQL 15 server (captured with `psql -E`) for \dt, \d,
// \d NAME (the OID lookup, the table's flags, its columns and every footer
// query of an ordinary table), \d+ NAME, \dn, \dt PATTERN and \d SCHEMA.NAME;
// dtplus_refused.sql (\dt+, which asks for table sizes) and l_refused.sql (\l)
// must not be answered. jdbc_get_tables.sql and jdbc_get_columns.sql are what
// pgjdbc 42.5 (Debian's libpostgresql-jdbc-java) sent dpqld for
// DatabaseMetaData.getTables(null, null, "%", {"TABLE"}) and
// getColumns(null, null, "admissions", "%"). Every answer holds only the catalog's names and
// types and fixed words; data queries and statistics are refused.

#include "server/pg_catalog_answers.h"

#include <gtest/gtest.h>

#include <fstream>
#include <set>
#include <sstream>
#include <string>

namespace dpql::pgwire {
namespace {

const Catalog& Hospital() {
  static const Catalog catalog = LoadCatalog(DPQL_SOURCE_DIR_DEFAULT "/examples/hospital/catalog.yaml");
  return catalog;
}

std::string Fixture(const std::string& name) {
  const std::string path = DPQL_SOURCE_DIR_DEFAULT "/tests/unit/pg_catalog_queries/" + name + ".sql";
  std::ifstream in(path);
  EXPECT_TRUE(in) << path;
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string Replace(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size())) {
    text.replace(at, from.size(), to);
  }
  return text;
}

CatalogAnswer Answered(const std::string& sql) {
  std::optional<CatalogAnswer> answer = AnswerCatalogQuery(sql, Hospital(), "hospital");
  EXPECT_TRUE(answer.has_value()) << sql;
  return answer.value_or(CatalogAnswer{});
}

std::vector<std::string> ColumnNames(const CatalogAnswer& answer) {
  std::vector<std::string> names;
  for (const CatalogColumn& column : answer.columns) names.push_back(column.name);
  return names;
}

using Row = std::vector<std::optional<std::string>>;

// Every value an answer may hold: the catalog's names, the PostgreSQL names
// of its types, the OIDs, positions and fixed words. Nothing from data.
std::set<std::string> CatalogWords() {
  std::set<std::string> words = {"",       "0",      "f",      "r",    "p",    "d",         "x",     "heap",
                                 "public", "dpql",   "table",  "YES",  "text", "bigint",    "date",  "boolean",
                                 "double precision", "BASE TABLE", "hospital", "TABLE", "-1", "1", "4", "8", "25", "20", "701", "1082",
                                 "16", "b",
                                 "PostgreSQL 15.0 (DPQL, a differential-privacy query server)"};
  const Dataset& dataset = *Hospital().FindDataset("hospital");
  for (size_t t = 0; t < dataset.tables.size(); ++t) {
    words.insert(dataset.tables[t].name);
    words.insert(std::to_string(kFirstTableOid + static_cast<int32_t>(t)));
    for (size_t c = 0; c < dataset.tables[t].columns.size(); ++c) {
      words.insert(dataset.tables[t].columns[c].name);
      words.insert(std::to_string(c + 1));
    }
  }
  return words;
}

void ExpectOnlyCatalogWords(const CatalogAnswer& answer) {
  static const std::set<std::string> words = CatalogWords();
  for (const Row& row : answer.rows) {
    EXPECT_EQ(row.size(), answer.columns.size());
    for (const std::optional<std::string>& value : row) {
      if (value) {
        EXPECT_EQ(words.count(*value), 1U) << "not a catalog word: '" << *value << "'";
      }
    }
  }
  EXPECT_EQ(answer.command_tag, "SELECT " + std::to_string(answer.rows.size()));
}

TEST(PgCatalogAnswersTest, ListingsOfRelationsAreTheCatalogsTablesByName) {
  const std::vector<Row> all = {{"public", "admissions", "table", "dpql"},
                                {"public", "bed_days", "table", "dpql"},
                                {"public", "wards", "table", "dpql"}};
  for (const char* fixture : {"dt", "d", "dt_schema_pattern"}) {
    SCOPED_TRACE(fixture);
    const CatalogAnswer answer = Answered(Fixture(fixture));
    EXPECT_EQ(ColumnNames(answer), (std::vector<std::string>{"Schema", "Name", "Type", "Owner"}));
    EXPECT_EQ(answer.columns[1].type_oid, 19);
    EXPECT_EQ(answer.rows, all);
    EXPECT_EQ(answer.command_tag, "SELECT 3");
    ExpectOnlyCatalogWords(answer);
  }
  // \dt adm*: the pattern '^(adm.*)$'.
  EXPECT_EQ(Answered(Fixture("dt_pattern")).rows, (std::vector<Row>{all[0]}));
  // \dt other.*: no table is in another schema.
  EXPECT_TRUE(Answered(Replace(Fixture("dt_schema_pattern"), "^(public)$", "^(other)$")).rows.empty());
  // \dv (views): the kinds listed leave out tables.
  EXPECT_TRUE(Answered(Replace(Fixture("d"), "IN ('r','p','v','m','S','f','')", "IN ('v','')")).rows.empty());
}

TEST(PgCatalogAnswersTest, DescribeNameLooksUpTheTablesOid) {
  const std::vector<std::string> columns = {"oid", "nspname", "relname"};
  for (const char* fixture : {"d_name_lookup", "d_schema_name_lookup"}) {
    SCOPED_TRACE(fixture);
    const CatalogAnswer answer = Answered(Fixture(fixture));
    EXPECT_EQ(ColumnNames(answer), columns);
    EXPECT_EQ(answer.columns[0].type_oid, 26);
    EXPECT_EQ(answer.rows, (std::vector<Row>{{"16384", "public", "admissions"}}));
    ExpectOnlyCatalogWords(answer);
  }
  // \d w?rds: wards, the catalog's second table.
  EXPECT_EQ(Answered(Fixture("d_pattern_lookup")).rows, (std::vector<Row>{{"16385", "public", "wards"}}));
  // \d *: every table, by name.
  EXPECT_EQ(Answered(Replace(Fixture("d_name_lookup"), "^(admissions)$", "^(.*)$")).rows,
            (std::vector<Row>{{"16384", "public", "admissions"},
                              {"16386", "public", "bed_days"},
                              {"16385", "public", "wards"}}));
  // DPQL's names are case-insensitive: \d "ADMISSIONS" finds admissions.
  EXPECT_EQ(Answered(Replace(Fixture("d_name_lookup"), "admissions", "ADMISSIONS")).rows.size(), 1U);
}

TEST(PgCatalogAnswersTest, AnUnknownNameFindsNoRelation) {
  // psql then prints: Did not find any relation named "nosuch".
  const CatalogAnswer answer = Answered(Fixture("d_name_lookup_nosuch"));
  EXPECT_EQ(answer.columns.size(), 3U);
  EXPECT_TRUE(answer.rows.empty());
  EXPECT_EQ(answer.command_tag, "SELECT 0");
  // \d admission (a prefix) and \d public.admissions in another schema: none.
  EXPECT_TRUE(Answered(Replace(Fixture("d_name_lookup"), "^(admissions)$", "^(admission)$")).rows.empty());
  EXPECT_TRUE(Answered(Replace(Fixture("d_schema_name_lookup"), "^(public)$", "^(private)$")).rows.empty());
}

TEST(PgCatalogAnswersTest, TableInfoSaysAnOrdinaryTableWithoutIndexesOrTriggers) {
  for (const char* fixture : {"d_table_info", "dplus_table_info"}) {
    SCOPED_TRACE(fixture);
    const CatalogAnswer answer = Answered(Fixture(fixture));
    ASSERT_EQ(answer.columns.size(), 15U);
    EXPECT_EQ(answer.columns[0].name, "relchecks");
    EXPECT_EQ(answer.columns[14].name, "amname");
    EXPECT_EQ(answer.rows, (std::vector<Row>{{"0", "r", "f", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d",
                                              "heap"}}));
    ExpectOnlyCatalogWords(answer);
    // An OID that is no table of the dataset: no row (psql: "Did not find any
    // relation with OID ...").
    EXPECT_TRUE(Answered(Replace(Fixture(fixture), "'16384'", "'99999'")).rows.empty());
    EXPECT_TRUE(Answered(Replace(Fixture(fixture), "'16384'", "'16384x'")).rows.empty());
  }
}

TEST(PgCatalogAnswersTest, ColumnsAreTheCatalogsInOrderWithPostgresTypeNames) {
  const CatalogAnswer answer = Answered(Fixture("d_columns"));
  EXPECT_EQ(ColumnNames(answer), (std::vector<std::string>{"attname", "format_type", "pg_get_expr", "attnotnull",
                                                           "attcollation", "attidentity", "attgenerated"}));
  const CatalogTable& admissions = *Hospital().FindDataset("hospital")->FindTable("admissions");
  ASSERT_EQ(answer.rows.size(), admissions.columns.size());
  for (size_t i = 0; i < answer.rows.size(); ++i) EXPECT_EQ(answer.rows[i][0], admissions.columns[i].name);
  EXPECT_EQ(answer.rows[0], (Row{"admission_id", "bigint", std::nullopt, "f", std::nullopt, "", ""}));
  EXPECT_EQ(answer.rows[1], (Row{"patient_id", "text", std::nullopt, "f", std::nullopt, "", ""}));
  EXPECT_EQ(answer.rows[5], (Row{"admitted_on", "date", std::nullopt, "f", std::nullopt, "", ""}));
  ExpectOnlyCatalogWords(answer);

  // \d+: storage, compression, statistics target, description.
  const CatalogAnswer verbose = Answered(Fixture("dplus_columns"));
  ASSERT_EQ(verbose.columns.size(), 11U);
  EXPECT_EQ(verbose.columns[7].name, "attstorage");
  EXPECT_EQ(verbose.rows[0], (Row{"admission_id", "bigint", std::nullopt, "f", std::nullopt, "", "", "p", "",
                                  std::nullopt, std::nullopt}));
  EXPECT_EQ(verbose.rows[1][7], "x");  // text is stored extended
  ExpectOnlyCatalogWords(verbose);

  // wards (OID 16385): its own five columns.
  const CatalogAnswer wards = Answered(Replace(Fixture("d_columns"), "'16384'", "'16385'"));
  ASSERT_EQ(wards.rows.size(), 5U);
  EXPECT_EQ(wards.rows[4][0], "beds");
  EXPECT_EQ(wards.rows[4][1], "bigint");
  EXPECT_TRUE(Answered(Replace(Fixture("d_columns"), "'16384'", "'16387'")).rows.empty());
}

TEST(PgCatalogAnswersTest, FooterQueriesHaveTheirColumnsAndNoRows) {
  const std::pair<const char*, size_t> footers[] = {{"d_footer_policies", 6},
                                                    {"d_footer_statistics", 9},
                                                    {"d_footer_publications", 3},
                                                    {"d_footer_inherits", 1},
                                                    {"d_footer_partitions", 4}};
  for (const auto& [fixture, columns] : footers) {
    SCOPED_TRACE(fixture);
    const CatalogAnswer answer = Answered(Fixture(fixture));
    EXPECT_EQ(answer.columns.size(), columns);
    EXPECT_TRUE(answer.rows.empty());
    EXPECT_EQ(answer.command_tag, "SELECT 0");
  }
  // The publications query names the OID three times: all must agree.
  const std::string publications = Fixture("d_footer_publications");
  const size_t first = publications.find("'16384'");
  ASSERT_NE(first, std::string::npos);
  const std::string mixed = publications.substr(0, first) + "'16385'" + publications.substr(first + 7);
  EXPECT_FALSE(AnswerCatalogQuery(mixed, Hospital(), "hospital").has_value());
}

TEST(PgCatalogAnswersTest, SchemasListPublicOnly) {
  const CatalogAnswer answer = Answered(Fixture("dn"));
  EXPECT_EQ(ColumnNames(answer), (std::vector<std::string>{"Name", "Owner"}));
  EXPECT_EQ(answer.rows, (std::vector<Row>{{"public", "dpql"}}));
}

TEST(PgCatalogAnswersTest, SpacingCaseAndCommentsDoNotMatter) {
  std::string flat = Fixture("dt");
  for (char& c : flat) {
    if (c == '\n') c = ' ';
  }
  flat = Replace(Replace(flat, "SELECT", "select"), "ORDER BY 1,2;", "order by 1 , 2 -- psql\n ;");
  EXPECT_EQ(Answered("/* \\dt */ " + flat).rows.size(), 3U);
  // Case inside a literal does count: 'R' is no relkind.
  EXPECT_TRUE(Answered(Replace(Fixture("dt"), "IN ('r','p','')", "IN ('R','p','')")).rows.empty());
}

TEST(PgCatalogAnswersTest, DataStatisticsAndSizesAreNeverAnswered) {
  const std::string refused[] = {
      "SELECT * FROM admissions",
      "SELECT COUNT(*) FROM admissions",
      "SELECT * FROM pg_catalog.pg_stats",
      "SELECT * FROM pg_stats WHERE tablename = 'admissions'",
      "SELECT * FROM pg_catalog.pg_statistic",
      "SELECT reltuples FROM pg_catalog.pg_class WHERE relname = 'admissions'",
      "SELECT n_live_tup FROM pg_stat_user_tables",
      Fixture("dtplus_refused"),  // \dt+: pg_table_size
      Fixture("l_refused"),       // \l: databases of the server
      // A known query with one more condition, or a different select list.
      Replace(Fixture("d_name_lookup"), "ORDER BY 2, 3", "AND c.reltuples > 0\nORDER BY 2, 3"),
      Replace(Fixture("d_name_lookup"), "c.relname\nFROM", "c.relname, c.reltuples\nFROM"),
      Replace(Fixture("dt"), "WHERE c.relkind", "WHERE c.relpages > 0 AND c.relkind"),
      Replace(Fixture("d_columns"), "ORDER BY a.attnum;", "ORDER BY a.attnum; SELECT * FROM admissions;"),
      // Regular expressions beyond psql's wildcards.
      Replace(Fixture("d_name_lookup"), "^(admissions)$", "^(a[dx]missions)$"),
      "SELECT column_name FROM information_schema.columns WHERE avg_width > 1",
      "SELECT table_name FROM information_schema.tables, admissions",
      "SELECT version",
      "SELECT 'unterminated",
      "",
  };
  for (const std::string& sql : refused) {
    EXPECT_FALSE(AnswerCatalogQuery(sql, Hospital(), "hospital").has_value()) << sql;
  }
  EXPECT_TRUE(LooksLikeCatalogQuery("SELECT * FROM pg_catalog.pg_stats"));
  EXPECT_TRUE(LooksLikeCatalogQuery("select * from PG_STATISTIC"));
  EXPECT_TRUE(LooksLikeCatalogQuery("SELECT * FROM information_schema.views"));
  EXPECT_TRUE(LooksLikeCatalogQuery(Fixture("dtplus_refused")));
  EXPECT_FALSE(LooksLikeCatalogQuery("SELECT COUNT(*) FROM admissions"));
  EXPECT_FALSE(LooksLikeCatalogQuery("SELECT COUNT(*) FROM admissions WHERE ward_code = 'pg_catalog.x'"));
}

TEST(PgCatalogAnswersTest, JdbcGetTablesListsTheCatalogsTables) {
  const CatalogAnswer answer = Answered(Fixture("jdbc_get_tables"));
  EXPECT_EQ(ColumnNames(answer), (std::vector<std::string>{"table_cat", "table_schem", "table_name", "table_type",
                                                           "remarks", "type_cat", "type_schem", "type_name",
                                                           "self_referencing_col_name", "ref_generation"}));
  ASSERT_EQ(answer.rows.size(), 3U);
  EXPECT_EQ(answer.rows[0], (Row{std::nullopt, "public", "admissions", "TABLE", std::nullopt, "", "", "", "", ""}));
  EXPECT_EQ(answer.rows[1][2], "bed_days");
  EXPECT_EQ(answer.rows[2][2], "wards");
  ExpectOnlyCatalogWords(answer);
  // LIKE patterns: _ and % wildcards, \\ escapes; case aside, as DPQL's names.
  const std::string all = "c.relname LIKE '%'";
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_tables"), all, "c.relname LIKE 'w_rd%'")).rows.size(), 1U);
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_tables"), all, "c.relname LIKE 'BED\\_DAYS'")).rows.size(), 1U);
  EXPECT_TRUE(Answered(Replace(Fixture("jdbc_get_tables"), all, "c.relname LIKE 'bed\\%'")).rows.empty());
  // A schema pattern: public only.
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_tables"), " AND c.relname", " AND n.nspname LIKE 'pub%' AND c.relname"))
                .rows.size(),
            3U);
  EXPECT_TRUE(Answered(Replace(Fixture("jdbc_get_tables"), " AND c.relname", " AND n.nspname LIKE 'other' AND c.relname"))
                  .rows.empty());
  // Types: VIEW's clause lists none; no types at all lists every table.
  const std::string table_clause = "( c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema' )";
  EXPECT_TRUE(Answered(Replace(Fixture("jdbc_get_tables"), table_clause, "( c.relkind = 'v' AND n.nspname !~ '^pg_' )"))
                  .rows.empty());
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_tables"), table_clause,
                             "( c.relkind = 'v' ) OR " + table_clause))
                .rows.size(),
            3U);
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_tables"), "AND (false  OR " + table_clause + " )", "")).rows.size(), 3U);
  // Anything else in the conditions is not pgjdbc's query: refused.
  for (const std::string& sql :
       {Replace(Fixture("jdbc_get_tables"), all, all + " AND c.reltuples > 0"),
        Replace(Fixture("jdbc_get_tables"), table_clause, "( c.reltuples > 0 )"),
        Replace(Fixture("jdbc_get_tables"), "'' AS REF_GENERATION", "c.reltuples AS REF_GENERATION")}) {
    EXPECT_FALSE(AnswerCatalogQuery(sql, Hospital(), "hospital").has_value()) << sql;
  }
}

TEST(PgCatalogAnswersTest, JdbcGetColumnsListsATablesColumnsWithTheirTypes) {
  const CatalogAnswer answer = Answered(Fixture("jdbc_get_columns"));
  EXPECT_EQ(ColumnNames(answer),
            (std::vector<std::string>{"nspname", "relname", "attname", "atttypid", "attnotnull", "atttypmod", "attlen",
                                      "typtypmod", "attnum", "attidentity", "attgenerated", "adsrc", "description",
                                      "typbasetype", "typtype"}));
  const CatalogTable& admissions = Hospital().FindDataset("hospital")->tables[0];
  ASSERT_EQ(answer.rows.size(), admissions.columns.size());
  for (size_t i = 0; i < admissions.columns.size(); ++i) {
    EXPECT_EQ(answer.rows[i][2], admissions.columns[i].name);
    EXPECT_EQ(answer.rows[i][8], std::to_string(i + 1));
  }
  // ward_code is text (25, variable length); age bigint (20, 8 bytes).
  EXPECT_EQ(answer.rows[2], (Row{"public", "admissions", "ward_code", "25", "f", "-1", "-1", "-1", "3", std::nullopt,
                                 std::nullopt, std::nullopt, std::nullopt, "0", "b"}));
  EXPECT_EQ(answer.rows[4][3], "20");
  EXPECT_EQ(answer.rows[4][6], "8");
  ExpectOnlyCatalogWords(answer);
  // A column pattern, and every table's columns.
  const std::string mid = ") c WHERE true  AND attname LIKE '%'";
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_columns"), mid, ") c WHERE true AND attname LIKE 'ward\\_code'")).rows.size(),
            1U);
  EXPECT_EQ(Answered(Replace(Fixture("jdbc_get_columns"), mid, ") c WHERE true")).rows.size(), admissions.columns.size());
  EXPECT_GT(Answered(Replace(Fixture("jdbc_get_columns"), " AND c.relname LIKE 'admissions'", "")).rows.size(),
            admissions.columns.size());
  EXPECT_FALSE(AnswerCatalogQuery(Replace(Fixture("jdbc_get_columns"), mid, mid + " AND attname IN (SELECT 1)"),
                                  Hospital(), "hospital")
                   .has_value());
  EXPECT_FALSE(AnswerCatalogQuery(Replace(Fixture("jdbc_get_columns"), "a.attlen,", "a.attlen, c.reltuples,"), Hospital(),
                                  "hospital")
                   .has_value());
}

TEST(PgCatalogAnswersTest, InformationSchemaTablesAndColumns) {
  const CatalogAnswer tables =
      Answered("SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'");
  EXPECT_EQ(tables.columns.size(), 1U);
  EXPECT_EQ(tables.rows, (std::vector<Row>{{"admissions"}, {"wards"}, {"bed_days"}}));  // catalog order
  ExpectOnlyCatalogWords(tables);
  EXPECT_EQ(Answered("select * from information_schema.tables where table_schema not in ('pg_catalog', "
                     "'information_schema') order by table_name desc")
                .rows,
            (std::vector<Row>{{"hospital", "public", "wards", "BASE TABLE"},
                              {"hospital", "public", "bed_days", "BASE TABLE"},
                              {"hospital", "public", "admissions", "BASE TABLE"}}));
  EXPECT_TRUE(Answered("SELECT table_name FROM information_schema.tables WHERE table_schema = 'pg_catalog'")
                  .rows.empty());

  const CatalogAnswer columns = Answered(
      "SELECT column_name, data_type, ordinal_position, is_nullable FROM information_schema.columns "
      "WHERE table_schema = 'public' AND table_name = 'wards' ORDER BY ordinal_position;");
  EXPECT_EQ(ColumnNames(columns),
            (std::vector<std::string>{"column_name", "data_type", "ordinal_position", "is_nullable"}));
  EXPECT_EQ(columns.columns[2].type_oid, 23);
  EXPECT_EQ(columns.rows, (std::vector<Row>{{"ward_code", "text", "1", "YES"},
                                            {"name", "text", "2", "YES"},
                                            {"trust", "text", "3", "YES"},
                                            {"specialty", "text", "4", "YES"},
                                            {"beds", "bigint", "5", "YES"}}));
  ExpectOnlyCatalogWords(columns);
  // Ordinal positions sort as numbers: 10, 11, 12 after 9.
  const CatalogAnswer reversed = Answered(
      "SELECT ordinal_position FROM information_schema.columns WHERE table_name = 'admissions' "
      "ORDER BY ordinal_position DESC");
  ASSERT_EQ(reversed.rows.size(), 12U);
  EXPECT_EQ(reversed.rows[0][0], "12");
  EXPECT_EQ(reversed.rows[3][0], "9");
  EXPECT_TRUE(Answered("SELECT column_name FROM information_schema.columns WHERE table_name = 'nosuch'")
                  .rows.empty());
}

TEST(PgCatalogAnswersTest, VersionDatabaseAndSchema) {
  const CatalogAnswer version = Answered("SELECT version()");
  EXPECT_EQ(version.rows[0][0]->rfind("PostgreSQL 15.", 0), 0U);
  EXPECT_EQ(Answered("select pg_catalog.version();").rows, version.rows);
  EXPECT_EQ(Answered("SELECT current_database()").rows, (std::vector<Row>{{"hospital"}}));
  EXPECT_EQ(Answered("SELECT current_database()").columns[0].type_oid, 19);
  EXPECT_EQ(Answered("SELECT current_schema()").rows, (std::vector<Row>{{"public"}}));
  EXPECT_EQ(Answered("SELECT current_schema").rows, (std::vector<Row>{{"public"}}));
}

TEST(PgCatalogAnswersTest, TheDatasetChoosesTheTables) {
  // The only dataset by default; an unknown one has no tables.
  EXPECT_EQ(AnswerCatalogQuery(Fixture("dt"), Hospital(), "")->rows.size(), 3U);
  const std::optional<CatalogAnswer> none = AnswerCatalogQuery(Fixture("dt"), Hospital(), "other");
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->rows.empty());
}

}  // namespace
}  // namespace dpql::pgwire
