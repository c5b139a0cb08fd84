#include "runtime/pg/connection_pool.h"

#include <poll.h>

#include <pqxx/pqxx>

#include "runtime/pg/database_errors.h"

namespace dpql {

struct PooledConnection {
  explicit PooledConnection(const std::string& connection_string) : connection(connection_string) {}
  pqxx::connection connection;
};

namespace {

// Whether an idle connection is still worth lending. An idle session has
// nothing to say, so a readable socket means PostgreSQL spoke while it sat in
// the pool — in practice its goodbye (a restart, pg_terminate_backend, or a
// server crash: an error message then EOF). Lending such a connection would
// fail the next request with a 503 though the database is back; dropping it
// costs one reconnect. One poll() with no wait, no round trip.
bool StillUsable(const pqxx::connection& connection) {
  if (!connection.is_open()) return false;
  pollfd fd{connection.sock(), POLLIN, 0};
  return fd.fd >= 0 && poll(&fd, 1, 0) == 0;
}

}  // namespace

ConnectionPool::ConnectionPool(std::string connection_string, size_t size)
    : connection_string_(std::move(connection_string)), size_(size == 0 ? 1 : size) {}

ConnectionPool::~ConnectionPool() = default;

ConnectionPool::Lease::Lease(ConnectionPool* pool, std::unique_ptr<PooledConnection> connection)
    : pool_(pool), connection_(std::move(connection)) {}

ConnectionPool::Lease::Lease(Lease&& other) noexcept
    : pool_(other.pool_), connection_(std::move(other.connection_)), broken_(other.broken_) {
  other.pool_ = nullptr;
}

ConnectionPool::Lease::~Lease() {
  if (pool_ != nullptr && connection_ != nullptr) {
    bool broken = broken_ || !connection_->connection.is_open();
    pool_->Release(std::move(connection_), broken);
  }
}

pqxx::connection& ConnectionPool::Lease::operator*() const { return connection_->connection; }

ConnectionPool::Lease ConnectionPool::Acquire() {
  std::unique_lock<std::mutex> lock(mutex_);
  available_.wait(lock, [&] { return !idle_.empty() || open_ < size_; });
  while (!idle_.empty()) {
    auto connection = std::move(idle_.back());
    idle_.pop_back();
    if (StillUsable(connection->connection)) return Lease(this, std::move(connection));
    --open_;  // closed by PostgreSQL: drop it and open a fresh one below
  }
  ++open_;
  lock.unlock();
  try {
    return Lease(this, std::make_unique<PooledConnection>(connection_string_));
  } catch (const std::exception& e) {
    lock.lock();
    --open_;
    available_.notify_one();
    // libpq's message may name the host; it never holds data.
    throw DatabaseUnavailable(std::string("cannot connect to PostgreSQL: ") + e.what());
  }
}

void ConnectionPool::Release(std::unique_ptr<PooledConnection> connection, bool broken) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (broken) {
    --open_;
  } else {
    idle_.push_back(std::move(connection));
  }
  available_.notify_one();
}

}  // namespace dpql
