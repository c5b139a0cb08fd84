#include "repl/http_client.h"

#include <openssl/ssl.h>

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <charconv>

#include "compiler/common/text.h"

namespace dpql {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

// Largest response accepted; the server's answers are small JSON documents.
constexpr size_t kMaxResponseBytes = 64u << 20;
constexpr size_t kMaxHeaderBytes = 64u << 10;

std::string Trim(const std::string& text) {
  size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string::npos) return "";
  size_t end = text.find_last_not_of(" \t\r");
  return text.substr(begin, end - begin + 1);
}

// The server closed a reused connection before answering: safe to reconnect
// and send again, because it never started on the request.
class StaleConnection : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The status line and headers of a response (header names lower-cased);
// `http10` tells whether the server speaks HTTP/1.0.
HttpClientResponse ParseHead(const std::string& head_text, bool& http10) {
  HttpClientResponse response;
  size_t line_end = head_text.find("\r\n");
  std::string status_line = head_text.substr(0, line_end);
  if (status_line.rfind("HTTP/1.", 0) != 0 || status_line.size() < 12) {
    throw HttpTransportError("the server did not answer with HTTP (got '" + status_line.substr(0, 40) +
                             "'); check --url (http:// vs https://)");
  }
  http10 = status_line.rfind("HTTP/1.0", 0) == 0;
  response.status = std::atoi(status_line.c_str() + 9);
  if (status_line.size() > 13) response.reason = status_line.substr(13);
  size_t at = line_end == std::string::npos ? head_text.size() : line_end + 2;
  while (at < head_text.size()) {
    size_t next = head_text.find("\r\n", at);
    if (next == std::string::npos) next = head_text.size();
    std::string line = head_text.substr(at, next - at);
    size_t colon = line.find(':');
    if (colon != std::string::npos)
      response.headers.emplace_back(LowerAscii(Trim(line.substr(0, colon))), Trim(line.substr(colon + 1)));
    at = next + 2;
  }
  return response;
}

}  // namespace

Url ParseUrl(const std::string& text) {
  const std::string form = " (expected http://HOST:PORT or https://HOST:PORT, e.g. http://127.0.0.1:8765)";
  Url url;
  size_t scheme_end = text.find("://");
  if (scheme_end == std::string::npos) throw std::invalid_argument("'" + text + "' is not a URL" + form);
  url.scheme = LowerAscii(text.substr(0, scheme_end));
  if (url.scheme != "http" && url.scheme != "https") {
    throw std::invalid_argument("unsupported URL scheme '" + url.scheme + "'" + form);
  }
  std::string rest = text.substr(scheme_end + 3);
  size_t path_start = rest.find('/');
  std::string authority = rest.substr(0, path_start);
  if (path_start != std::string::npos) url.path = rest.substr(path_start);
  while (!url.path.empty() && url.path.back() == '/') url.path.pop_back();
  if (authority.find('@') != std::string::npos) {
    throw std::invalid_argument("credentials in the URL are not supported; pass --token instead");
  }
  std::string port;
  if (!authority.empty() && authority.front() == '[') {
    size_t close = authority.find(']');
    if (close == std::string::npos)
      throw std::invalid_argument("unterminated IPv6 address in '" + text + "'" + form);
    url.host = authority.substr(1, close - 1);
    std::string after = authority.substr(close + 1);
    if (!after.empty()) {
      if (after.front() != ':')
        throw std::invalid_argument("unexpected text after the host in '" + text + "'" + form);
      port = after.substr(1);
    }
  } else {
    size_t colon = authority.rfind(':');
    url.host = authority.substr(0, colon);
    if (colon != std::string::npos) port = authority.substr(colon + 1);
  }
  if (url.host.empty()) throw std::invalid_argument("no host in '" + text + "'" + form);
  if (port.empty()) port = url.scheme == "https" ? "443" : "80";
  int number = 0;
  auto [end, error] = std::from_chars(port.data(), port.data() + port.size(), number);
  if (error != std::errc() || end != port.data() + port.size() || number < 1 || number > 65535) {
    throw std::invalid_argument("port '" + port + "' is not a number from 1 to 65535" + form);
  }
  url.port = port;
  return url;
}

std::string HttpClientResponse::Header(const std::string& name) const {
  for (const auto& [key, value] : headers) {
    if (key == name) return value;
  }
  return "";
}

