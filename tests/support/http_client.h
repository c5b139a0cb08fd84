#pragma once

// HTTP/1.1 clients for the integration tests that drive `dpqld serve` over a
// loopback socket (server, hostile-input and fault tests):
//  - Connection / Call / Get / PostQuery / PostBody: well-formed requests,
//    plain or TLS, one-shot or keep-alive, with a receive timeout so that a
//    hung server fails a test instead of hanging it. Responses are parsed by
//    Boost.Beast, which is independent of the server's own request parser.
//  - RawSocket / ParseRaw: arbitrary bytes on a TCP connection, for requests
//    that are not HTTP at all, slow clients and connection-close checks.
// Beast and Asio stay in http_client.cpp, compiled once: this header is
// cheap to include.

#include <chrono>
#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

namespace dpql {

struct Reply {
  int status = 0;
  std::string body;
  nlohmann::json doc;  // parsed body when it is JSON (else a discarded value)
  std::map<std::string, std::string> headers;
  bool keep_alive = false;
};

struct Request {
  std::string method = "GET";
  std::string target = "/";
  std::string body;
  std::string token;          // sent as "Authorization: Bearer <token>" unless empty
  std::string authorization;  // a raw Authorization header (overrides token), sent byte for byte
  std::string content_type = "application/json";  // sent with POST unless empty
  std::map<std::string, std::string> headers{};   // any other headers, e.g. Accept-Encoding
};

// How long a client waits before a blocked read (or write) throws.
struct ClientTimeouts {
  std::chrono::seconds receive{60};
  std::chrono::seconds send{0};  // 0: writes never time out
};

// One client connection to 127.0.0.1:`port`, kept alive between requests.
// Every failure (nothing listening, a reset, a timeout, a response that is
// not HTTP) throws an exception derived from std::exception.
class Connection {
 public:
  explicit Connection(uint16_t port, ClientTimeouts timeouts = {});
  // HTTPS: the TLS handshake verifies the server's certificate against
  // `ca_file` (PEM).
  static Connection Tls(uint16_t port, const std::string& ca_file, ClientTimeouts timeouts = {});
  ~Connection();
  Connection(Connection&&) noexcept;
  Connection& operator=(Connection&&) noexcept;

  // Writes `request` (Host: 127.0.0.1, Content-Length from the body) and
  // reads one response.
  Reply Send(const Request& request);
  // Writes raw bytes (e.g. a header that promises a huge body) and reads one response.
  Reply SendRaw(const std::string& bytes);
  // True when the server has closed the connection (the next read sees EOF or a reset).
  bool ClosedByServer();

 private:
  struct Impl;
  explicit Connection(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// One request on a fresh connection.
Reply Call(uint16_t port, const Request& request, ClientTimeouts timeouts = {});

Reply Get(uint16_t port, const std::string& target, const std::string& token = "");

// POSTs `body` as application/json with a bearer token.
Reply PostBody(uint16_t port, const std::string& token, const std::string& body,
               const std::string& path = "/v1/query");

// POSTs {"query": query}.
Reply PostQuery(uint16_t port, const std::string& token, const std::string& query,
                const std::string& path = "/v1/query");

// A raw TCP connection to 127.0.0.1:`port`: bytes in, bytes out.
class RawSocket {
 public:
  explicit RawSocket(uint16_t port);
  ~RawSocket();
  RawSocket(const RawSocket&) = delete;
  RawSocket& operator=(const RawSocket&) = delete;

  bool connected() const { return connected_; }

  // False once the peer has closed (EPIPE/ECONNRESET).
  bool Send(const std::string& bytes);
  // Reads until the server closes the connection or `timeout` passes.
  // `closed` says which.
  std::string ReadAll(std::chrono::milliseconds timeout, bool* closed);
  // True when the server has closed the connection (without waiting).
  bool PeerClosed();

 private:
  int fd_ = -1;
  bool connected_ = false;
};

// The first response in raw bytes: its status and its JSON body.
struct RawReply {
  int status = 0;
  nlohmann::json doc;
  std::string text;
  bool closed = false;
};

// Parses raw bytes as read: the status of the first response and its JSON
// body (cut at Content-Length).
RawReply ParseRaw(const std::string& text, bool closed);

}  // namespace dpql
