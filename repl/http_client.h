#pragma once

// A small blocking HTTP/1.1 client over Boost.Asio (plain TCP or TLS through
// asio::ssl). One persistent connection, reused between requests
// (keep-alive) and reopened once when the server has closed it in between.
// Bodies are read by Content-Length, chunked transfer coding, or until close.

#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace dpql {

// "http://host:port/prefix" split into parts; throws std::invalid_argument
// with a message naming the expected form when `text` is not such a URL.
struct Url {
  std::string scheme;  // "http" or "https"
  std::string host;    // without brackets for IPv6 literals
  std::string port;    // defaults to 80 / 443
  std::string path;    // "" or "/prefix" (no trailing slash)
};
Url ParseUrl(const std::string& text);

// The client's own names: the server's HttpResponse (server/router.h) and
// HttpError (server/json_result.h) are different types in the same namespace,
// and the unit tests link both libraries.
struct HttpClientResponse {
  int status = 0;
  std::string reason;
  std::vector<std::pair<std::string, std::string>> headers;  // names lower-cased
  std::string body;

  // The first header with this (lower-case) name, or "".
  std::string Header(const std::string& name) const;
};

// A transport failure: cannot resolve, connect, TLS handshake, or the
// response is not HTTP. Carries a message meant for the user.
class HttpTransportError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

class HttpClient {
 public:
  // `insecure` skips TLS certificate verification (https only).
  explicit HttpClient(Url url, bool insecure = false);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Sends one request; `target` is appended to the URL's path ("/v1/query").
  // Throws HttpTransportError on transport failure; any HTTP status is returned.
  HttpClientResponse Send(const std::string& method, const std::string& target, const std::string& body,
                          const std::vector<std::pair<std::string, std::string>>& headers);

  const Url& url() const { return url_; }

 private:
  class Connection;

  // Writes `request` on the open connection and reads one response.
  HttpClientResponse Exchange(const std::string& request, bool head);

  Url url_;
  bool insecure_;
  std::unique_ptr<Connection> connection_;
};

}  // namespace dpql
