#include "server/http_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>

#include <atomic>
#include <chrono>
#include <iostream>
#include <optional>
#include <thread>
#include <vector>

#include "compiler/common/error.h"
#include "server/pg_server.h"
#include "server/server_state.h"

namespace dpql {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

constexpr uint32_t kHeaderLimit = 16 * 1024;
// After answering a request whose body was left unread (413, malformed
// HTTP), the connection drains what the client still sends for at most this
// long and this many bytes before closing (RFC 9112 section 9.6).
constexpr auto kLingerTime = std::chrono::seconds(5);
constexpr size_t kLingerBytes = 16 * 1024 * 1024;

std::string ErrorBody(ErrorCode code, const std::string& message) {
  // Codes and messages here are fixed ASCII text: no escaping needed.
  return "{\"error\":{\"code\":\"" + std::string(Name(code)) + "\",\"kind\":\"" +
         ErrorKindName(Info(code).kind) + "\",\"message\":\"" + message + "\"}}\n";
}

}  // namespace

namespace {

template <class Stream>
constexpr bool kIsTls = !std::is_same_v<Stream, beast::tcp_stream>;

// One connection: read a request, hand it to the router, write the response,
// repeat while keep-alive. Every handler runs on the connection's strand.
template <class Stream>
class Session : public std::enable_shared_from_this<Session<Stream>> {
 public:
  Session(tcp::socket&& socket, ServerState& state) requires(!kIsTls<Stream>)
      : stream_(std::move(socket)), state_(state), hold_timer_(stream_.get_executor()) {}
  Session(tcp::socket&& socket, ServerState& state) requires(kIsTls<Stream>)
      : stream_(std::move(socket), *state.tls), state_(state), hold_timer_(stream_.get_executor()) {}

  void Start() {
    net::dispatch(stream_.get_executor(), [self = this->shared_from_this()] { self->OnStart(); });
  }

 private:
  void OnStart() {
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(state_.Timeout());
      stream_.async_handshake(ssl::stream_base::server,
                              [self = this->shared_from_this()](beast::error_code ec) {
                                if (ec) return self->Close();
                                self->DoRead();
                              });
    } else {
      DoRead();
    }
  }

  void DoRead() {
    if (state_.stopping) return Close();
    parser_.emplace();
    parser_->body_limit(state_.config.max_body_bytes);
    parser_->header_limit(kHeaderLimit);
    beast::get_lowest_layer(stream_).expires_after(state_.Timeout());
    http::async_read_header(
        stream_, buffer_, *parser_,
        [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnHeader(ec); });
  }

