#pragma once

// A one-connection-at-a-time HTTP server on a loopback port that answers each
// request with the next canned response and records what it received: the
// peer for unit tests of dpql's HTTP client (tests/unit/repl_format_test.cpp).
// Asio stays in canned_server.cpp, compiled once.

#include <memory>
#include <string>
#include <vector>

namespace dpql {

class CannedServer {
 public:
  // Starts serving `responses` (raw HTTP, one per request) on a thread.
  explicit CannedServer(std::vector<std::string> responses);
  ~CannedServer();
  CannedServer(const CannedServer&) = delete;
  CannedServer& operator=(const CannedServer&) = delete;

  // Waits until every canned response was sent; then requests() is stable.
  void Join();

  unsigned short port() const;
  // Each request as received: the head, then the Content-Length body.
  const std::vector<std::string>& requests() const;
  int connections() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace dpql
