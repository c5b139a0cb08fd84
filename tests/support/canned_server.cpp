#include "tests/support/canned_server.h"

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <thread>
#include <utility>

namespace dpql {

struct CannedServer::Impl {
  explicit Impl(std::vector<std::string> canned)
      : acceptor(io, {boost::asio::ip::make_address("127.0.0.1"), 0}), responses(std::move(canned)) {
    port = acceptor.local_endpoint().port();
  }

  void Serve() {
    boost::system::error_code ec;
    size_t next = 0;
    while (next < responses.size()) {
      boost::asio::ip::tcp::socket socket(io);
      acceptor.accept(socket, ec);
      if (ec) return;
      ++connections;
      boost::asio::streambuf buffer;
      while (next < responses.size()) {
        size_t n = boost::asio::read_until(socket, buffer, "\r\n\r\n", ec);
        if (ec) break;
        std::string head(boost::asio::buffers_begin(buffer.data()),
                         boost::asio::buffers_begin(buffer.data()) + n);
        buffer.consume(n);
        size_t length_at = head.find("Content-Length: ");
        size_t length = length_at == std::string::npos ? 0 : std::stoul(head.substr(length_at + 16));
        if (buffer.size() < length)
          boost::asio::read(socket, buffer, boost::asio::transfer_exactly(length - buffer.size()), ec);
        std::string body(boost::asio::buffers_begin(buffer.data()),
                         boost::asio::buffers_begin(buffer.data()) + length);
        buffer.consume(length);
        requests.push_back(head + body);
        const std::string& response = responses[next++];
        boost::asio::write(socket, boost::asio::buffer(response), ec);
        if (response.find("Connection: close") != std::string::npos) break;
      }
    }
  }

  boost::asio::io_context io;
  boost::asio::ip::tcp::acceptor acceptor;
  std::vector<std::string> responses;
  std::vector<std::string> requests;
  unsigned short port = 0;
  int connections = 0;
  std::thread thread;
};

CannedServer::CannedServer(std::vector<std::string> responses)
    : impl_(std::make_unique<Impl>(std::move(responses))) {
  impl_->thread = std::thread([impl = impl_.get()] { impl->Serve(); });
}

CannedServer::~CannedServer() { Join(); }

void CannedServer::Join() {
  if (impl_->thread.joinable()) impl_->thread.join();
}

unsigned short CannedServer::port() const { return impl_->port; }
const std::vector<std::string>& CannedServer::requests() const { return impl_->requests; }
int CannedServer::connections() const { return impl_->connections; }

}  // namespace dpql