  void OnHeader(beast::error_code ec) {
    if (ec) return OnRead(ec);
    const auto& header = parser_->get();
    if (beast::iequals(header[http::field::expect], "100-continue")) {
      // curl sends this for larger bodies and would otherwise wait a second.
      continue_ = {http::status::continue_, header.version()};
      http::async_write(stream_, continue_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
        if (ec) return self->Close();
        self->ReadBody();
      });
      return;
    }
    ReadBody();
  }

  void ReadBody() {
    beast::get_lowest_layer(stream_).expires_after(state_.Timeout());
    http::async_read(stream_, buffer_, *parser_,
                     [self = this->shared_from_this()](beast::error_code ec, size_t) { self->OnRead(ec); });
  }

  void OnRead(beast::error_code ec) {
    if (ec == http::error::body_limit) {
      // The header is complete (Beast checks Content-Length once all fields
      // are read, and a chunked body only while reading it): let the router
      // refuse it with 413 and an audit row, then close — the body is unread.
      HttpRequest request = ToRequest(parser_->get(), false);
      request.body_too_large = true;
      unread_input_ = true;
      return Dispatch(std::move(request), false, parser_->get().version());
    }
    if (ec == http::error::end_of_stream || ec == beast::error::timeout ||
        ec == net::error::operation_aborted || ec == net::error::connection_reset || ec == net::error::eof ||
        ec == net::ssl::error::stream_truncated) {
      return Close();
    }
    if (ec) {
      // Not HTTP (or a header over the limit): answer once, then close.
      bool header_limit = ec == http::error::header_limit;
      unread_input_ = true;
      return WriteDirect(Info(header_limit ? ErrorCode::kHeaderTooLarge : ErrorCode::kBadRequest).http_status,
                         header_limit
                             ? ErrorBody(ErrorCode::kHeaderTooLarge, "the request headers exceed 16 KiB")
                             : ErrorBody(ErrorCode::kBadRequest, "the request is not valid HTTP/1.1"));
    }
    auto& message = parser_->get();
    bool keep_alive = message.keep_alive();
    unsigned version = message.version();
    Dispatch(ToRequest(message, true), keep_alive, version);
  }

  static HttpRequest ToRequest(http::request<http::string_body>& message, bool with_body) {
    HttpRequest request;
    request.method = std::string(message.method_string());
    request.target = std::string(message.target());
    request.authorization = std::string(message[http::field::authorization]);
    request.accept_encoding = std::string(message[http::field::accept_encoding]);
    request.if_none_match = std::string(message[http::field::if_none_match]);
    request.project = std::string(message["DPQL-Project"]);
    if (with_body) request.body = std::move(message.body());
    return request;
  }

  void Dispatch(HttpRequest request, bool keep_alive, unsigned version) {
    keep_alive_ = keep_alive;
    version_ = version;
    head_ = request.method == "HEAD";
    ++state_.in_flight;
    beast::get_lowest_layer(stream_).expires_never();  // the request is ours now
    if (Router::IsInline(request)) return Write(state_.router.Handle(request));
    if (state_.queued.load() >= state_.config.db_pool * kQueuedPerWorker) {
      HttpResponse busy;
      busy.status = Info(ErrorCode::kServerBusy).http_status;
      busy.body =
          ErrorBody(ErrorCode::kServerBusy, "the server has too many requests waiting; retry shortly");
      busy.headers.emplace_back("Retry-After", "1");
      return Write(std::move(busy));
    }
    ++state_.queued;
    net::post(state_.workers, [self = this->shared_from_this(), request = std::move(request)] {
      HttpResponse response = self->state_.router.Handle(request);  // never throws
      --self->state_.queued;
      net::post(self->stream_.get_executor(), [self, response = std::move(response)]() mutable {
        self->WriteWhenDue(std::move(response));
      });
    });
  }

  // A failed query's answer is held until its time (Router: HttpResponse::
  // not_before) on a timer, so holding it takes no worker thread. A server
  // that is stopping answers at once.
  void WriteWhenDue(HttpResponse response) {
    if (!response.not_before || state_.stopping || *response.not_before <= std::chrono::steady_clock::now()) {
      return Write(std::move(response));
    }
    hold_timer_.expires_at(*response.not_before);
    hold_timer_.async_wait([self = this->shared_from_this(), response = std::move(response)](
                               beast::error_code) mutable { self->Write(std::move(response)); });
  }

  void Write(HttpResponse response) {
    try {
      response_ = {};
      response_.version(version_);
      response_.result(static_cast<unsigned>(response.status));
      response_.set(http::field::server, "dpqld");
      if (!response.content_type.empty()) response_.set(http::field::content_type, response.content_type);
      response_.set(http::field::cache_control, "no-store");
      // The API's answers are data, never a page: no sniffing, no framing.
      // The console's files replace these with their own (server/console.cpp).
      response_.set("X-Content-Type-Options", "nosniff");
      response_.set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'");
      for (const auto& [name, value] : response.headers) response_.set(name, value);
      response_.keep_alive(keep_alive_ && !state_.stopping);
      response_.body() = std::move(response.body);
      // A 304 has no body and no Content-Length (it would describe the 200's).
      if (response_.result() != http::status::not_modified) response_.prepare_payload();
      // HEAD: the headers GET would send (Content-Length included), no body.
      if (head_) response_.body().clear();
    } catch (const std::exception& e) {
      std::cerr << "dpqld: cannot build a response: " << e.what() << std::endl;
      --state_.in_flight;
      return Close();
    }
    beast::get_lowest_layer(stream_).expires_after(state_.Timeout());
    http::async_write(stream_, response_, [self = this->shared_from_this()](beast::error_code ec, size_t) {
      --self->state_.in_flight;
      if (!ec && self->unread_input_) return self->Linger();
      if (ec || !self->response_.keep_alive()) return self->Close();
      self->DoRead();
    });
  }

  // A response the router never saw (malformed HTTP); the connection closes after it.
  void WriteDirect(int status, std::string body) {
    keep_alive_ = false;
    head_ = false;
    ++state_.in_flight;
    HttpResponse response;
    response.status = status;
    response.body = std::move(body);
    Write(std::move(response));
  }

  // Closing a socket with unread input makes the kernel reset the connection,
  // which can discard the response before the client has read it and fails
  // the client's write (EPIPE) while it is still sending the body. So stop
  // sending, then read and drop the rest for a bounded time, then close.
  void Linger() {
    if constexpr (!kIsTls<Stream>) {
      beast::error_code ignored;
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    }
    beast::get_lowest_layer(stream_).expires_after(kLingerTime);
    drain_.resize(16 * 1024);
    DrainSome();
  }

  void DrainSome() {
    stream_.async_read_some(net::buffer(drain_),
                            [self = this->shared_from_this()](beast::error_code ec, size_t bytes) {
                              self->drained_ += bytes;
                              if (ec || self->drained_ > kLingerBytes || self->state_.stopping)
                                return self->Close();
                              self->DrainSome();
                            });
  }

  void Close() {
    beast::error_code ignored;
    if constexpr (kIsTls<Stream>) {
      beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(5));
      stream_.async_shutdown([self = this->shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(self->stream_).socket().close(ignored);
      });
    } else {
      stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
      stream_.socket().close(ignored);
    }
  }

  Stream stream_;
  ServerState& state_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  http::response<http::empty_body> continue_;
  http::response<http::string_body> response_;
  net::steady_timer hold_timer_;
  bool keep_alive_ = false;
  bool head_ = false;  // the request being answered is a HEAD
  unsigned version_ = 11;
  bool unread_input_ = false;  // the client may still be sending: Linger() before closing
  std::vector<char> drain_;
  size_t drained_ = 0;
};

}  // namespace

