#include "server/pg_catalog_answers.h"

#include "compiler/common/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <functional>
#include <utility>

namespace dpql::pgwire {

namespace {

// ---------------------------------------------------------------------------
// Tokens: what is compared. Case and spacing outside literals do not count.

struct Token {
  enum class Kind { kWord, kString, kQuoted, kSymbol };
  Kind kind = Kind::kWord;
  std::string text;  // words lower-cased; literals and quoted names as written, unescaped

  bool operator==(const Token& other) const { return kind == other.kind && text == other.text; }
  bool IsWord(std::string_view word) const { return kind == Kind::kWord && text == word; }
  bool IsSymbol(std::string_view symbol) const { return kind == Kind::kSymbol && text == symbol; }
};

using Tokens = std::vector<Token>;

bool IsWordChar(char c) {
  return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_' || c == '$' || c == '.' ||
         static_cast<unsigned char>(c) >= 0x80;
}

// nullopt: an unterminated literal, quoted name or comment.
std::optional<Tokens> Tokenize(std::string_view sql) {
  Tokens tokens;
  size_t i = 0;
  while (i < sql.size()) {
    const char c = sql[i];
    if (std::isspace(static_cast<unsigned char>(c)) != 0) {
      ++i;
    } else if (sql.substr(i, 2) == "--") {
      const size_t end = sql.find('\n', i);
      i = end == std::string_view::npos ? sql.size() : end + 1;
    } else if (sql.substr(i, 2) == "/*") {
      const size_t end = sql.find("*/", i + 2);
      if (end == std::string_view::npos) return std::nullopt;
      i = end + 2;
    } else if (c == '\'' || c == '"') {
      Token token{c == '\'' ? Token::Kind::kString : Token::Kind::kQuoted, ""};
      ++i;
      while (true) {
        if (i >= sql.size()) return std::nullopt;
        if (sql[i] == c) {
          if (i + 1 < sql.size() && sql[i + 1] == c) {  // '' or "" inside
            token.text.push_back(c);
            i += 2;
            continue;
          }
          ++i;
          break;
        }
        token.text.push_back(sql[i++]);
      }
      tokens.push_back(std::move(token));
    } else if (IsWordChar(c)) {
      Token token{Token::Kind::kWord, ""};
      while (i < sql.size() && IsWordChar(sql[i])) {
        token.text.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(sql[i++]))));
      }
      tokens.push_back(std::move(token));
    } else {
      static constexpr std::string_view kPairs[] = {"<>", "!=", "!~", "::", "<=", ">=", "||"};
      size_t length = 1;
      for (std::string_view pair : kPairs) {
        if (sql.substr(i, 2) == pair) length = 2;
      }
      tokens.push_back({Token::Kind::kSymbol, std::string(sql.substr(i, length))});
      i += length;
    }
  }
  while (!tokens.empty() && tokens.back().IsSymbol(";")) tokens.pop_back();
  return tokens;
}

// A query text whose string literal '$1' stands for any literal (the same one
// at each place it appears).
struct Template {
  explicit Template(std::string_view sql) : tokens(*Tokenize(sql)) {}
  Tokens tokens;
};

bool IsPlaceholder(const Token& token) { return token.kind == Token::Kind::kString && token.text == "$1"; }

// Whether tokens[from, from + pattern's size) are the pattern's; the literal
// in place of '$1' goes to `captured`.
bool MatchAt(const Tokens& tokens, size_t from, const Tokens& pattern, std::optional<std::string>& captured) {
  if (from > tokens.size() || tokens.size() - from < pattern.size()) return false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const Token& token = tokens[from + i];
    if (IsPlaceholder(pattern[i])) {
      if (token.kind != Token::Kind::kString) return false;
      if (captured && *captured != token.text) return false;
      captured = token.text;
    } else if (!(token == pattern[i])) {
      return false;
    }
  }
  return true;
}

std::optional<std::string> MatchWhole(const Tokens& tokens, const Template& pattern, bool* matched) {
  std::optional<std::string> captured;
  *matched = tokens.size() == pattern.tokens.size() && MatchAt(tokens, 0, pattern.tokens, captured);
  return captured;
}

// ---------------------------------------------------------------------------
// psql's name patterns: '^(' ... ')$' with literal characters, \-escaped ones,
// '.' (any character) and '.*' (any run), which is all psql makes of \d's
// wildcards * and ?. Anything else of regular expressions is not recognised.

struct NamePattern {
  enum class Kind { kChar, kAny, kRun };
  std::vector<std::pair<Kind, char>> items;
};

std::optional<NamePattern> ParseNamePattern(std::string_view regex) {
  if (regex.size() < 4 || regex.substr(0, 2) != "^(" || regex.substr(regex.size() - 2) != ")$") {
    return std::nullopt;
  }
  const std::string_view inner = regex.substr(2, regex.size() - 4);
  NamePattern pattern;
  for (size_t i = 0; i < inner.size(); ++i) {
    const char c = inner[i];
    if (c == '\\') {
      if (++i == inner.size()) return std::nullopt;
      pattern.items.emplace_back(NamePattern::Kind::kChar, inner[i]);
    } else if (c == '.') {
      if (i + 1 < inner.size() && inner[i + 1] == '*') {
        pattern.items.emplace_back(NamePattern::Kind::kRun, 0);
        ++i;
      } else {
        pattern.items.emplace_back(NamePattern::Kind::kAny, 0);
      }
    } else if (std::string_view("|*+?()[]{}^$").find(c) != std::string_view::npos) {
      return std::nullopt;
    } else {
      pattern.items.emplace_back(NamePattern::Kind::kChar, c);
    }
  }
  return pattern;
}

// DPQL's names are case-insensitive, so the match is too. Wildcard matching
// with backtracking to the last run: O(pattern x name) at worst.
bool Matches(const NamePattern& pattern, std::string_view name) {
  const auto& items = pattern.items;
  size_t p = 0;
  size_t n = 0;
  std::optional<std::pair<size_t, size_t>> last_run;  // (item after the run, name position)
  while (n < name.size()) {
    if (p < items.size() && items[p].first == NamePattern::Kind::kRun) {
      last_run = {++p, n};
    } else if (p < items.size() && (items[p].first == NamePattern::Kind::kAny ||
                                    LowerAscii(items[p].second) == LowerAscii(name[n]))) {
      ++p;
      ++n;
    } else if (last_run) {
      p = last_run->first;
      n = ++last_run->second;
    } else {
      return false;
    }
  }
  while (p < items.size() && items[p].first == NamePattern::Kind::kRun) ++p;
  return p == items.size();
}

