#pragma once

// Schema `dpql`: the ledger's tables, their upgrade from older versions, the
// append-only triggers, and the answer cache's tables (runtime/cache/schema.h).

#include <pqxx/pqxx>

namespace dpql {

// Bump when the schema changes; Ledger::Init refuses a database with a newer one.
// 2: rho columns, dataset_spend; 3: research projects and their members,
// budget requests, releases and the release accounts; 4: dpql.debit, the
// debit in one statement; 5: analysts.scram_verifier, for the PostgreSQL wire
// protocol's SCRAM-SHA-256 login (NULL for analysts created before it until
// `dpqld admin new-token`).
inline constexpr int kSchemaVersion = 5;

// Creates schema `dpql` and its tables if missing and upgrades an older one in
// place, in `txn`, under an advisory lock (concurrent calls wait for each
// other). Throws DpqlError "schema_too_new" for a newer schema.
void CreateSchema(pqxx::work& txn);

}  // namespace dpql
