// The data queries on a streaming read replica (`replica` in dpqld.yaml;
// docs/SCALING.md, "Many dpqld instances on one ledger"). What may go there
// and what may not:
//
// - There: every read of the catalog's tables — the aggregate SQL, the
//   readiness probe, public tables and domains (Engine::data_pool_). All of
//   it runs in read-only transactions, as a hot standby requires.
// - Never there: the debit, the budgets and projects it reads, the answer
//   cache and the data versions it is keyed by, release runs, the audit and
//   the tokens. They stay on the primary (`database`), which every dpqld
//   shares: one place decides each debit, and a repeat is served the answer
//   stored by whichever instance paid for it, never a fresh draw.
//
// Replication lag: an answer reflects the replica's snapshot, which may be a
// moment behind the primary. The one lag that matters to the answer cache is
// a load not yet replayed: the cache key holds the primary's data version,
// and an answer stored under it must come from that version's data. So a
// query is refused (not_ready, before the debit) while the replica's
// dpql.data_versions — replicated with the load that bumped it — is behind
// the primary's. The debit itself never depends on the replica: it commits
// on the primary before any of the query's result is read, as without one.

#include "compiler/common/error.h"
#include "runtime/cache/answer_cache.h"
#include "runtime/engine.h"
#include "runtime/pg/database_errors.h"
#include "runtime/pg/retry.h"

namespace dpql {

int64_t Engine::PrimaryDataVersion(const Dataset& dataset) {
  return WithConnection(pool_, 2, [&](pqxx::connection& connection) {
    return AnswerCache(connection).DataVersion(dataset.name);
  });
}

void Engine::RequireReplicaAt(pqxx::connection& data, const Dataset& dataset, int64_t primary_version) const {
  if (!has_replica() || primary_version <= 0) return;
  int64_t replica_version = 0;
  try {
    // The replica is a physical copy of the primary's database: its
    // dpql.data_versions is the primary's as of its last replayed commit.
    replica_version = AnswerCache(data).DataVersion(dataset.name);
  } catch (const DpqlError& error) {
    if (IsUnavailable(error)) throw;
    throw DatabaseFailure(
        ErrorCode::kNotReady,
        "the server cannot tell which data of dataset " + dataset.name +
            " its read replica holds; the query was not run and nothing was spent. An "
            "administrator must check the `replica` setting (GET /readyz)",
        "dataset " + dataset.name +
            ": reading dpql.data_versions on the read replica failed (is `replica` a streaming "
            "replica of `database`?): " +
            error.what());
  }
  if (replica_version >= primary_version) return;
  throw DatabaseFailure(
      ErrorCode::kNotReady,
      "the read replica has not yet caught up with the latest data of dataset " + dataset.name +
          "; the query was not run and nothing was spent. Try again in a moment",
      "dataset " + dataset.name + ": the read replica is at data version " + std::to_string(replica_version) +
          ", the primary at " + std::to_string(primary_version) + " (replication lag)");
}

}  // namespace dpql
