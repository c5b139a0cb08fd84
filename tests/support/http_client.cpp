#include "tests/support/http_client.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <optional>
#include <regex>
#include <utility>

namespace dpql {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using nlohmann::json;

// Largest response body read; the server's answers are small JSON documents.
constexpr uint64_t kMaxResponseBody = 64u << 20;

void SetTimeout(int fd, int option, std::chrono::seconds timeout) {
  if (timeout.count() <= 0) return;
  timeval tv{static_cast<time_t>(timeout.count()), 0};
  setsockopt(fd, SOL_SOCKET, option, &tv, sizeof tv);
}

tcp::endpoint Loopback(uint16_t port) { return tcp::endpoint(net::ip::make_address("127.0.0.1"), port); }

http::request<http::string_body> ToMessage(const Request& request) {
  http::request<http::string_body> message;
  message.method_string(request.method);
  message.target(request.target);
  message.version(11);
  message.set(http::field::host, "127.0.0.1");
  if (!request.authorization.empty()) {
    message.set(http::field::authorization, request.authorization);
  } else if (!request.token.empty()) {
    message.set(http::field::authorization, "Bearer " + request.token);
  }
  if (request.method == "POST" && !request.content_type.empty()) {
    message.set(http::field::content_type, request.content_type);
  }
  for (const auto& [name, value] : request.headers) message.set(name, value);
  message.body() = request.body;
  message.prepare_payload();
  return message;
}

Reply ToReply(const http::response<http::string_body>& response) {
  Reply reply;
  reply.status = static_cast<int>(response.result_int());
  reply.body = response.body();
  reply.keep_alive = response.keep_alive();
  for (const auto& field : response)
    reply.headers[std::string(field.name_string())] = std::string(field.value());
  reply.doc = json::parse(reply.body, nullptr, false);
  return reply;
}

}  // namespace

// The socket, plain or wrapped in TLS, and the read buffer that carries
// bytes over between responses on a kept-alive connection.
struct Connection::Impl {
  net::io_context ioc;
  std::optional<tcp::socket> plain;
  std::optional<net::ssl::context> tls_context;
  std::optional<beast::ssl_stream<tcp::socket>> tls;
  beast::flat_buffer buffer;

  tcp::socket& Socket() { return tls ? tls->next_layer() : *plain; }

  // Runs `f` on whichever stream this connection speaks.
  template <typename F>
  auto WithStream(F&& f) {
    return tls ? f(*tls) : f(*plain);
  }

  // `head`: the answer to a HEAD request, which has no body whatever its Content-Length says.
  Reply Read(bool head = false) {
    return WithStream([this, head](auto& stream) {
      http::response_parser<http::string_body> parser;
      parser.body_limit(kMaxResponseBody);
      parser.skip(head);
      http::read(stream, buffer, parser);
      return ToReply(parser.get());
    });
  }
};

Connection::Connection(uint16_t port, ClientTimeouts timeouts) : impl_(std::make_unique<Impl>()) {
  impl_->plain.emplace(impl_->ioc);
  impl_->plain->connect(Loopback(port));
  SetTimeout(impl_->plain->native_handle(), SO_RCVTIMEO, timeouts.receive);
  SetTimeout(impl_->plain->native_handle(), SO_SNDTIMEO, timeouts.send);
}

Connection::Connection(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

Connection Connection::Tls(uint16_t port, const std::string& ca_file, ClientTimeouts timeouts) {
  auto impl = std::make_unique<Impl>();
  impl->tls_context.emplace(net::ssl::context::tls_client);
  impl->tls_context->load_verify_file(ca_file);
  impl->tls_context->set_verify_mode(net::ssl::verify_peer);
  impl->tls.emplace(impl->ioc, *impl->tls_context);
  impl->tls->next_layer().connect(Loopback(port));
  SetTimeout(impl->tls->next_layer().native_handle(), SO_RCVTIMEO, timeouts.receive);
  SetTimeout(impl->tls->next_layer().native_handle(), SO_SNDTIMEO, timeouts.send);
  impl->tls->handshake(net::ssl::stream_base::client);
  return Connection(std::move(impl));
}

Connection::~Connection() = default;
Connection::Connection(Connection&&) noexcept = default;
Connection& Connection::operator=(Connection&&) noexcept = default;

Reply Connection::Send(const Request& request) {
  auto message = ToMessage(request);
  impl_->WithStream([&](auto& stream) { http::write(stream, message); });
  return impl_->Read(request.method == "HEAD");
}

Reply Connection::SendRaw(const std::string& bytes) {
  impl_->WithStream([&](auto& stream) { net::write(stream, net::buffer(bytes)); });
  return impl_->Read();
}

bool Connection::ClosedByServer() {
  char byte;
  beast::error_code ec;
  impl_->Socket().read_some(net::buffer(&byte, 1), ec);
  return ec == net::error::eof || ec == net::error::connection_reset;
}

Reply Call(uint16_t port, const Request& request, ClientTimeouts timeouts) {
  Connection connection(port, timeouts);
  return connection.Send(request);
}

Reply Get(uint16_t port, const std::string& target, const std::string& token) {
  return Call(port, {"GET", target, "", token, ""});
}

Reply PostBody(uint16_t port, const std::string& token, const std::string& body, const std::string& path) {
  return Call(port, {"POST", path, body, token, "", "application/json"});
}

Reply PostQuery(uint16_t port, const std::string& token, const std::string& query, const std::string& path) {
  return PostBody(port, token, json{{"query", query}}.dump(), path);
}

// ---------------------------------------------------------------------------

RawSocket::RawSocket(uint16_t port) {
  fd_ = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(port);
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  connected_ = connect(fd_, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0;
}

RawSocket::~RawSocket() { close(fd_); }

bool RawSocket::Send(const std::string& bytes) {
  size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<size_t>(n);
  }
  return true;
}

std::string RawSocket::ReadAll(std::chrono::milliseconds timeout, bool* closed) {
  std::string text;
  *closed = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return text;
    pollfd p{fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(left.count())) <= 0) return text;
    char chunk[4096];
    ssize_t n = recv(fd_, chunk, sizeof chunk, 0);
    if (n <= 0) {
      *closed = true;
      return text;
    }
    text.append(chunk, static_cast<size_t>(n));
  }
}

bool RawSocket::PeerClosed() {
  pollfd p{fd_, POLLIN, 0};
  if (poll(&p, 1, 0) <= 0) return false;
  char byte;
  ssize_t n = recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

RawReply ParseRaw(const std::string& text, bool closed) {
  RawReply reply;
  reply.text = text;
  reply.closed = closed;
  static const std::regex kStatus("^HTTP/1\\.[01] ([0-9]{3}) ");
  std::smatch match;
  if (std::regex_search(text, match, kStatus)) reply.status = std::stoi(match[1]);
  size_t end = text.find("\r\n\r\n");
  if (end != std::string::npos) {
    std::string body = text.substr(end + 4);
    static const std::regex kLength("\r\nContent-Length: ([0-9]+)\r\n", std::regex::icase);
    if (std::regex_search(text, match, kLength)) body = body.substr(0, std::stoul(match[1]));
    reply.doc = json::parse(body, nullptr, false);
  }
  return reply;
}

}  // namespace dpql