// ---------------------------------------------------------------------------
// What is reported of the catalog.

constexpr int32_t kBool = 16;
constexpr int32_t kChar = 18;
constexpr int32_t kName = 19;
constexpr int32_t kInt8 = 20;
constexpr int32_t kInt2 = 21;
constexpr int32_t kInt4 = 23;
constexpr int32_t kText = 25;
constexpr int32_t kOid = 26;
constexpr int32_t kFloat8 = 701;
constexpr int32_t kVarchar = 1043;
constexpr int32_t kDate = 1082;
constexpr int32_t kRegclass = 2205;

constexpr std::string_view kSchema = "public";
constexpr std::string_view kOwner = "dpql";

struct PgType {
  int32_t oid;
  const char* name;  // format_type's and information_schema's data_type
  char storage;      // pg_attribute.attstorage: 'p' plain, 'x' extended
};

PgType TypeOf(ColumnType type) {
  switch (type) {
    case ColumnType::kText: return {kText, "text", 'x'};
    case ColumnType::kInt: return {kInt8, "bigint", 'p'};
    case ColumnType::kReal: return {kFloat8, "double precision", 'p'};
    case ColumnType::kDate: return {kDate, "date", 'p'};
    case ColumnType::kBool: return {kBool, "boolean", 'p'};
  }
  return {kText, "text", 'x'};
}

using Row = std::vector<std::optional<std::string>>;

CatalogAnswer Answer(std::vector<CatalogColumn> columns, std::vector<Row> rows = {}) {
  CatalogAnswer answer{std::move(columns), std::move(rows), ""};
  answer.command_tag = "SELECT " + std::to_string(answer.rows.size());
  return answer;
}

std::string TableOid(size_t index) { return std::to_string(kFirstTableOid + static_cast<int64_t>(index)); }

// The table a quoted OID names, or nullptr.
const CatalogTable* TableByOid(const std::vector<CatalogTable>& tables, std::string_view oid) {
  int64_t value = 0;
  const auto [end, error] = std::from_chars(oid.data(), oid.data() + oid.size(), value);
  if (error != std::errc() || end != oid.data() + oid.size()) return nullptr;
  const int64_t index = value - kFirstTableOid;
  if (index < 0 || index >= static_cast<int64_t>(tables.size())) return nullptr;
  return &tables[static_cast<size_t>(index)];
}

// ---------------------------------------------------------------------------
// psql 15's queries (src/bin/psql/describe.c), as `psql -E` shows them.

// \dt, \d (and \dv, \dm, \ds, ... which list no tables): the select list and
// FROM clause; the WHERE clause's conditions are read one by one.
const Template kListHead(R"(SELECT n.nspname as "Schema",
  c.relname as "Name",
  CASE c.relkind WHEN 'r' THEN 'table' WHEN 'v' THEN 'view' WHEN 'm' THEN 'materialized view' WHEN 'i' THEN 'index' WHEN 'S' THEN 'sequence' WHEN 't' THEN 'TOAST table' WHEN 'f' THEN 'foreign table' WHEN 'p' THEN 'partitioned table' WHEN 'I' THEN 'partitioned index' END as "Type",
  pg_catalog.pg_get_userbyid(c.relowner) as "Owner"
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
     LEFT JOIN pg_catalog.pg_am am ON am.oid = c.relam
WHERE)");
const Template kListTail("ORDER BY 1,2");

// \d NAME, first step: the OIDs of the relations the pattern names.
const Template kLookupHead(R"(SELECT c.oid,
  n.nspname,
  c.relname
FROM pg_catalog.pg_class c
     LEFT JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
WHERE)");
const Template kLookupTail("ORDER BY 2, 3");

// Conditions of the two above.
const Template kRelnameMatches("c.relname OPERATOR(pg_catalog.~) '$1' COLLATE pg_catalog.default");
const Template kNspnameMatches("n.nspname OPERATOR(pg_catalog.~) '$1' COLLATE pg_catalog.default");
const Template kNspnameIsNot("n.nspname <> '$1'");
const Template kNotToast("n.nspname !~ '^pg_toast'");
const Template kVisible("pg_catalog.pg_table_is_visible(c.oid)");
const Template kRelkindIn("c.relkind IN (");

// \d NAME, then for each OID: the table's flags (\d and \d+), ...
const Template kTableInfo(
    R"(SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, '', c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '$1')");
const Template kTableInfoVerbose(
    R"(SELECT c.relchecks, c.relkind, c.relhasindex, c.relhasrules, c.relhastriggers, c.relrowsecurity, c.relforcerowsecurity, false AS relhasoids, c.relispartition, pg_catalog.array_to_string(c.reloptions || array(select 'toast.' || x from pg_catalog.unnest(tc.reloptions) x), ', ')
, c.reltablespace, CASE WHEN c.reloftype = 0 THEN '' ELSE c.reloftype::pg_catalog.regtype::pg_catalog.text END, c.relpersistence, c.relreplident, am.amname
FROM pg_catalog.pg_class c
 LEFT JOIN pg_catalog.pg_class tc ON (c.reltoastrelid = tc.oid)
LEFT JOIN pg_catalog.pg_am am ON (c.relam = am.oid)
WHERE c.oid = '$1')");

// ... its columns (\d; \d+ adds storage, compression, statistics target and
// description) ...
constexpr std::string_view kColumnsStart = R"(SELECT a.attname,
  pg_catalog.format_type(a.atttypid, a.atttypmod),
  (SELECT pg_catalog.pg_get_expr(d.adbin, d.adrelid, true)
   FROM pg_catalog.pg_attrdef d
   WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum AND a.atthasdef),
  a.attnotnull,
  (SELECT c.collname FROM pg_catalog.pg_collation c, pg_catalog.pg_type t
   WHERE c.oid = a.attcollation AND t.oid = a.atttypid AND a.attcollation <> t.typcollation) AS attcollation,
  a.attidentity,
  a.attgenerated)";
