#pragma once

// A repeated query's whole database work in one statement, one round trip:
// authenticate the bearer token (unrevoked, read when the statement starts,
// so a revoke committed before it is seen), read the asker's budget and the
// dataset's data version, check that dpql.answer_cache holds an answer for
// the plan under that version, and — only when all of these hold — append
// the request's audit row (outcome "cached", status 200, no cost). When any
// fails nothing is written and the caller takes the general path, which
// refuses or charges exactly as before.

#include <cstdint>
#include <optional>
#include <string>

#include "runtime/ledger/ledger.h"

namespace dpql {

struct CachedExchangeRequest {
  std::string token;  // the bearer token as sent (only its SHA-256 is sent on)
  std::string token_hash;  // or its SHA-256 already (64 hex digits), as a PostgreSQL session holds it
  std::string dataset;
  std::string plan_hash;  // CanonicalPlanHash, 64 hex digits
  // The data version of the answer this process already holds for the plan
  // (0: none); the stored answer's text is returned only when it differs.
  int64_t held_version = 0;
  std::string audit_source;  // e.g. "POST /v1/query"
  std::string audit_query;   // the query as audited (already cut to size)
};

struct CachedExchangeResult {
  std::optional<Analyst> analyst;          // the token's analyst, unrevoked
  std::optional<Budget> budget;            // the analyst's budget on the dataset
  int64_t data_version = 1;                // the dataset's current data version
  bool served = false;                     // stored under data_version, and the audit row is written
  std::optional<std::string> answer_text;  // served and data_version != held_version
  int64_t audit_id = 0;
};

// Runs the statement on `connection` (autocommit, prepared once per
// connection). Throws DatabaseUnavailable when the connection is lost,
// DpqlError "ledger_not_initialised", "database_error".
[[nodiscard]] CachedExchangeResult RunCachedExchange(pqxx::connection& connection,
                                                     const CachedExchangeRequest& request);

}  // namespace dpql
