#pragma once

// A bounded pool of PostgreSQL connections. Callers borrow a connection for
// one unit of work; when all are busy they wait, so the database sees at most
// `size` sessions from this process however many requests arrive.

#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "runtime/pg/pqxx_fwd.h"

namespace dpql {

struct PooledConnection;  // wraps a pqxx::connection (connection_pool.cpp)

class ConnectionPool {
 public:
  ConnectionPool(std::string connection_string, size_t size);
  ~ConnectionPool();

  class Lease {
   public:
    Lease(ConnectionPool* pool, std::unique_ptr<PooledConnection> connection);
    Lease(Lease&& other) noexcept;
    Lease& operator=(Lease&&) = delete;
    ~Lease();
    pqxx::connection& operator*() const;
    pqxx::connection* operator->() const { return &**this; }
    // Marks the connection broken: it is closed instead of returned.
    void Discard() { broken_ = true; }

   private:
    ConnectionPool* pool_;
    std::unique_ptr<PooledConnection> connection_;
    bool broken_ = false;
  };

  // Waits for a free connection (opening one lazily). Throws
  // DatabaseUnavailable (database_errors.h) when the database cannot be reached.
  [[nodiscard]] Lease Acquire();

  const std::string& connection_string() const { return connection_string_; }
  size_t size() const { return size_; }

 private:
  void Release(std::unique_ptr<PooledConnection> connection, bool broken);

  std::string connection_string_;
  size_t size_;
  size_t open_ = 0;
  std::vector<std::unique_ptr<PooledConnection>> idle_;
  std::mutex mutex_;
  std::condition_variable available_;
};

}  // namespace dpql
