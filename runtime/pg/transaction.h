#pragma once

// One READ COMMITTED transaction on a connection, committed, for the stores
// that keep their own connection (the ledger, the answer cache): the
// database's failures become DpqlErrors in the words of the store they hit.

#include <memory>
#include <mutex>
#include <pqxx/pqxx>
#include <string>
#include <type_traits>

#include "compiler/common/error.h"
#include "runtime/pg/database_errors.h"

namespace dpql {

// How one store's transaction failures read.
struct TransactionErrors {
  // The error for a connection that broke or whose session ended, given the
  // driver's text.
  DpqlError (*unreachable)(const std::string& detail);
  // Put before the driver's text when a COMMIT met a lost connection (whether
  // it happened is unknown).
  const char* in_doubt;
  // The whole message when the schema or a table is missing (SQLSTATE 3F000, 42P01).
  const char* not_initialised;
  // Put before the driver's text for any other SQL error.
  const char* database_error;
};

// Runs `body(txn)` in a READ COMMITTED transaction on `connection` and
// commits, returning what `body` returns. DpqlErrors from `body` pass through.
// With Txn = pqxx::nontransaction, `body`'s statements run without BEGIN and
// COMMIT, each its own transaction: for one read, two round trips fewer.
template <typename Txn = pqxx::work, typename Body>
auto RunTransaction(pqxx::connection_base& connection, const TransactionErrors& errors, Body&& body) {
  try {
    Txn txn(connection);
    if constexpr (std::is_void_v<decltype(body(txn))>) {
      body(txn);
      txn.commit();
    } else {
      auto result = body(txn);
      txn.commit();
      return result;
    }
  } catch (const pqxx::broken_connection& e) {
    throw errors.unreachable(e.what());
  } catch (const pqxx::in_doubt_error& e) {
    throw errors.unreachable(errors.in_doubt + std::string(e.what()));
  } catch (const pqxx::sql_error& e) {
    if (SessionEnded(e.sqlstate())) throw errors.unreachable("SQLSTATE " + e.sqlstate() + ": " + e.what());
    // A statement cut off by the server closing the session ("server closed
    // the connection unexpectedly") comes without a SQLSTATE: the session is
    // gone, which is unavailability (503), not a database error (500).
    if (e.sqlstate().empty() && !connection.is_open()) throw errors.unreachable(e.what());
    // A missing schema, table or function (dpql.debit, schema version 4):
    // the database's schema is behind this dpqld.
    if (e.sqlstate() == "3F000" || e.sqlstate() == "42P01" || e.sqlstate() == "42883") {
      throw DpqlError(ErrorCode::kLedgerNotInitialised, errors.not_initialised);
    }
    throw DpqlError(ErrorCode::kDatabaseError, errors.database_error + std::string(e.what()));
  }
}

// A store's connection — its own, opened from a connection string, or one
// lent by the caller, which must outlive the store and not use it meanwhile —
// and its transactions, one at a time (RunTransaction). The ledger, the
// project ledger, the release store and the answer cache each keep one.
class TransactionRunner {
 public:
  // Throws errors.unreachable when the connection cannot be opened (also for
  // a malformed connection string).
  TransactionRunner(const std::string& connection_string, const TransactionErrors& errors) : errors_(errors) {
    try {
      owned_ = std::make_unique<pqxx::connection>(connection_string);
    } catch (const std::exception& e) {
      throw errors.unreachable(e.what());
    }
    connection_ = owned_.get();
  }
  TransactionRunner(pqxx::connection& connection, const TransactionErrors& errors)
      : connection_(&connection), errors_(errors) {}

  template <typename Body>
  auto Run(Body&& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    return RunTransaction(*connection_, errors_, body);
  }

  // One statement as its own transaction (autocommit: no BEGIN, no COMMIT;
  // a write commits as durably as in Run): `body` gets a
  // pqxx::transaction_base& and must run exactly one statement.
  template <typename Body>
  auto Autocommit(Body&& body) {
    std::lock_guard<std::mutex> lock(mutex_);
    return RunTransaction<pqxx::nontransaction>(*connection_, errors_, body);
  }

 private:
  std::unique_ptr<pqxx::connection> owned_;
  pqxx::connection_base* connection_ = nullptr;
  std::mutex mutex_;  // one statement at a time on this connection
  const TransactionErrors& errors_;
};

}  // namespace dpql