constexpr std::string_view kColumnsVerboseExtra = R"(,
  a.attstorage,
  a.attcompression AS attcompression,
  CASE WHEN a.attstattarget=-1 THEN NULL ELSE a.attstattarget END AS attstattarget,
  pg_catalog.col_description(a.attrelid, a.attnum))";
constexpr std::string_view kColumnsEnd = R"(
FROM pg_catalog.pg_attribute a
WHERE a.attrelid = '$1' AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum)";
const Template kColumns(std::string(kColumnsStart) + std::string(kColumnsEnd));
const Template kColumnsVerbose(std::string(kColumnsStart) + std::string(kColumnsVerboseExtra) +
                               std::string(kColumnsEnd));

// ... and the footers psql asks for on an ordinary table without indexes,
// checks, rules or triggers (which kTableInfo's answer says it has not):
// row-level security policies, extended statistics objects, publications,
// parent tables and partitions. DPQL has none of them: no rows.
const Template kPolicies(R"(SELECT pol.polname, pol.polpermissive,
  CASE WHEN pol.polroles = '{0}' THEN NULL ELSE pg_catalog.array_to_string(array(select rolname from pg_catalog.pg_roles where oid = any (pol.polroles) order by 1),',') END,
  pg_catalog.pg_get_expr(pol.polqual, pol.polrelid),
  pg_catalog.pg_get_expr(pol.polwithcheck, pol.polrelid),
  CASE pol.polcmd
    WHEN 'r' THEN 'SELECT'
    WHEN 'a' THEN 'INSERT'
    WHEN 'w' THEN 'UPDATE'
    WHEN 'd' THEN 'DELETE'
    END AS cmd
FROM pg_catalog.pg_policy pol
WHERE pol.polrelid = '$1' ORDER BY 1)");
const Template kStatisticsObjects(
    R"(SELECT oid, stxrelid::pg_catalog.regclass, stxnamespace::pg_catalog.regnamespace::pg_catalog.text AS nsp, stxname,
pg_catalog.pg_get_statisticsobjdef_columns(oid) AS columns,
  'd' = any(stxkind) AS ndist_enabled,
  'f' = any(stxkind) AS deps_enabled,
  'm' = any(stxkind) AS mcv_enabled,
stxstattarget
FROM pg_catalog.pg_statistic_ext
WHERE stxrelid = '$1'
ORDER BY nsp, stxname)");
const Template kPublications(R"(SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_namespace pn ON p.oid = pn.pnpubid
     JOIN pg_catalog.pg_class pc ON pc.relnamespace = pn.pnnspid
WHERE pc.oid ='$1' and pg_catalog.pg_relation_is_publishable('$1')
UNION
SELECT pubname
     , pg_get_expr(pr.prqual, c.oid)
     , (CASE WHEN pr.prattrs IS NOT NULL THEN
         (SELECT string_agg(attname, ', ')
           FROM pg_catalog.generate_series(0, pg_catalog.array_upper(pr.prattrs::pg_catalog.int2[], 1)) s,
                pg_catalog.pg_attribute
          WHERE attrelid = pr.prrelid AND attnum = prattrs[s])
        ELSE NULL END) FROM pg_catalog.pg_publication p
     JOIN pg_catalog.pg_publication_rel pr ON p.oid = pr.prpubid
     JOIN pg_catalog.pg_class c ON c.oid = pr.prrelid
WHERE pr.prrelid = '$1'
UNION
SELECT pubname
     , NULL
     , NULL
FROM pg_catalog.pg_publication p
WHERE p.puballtables AND pg_catalog.pg_relation_is_publishable('$1')
ORDER BY 1)");
const Template kParents(R"(SELECT c.oid::pg_catalog.regclass
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhparent AND i.inhrelid = '$1'
  AND c.relkind != 'p' AND c.relkind != 'I'
ORDER BY inhseqno)");
const Template kPartitions(
    R"(SELECT c.oid::pg_catalog.regclass, c.relkind, inhdetachpending, pg_catalog.pg_get_expr(c.relpartbound, c.oid)
FROM pg_catalog.pg_class c, pg_catalog.pg_inherits i
WHERE c.oid = i.inhrelid AND i.inhparent = '$1'
ORDER BY pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT', c.oid::pg_catalog.regclass::pg_catalog.text)");

// \dn
const Template kSchemas(R"(SELECT n.nspname AS "Name",
  pg_catalog.pg_get_userbyid(n.nspowner) AS "Owner"
FROM pg_catalog.pg_namespace n
WHERE n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'
ORDER BY 1)");

// ---------------------------------------------------------------------------
// \dt, \d and \d NAME's lookup: a known head and tail around conditions joined
// by AND, each of which must be one of the known ones.

struct RelationFilter {
  bool tables_listed = true;  // c.relkind IN (...) holds 'r'
  bool schema_listed = true;  // the conditions on n.nspname hold for 'public'
  std::vector<NamePattern> name_patterns;
};

// The conditions between `from` and `to`; nullopt when one is not known.
std::optional<RelationFilter> ReadConditions(const Tokens& tokens, size_t from, size_t to) {
  RelationFilter filter;
  size_t at = from;
  while (true) {
    std::optional<std::string> literal;
    if (MatchAt(tokens, at, kRelnameMatches.tokens, literal)) {
      std::optional<NamePattern> pattern = ParseNamePattern(*literal);
      if (!pattern) return std::nullopt;
      filter.name_patterns.push_back(std::move(*pattern));
      at += kRelnameMatches.tokens.size();
    } else if (MatchAt(tokens, at, kNspnameMatches.tokens, literal)) {
      std::optional<NamePattern> pattern = ParseNamePattern(*literal);
      if (!pattern) return std::nullopt;
      filter.schema_listed = filter.schema_listed && Matches(*pattern, kSchema);
      at += kNspnameMatches.tokens.size();
    } else if (MatchAt(tokens, at, kNspnameIsNot.tokens, literal)) {
      filter.schema_listed = filter.schema_listed && *literal != kSchema;
      at += kNspnameIsNot.tokens.size();
    } else if (MatchAt(tokens, at, kNotToast.tokens, literal)) {
      at += kNotToast.tokens.size();
    } else if (MatchAt(tokens, at, kVisible.tokens, literal)) {
      at += kVisible.tokens.size();
    } else if (MatchAt(tokens, at, kRelkindIn.tokens, literal)) {
      at += kRelkindIn.tokens.size();
      bool has_table = false;
      while (true) {  // 'r', 'p', ... ')'
        if (at >= to || tokens[at].kind != Token::Kind::kString) return std::nullopt;
        has_table = has_table || tokens[at].text == "r";
        ++at;
        if (at < to && tokens[at].IsSymbol(",")) {
          ++at;
        } else if (at < to && tokens[at].IsSymbol(")")) {
          ++at;
          break;
        } else {
          return std::nullopt;
        }
      }
      filter.tables_listed = filter.tables_listed && has_table;
    } else {
      return std::nullopt;
    }
    if (at == to) return filter;
    if (at > to || !tokens[at].IsWord("and")) return std::nullopt;
    ++at;
  }
}

// The conditions of a query `head` conditions `tail`, or nullopt.
std::optional<RelationFilter> MatchFiltered(const Tokens& tokens, const Template& head, const Template& tail) {
  std::optional<std::string> unused;
  if (tokens.size() < head.tokens.size() + tail.tokens.size() + 1) return std::nullopt;
  const size_t tail_at = tokens.size() - tail.tokens.size();
  if (!MatchAt(tokens, 0, head.tokens, unused) || !MatchAt(tokens, tail_at, tail.tokens, unused)) {
    return std::nullopt;
  }
  return ReadConditions(tokens, head.tokens.size(), tail_at);
}

// The dataset's tables that pass `filter`, sorted by name (both queries order
// by schema, then name), with their positions in the catalog.
std::vector<std::pair<size_t, const CatalogTable*>> Listed(const std::vector<CatalogTable>& tables,
                                                             const RelationFilter& filter) {
  std::vector<std::pair<size_t, const CatalogTable*>> listed;
  if (!filter.tables_listed || !filter.schema_listed) return listed;
  for (size_t i = 0; i < tables.size(); ++i) {
    const bool named = std::all_of(filter.name_patterns.begin(), filter.name_patterns.end(),
                                   [&](const NamePattern& p) { return Matches(p, tables[i].name); });
    if (named) listed.emplace_back(i, &tables[i]);
  }
  std::sort(listed.begin(), listed.end(),
            [](const auto& a, const auto& b) { return a.second->name < b.second->name; });
  return listed;
}

CatalogAnswer ListRelations(const std::vector<CatalogTable>& tables, const RelationFilter& filter) {
  std::vector<Row> rows;
  for (const auto& [index, table] : Listed(tables, filter)) {
    rows.push_back({std::string(kSchema), table->name, "table", std::string(kOwner)});
  }
  return Answer({{"Schema", kName}, {"Name", kName}, {"Type", kText}, {"Owner", kName}}, std::move(rows));
}

CatalogAnswer LookUpRelations(const std::vector<CatalogTable>& tables, const RelationFilter& filter) {
  std::vector<Row> rows;
  for (const auto& [index, table] : Listed(tables, filter)) {
    rows.push_back({TableOid(index), std::string(kSchema), table->name});
  }
  return Answer({{"oid", kOid}, {"nspname", kName}, {"relname", kName}}, std::move(rows));
}

CatalogAnswer TableInfo(const CatalogTable* table, bool verbose) {
  std::vector<Row> rows;
  if (table != nullptr) {
    // No checks, an ordinary table, no indexes, rules, triggers or row
    // security, not a partition, no options, the default tablespace, not
    // typed, permanent, default replica identity, heap.
    rows.push_back({"0", "r", "f", "f", "f", "f", "f", "f", "f", "", "0", "", "p", "d", "heap"});
  }
  return Answer({{"relchecks", kInt2},
                 {"relkind", kChar},
                 {"relhasindex", kBool},
                 {"relhasrules", kBool},
                 {"relhastriggers", kBool},
                 {"relrowsecurity", kBool},
                 {"relforcerowsecurity", kBool},
                 {"relhasoids", kBool},
                 {"relispartition", kBool},
                 {verbose ? "array_to_string" : "?column?", kText},
                 {"reltablespace", kOid},
                 {"reloftype", kText},
                 {"relpersistence", kChar},
                 {"relreplident", kChar},
                 {"amname", kName}},
                std::move(rows));
}

CatalogAnswer TableColumns(const CatalogTable* table, bool verbose) {
  std::vector<CatalogColumn> columns = {{"attname", kName},     {"format_type", kText},  {"pg_get_expr", kText},
                                        {"attnotnull", kBool},  {"attcollation", kName}, {"attidentity", kChar},
                                        {"attgenerated", kChar}};
  if (verbose) {
    columns.insert(columns.end(), {{"attstorage", kChar},
                                   {"attcompression", kChar},
                                   {"attstattarget", kInt2},
                                   {"col_description", kText}});
  }
  std::vector<Row> rows;
  if (table != nullptr) {
    for (const dpql::CatalogColumn& column : table->columns) {
      const PgType type = TypeOf(column.type);
      // Nullable, no default, the type's own collation, not an identity or
      // generated column.
      Row row = {column.name, std::string(type.name), std::nullopt, "f", std::nullopt, "", ""};
      if (verbose) row.insert(row.end(), {std::string(1, type.storage), "", std::nullopt, std::nullopt});
      rows.push_back(std::move(row));
    }
  }
  return Answer(std::move(columns), std::move(rows));
}

// ---------------------------------------------------------------------------
// information_schema.tables and information_schema.columns.

struct View {
  std::vector<CatalogColumn> columns;
  std::vector<Row> rows;
};

View TablesView(const std::string& database, const std::vector<CatalogTable>& tables) {
  View view{{{"table_catalog", kName}, {"table_schema", kName}, {"table_name", kName}, {"table_type", kVarchar}},
            {}};
  for (const CatalogTable& table : tables) {
    view.rows.push_back({database, std::string(kSchema), table.name, "BASE TABLE"});
  }
  return view;
}

View ColumnsView(const std::string& database, const std::vector<CatalogTable>& tables) {
  View view{{{"table_catalog", kName},
             {"table_schema", kName},
             {"table_name", kName},
             {"column_name", kName},
             {"ordinal_position", kInt4},
             {"column_default", kVarchar},
             {"is_nullable", kVarchar},
             {"data_type", kVarchar}},
            {}};
  for (const CatalogTable& table : tables) {
    for (size_t i = 0; i < table.columns.size(); ++i) {
      view.rows.push_back({database, std::string(kSchema), table.name, table.columns[i].name, std::to_string(i + 1),
                           std::nullopt, "YES", std::string(TypeOf(table.columns[i].type).name)});
    }
  }
  return view;
}

std::optional<size_t> ColumnIndex(const View& view, const Token& token) {
  if (token.kind != Token::Kind::kWord && token.kind != Token::Kind::kQuoted) return std::nullopt;
  for (size_t i = 0; i < view.columns.size(); ++i) {
    if (view.columns[i].name == token.text) return i;
  }
  return std::nullopt;
}

bool IsNumber(std::string_view text) {
  return !text.empty() && std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// A literal: a string, or a number (for ordinal_position).
std::optional<std::string> LiteralAt(const Tokens& tokens, size_t at) {
  if (at >= tokens.size()) return std::nullopt;
  if (tokens[at].kind == Token::Kind::kString) return tokens[at].text;
  if (tokens[at].kind == Token::Kind::kWord && IsNumber(tokens[at].text)) return tokens[at].text;
  return std::nullopt;
}

using RowTest = std::function<bool(const Row&)>;

// column (= | <> | != ) literal, column [NOT] IN (literal, ...); `at` moves past it.
std::optional<RowTest> ReadComparison(const View& view, const Tokens& tokens, size_t& at) {
  if (at >= tokens.size()) return std::nullopt;
  const std::optional<size_t> column = ColumnIndex(view, tokens[at++]);
  if (!column || at >= tokens.size()) return std::nullopt;
  const size_t c = *column;
  if (tokens[at].IsSymbol("=") || tokens[at].IsSymbol("<>") || tokens[at].IsSymbol("!=")) {
    const bool equal = tokens[at].IsSymbol("=");
    const std::optional<std::string> literal = LiteralAt(tokens, ++at);
    if (!literal) return std::nullopt;
    ++at;
    // A NULL (column_default) compares neither equal nor unequal.
    return RowTest([c, equal, value = *literal](const Row& row) { return row[c] && (*row[c] == value) == equal; });
  }
  bool negated = false;
  if (tokens[at].IsWord("not")) {
    negated = true;
    ++at;
  }
  if (at + 1 >= tokens.size() || !tokens[at].IsWord("in") || !tokens[at + 1].IsSymbol("(")) return std::nullopt;
  at += 2;
  std::vector<std::string> values;
  while (true) {
    const std::optional<std::string> literal = LiteralAt(tokens, at++);
    if (!literal || at >= tokens.size()) return std::nullopt;
    values.push_back(*literal);
    if (tokens[at].IsSymbol(")")) break;
    if (!tokens[at++].IsSymbol(",")) return std::nullopt;
  }
  ++at;
  return RowTest([c, negated, values = std::move(values)](const Row& row) {
    return row[c] && (std::find(values.begin(), values.end(), *row[c]) != values.end()) != negated;
  });
}

std::optional<CatalogAnswer> AnswerInformationSchema(const Tokens& tokens, const std::string& database,
                                                     const std::vector<CatalogTable>& tables) {
  // SELECT list FROM information_schema.tables|columns
  size_t from = 1;
  while (from < tokens.size() && !tokens[from].IsWord("from")) ++from;
  if (from + 1 >= tokens.size()) return std::nullopt;
  View view;
  if (tokens[from + 1].IsWord("information_schema.tables")) {
    view = TablesView(database, tables);
  } else if (tokens[from + 1].IsWord("information_schema.columns")) {
    view = ColumnsView(database, tables);
  } else {
    return std::nullopt;
  }
  // The list: * or column, column, ... (tokens 1 to from - 1).
  std::vector<size_t> selected;
  if (from == 2 && tokens[1].IsSymbol("*")) {
    for (size_t i = 0; i < view.columns.size(); ++i) selected.push_back(i);
  } else {
    if (from % 2 != 0) return std::nullopt;  // empty, or a comma short or over
    for (size_t at = 1; at < from; at += 2) {
      const std::optional<size_t> column = ColumnIndex(view, tokens[at]);
      if (!column || (at + 1 < from && !tokens[at + 1].IsSymbol(","))) return std::nullopt;
      selected.push_back(*column);
    }
  }
  size_t at = from + 2;
  // WHERE comparison [AND comparison]...
  std::vector<RowTest> tests;
  if (at < tokens.size() && tokens[at].IsWord("where")) {
    ++at;
    while (true) {
      std::optional<RowTest> test = ReadComparison(view, tokens, at);
      if (!test) return std::nullopt;
      tests.push_back(std::move(*test));
      if (at < tokens.size() && tokens[at].IsWord("and")) {
        ++at;
        continue;
      }
      break;
    }
  }
  // ORDER BY column [ASC|DESC], ...
  std::vector<std::pair<size_t, bool>> order;  // column, descending
  if (at < tokens.size() && tokens[at].IsWord("order")) {
    if (++at >= tokens.size() || !tokens[at++].IsWord("by")) return std::nullopt;
    while (true) {
      if (at >= tokens.size()) return std::nullopt;
      const std::optional<size_t> column = ColumnIndex(view, tokens[at++]);
      if (!column) return std::nullopt;
      bool descending = false;
      if (at < tokens.size() && (tokens[at].IsWord("asc") || tokens[at].IsWord("desc"))) {
        descending = tokens[at++].IsWord("desc");
      }
      order.emplace_back(*column, descending);
      if (at < tokens.size() && tokens[at].IsSymbol(",")) {
        ++at;
        continue;
      }
      break;
    }
  }
  if (at != tokens.size()) return std::nullopt;

  std::vector<Row> kept;
  for (Row& row : view.rows) {
    if (std::all_of(tests.begin(), tests.end(), [&](const RowTest& test) { return test(row); })) {
      kept.push_back(std::move(row));
    }
  }
  const auto less = [&](const Row& a, const Row& b) {
    for (const auto& [c, descending] : order) {
      const std::string x = a[c].value_or("");
      const std::string y = b[c].value_or("");
      if (x == y) continue;
      const bool numeric = view.columns[c].type_oid == kInt4;
      const bool before = numeric ? (x.size() != y.size() ? x.size() < y.size() : x < y) : x < y;
      return before != descending;
    }
    return false;
  };
  std::stable_sort(kept.begin(), kept.end(), less);
  std::vector<CatalogColumn> columns;
  for (size_t c : selected) columns.push_back(view.columns[c]);
  std::vector<Row> rows;
  for (const Row& row : kept) {
    Row projected;
    for (size_t c : selected) projected.push_back(row[c]);
    rows.push_back(std::move(projected));
  }
  return Answer(std::move(columns), std::move(rows));
}

// ---------------------------------------------------------------------------
// pgjdbc 42.x's DatabaseMetaData.getTables and getColumns (PgDatabaseMetaData),
// as it sends them to a server reporting version 15 with
// standard_conforming_strings on: a fixed head, then conditions
// `AND n.nspname LIKE '...'`, `AND c.relname LIKE '...'` and, for getTables
// with types, `AND (false OR ( clause ) ...)`, then a fixed tail.

const Template kJdbcTablesHead(R"(SELECT NULL AS TABLE_CAT, n.nspname AS TABLE_SCHEM, c.relname AS TABLE_NAME,  CASE n.nspname ~ '^pg_' OR n.nspname = 'information_schema'  WHEN true THEN CASE  WHEN n.nspname = 'pg_catalog' OR n.nspname = 'information_schema' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TABLE'   WHEN 'v' THEN 'SYSTEM VIEW'   WHEN 'i' THEN 'SYSTEM INDEX'   ELSE NULL   END  WHEN n.nspname = 'pg_toast' THEN CASE c.relkind   WHEN 'r' THEN 'SYSTEM TOAST TABLE'   WHEN 'i' THEN 'SYSTEM TOAST INDEX'   ELSE NULL   END  ELSE CASE c.relkind   WHEN 'r' THEN 'TEMPORARY TABLE'   WHEN 'p' THEN 'TEMPORARY TABLE'   WHEN 'i' THEN 'TEMPORARY INDEX'   WHEN 'S' THEN 'TEMPORARY SEQUENCE'   WHEN 'v' THEN 'TEMPORARY VIEW'   ELSE NULL   END  END  WHEN false THEN CASE c.relkind  WHEN 'r' THEN 'TABLE'  WHEN 'p' THEN 'PARTITIONED TABLE'  WHEN 'i' THEN 'INDEX'  WHEN 'P' then 'PARTITIONED INDEX'  WHEN 'S' THEN 'SEQUENCE'  WHEN 'v' THEN 'VIEW'  WHEN 'c' THEN 'TYPE'  WHEN 'f' THEN 'FOREIGN TABLE'  WHEN 'm' THEN 'MATERIALIZED VIEW'  ELSE NULL  END  ELSE NULL  END  AS TABLE_TYPE, d.description AS REMARKS,  '' as TYPE_CAT, '' as TYPE_SCHEM, '' as TYPE_NAME, '' AS SELF_REFERENCING_COL_NAME, '' AS REF_GENERATION  FROM pg_catalog.pg_namespace n, pg_catalog.pg_class c  LEFT JOIN pg_catalog.pg_description d ON (c.oid = d.objoid AND d.objsubid = 0  and d.classoid = 'pg_class'::regclass)  WHERE c.relnamespace = n.oid )");
const Template kJdbcTablesTail("ORDER BY TABLE_TYPE,TABLE_SCHEM,TABLE_NAME");
// The clause pgjdbc adds for the type "TABLE"; every other type's clause
// (views, system, temporary, partitioned tables, ...) names no table of DPQL's.
const Template kJdbcTableClause("c.relkind = 'r' AND n.nspname !~ '^pg_' AND n.nspname <> 'information_schema'");
const Template kJdbcSchemaLike("AND n.nspname LIKE '$1'");
const Template kJdbcRelnameLike("AND c.relname LIKE '$1'");
const Template kJdbcColumnsHead(R"(SELECT * FROM (SELECT n.nspname,c.relname,a.attname,a.atttypid,a.attnotnull OR (t.typtype = 'd' AND t.typnotnull) AS attnotnull,a.atttypmod,a.attlen,t.typtypmod,row_number() OVER (PARTITION BY a.attrelid ORDER BY a.attnum) AS attnum, nullif(a.attidentity, '') as attidentity,nullif(a.attgenerated, '') as attgenerated,pg_catalog.pg_get_expr(def.adbin, def.adrelid) AS adsrc,dsc.description,t.typbasetype,t.typtype  FROM pg_catalog.pg_namespace n  JOIN pg_catalog.pg_class c ON (c.relnamespace = n.oid)  JOIN pg_catalog.pg_attribute a ON (a.attrelid=c.oid)  JOIN pg_catalog.pg_type t ON (a.atttypid = t.oid)  LEFT JOIN pg_catalog.pg_attrdef def ON (a.attrelid=def.adrelid AND a.attnum = def.adnum)  LEFT JOIN pg_catalog.pg_description dsc ON (c.oid=dsc.objoid AND a.attnum = dsc.objsubid)  LEFT JOIN pg_catalog.pg_class dc ON (dc.oid=dsc.classoid AND dc.relname='pg_class')  LEFT JOIN pg_catalog.pg_namespace dn ON (dc.relnamespace=dn.oid AND dn.nspname='pg_catalog')  WHERE c.relkind in ('r','p','v','f','m') and a.attnum > 0 AND NOT a.attisdropped )");
const Template kJdbcColumnsMiddle(") c WHERE true");
const Template kJdbcAttnameLike("AND attname LIKE '$1'");
const Template kJdbcColumnsTail("ORDER BY nspname,c.relname,attnum");

// A LIKE pattern (% any run, _ any character, \ escapes the next) as a name pattern.
std::optional<NamePattern> ParseLikePattern(std::string_view like) {
  NamePattern pattern;
  for (size_t i = 0; i < like.size(); ++i) {
    if (like[i] == '\\') {
      if (++i == like.size()) return std::nullopt;
      pattern.items.emplace_back(NamePattern::Kind::kChar, like[i]);
    } else if (like[i] == '%') {
      pattern.items.emplace_back(NamePattern::Kind::kRun, 0);
    } else if (like[i] == '_') {
      pattern.items.emplace_back(NamePattern::Kind::kAny, 0);
    } else {
      pattern.items.emplace_back(NamePattern::Kind::kChar, like[i]);
    }
  }
  return pattern;
}

// `AND n.nspname LIKE '...'` or `AND c.relname LIKE '...'` at `at`: true and
// `at` moved past it (the filter narrowed), false when neither is there;
// nullopt for a pattern that is not LIKE's.
std::optional<bool> ReadLikeCondition(const Tokens& tokens, size_t& at, RelationFilter& filter) {
  std::optional<std::string> literal;
  if (MatchAt(tokens, at, kJdbcSchemaLike.tokens, literal)) {
    std::optional<NamePattern> pattern = ParseLikePattern(*literal);
    if (!pattern) return std::nullopt;
    filter.schema_listed = filter.schema_listed && Matches(*pattern, kSchema);
    at += kJdbcSchemaLike.tokens.size();
    return true;
  }
  if (MatchAt(tokens, at, kJdbcRelnameLike.tokens, literal)) {
    std::optional<NamePattern> pattern = ParseLikePattern(*literal);
    if (!pattern) return std::nullopt;
    filter.name_patterns.push_back(std::move(*pattern));
    at += kJdbcRelnameLike.tokens.size();
    return true;
  }
  return false;
}

// getTables' `AND (false OR ( clause ) OR ( clause ) ... )` at `at`: whether
// one clause is the "TABLE" one; nullopt when the block is not pgjdbc's.
std::optional<bool> ReadJdbcTypes(const Tokens& tokens, size_t& at) {
  if (at + 3 > tokens.size() || !tokens[at].IsWord("and") || !tokens[at + 1].IsSymbol("(") ||
      !tokens[at + 2].IsWord("false")) {
    return std::nullopt;
  }
  at += 3;
  bool tables = false;
  while (true) {
    if (at >= tokens.size()) return std::nullopt;
    if (tokens[at].IsSymbol(")")) {
      ++at;
      return tables;
    }
    if (at + 2 >= tokens.size() || !tokens[at].IsWord("or") || !tokens[at + 1].IsSymbol("(") ||
        !tokens[at + 2].IsWord("c.relkind")) {
      return std::nullopt;
    }
    at += 2;
    const size_t start = at;
    int depth = 1;
    while (at < tokens.size() && depth > 0) {
      if (tokens[at].IsSymbol("(")) ++depth;
      if (tokens[at].IsSymbol(")")) --depth;
      ++at;
    }
    if (depth != 0) return std::nullopt;
    const Tokens clause(tokens.begin() + static_cast<std::ptrdiff_t>(start),
                        tokens.begin() + static_cast<std::ptrdiff_t>(at - 1));
    tables = tables || clause == kJdbcTableClause.tokens;
  }
}

std::optional<CatalogAnswer> AnswerJdbcTables(const Tokens& tokens, const std::vector<CatalogTable>& tables) {
  std::optional<std::string> unused;
  const Tokens& head = kJdbcTablesHead.tokens;
  const Tokens& tail = kJdbcTablesTail.tokens;
  if (tokens.size() < head.size() + tail.size() || !MatchAt(tokens, 0, head, unused)) return std::nullopt;
  const size_t tail_at = tokens.size() - tail.size();
  if (!MatchAt(tokens, tail_at, tail, unused)) return std::nullopt;
  RelationFilter filter;
  size_t at = head.size();
  while (at < tail_at) {
    std::optional<bool> like = ReadLikeCondition(tokens, at, filter);
    if (!like) return std::nullopt;
    if (*like) continue;
    std::optional<bool> listed = ReadJdbcTypes(tokens, at);
    if (!listed) return std::nullopt;
    filter.tables_listed = filter.tables_listed && *listed;
  }
  if (at != tail_at) return std::nullopt;
  std::vector<Row> rows;
  for (const auto& [index, table] : Listed(tables, filter)) {
    rows.push_back({std::nullopt, std::string(kSchema), table->name, "TABLE", std::nullopt, "", "", "", "", ""});
  }
  return Answer({{"table_cat", kText},
                 {"table_schem", kName},
                 {"table_name", kName},
                 {"table_type", kText},
                 {"remarks", kText},
                 {"type_cat", kText},
                 {"type_schem", kText},
                 {"type_name", kText},
                 {"self_referencing_col_name", kText},
                 {"ref_generation", kText}},
                std::move(rows));
}

std::optional<CatalogAnswer> AnswerJdbcColumns(const Tokens& tokens, const std::vector<CatalogTable>& tables) {
  std::optional<std::string> unused;
  const Tokens& head = kJdbcColumnsHead.tokens;
  const Tokens& tail = kJdbcColumnsTail.tokens;
  if (tokens.size() < head.size() + tail.size() || !MatchAt(tokens, 0, head, unused)) return std::nullopt;
  const size_t tail_at = tokens.size() - tail.size();
  if (!MatchAt(tokens, tail_at, tail, unused)) return std::nullopt;
  RelationFilter filter;
  size_t at = head.size();
  while (true) {
    std::optional<bool> like = ReadLikeCondition(tokens, at, filter);
    if (!like) return std::nullopt;
    if (!*like) break;
  }
  if (!MatchAt(tokens, at, kJdbcColumnsMiddle.tokens, unused)) return std::nullopt;
  at += kJdbcColumnsMiddle.tokens.size();
  std::optional<NamePattern> column_pattern;
  std::optional<std::string> literal;
  if (MatchAt(tokens, at, kJdbcAttnameLike.tokens, literal)) {
    column_pattern = ParseLikePattern(*literal);
    if (!column_pattern) return std::nullopt;
    at += kJdbcAttnameLike.tokens.size();
  }
  if (at != tail_at) return std::nullopt;
  std::vector<Row> rows;
  for (const auto& [index, table] : Listed(tables, filter)) {
    for (size_t i = 0; i < table->columns.size(); ++i) {
      const dpql::CatalogColumn& column = table->columns[i];
      if (column_pattern && !Matches(*column_pattern, column.name)) continue;
      const PgType type = TypeOf(column.type);
      const std::string length = type.oid == kText ? "-1" : type.oid == kBool ? "1" : type.oid == kDate ? "4" : "8";
      // Nullable, no type modifier, no default, identity, generation or
      // description; a base type.
      rows.push_back({std::string(kSchema), table->name, column.name, std::to_string(type.oid), "f", "-1", length, "-1",
                      std::to_string(i + 1), std::nullopt, std::nullopt, std::nullopt, std::nullopt, "0", "b"});
    }
  }
  return Answer({{"nspname", kName},
                 {"relname", kName},
                 {"attname", kName},
                 {"atttypid", kOid},
                 {"attnotnull", kBool},
                 {"atttypmod", kInt4},
                 {"attlen", kInt2},
                 {"typtypmod", kInt4},
                 {"attnum", kInt8},
                 {"attidentity", kChar},
                 {"attgenerated", kChar},
                 {"adsrc", kText},
                 {"description", kText},
                 {"typbasetype", kOid},
                 {"typtype", kChar}},
                std::move(rows));
}

// SELECT version(), current_database(), current_schema() (or current_schema).
std::optional<CatalogAnswer> AnswerFunction(const Tokens& tokens, const std::string& database) {
  const bool call = tokens.size() == 4 && tokens[2].IsSymbol("(") && tokens[3].IsSymbol(")");
  if (!(call || tokens.size() == 2) || !tokens[0].IsWord("select")) return std::nullopt;
  std::string name = tokens[1].text;
  if (tokens[1].kind != Token::Kind::kWord) return std::nullopt;
  if (name.rfind("pg_catalog.", 0) == 0) name = name.substr(11);
  if (call && name == "version") {
    return Answer({{"version", kText}},
                  std::vector<Row>{Row{"PostgreSQL 15.0 (DPQL, a differential-privacy query server)"}});
  }
  if (call && name == "current_database") return Answer({{"current_database", kName}}, std::vector<Row>{Row{database}});
  if (name == "current_schema") return Answer({{"current_schema", kName}}, std::vector<Row>{Row{std::string(kSchema)}});
  return std::nullopt;
}

}  // namespace

std::optional<CatalogAnswer> AnswerCatalogQuery(std::string_view sql, const Catalog& catalog,
                                                const std::string& dataset) {
  const std::optional<Tokens> parsed = Tokenize(sql);
  if (!parsed || parsed->empty() || !parsed->front().IsWord("select")) return std::nullopt;
  const Tokens& tokens = *parsed;
  const Dataset* found = dataset.empty() ? catalog.DefaultDataset() : catalog.FindDataset(dataset);
  static const std::vector<CatalogTable> kNoTables;
  const std::vector<CatalogTable>& tables = found != nullptr ? found->tables : kNoTables;
  const std::string database = found != nullptr ? found->name : dataset;

  if (std::optional<RelationFilter> filter = MatchFiltered(tokens, kListHead, kListTail)) {
    return ListRelations(tables, *filter);
  }
  if (std::optional<RelationFilter> filter = MatchFiltered(tokens, kLookupHead, kLookupTail)) {
    return LookUpRelations(tables, *filter);
  }
  bool matched = false;
  for (const auto* pattern : {&kTableInfo, &kTableInfoVerbose}) {
    const std::optional<std::string> oid = MatchWhole(tokens, *pattern, &matched);
    if (matched) return TableInfo(TableByOid(tables, *oid), pattern == &kTableInfoVerbose);
  }
  for (const auto* pattern : {&kColumns, &kColumnsVerbose}) {
    const std::optional<std::string> oid = MatchWhole(tokens, *pattern, &matched);
    if (matched) return TableColumns(TableByOid(tables, *oid), pattern == &kColumnsVerbose);
  }
  // The footers: no rows, whichever the table.
  const std::pair<const Template*, std::vector<CatalogColumn>> footers[] = {
      {&kPolicies,
       {{"polname", kName},
        {"polpermissive", kBool},
        {"array_to_string", kText},
        {"pg_get_expr", kText},
        {"pg_get_expr", kText},
        {"cmd", kText}}},
      {&kStatisticsObjects,
       {{"oid", kOid},
        {"stxrelid", kRegclass},
        {"nsp", kText},
        {"stxname", kName},
        {"columns", kText},
        {"ndist_enabled", kBool},
        {"deps_enabled", kBool},
        {"mcv_enabled", kBool},
        {"stxstattarget", kInt4}}},
      {&kPublications, {{"pubname", kName}, {"?column?", kText}, {"?column?", kText}}},
      {&kParents, {{"oid", kRegclass}}},
      {&kPartitions,
       {{"oid", kRegclass}, {"relkind", kChar}, {"inhdetachpending", kBool}, {"pg_get_expr", kText}}},
  };
  for (const auto& [pattern, columns] : footers) {
    (void)MatchWhole(tokens, *pattern, &matched);
    if (matched) return Answer(columns);
  }
  (void)MatchWhole(tokens, kSchemas, &matched);
  if (matched) {
    return Answer({{"Name", kName}, {"Owner", kName}}, std::vector<Row>{Row{std::string(kSchema), std::string(kOwner)}});
  }
  if (std::optional<CatalogAnswer> answer = AnswerInformationSchema(tokens, database, tables)) return answer;
  if (std::optional<CatalogAnswer> answer = AnswerJdbcTables(tokens, tables)) return answer;
  if (std::optional<CatalogAnswer> answer = AnswerJdbcColumns(tokens, tables)) return answer;
  return AnswerFunction(tokens, database);
}

bool LooksLikeCatalogQuery(std::string_view sql) {
  const std::optional<Tokens> tokens = Tokenize(sql);
  if (!tokens) return false;
  for (const Token& token : *tokens) {
    if (token.kind != Token::Kind::kWord) continue;
    const std::string& word = token.text;
    if (word.rfind("pg_", 0) == 0 || word.rfind("information_schema.", 0) == 0 ||
        word.find(".pg_") != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace dpql::pgwire
