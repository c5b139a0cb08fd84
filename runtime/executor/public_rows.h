#pragma once

// The rows of a public table (`private: false` in the catalog) as read for
// GET /v1/public/TABLE (Engine::ReadPublicTable): the catalog's columns only,
// typed as the catalog declares them. Never called for a private table.

#include <cstddef>
#include <vector>

#include "compiler/catalog/catalog.h"
#include "runtime/pg/pqxx_fwd.h"
#include "runtime/release/result.h"

namespace dpql {

// One Value per catalog column (a date as 'YYYY-MM-DD' text).
struct PublicRows {
  std::vector<std::vector<Value>> rows;
  bool truncated = false;  // the table has more rows than were read
};

// At most `max_rows` rows of `table`, in a read-only transaction with
// `statement_timeout_ms`.
PublicRows ReadPublicRows(pqxx::connection& connection, const CatalogTable& table, size_t max_rows,
                          int statement_timeout_ms);

}  // namespace dpql