struct HttpServer::Impl {
  Impl(const ServerConfig& config, Router& router) : state(config, router), acceptor(state.ioc) {
    if (config.pg_enabled) pg = std::make_unique<PgServer>(state);
  }

  void Accept() {
    acceptor.async_accept(net::make_strand(state.ioc), [this](beast::error_code ec, tcp::socket socket) {
      if (ec) {
        if (state.stopping || !acceptor.is_open()) return;
        std::cerr << "dpqld: accept failed: " << ec.message() << std::endl;
      } else if (state.tls) {
        std::make_shared<Session<beast::ssl_stream<beast::tcp_stream>>>(std::move(socket), state)->Start();
      } else {
        std::make_shared<Session<beast::tcp_stream>>(std::move(socket), state)->Start();
      }
      Accept();
    });
  }

  // Runs on the io_context: stop accepting, then wait for in-flight requests.
  void BeginShutdown() {
    if (state.stopping.exchange(true)) return;
    std::cerr << "dpqld: shutting down; finishing " << state.in_flight.load() << " request(s) in flight"
              << std::endl;
    beast::error_code ignored;
    acceptor.close(ignored);
    if (pg) pg->Close();
    signals.cancel(ignored);
    drain_deadline = std::chrono::steady_clock::now() + state.Timeout();
    Drain();
  }

  void Drain() {
    if (state.in_flight.load() == 0 || std::chrono::steady_clock::now() >= drain_deadline) {
      if (state.in_flight.load() != 0) {
        std::cerr << "dpqld: gave up waiting for " << state.in_flight.load() << " request(s)" << std::endl;
      }
      state.ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(20));
    drain_timer.async_wait([this](beast::error_code) { Drain(); });
  }