// One open connection: plain TCP or TLS, plus the bytes read past the end of
// the previous response.
class HttpClient::Connection {
 public:
  Connection(const Url& url, bool insecure) {
    boost::system::error_code ec;
    tcp::resolver resolver(io_);
    auto endpoints = resolver.resolve(url.host, url.port, ec);
    if (ec) throw HttpTransportError("cannot resolve host '" + url.host + "': " + ec.message());
    if (url.scheme == "https") {
      ConnectTls(url, insecure, endpoints);
    } else {
      ConnectPlain(url, endpoints);
    }
  }

  void Write(const std::string& data, boost::system::error_code& ec) {
    if (tls_) {
      asio::write(*tls_, asio::buffer(data), ec);
    } else {
      asio::write(*plain_, asio::buffer(data), ec);
    }
  }

  // The status line and headers, without the blank line that ends them; the
  // bytes read past it stay in buffer_.
  std::string ReadHead() {
    boost::system::error_code ec;
    size_t header_end;
    while ((header_end = buffer_.find("\r\n\r\n")) == std::string::npos) {
      if (buffer_.size() > kMaxHeaderBytes)
        throw HttpTransportError("the server's response headers are too large");
      bool more = ReadMore(ec);
      if (!more) {
        std::string why = ec ? ec.message() : "connection closed";
        if (buffer_.empty())
          throw StaleConnection("the server closed the connection without answering (" + why + ")");
        throw HttpTransportError("the server closed the connection in the middle of a response (" + why +
                                 ")");
      }
    }
    std::string head_text = buffer_.substr(0, header_end);
    buffer_.erase(0, header_end + 4);
    return head_text;
  }

  // Chunked transfer coding: chunks up to the last (empty) one, then trailers.
  std::string ReadChunkedBody() {
    std::string body;
    for (;;) {
      std::string size_line = ReadLine();
      size_t size = 0;
      auto [end, error] = std::from_chars(size_line.data(), size_line.data() + size_line.size(), size, 16);
      if (error != std::errc())
        throw HttpTransportError("malformed chunk size '" + size_line + "' in the server's response");
      (void)end;
      if (size == 0) {
        while (!ReadLine().empty()) {
        }  // trailers
        break;
      }
      if (body.size() + size > kMaxResponseBytes)
        throw HttpTransportError("the server's response is larger than 64 MiB");
      ReadAtLeast(size + 2);
      body.append(buffer_, 0, size);
      buffer_.erase(0, size + 2);
    }
    return body;
  }

  // A body of Content-Length bytes.
  std::string ReadSizedBody(const std::string& length_text) {
    size_t length = 0;
    auto [end, error] = std::from_chars(length_text.data(), length_text.data() + length_text.size(), length);
    if (error != std::errc() || end != length_text.data() + length_text.size()) {
      throw HttpTransportError("malformed Content-Length '" + length_text + "' in the server's response");
    }
    if (length > kMaxResponseBytes) throw HttpTransportError("the server's response is larger than 64 MiB");
    ReadAtLeast(length);
    std::string body = buffer_.substr(0, length);
    buffer_.erase(0, length);
    return body;
  }

  // A body delimited by the end of the connection.
  std::string ReadBodyToClose() {
    boost::system::error_code ec;
    while (ReadMore(ec)) {
    }
    if (ec) throw HttpTransportError("error while reading the server's response: " + ec.message());
    std::string body = std::move(buffer_);
    buffer_.clear();
    return body;
  }

  std::string& buffer() { return buffer_; }

 private:
  // Appends what is available to buffer_; returns false at end of stream.
  bool ReadMore(boost::system::error_code& ec) {
    char chunk[16384];
    size_t n = tls_ ? tls_->read_some(asio::buffer(chunk), ec) : plain_->read_some(asio::buffer(chunk), ec);
    buffer_.append(chunk, n);
    if (buffer_.size() > kMaxResponseBytes)
      throw HttpTransportError("the server's response is larger than 64 MiB");
    if (ec == asio::error::eof || ec == asio::ssl::error::stream_truncated) {
      ec = {};
      return n > 0;
    }
    return !ec;
  }

  // Reads until buffer_ holds `needed` bytes; the response is cut short otherwise.
  void ReadAtLeast(size_t needed) {
    boost::system::error_code ec;
    while (buffer_.size() < needed) {
      if (!ReadMore(ec)) {
        throw HttpTransportError("the server closed the connection in the middle of a response" +
                                 (ec ? " (" + ec.message() + ")" : std::string()));
      }
    }
  }

  // The next CRLF-terminated line, without its CRLF.
  std::string ReadLine() {
    size_t end;
    while ((end = buffer_.find("\r\n")) == std::string::npos) ReadAtLeast(buffer_.size() + 1);
    std::string line = buffer_.substr(0, end);
    buffer_.erase(0, end + 2);
    return line;
  }

