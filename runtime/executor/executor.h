#pragma once

#include <chrono>
#include <mutex>

#include "runtime/pg/connection_pool.h"
#include "runtime/release/result.h"

namespace dpql {

// Lets another thread stop a RunExact that is no longer wanted (the engine's
// query whose debit was refused): Cancel() asks PostgreSQL to cancel the
// statement running now, if any, and keeps any later one from being sent.
// A cancel request reaches only the connection while RunExact holds it: the
// executor takes the connection back (End) under the same lock before it
// can return to the pool, so no other request's statement is ever hit.
class QueryCancel {
 public:
  void Cancel();
  bool cancelled() const;

  // The executor's side: Begin returns false (send nothing) once cancelled.
  bool Begin(pqxx::connection& connection);
  void End();

 private:
  mutable std::mutex mutex_;
  pqxx::connection* running_ = nullptr;
  bool cancelled_ = false;
};

// Runs a plan's generated SQL in a read-only transaction and returns the
// exact, bounded aggregates. Never releases anything by itself: the engine
// debits the budget first and adds noise after.
//
// Failures (runtime/pg/database_errors.h):
// - the session ends before the SQL is sent (a connection that broke while
//   idle): retried on a fresh connection, up to one more than the pool holds,
//   then DpqlError "database_unavailable";
// - the session ends after it was sent: DpqlError "database_unavailable";
// - anything else once the SQL was sent — a PostgreSQL error, the statement
//   timeout (57014), a result that cannot be read: DatabaseFailure
//   "query_failed" with one fixed message, to be answered at `respond_at` =
//   the send time + the statement timeout + kFailureGrace, whatever the cause.
//   PostgreSQL's SQLSTATE and message are in its admin_detail only.
class Executor {
 public:
  // A timeout's error reaches the client a little after the timeout itself;
  // every failure is answered this long after it, so the two look alike.
  static constexpr std::chrono::milliseconds kFailureGrace{1000};

  explicit Executor(ConnectionPool& pool, int statement_timeout_ms = 60000)
      : pool_(pool), statement_timeout_ms_(statement_timeout_ms) {}

  ExactAggregates RunExact(const Plan& plan);
  // The same on a connection the caller leased already (the one its debit
  // ran on), which is returned to the pool when done.
  ExactAggregates RunExact(const Plan& plan, ConnectionPool::Lease lease);
  // The same, stoppable from another thread through `cancel` (a cancelled
  // run throws DpqlError "internal_error"; its caller discards it).
  ExactAggregates RunExact(const Plan& plan, ConnectionPool::Lease lease, QueryCancel* cancel);

  // The moment a failure of SQL sent at `sent_at` is answered.
  std::chrono::steady_clock::time_point RespondAt(std::chrono::steady_clock::time_point sent_at) const {
    return sent_at + std::chrono::milliseconds(statement_timeout_ms_) + kFailureGrace;
  }

 private:
  ConnectionPool& pool_;
  int statement_timeout_ms_;
};

}  // namespace dpql