  ServerState state;
  tcp::acceptor acceptor;
  std::unique_ptr<PgServer> pg;  // the PostgreSQL front end, when `listen_pg` is set
  net::signal_set signals{state.ioc, SIGINT, SIGTERM};
  net::steady_timer drain_timer{state.ioc};
  std::chrono::steady_clock::time_point drain_deadline;
};

HttpServer::HttpServer(const ServerConfig& config, Router& router)
    : impl_(std::make_unique<Impl>(config, router)) {}

HttpServer::~HttpServer() {
  impl_->state.workers.stop();
  impl_->state.workers.join();
}

void HttpServer::Listen() {
  ServerState& state = impl_->state;
  const ServerConfig& config = state.config;
  if (config.Tls()) {
    try {
      state.tls.emplace(ssl::context::tls_server);
      state.tls->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                             ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                             ssl::context::single_dh_use);
      state.tls->use_certificate_chain_file(config.tls_cert);
      state.tls->use_private_key_file(config.tls_key, ssl::context::pem);
    } catch (const std::exception& e) {
      throw DpqlError(ErrorCode::kTlsError, "cannot load TLS certificate " + config.tls_cert + " / key " +
                                                config.tls_key + ": " + e.what() +
                                                "; both must be PEM files readable by dpqld");
    }
  }
  BindAndListen(impl_->acceptor, config.listen_host, config.listen_port, Url(), "127.0.0.1, 0.0.0.0 or ::1");
  if (impl_->pg) impl_->pg->Listen();
}

void BindAndListen(tcp::acceptor& acceptor, const std::string& host, uint16_t port, const std::string& what,
                   const std::string& host_hint) {
  beast::error_code ec;
  auto address = net::ip::make_address(host, ec);
  if (ec) {
    throw DpqlError(ErrorCode::kListenFailed,
                    "cannot listen on '" + host + "': not an IP address; use e.g. " + host_hint);
  }
  tcp::endpoint endpoint(address, port);
  auto fail = [&](const char* step) {
    throw DpqlError(ErrorCode::kListenFailed, "cannot listen on " + what + " (" + step + "): " + ec.message());
  };
  acceptor.open(endpoint.protocol(), ec);
  if (ec) fail("open");
  acceptor.set_option(net::socket_base::reuse_address(true), ec);
  if (ec) fail("set_option");
  acceptor.bind(endpoint, ec);
  if (ec) fail("bind");
  acceptor.listen(net::socket_base::max_listen_connections, ec);
  if (ec) fail("listen");
}

std::optional<uint16_t> HttpServer::pg_port() const {
  if (!impl_->pg) return std::nullopt;
  return impl_->pg->port();
}

uint16_t HttpServer::port() const {
  beast::error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->state.config.listen_port : endpoint.port();
}

std::string HttpServer::Url() const {
  const ServerConfig& config = impl_->state.config;
  std::string host =
      config.listen_host.find(':') != std::string::npos ? "[" + config.listen_host + "]" : config.listen_host;
  return std::string(config.Tls() ? "https" : "http") + "://" + host + ":" + std::to_string(port());
}

void HttpServer::Run() {
  Impl& impl = *impl_;
  impl.signals.async_wait([&impl](beast::error_code ec, int) {
    if (!ec) impl.BeginShutdown();
  });
  impl.Accept();
  if (impl.pg) impl.pg->Accept();
  std::vector<std::thread> threads;
  for (int i = 1; i < impl.state.config.threads; ++i) {
    threads.emplace_back([&impl] { impl.state.ioc.run(); });
  }
  impl.state.ioc.run();
  for (auto& thread : threads) thread.join();
  // Requests still queued after the bounded wait are dropped; running ones finish.
  impl.state.workers.stop();
  impl.state.workers.join();
}

void HttpServer::Stop() {
  net::post(impl_->state.ioc, [impl = impl_.get()] { impl->BeginShutdown(); });
}

}  // namespace dpql