  void ConnectTls(const Url& url, bool insecure, const tcp::resolver::results_type& endpoints) {
    boost::system::error_code ec;
    const std::string where = url.host + ":" + url.port;
    tls_context_ = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_client);
    if (insecure) {
      tls_context_->set_verify_mode(asio::ssl::verify_none);
    } else {
      tls_context_->set_default_verify_paths();
      tls_context_->set_verify_mode(asio::ssl::verify_peer);
      tls_context_->set_verify_callback(asio::ssl::host_name_verification(url.host));
    }
    tls_ = std::make_unique<asio::ssl::stream<tcp::socket>>(io_, *tls_context_);
    SSL_set_tlsext_host_name(tls_->native_handle(), url.host.c_str());
    asio::connect(tls_->next_layer(), endpoints, ec);
    if (ec)
      throw HttpTransportError("cannot connect to " + where + ": " + ec.message() + " (is dpqld running?)");
    tls_->next_layer().set_option(tcp::no_delay(true), ec);
    tls_->handshake(asio::ssl::stream_base::client, ec);
    if (ec) {
      throw HttpTransportError(
          "TLS handshake with " + where + " failed: " + ec.message() +
          (insecure ? "" : " (use --insecure to skip certificate verification for a test server)"));
    }
  }

  void ConnectPlain(const Url& url, const tcp::resolver::results_type& endpoints) {
    boost::system::error_code ec;
    const std::string where = url.host + ":" + url.port;
    plain_ = std::make_unique<tcp::socket>(io_);
    asio::connect(*plain_, endpoints, ec);
    if (ec)
      throw HttpTransportError("cannot connect to " + where + ": " + ec.message() + " (is dpqld running?)");
    plain_->set_option(tcp::no_delay(true), ec);
  }

  asio::io_context io_;
  std::unique_ptr<asio::ssl::context> tls_context_;
  std::unique_ptr<asio::ssl::stream<tcp::socket>> tls_;
  std::unique_ptr<tcp::socket> plain_;
  std::string buffer_;
};

HttpClient::HttpClient(Url url, bool insecure) : url_(std::move(url)), insecure_(insecure) {}

HttpClient::~HttpClient() = default;

HttpClientResponse HttpClient::Send(const std::string& method, const std::string& target,
                                    const std::string& body,
                                    const std::vector<std::pair<std::string, std::string>>& headers) {
  std::string request = method + " " + url_.path + target + " HTTP/1.1\r\n";
  bool ipv6 = url_.host.find(':') != std::string::npos;
  request += "Host: " + (ipv6 ? "[" + url_.host + "]" : url_.host) + ":" + url_.port + "\r\n";
  request += "User-Agent: dpql\r\nAccept: application/json\r\nConnection: keep-alive\r\n";
  for (const auto& [name, value] : headers) request += name + ": " + value + "\r\n";
  if (!body.empty() || method == "POST" || method == "PUT") {
    request += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  }
  request += "\r\n";
  request += body;

  for (int attempt = 0;; ++attempt) {
    bool reused = connection_ != nullptr;
    if (!connection_) connection_ = std::make_unique<Connection>(url_, insecure_);
    try {
      return Exchange(request, method == "HEAD");
    } catch (const StaleConnection& stale) {
      connection_.reset();
      if (!reused || attempt > 0) throw HttpTransportError(stale.what());
    } catch (...) {
      connection_.reset();
      throw;
    }
  }
}

HttpClientResponse HttpClient::Exchange(const std::string& request, bool head) {
  Connection& connection = *connection_;
  connection.buffer().clear();
  boost::system::error_code ec;
  connection.Write(request, ec);
  if (ec) throw StaleConnection("cannot send the request: " + ec.message());

  bool http10 = false;
  HttpClientResponse response = ParseHead(connection.ReadHead(), http10);
  std::string connection_header = LowerAscii(response.Header("connection"));
  bool keep_alive = http10 ? connection_header == "keep-alive" : connection_header != "close";

  bool no_body = head || response.status == 204 || response.status == 304 || response.status / 100 == 1;
  std::string transfer = LowerAscii(response.Header("transfer-encoding"));
  std::string length_text = response.Header("content-length");
  if (no_body) {
    // Nothing to read.
  } else if (transfer.find("chunked") != std::string::npos) {
    response.body = connection.ReadChunkedBody();
  } else if (!length_text.empty()) {
    response.body = connection.ReadSizedBody(length_text);
  } else {
    response.body = connection.ReadBodyToClose();
    keep_alive = false;
  }
  if (!keep_alive) connection_.reset();
  return response;
}

}  // namespace dpql
