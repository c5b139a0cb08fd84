#pragma once

// The HTTP(S) front end of dpqld, after Boost.Beast's async server examples:
// a listener accepts connections; each session reads a request (with a
// timeout on every read), hands it to the Router on a separate, bounded pool
// of database worker threads, and writes the response back on its strand.
// Keep-alive; `threads` I/O threads share one io_context. SIGINT/SIGTERM stop
// accepting, let in-flight requests finish (bounded wait) and return from Run().
//
// Beast and Asio stay inside http_server.cpp.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include "server/config.h"
#include "server/router.h"

namespace dpql {

class HttpServer {
 public:
  HttpServer(const ServerConfig& config, Router& router);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Loads TLS files (if configured), binds and listens. Throws DpqlError
  // (kInternal, "listen_failed" / "tls_error") with a message saying why.
  void Listen();
  // The bound port (the real one when the config asked for port 0).
  uint16_t port() const;
  // The PostgreSQL front end's bound port, when `listen_pg` is set.
  std::optional<uint16_t> pg_port() const;
  // "http://127.0.0.1:8765" (https when TLS is on).
  std::string Url() const;

  // Serves until SIGINT/SIGTERM or Stop(), then drains in-flight requests
  // (waiting at most the request timeout) and returns.
  void Run();
  // Starts the same shutdown as a signal. Thread-safe.
  void Stop();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpql
