#pragma once

// The answer cache (PostgreSQL table dpql.answer_cache): released answers
// keyed by dataset, data version and the canonical plan hash
// (canonical_plan.h). A repeat of a query — by anyone with a budget on the
// dataset — gets the stored answer again at no cost: returning an answer that
// was already released (and paid for) is post-processing and reveals nothing
// new. Only released values are stored: noisy figures, their intervals and the
// released group keys; never an exact aggregate.
//
// dpql.data_versions holds each dataset's data version (1 until first bumped).
// `dpqld admin data-version D` bumps it after the data changes; answers stored
// under an older version stay in the table but are no longer served.
//
// Tables: schema.h, created by Ledger::Init (`dpqld admin init`).

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "compiler/binder/bound.h"
#include "runtime/pg/pqxx_fwd.h"
#include "runtime/release/result.h"

namespace dpql {

struct CacheLookup {
  int64_t data_version = 1;           // the dataset's current version, read with the lookup
  std::optional<QueryResult> answer;  // set on a hit (columns unnamed, no cost or budget)
};

class AnswerCache {
 public:
  // Opens its own connection ("" = libpq environment defaults).
  explicit AnswerCache(const std::string& connection_string);
  // Borrows a connection (e.g. from the engine's pool); not used concurrently.
  explicit AnswerCache(pqxx::connection& connection);
  ~AnswerCache();
  AnswerCache(const AnswerCache&) = delete;
  AnswerCache& operator=(const AnswerCache&) = delete;

  // The dataset's current data version and, if stored under it, the answer
  // for `plan_hash` — in one statement.
  [[nodiscard]] CacheLookup Find(const std::string& dataset, const std::string& plan_hash);

  // Stores a released answer (before HAVING/ORDER BY/LIMIT). The first answer
  // stored for a key stays: a concurrent identical query that also missed
  // paid for and got its own answer, which is not stored. Returns whether this
  // answer was stored. `ledger_id` is the debit that paid for it.
  bool Store(const std::string& dataset, int64_t data_version, const std::string& plan_hash,
             const QueryResult& answer, int64_t ledger_id, const std::string& query_text);

  // Bumps the dataset's data version and returns the new one.
  int64_t BumpDataVersion(const std::string& dataset);
  [[nodiscard]] int64_t DataVersion(const std::string& dataset);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// The stored form of an answer (JSON): column types and noisiness, rows,
// intervals, notes and bias notes — no column names (but those the bias notes
// name), cost or budget. Decoding restores the values with the types the
// columns declare. An answer holding a non-finite number cannot be encoded
// (nullopt) and is simply not cached.
std::optional<std::string> EncodeAnswer(const QueryResult& answer);
QueryResult DecodeAnswer(const std::string& text);

// HAVING, ORDER BY and LIMIT, taken out of a bound SELECT so that the released
// answer can be cached before them and each asker's own applied after.
struct PostProcessing {
  std::unique_ptr<PostExpr> having;
  std::vector<BoundOrder> order_by;
  std::optional<int64_t> limit;
};
PostProcessing TakePostProcessing(BoundSelect& select);
void RestorePostProcessing(BoundSelect& select, PostProcessing post);

}  // namespace dpql
