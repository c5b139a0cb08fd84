#pragma once

// Answers the catalog queries PostgreSQL clients send (psql's \dt, \d, \d NAME
// and \dn; information_schema lookups of tables and columns; version(),
// current_database(), current_schema()) from DPQL's catalog alone: table and
// column names and types, which the guardian declares and which are public.
// No query here reads the database, so no value, count or statistic of the
// data can appear in an answer; queries for statistics or sizes (pg_stats,
// pg_statistic, reltuples, pg_table_size, \dt+) are not recognised and are
// refused by the caller.
//
// Recognition is by pattern, not by a SQL engine: the query's tokens (case and
// spacing aside) must be those of a query psql 15 sends, with only its string
// literals (an OID, a name pattern) free; information_schema lookups take a
// small fixed grammar (see AnswerCatalogQuery). Each of the dataset's tables
// is reported as an ordinary table in schema `public`, owned by `dpql`, with
// OID 16384 + its position in the catalog; columns are nullable, without
// defaults. DPQL's column types map to PostgreSQL's: text -> text (25),
// int -> bigint (20), real -> double precision (701), date -> date (1082),
// bool -> boolean (16).

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "compiler/catalog/catalog.h"

namespace dpql::pgwire {

// One column of an answer (its RowDescription).
struct CatalogColumn {
  std::string name;
  int32_t type_oid = 25;  // 25 text, 19 name, 26 oid, 16 bool, 18 char, 21 int2, 23 int4, 20 int8, ...
};

// An answer in text format: values as PostgreSQL prints them ('t'/'f' for
// booleans), nullopt for NULL.
struct CatalogAnswer {
  std::vector<CatalogColumn> columns;
  std::vector<std::vector<std::optional<std::string>>> rows;
  std::string command_tag;  // "SELECT n"
};

// The OID reported for the table at `index` in its dataset's catalog order.
inline constexpr int32_t kFirstTableOid = 16384;

// The answer to `sql` when it is one of the catalog queries above, from the
// tables of `dataset` (a name in `catalog`; empty: the catalog's only dataset;
// an unknown one: no tables). nullopt: not a catalog query this recognises,
// which the caller refuses.
//
// information_schema: SELECT (* | column, ...) FROM information_schema.tables
// or information_schema.columns [WHERE column op literal [AND ...]]
// [ORDER BY column [ASC|DESC], ...], where op is =, <>, !=, IN (...) or
// NOT IN (...), over the columns table_catalog, table_schema, table_name,
// table_type (tables) and table_catalog, table_schema, table_name,
// column_name, ordinal_position, column_default, is_nullable, data_type
// (columns).
std::optional<CatalogAnswer> AnswerCatalogQuery(std::string_view sql, const Catalog& catalog,
                                                const std::string& dataset);

// Whether `sql` mentions pg_catalog., information_schema. or an identifier
// starting with pg_ (outside string literals and quoted names): a catalog
// query, so that the caller refuses one AnswerCatalogQuery does not answer as
// "this catalog query is not supported" rather than as a DPQL syntax error.
bool LooksLikeCatalogQuery(std::string_view sql);

}  // namespace dpql::pgwire
