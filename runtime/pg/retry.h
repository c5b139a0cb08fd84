#pragma once

// Work on a pooled connection that survives PostgreSQL restarts: a connection
// whose session ended is discarded (closed, not returned to the pool), and
// work that is safe to repeat is retried on another connection.

#include <utility>

#include "runtime/pg/connection_pool.h"
#include "runtime/pg/database_errors.h"

namespace dpql {

// Runs `work()`; when it throws DatabaseUnavailable, `lease`'s connection is
// discarded before the error goes on.
template <class Work>
auto DiscardIfUnavailable(ConnectionPool::Lease& lease, Work&& work) {
  try {
    return std::forward<Work>(work)();
  } catch (const DpqlError& error) {
    if (IsUnavailable(error)) lease.Discard();
    throw;
  }
}

// Runs `work(connection)` on a connection from `pool`, up to `attempts` times:
// a connection that broke while idle (PostgreSQL restarted) fails once and is
// discarded, so the next attempt gets another one (or a fresh one); only when
// every attempt met an unavailable database is the last error thrown. Any
// other error is thrown at once. `work` must be safe to repeat (reads, and
// writes that a broken connection never ran). attempts = 1: no retry.
template <class Work>
auto WithConnection(ConnectionPool& pool, int attempts, Work&& work) {
  for (int attempt = 1;; ++attempt) {
    try {
      ConnectionPool::Lease lease = pool.Acquire();
      return DiscardIfUnavailable(lease, [&] { return work(*lease); });
    } catch (const DpqlError& error) {
      if (!IsUnavailable(error) || attempt >= attempts) throw;
    }
  }
}

}  // namespace dpql
