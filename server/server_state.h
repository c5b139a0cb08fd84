#pragma once

// What the HTTP server (server/http_server.cpp) and the PostgreSQL front end
// (server/pg_server.cpp) share: the config, the router, the I/O context and
// its threads, the TLS context, and the bounded pool of database workers.
// Asio types: included only by those two sources.

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/thread_pool.hpp>

#include <atomic>
#include <chrono>
#include <optional>

#include "server/config.h"
#include "server/router.h"

namespace dpql {

namespace net = boost::asio;

// Requests waiting for a database worker beyond this many per worker are
// refused (503, or SQLSTATE 53300 on the wire protocol) rather than queued
// without bound.
inline constexpr int kQueuedPerWorker = 64;

// Opens, binds and listens `acceptor` on host:port. Throws
// DpqlError(listen_failed) naming `what` ("http://127.0.0.1:8765",
// "127.0.0.1:5433 (listen_pg)") and the step that failed.
void BindAndListen(net::ip::tcp::acceptor& acceptor, const std::string& host, uint16_t port,
                   const std::string& what, const std::string& host_hint);

// Everything sessions share. Outlives every session (see ~Impl).
struct ServerState {
  ServerState(const ServerConfig& config, Router& router)
      : config(config), router(router), ioc(config.threads), workers(static_cast<size_t>(config.db_pool)) {}

  const ServerConfig& config;
  Router& router;
  std::optional<net::ssl::context> tls;  // before `ioc`: TLS streams it owns use it
  net::io_context ioc;
  // Blocking database work; declared after `ioc` so it is joined first.
  net::thread_pool workers;
  std::atomic<bool> stopping{false};
  std::atomic<int> in_flight{0};  // requests read whose response is not yet written
  std::atomic<int> queued{0};     // requests posted to `workers` and not yet started or done

  std::chrono::milliseconds Timeout() const { return std::chrono::milliseconds(config.request_timeout_ms); }
};

}  // namespace dpql
