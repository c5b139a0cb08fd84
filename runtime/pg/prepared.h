// The bookkeeping statements every query runs (the budget debit, the answer
// cache's lookup and store, the audit row) as prepared statements of the
// connection they run on. Sent with exec_params, PostgreSQL parsed and planned
// each of them on every request, about as long as running them; prepared, it
// parses once per connection and after a few runs keeps a generic plan
// (docs/PERFORMANCE.md, "Per-request work").
#pragma once

#include <pqxx/pqxx>
#include <string>

namespace dpql {

// Defines `sql` as the prepared statement `name` on the transaction's
// connection (a no-op once defined there; libpqxx sends it to PostgreSQL on
// first use) and returns the name, for txn.exec_prepared*(). `name` must stand
// for this one `sql` in the whole process: libpqxx refuses a second definition.
inline std::string Prepared(pqxx::transaction_base& txn, const char* name, const char* sql) {
  txn.conn().prepare(name, sql);
  return name;
}

}  // namespace dpql
