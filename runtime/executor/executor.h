#pragma once

#include "runtime/executor/connection_pool.h"
#include "runtime/executor/result.h"

namespace dpql {

// Runs a plan's generated SQL in a read-only transaction and returns the
// exact, bounded aggregates. Never releases anything by itself: the engine
// debits the budget first and adds noise after.
class Executor {
 public:
  explicit Executor(ConnectionPool& pool, int statement_timeout_ms = 60000)
      : pool_(pool), statement_timeout_ms_(statement_timeout_ms) {}

  ExactAggregates RunExact(const Plan& plan);

 private:
  ConnectionPool& pool_;
  int statement_timeout_ms_;
};

}  // namespace dpql
