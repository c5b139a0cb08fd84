#include "server/pg_server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/ssl.hpp>
#include <openssl/crypto.h>
#include <openssl/hmac.h>

#include <array>
#include <atomic>
#include <cctype>
#include <cstring>
#include <functional>
#include <iostream>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <vector>

#include "compiler/common/error.h"
#include "compiler/common/text.h"
#include "runtime/ledger/scram.h"
#include "runtime/ledger/tokens.h"
#include "server/pg_catalog_answers.h"
#include "server/pg_protocol.h"
#include "server/pg_text.h"
#include "server/server_state.h"

namespace dpql {

namespace {

namespace beast = boost::beast;
using tcp = net::ip::tcp;
using json = nlohmann::json;
using namespace pgwire;  // NOLINT: this file speaks the protocol

// What the session reports as the server's version: clients (psql, JDBC)
// read the number to choose how they talk; DPQL speaks as PostgreSQL 15.
constexpr const char* kServerVersion = "15.0 (DPQL)";
constexpr size_t kReadChunk = 16 * 1024;
// Authentication messages are small; anything bigger is refused unread.
constexpr size_t kMaxAuthMessageBytes = 8 * 1024;
// After a FATAL, at most this much of what the client still sends is read and dropped.
constexpr size_t kMaxDrainBytes = 4 * 1024 * 1024;

int32_t RandomInt32() {
  const std::string bytes = scram::RandomBytes(sizeof(int32_t));
  int32_t value = 0;
  std::memcpy(&value, bytes.data(), sizeof value);
  return value;
}

ErrorFields Error(std::string sqlstate, std::string message, std::string hint = "", std::string severity = "ERROR") {
  ErrorFields fields;
  fields.severity = std::move(severity);
  fields.sqlstate = std::move(sqlstate);
  fields.message = std::move(message);
  fields.hint = std::move(hint);
  return fields;
}

// A JSON number or decimal string of the API, as text.
std::string Decimal(const json& value) {
  if (value.is_string()) return value.get<std::string>();
  if (value.is_null()) return "0";
  return value.dump();
}

// The settings a session has, with their defaults. `dpql.*` are DPQL's;
// the rest are what drivers set or ask for on connect, kept so SHOW answers.
struct Setting {
  const char* name;
  const char* default_value;
  bool reported;  // sent as ParameterStatus on connect and when SET
};
constexpr Setting kSettings[] = {
    {"dpql.confidence", "", false},  // "": the catalog's default
    {"dpql.dataset", "", false},
    {"dpql.epsilon", "", false},  // "": the catalog's default
    {"dpql.intervals", "off", false},
    {"dpql.project", "", false},
    {"application_name", "", true},
    {"client_encoding", "UTF8", true},
    {"datestyle", "ISO, MDY", true},
    {"default_transaction_read_only", "on", true},
    {"extra_float_digits", "1", false},
    {"integer_datetimes", "on", true},
    {"intervalstyle", "postgres", true},
    {"is_superuser", "off", true},
    {"search_path", "public", false},
    {"server_encoding", "UTF8", true},
    {"server_version", kServerVersion, true},
    {"standard_conforming_strings", "on", true},
    {"statement_timeout", "0", false},
    {"timezone", "UTC", true},
    {"transaction_isolation", "read committed", false},
};
// Settings a client may not change (SET refuses them).
bool ReadOnlySetting(std::string_view name) {
  return name == "server_version" || name == "server_encoding" || name == "integer_datetimes" ||
         name == "is_superuser" || name == "default_transaction_read_only" || name == "standard_conforming_strings";
}
// The name PostgreSQL reports a setting under (ParameterStatus is case-sensitive for clients).
std::string ReportedName(std::string_view name) {
  if (name == "datestyle") return "DateStyle";
  if (name == "timezone") return "TimeZone";
  if (name == "intervalstyle") return "IntervalStyle";
  return std::string(name);
}

}  // namespace

class PgSession;

struct PgServer::Impl : std::enable_shared_from_this<PgServer::Impl> {
  explicit Impl(ServerState& state) : state(state), acceptor(state.ioc), mock_secret(scram::RandomBytes(32)) {}

  void Accept();
  // Counts a new session; false when `pg_max_connections` are open.
  bool Admit() {
    std::lock_guard lock(mutex);
    if (sessions >= state.config.pg_max_connections) return false;
    ++sessions;
    return true;
  }
  void Leave() {
    std::lock_guard lock(mutex);
    --sessions;
  }
  bool AdmitAnalyst(const std::string& name) {
    std::lock_guard lock(mutex);
    int& open = per_analyst[name];
    if (open >= state.config.pg_max_connections_per_analyst) return false;
    ++open;
    return true;
  }
  void LeaveAnalyst(const std::string& name) {
    std::lock_guard lock(mutex);
    if (--per_analyst[name] <= 0) per_analyst.erase(name);
  }
  // A fresh (process id, secret key) for a session's cancel requests.
  std::pair<int32_t, int32_t> Register(const std::shared_ptr<PgSession>& session) {
    std::lock_guard lock(mutex);
    int32_t pid = next_pid++;
    if (next_pid <= 0) next_pid = 1;
    int32_t secret = RandomInt32();
    keys[pid] = {secret, session};
    return {pid, secret};
  }
  void Unregister(int32_t pid) {
    std::lock_guard lock(mutex);
    keys.erase(pid);
  }
  void Cancel(int32_t pid, int32_t secret);

  // The verifier an unknown analyst (or one without a verifier) is answered
  // with: its salt is fixed per name, so a repeated attempt cannot tell an
  // unknown name from a known one, and its keys match no proof.
  scram::Verifier MockVerifier(const std::string& user) const {
    unsigned char mac[32];
    unsigned int size = 0;
    HMAC(EVP_sha256(), mock_secret.data(), static_cast<int>(mock_secret.size()),
         reinterpret_cast<const unsigned char*>(user.data()), user.size(), mac, &size);
    scram::Verifier verifier;
    verifier.salt.assign(reinterpret_cast<const char*>(mac), 16);
    std::string keys = scram::RandomBytes(64);
    std::copy(keys.begin(), keys.begin() + 32, verifier.stored_key.begin());
    std::copy(keys.begin() + 32, keys.end(), verifier.server_key.begin());
    return verifier;
  }

  ServerState& state;
  tcp::acceptor acceptor;
  std::string mock_secret;
  std::mutex mutex;
  int sessions = 0;
  std::map<std::string, int> per_analyst;
  struct Key {
    int32_t secret;
    std::weak_ptr<PgSession> session;
  };
  std::map<int32_t, Key> keys;
  int32_t next_pid = 1;
};

// One client connection: the startup phase (TLS negotiation, the startup
// packet, authentication), then messages until Terminate. Every handler runs
// on the connection's strand; database work runs on the shared workers.
class PgSession : public std::enable_shared_from_this<PgSession> {
 public:
  PgSession(tcp::socket&& socket, std::shared_ptr<PgServer::Impl> server)
      : plain_(std::move(socket)), server_(std::move(server)), state_(server_->state), reader_(kMaxAuthMessageBytes),
        hold_timer_(plain_.get_executor()) {
    for (const Setting& setting : kSettings) settings_[setting.name] = setting.default_value;
  }

  ~PgSession() {
    if (admitted_) server_->Leave();
    if (analyst_counted_) server_->LeaveAnalyst(analyst_);
    if (pid_ != 0) server_->Unregister(pid_);
  }

  void Start() {
    net::dispatch(plain_.get_executor(), [self = shared_from_this()] {
      if (!self->server_->Admit()) {
        return self->Fatal(Error("53300", "sorry, too many clients already",
                                 "the server's pg_max_connections (" +
                                     std::to_string(self->state_.config.pg_max_connections) +
                                     ") are open; retry shortly"));
      }
      self->admitted_ = true;
      self->ReadSome();
    });
  }

  // From a CancelRequest on another connection (any thread).
  void Cancel() { cancel_.store(true); }

 private:
  enum class Phase { kStartup, kSasl, kSaslFinal, kPassword, kReady, kClosed };
  // The result of one statement, before it is written.
  struct Result {
    std::optional<ErrorFields> error;
    bool empty = false;             // EmptyQueryResponse
    bool returns_rows = false;      // a RowDescription describes it
    std::vector<FieldDescription> fields;
    std::vector<std::vector<json>> rows;
    std::string tag;
    std::vector<ErrorFields> notices;
    std::vector<std::pair<std::string, std::string>> parameter_status;  // settings changed
  };
  struct Statement {
    std::string query;
    std::vector<uint32_t> parameter_types;
  };
  struct Portal {
    std::string query;      // with the parameters bound
    bool bound_text = false;  // parameters were substituted: error positions no longer match the client's text
    std::vector<int16_t> result_formats;
    std::optional<Result> result;
    bool done = false;
  };

  beast::tcp_stream& Lowest() { return tls_ ? beast::get_lowest_layer(*tls_) : plain_; }

  // ---- I/O ----------------------------------------------------------------

  void ReadSome() {
    if (phase_ == Phase::kClosed) return;
    if (phase_ == Phase::kReady) {
      // The idle timeout is this session's own timer, not the stream's: a
      // stream timeout closes the socket, and the client would never read
      // why. The timer cancels the read instead, and the FATAL is sent.
      Lowest().expires_never();
      idle_timer_.expires_after(std::chrono::milliseconds(state_.config.pg_idle_timeout_ms));
      idle_timer_.async_wait([self = shared_from_this()](beast::error_code ec) {
        if (ec || self->phase_ != Phase::kReady) return;
        self->idle_expired_ = true;
        beast::error_code ignored;
        self->Lowest().socket().cancel(ignored);
      });
    } else {
      Lowest().expires_after(state_.Timeout());
    }
    auto handler = [self = shared_from_this()](beast::error_code ec, size_t bytes) { self->OnRead(ec, bytes); };
    if (tls_) {
      tls_->async_read_some(net::buffer(chunk_), std::move(handler));
    } else {
      plain_.async_read_some(net::buffer(chunk_), std::move(handler));
    }
  }

  void OnRead(beast::error_code ec, size_t bytes) {
    idle_timer_.cancel();
    if (ec) {
      if (idle_expired_ && phase_ == Phase::kReady) {
        return Fatal(Error("57P05", "terminating connection due to idle-session timeout",
                           "the session was idle for pg_idle_timeout_ms; reconnect"));
      }
      return Close();
    }
    Lowest().expires_never();
    if (phase_ == Phase::kStartup) {
      startup_.append(chunk_.data(), bytes);
      return ProcessStartup();
    }
    reader_.Feed(std::string_view(chunk_.data(), bytes));
    Process();
  }

  // Writes what is buffered, then runs `then` (or closes on a write error).
  void Flush(std::function<void()> then) {
    if (out_.empty()) return then();
    writing_ = std::move(out_);
    out_.clear();
    Lowest().expires_after(state_.Timeout());
    auto handler = [self = shared_from_this(), then = std::move(then)](beast::error_code ec, size_t) {
      self->Lowest().expires_never();
      if (ec) return self->Close();
      then();
    };
    if (tls_) {
      net::async_write(*tls_, net::buffer(writing_), std::move(handler));
    } else {
      net::async_write(plain_, net::buffer(writing_), std::move(handler));
    }
  }

  // An error that ends the session: written, then the connection closes.
  void Fatal(ErrorFields fields) {
    if (phase_ == Phase::kClosed) return;
    fields.severity = "FATAL";
    out_ += ErrorResponse(fields);
    phase_ = Phase::kClosed;
    Flush([self = shared_from_this()] { self->Linger(); });
  }

  // Closing with unread input would reset the connection and could discard
  // the FATAL before the client reads it: stop sending, drain what the client
  // still sends for a bounded time, then close.
  void Linger() {
    if (tls_) return CloseSocket();
    beast::error_code ignored;
    plain_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    plain_.expires_after(std::chrono::seconds(2));
    DrainSome();
  }

  void DrainSome() {
    plain_.async_read_some(net::buffer(chunk_), [self = shared_from_this()](beast::error_code ec, size_t bytes) {
      self->drained_ += bytes;
      if (ec || self->drained_ > kMaxDrainBytes) return self->CloseSocket();
      self->DrainSome();
    });
  }

  void Close() {
    phase_ = Phase::kClosed;
    CloseSocket();
  }

  void CloseSocket() {
    beast::error_code ignored;
    if (tls_) {
      beast::get_lowest_layer(*tls_).expires_after(std::chrono::seconds(2));
      tls_->async_shutdown([self = shared_from_this()](beast::error_code) {
        beast::error_code ignored;
        beast::get_lowest_layer(*self->tls_).socket().close(ignored);
      });
    } else {
      plain_.socket().shutdown(tcp::socket::shutdown_both, ignored);
      plain_.socket().close(ignored);
    }
  }

  // Runs `work` on a database worker, then `done` on this strand. False (and
  // nothing runs) when the workers' queue is full.
  bool OnWorker(std::function<void()> work, std::function<void()> done) {
    if (state_.queued.load() >= state_.config.db_pool * kQueuedPerWorker) return false;
    ++state_.queued;
    ++state_.in_flight;
    busy_ = true;
    net::post(state_.workers, [self = shared_from_this(), work = std::move(work), done = std::move(done)]() mutable {
      work();
      --self->state_.queued;
      net::post(self->plain_executor_, [self, done = std::move(done)] {
        --self->state_.in_flight;
        self->busy_ = false;
        done();
      });
    });
    return true;
  }

  // ---- Startup --------------------------------------------------------------

  void ProcessStartup() {
    if (startup_.size() < 4) return ReadSome();
    const int32_t length = ReadInt32(startup_, 0);
    if (length < 8 || static_cast<size_t>(length) > kMaxStartupPacketBytes) {
      return Fatal(Error("08P01", "invalid length of startup packet (" + std::to_string(length) +
                                      " bytes); this port speaks PostgreSQL's protocol 3.0",
                         "connect with a PostgreSQL client, e.g. psql \"host=... port=5433 dbname=hospital\""));
    }
    if (startup_.size() < static_cast<size_t>(length)) return ReadSome();
    const std::string body = startup_.substr(4, static_cast<size_t>(length) - 4);
    startup_.erase(0, static_cast<size_t>(length));
    StartupPacket packet;
    try {
      packet = ParseStartupPacket(body);
    } catch (const ProtocolError& error) {
      return Fatal(Error("08P01", error.what()));
    }
    switch (packet.kind) {
      case StartupPacket::Kind::kSslRequest: return OnSslRequest();
      case StartupPacket::Kind::kGssEncRequest:
        // No GSSAPI encryption: 'N', and the client goes on (to TLS or not).
        out_ += "N";
        return Flush([self = shared_from_this()] { self->ProcessStartup(); });
      case StartupPacket::Kind::kCancelRequest:
        server_->Cancel(packet.cancel_process_id, packet.cancel_secret_key);
        return Close();  // a cancel request gets no answer
      case StartupPacket::Kind::kStartup: return OnStartup(packet);
    }
  }

  void OnSslRequest() {
    if (tls_) return Fatal(Error("08P01", "SSLRequest inside a TLS session"));
    // Bytes sent after the request and before the handshake would be read as
    // if they had come over TLS: refuse them (CVE-2021-23214).
    if (!startup_.empty()) return Fatal(Error("08P01", "unexpected data after an SSLRequest"));
    if (!state_.tls) {
      out_ += "N";
      return Flush([self = shared_from_this()] { self->ReadSome(); });
    }
    out_ += "S";
    Flush([self = shared_from_this()] {
      self->tls_.emplace(std::move(self->plain_), *self->state_.tls);
      self->Lowest().expires_after(self->state_.Timeout());
      self->tls_->async_handshake(net::ssl::stream_base::server, [self](beast::error_code ec) {
        if (ec) {
          self->phase_ = Phase::kClosed;
          beast::error_code ignored;
          beast::get_lowest_layer(*self->tls_).socket().close(ignored);
          return;
        }
        self->Lowest().expires_never();
        self->ReadSome();
      });
    });
  }

  void OnStartup(const StartupPacket& packet) {
    if (state_.config.pg_require_tls && !tls_) {
      return Fatal(Error("28000", "this server accepts PostgreSQL sessions only over TLS",
                         "connect with sslmode=require"));
    }
    user_ = packet.parameters.at("user");
    auto database = packet.parameters.find("database");
    database_ = database == packet.parameters.end() ? user_ : database->second;
    if (auto name = packet.parameters.find("application_name"); name != packet.parameters.end()) {
      settings_["application_name"] = name->second;
    }
    reader_ = MessageReader(kMaxAuthMessageBytes);
    reader_.Feed(startup_);
    startup_.clear();
    if (tls_) {
      // The token itself, over TLS only: it works for every analyst.
      phase_ = Phase::kPassword;
      out_ += AuthenticationCleartextPassword();
    } else {
      phase_ = Phase::kSasl;
      out_ += AuthenticationSasl({"SCRAM-SHA-256"});
    }
    Process();
  }

  void OnSaslInitial(const FrontendMessage& message) {
    if (message.type != 'p') return Fatal(Error("08P01", "expected a SASLInitialResponse message"));
    std::string mechanism, data;
    try {
      BodyReader reader(message.body, "SASLInitialResponse");
      mechanism = reader.CString();
      int32_t length = reader.Int32();
      if (length < 0) throw ProtocolError("SASLInitialResponse without its data");
      data = reader.Bytes(static_cast<size_t>(length));
      reader.ExpectEnd();
    } catch (const ProtocolError& error) {
      return Fatal(Error("08P01", error.what()));
    }
    if (mechanism != "SCRAM-SHA-256") {
      return Fatal(Error("28000", "SASL mechanism " + mechanism.substr(0, 40) + " is not offered",
                         "DPQL offers SCRAM-SHA-256"));
    }
    auto login = std::make_shared<std::optional<Login>>();
    const bool posted = OnWorker([self = shared_from_this(), login] { *login = self->state_.router.FindLogin(self->user_); },
                                 [self = shared_from_this(), login, data] {
                                   self->ContinueScram(*login, data);
                                   self->Process();
                                 });
    if (!posted) return Busy();
  }

  void ContinueScram(const std::optional<Login>& login, const std::string& client_first) {
    const bool usable = login && !login->analyst.revoked && login->verifier;
    if (usable) {
      login_ = login->analyst;
      token_hash_ = login->token_hash;
    }
    scram_.emplace(usable ? *login->verifier : server_->MockVerifier(user_), scram::ServerExchange::NewNonce());
    if (!usable) {
      login_failure_ = !login                     ? "unknown analyst"
                       : login->analyst.revoked ? "revoked analyst"
                                                : "no SCRAM verifier (token created before schema version 5)";
    }
    try {
      out_ += AuthenticationSaslContinue(scram_->ClientFirst(client_first));
    } catch (const scram::ScramError& error) {
      return Fatal(Error("08P01", error.what()));
    }
    phase_ = Phase::kSaslFinal;
  }

  void OnSaslFinal(const FrontendMessage& message) {
    if (message.type != 'p') return Fatal(Error("08P01", "expected a SASLResponse message"));
    std::optional<std::string> server_final;
    try {
      server_final = scram_->ClientFinal(message.body);
    } catch (const scram::ScramError& error) {
      return Fatal(Error("08P01", error.what()));
    }
    if (!server_final || !login_failure_.empty()) {
      return LoginFailed(login_failure_.empty() ? "wrong password (SCRAM proof)" : login_failure_);
    }
    out_ += AuthenticationSaslFinal(*server_final);
    LoggedIn(*login_);
  }

  void OnPassword(const FrontendMessage& message) {
    if (message.type != 'p') return Fatal(Error("08P01", "expected a PasswordMessage"));
    std::string token;
    try {
      BodyReader reader(message.body, "PasswordMessage");
      token = reader.CString();
      reader.ExpectEnd();
    } catch (const ProtocolError& error) {
      return Fatal(Error("08P01", error.what()));
    }
    auto analyst = std::make_shared<std::optional<Analyst>>();
    const bool posted = OnWorker(
        [self = shared_from_this(), analyst, token] { *analyst = self->state_.router.AuthenticateToken(token); },
        [self = shared_from_this(), analyst, token] {
          if (!*analyst || (*analyst)->name != self->user_) {
            return self->LoginFailed(*analyst ? "the token is another analyst's" : "unknown or revoked token");
          }
          self->token_hash_ = Sha256Hex(token);
          self->LoggedIn(**analyst);
          self->Process();
        });
    if (!posted) return Busy();
  }

  void LoginFailed(const std::string& reason) {
    // The audit row first (its write is the only wait), then the refusal.
    phase_ = Phase::kClosed;
    const bool posted = OnWorker(
        [self = shared_from_this(), reason] {
          self->state_.router.AuditLogin(self->user_, std::nullopt, "unauthorized", "pg login refused: " + reason);
        },
        [self = shared_from_this()] {
          self->phase_ = Phase::kPassword;  // so Fatal writes
          self->Fatal(Error("28P01", "password authentication failed for user \"" + self->user_.substr(0, 63) + "\"",
                            "the password is the analyst's bearer token; an analyst whose token predates this "
                            "server needs `dpqld admin new-token NAME`, or a TLS connection"));
        });
    if (!posted) {
      phase_ = Phase::kPassword;
      Busy();
    }
  }

  void LoggedIn(const Analyst& analyst) {
    const Catalog& catalog = state_.router.catalog();
    const Dataset* dataset = catalog.FindDataset(database_);
    if (dataset == nullptr && database_ == user_ && catalog.datasets.size() == 1) dataset = &catalog.datasets[0];
    if (dataset == nullptr) {
      std::string names;
      for (const Dataset& known : catalog.datasets) names += (names.empty() ? "" : ", ") + known.name;
      return Fatal(Error("3D000", "database \"" + database_.substr(0, 63) + "\" does not exist: DPQL serves the datasets " + names,
                         "connect with dbname=" + (catalog.datasets.empty() ? "DATASET" : catalog.datasets[0].name)));
    }
    if (!server_->AdmitAnalyst(analyst.name)) {
      return Fatal(Error("53300", "too many connections for analyst \"" + analyst.name + "\"",
                         "close another session (the limit is pg_max_connections_per_analyst = " +
                             std::to_string(state_.config.pg_max_connections_per_analyst) + ")"));
    }
    analyst_counted_ = true;
    analyst_ = analyst.name;
    settings_["dpql.dataset"] = dataset->name;
    // The audit row of the login is written beside the session's start.
    if (state_.queued.load() < state_.config.db_pool * kQueuedPerWorker) {
      ++state_.queued;
      net::post(state_.workers, [self = shared_from_this(), analyst] {
        self->state_.router.AuditLogin(analyst.name, analyst, "ok",
                                       std::string("pg login (") + (self->tls_ ? "TLS, password" : "SCRAM-SHA-256") + ")");
        --self->state_.queued;
      });
    }
    out_ += AuthenticationOk();
    for (const Setting& setting : kSettings) {
      if (setting.reported) out_ += ParameterStatus(ReportedName(setting.name), settings_[setting.name]);
    }
    out_ += ParameterStatus("session_authorization", analyst.name);
    auto [pid, secret] = server_->Register(shared_from_this());
    pid_ = pid;
    out_ += BackendKeyData(pid, secret);
    out_ += ReadyForQuery('I');
    phase_ = Phase::kReady;
    reader_ = MessageReader(state_.config.max_body_bytes);
  }

  void Busy() {
    Fatal(Error("53300", "the server has too many requests waiting", "retry shortly"));
  }

  // ---- Messages -------------------------------------------------------------

  void Process() {
    while (!busy_ && phase_ != Phase::kClosed) {
      std::optional<FrontendMessage> message;
      try {
        message = reader_.Next();
      } catch (const ProtocolError& error) {
        const bool too_long = std::string_view(error.what()).find("over this server's limit") != std::string_view::npos;
        return Fatal(Error(too_long ? "54000" : "08P01", error.what(),
                           too_long ? "a DPQL query is short; max_body_bytes in dpqld.yaml sets the limit" : ""));
      }
      if (!message) {
        return Flush([self = shared_from_this()] { self->ReadSome(); });
      }
      switch (phase_) {
        case Phase::kSasl: OnSaslInitial(*message); break;
        case Phase::kSaslFinal: OnSaslFinal(*message); break;
        case Phase::kPassword: OnPassword(*message); break;
        case Phase::kReady: OnMessage(*message); break;
        default: return;
      }
    }
  }

  void OnMessage(const FrontendMessage& message) {
    if (state_.stopping) {
      return Fatal(Error("57P01", "terminating connection due to administrator command", "dpqld is shutting down"));
    }
    if (message.type == 'X') return Close();
    if (skipping_ && message.type != 'S') return;  // after an error, until Sync
    try {
      switch (message.type) {
        case 'Q': return OnQuery(message);
        case 'P': return OnParse(message);
        case 'B': return OnBind(message);
        case 'D': return OnDescribe(message);
        case 'E': return OnExecute(message);
        case 'C': return OnClose(message);
        case 'S': return OnSync();
        case 'H':
          if (out_.empty()) return;
          busy_ = true;
          return Flush([self = shared_from_this()] {
            self->busy_ = false;
            self->Process();
          });
        case 'F': throw SqlStateError("0A000", "function calls are not supported", "send DPQL queries");
        case 'd':
        case 'c':
        case 'f': throw SqlStateError("0A000", "COPY is not supported: DPQL releases only noisy aggregates");
        default:
          return Fatal(Error("08P01", std::string("unexpected message type '") +
                                          (std::isprint(static_cast<unsigned char>(message.type)) ? std::string(1, message.type) : "?") +
                                          "'"));
      }
    } catch (const ProtocolError& error) {
      return Fatal(Error("08P01", error.what()));
    } catch (const SqlStateError& error) {
      ExtendedError(Error(error.sqlstate(), error.what(), error.hint()));
    }
  }

  // An error in the extended protocol: reported once, then every message up
  // to Sync is discarded (the protocol's rule).
  void ExtendedError(ErrorFields fields) {
    out_ += ErrorResponse(fields);
    if (transaction_ == 'T') transaction_ = 'E';
    skipping_ = true;
  }

  void OnQuery(const FrontendMessage& message) {
    BodyReader reader(message.body, "Query");
    std::string text = reader.CString();
    reader.ExpectEnd();
    portals_.erase("");
    statements_.erase("");
    Run(text, false, [self = shared_from_this(), text](Result& result) {
      self->WriteResult(result, {}, true);
      self->out_ += ReadyForQuery(self->transaction_);
    });
  }

  void OnParse(const FrontendMessage& message) {
    BodyReader reader(message.body, "Parse");
    std::string name = reader.CString();
    Statement statement;
    statement.query = reader.CString();
    int16_t count = reader.Int16();
    if (count < 0) throw ProtocolError("Parse: negative parameter count");
    for (int16_t i = 0; i < count; ++i) statement.parameter_types.push_back(static_cast<uint32_t>(reader.Int32()));
    reader.ExpectEnd();
    if (!name.empty() && statements_.count(name)) {
      throw SqlStateError("42P05", "prepared statement \"" + name.substr(0, 63) + "\" already exists");
    }
    const int used = CountParameters(statement.query);
    if (statement.parameter_types.size() < static_cast<size_t>(used)) statement.parameter_types.resize(static_cast<size_t>(used), 0);
    statements_[name] = std::move(statement);
    out_ += ParseComplete();
  }

  void OnBind(const FrontendMessage& message) {
    BodyReader reader(message.body, "Bind");
    std::string portal_name = reader.CString();
    std::string statement_name = reader.CString();
    std::vector<int16_t> formats(static_cast<size_t>(std::max<int16_t>(reader.Int16(), 0)));
    for (int16_t& format : formats) format = reader.Int16();
    int16_t count = reader.Int16();
    if (count < 0) throw ProtocolError("Bind: negative parameter count");
    std::vector<BoundParameter> parameters(static_cast<size_t>(count));
    for (BoundParameter& parameter : parameters) {
      int32_t length = reader.Int32();
      if (length >= 0) parameter.value = reader.Bytes(static_cast<size_t>(length));
      else if (length != -1) throw ProtocolError("Bind: a parameter length below -1");
    }
    Portal portal;
    portal.result_formats.resize(static_cast<size_t>(std::max<int16_t>(reader.Int16(), 0)));
    for (int16_t& format : portal.result_formats) format = reader.Int16();
    reader.ExpectEnd();
    auto found = statements_.find(statement_name);
    if (found == statements_.end()) {
      throw SqlStateError("26000", "prepared statement \"" + statement_name.substr(0, 63) + "\" does not exist");
    }
    const Statement& statement = found->second;
    if (parameters.size() != statement.parameter_types.size()) {
      throw SqlStateError("08P01", "bind message supplies " + std::to_string(parameters.size()) +
                                       " parameters, but prepared statement requires " +
                                       std::to_string(statement.parameter_types.size()));
    }
    if (formats.size() > 1 && formats.size() != parameters.size()) {
      throw SqlStateError("08P01", "bind message has " + std::to_string(formats.size()) + " parameter formats but " +
                                       std::to_string(parameters.size()) + " parameters");
    }
    for (size_t i = 0; i < parameters.size(); ++i) {
      parameters[i].type_oid = statement.parameter_types[i];
      parameters[i].format = formats.empty() ? 0 : formats.size() == 1 ? formats[0] : formats[i];
      if (parameters[i].format != 0 && parameters[i].format != 1) throw ProtocolError("Bind: unknown format code");
    }
    portal.query = parameters.empty() ? statement.query : BindParameters(statement.query, parameters);
    portal.bound_text = !parameters.empty();
    if (!portal_name.empty() && portals_.count(portal_name)) {
      throw SqlStateError("42P03", "portal \"" + portal_name.substr(0, 63) + "\" already exists");
    }
    portals_[portal_name] = std::move(portal);
    out_ += BindComplete();
  }

  void OnDescribe(const FrontendMessage& message) {
    BodyReader reader(message.body, "Describe");
    uint8_t kind = reader.Byte();
    std::string name = reader.CString();
    reader.ExpectEnd();
    if (kind == 'S') {
      auto found = statements_.find(name);
      if (found == statements_.end()) {
        throw SqlStateError("26000", "prepared statement \"" + name.substr(0, 63) + "\" does not exist");
      }
      std::vector<uint32_t> types = found->second.parameter_types;
      for (uint32_t& type : types) type = type == 0 ? kTextOid : type;
      out_ += ParameterDescription(types);
      // The columns are known once the statement runs (Describe the portal).
      SessionCommand command = ClassifyCommand(found->second.query);
      if (command.kind == SessionCommand::Kind::kShow) {
        out_ += RowDescription({{command.name, kTextOid, -1, -1, 0}});
      } else {
        out_ += NoData();
      }
      return;
    }
    if (kind != 'P') throw ProtocolError("Describe: expected 'S' or 'P'");
    auto found = portals_.find(name);
    if (found == portals_.end()) throw SqlStateError("34000", "portal \"" + name.substr(0, 63) + "\" does not exist");
    WithPortalResult(name, [self = shared_from_this(), name](Result& result) {
      if (result.error) return self->ExtendedError(*result.error);
      Portal& portal = self->portals_[name];
      if (!result.returns_rows) {
        self->out_ += NoData();
        return;
      }
      std::vector<FieldDescription> fields = result.fields;
      for (size_t i = 0; i < fields.size(); ++i) fields[i].format = FormatOf(portal.result_formats, i);
      self->out_ += RowDescription(fields);
    });
  }

  void OnExecute(const FrontendMessage& message) {
    BodyReader reader(message.body, "Execute");
    std::string name = reader.CString();
    reader.Int32();  // the row limit: a DPQL answer is sent whole
    reader.ExpectEnd();
    auto found = portals_.find(name);
    if (found == portals_.end()) throw SqlStateError("34000", "portal \"" + name.substr(0, 63) + "\" does not exist");
    WithPortalResult(name, [self = shared_from_this(), name](Result& result) {
      Portal& portal = self->portals_[name];
      if (portal.done) {
        self->out_ += CommandComplete(result.tag.empty() ? "SELECT 0" : result.tag);
        return;
      }
      portal.done = true;
      if (result.error) return self->ExtendedError(*result.error);
      self->WriteResult(result, portal.result_formats, false);
    });
  }

  void OnClose(const FrontendMessage& message) {
    BodyReader reader(message.body, "Close");
    uint8_t kind = reader.Byte();
    std::string name = reader.CString();
    reader.ExpectEnd();
    if (kind == 'S') statements_.erase(name);
    else if (kind == 'P') portals_.erase(name);
    else throw ProtocolError("Close: expected 'S' or 'P'");
    out_ += CloseComplete();
  }

  void OnSync() {
    skipping_ = false;
    portals_.erase("");
    out_ += ReadyForQuery(transaction_);
  }

  static int16_t FormatOf(const std::vector<int16_t>& formats, size_t column) {
    if (formats.empty()) return 0;
    return formats.size() == 1 ? formats[0] : column < formats.size() ? formats[column] : 0;
  }

  // Runs the portal's statement unless it has run, then `then(result)`.
  void WithPortalResult(const std::string& name, std::function<void(Result&)> then) {
    Portal& portal = portals_[name];
    if (portal.result) return then(*portal.result);
    Run(portal.query, portal.bound_text, [self = shared_from_this(), name, then = std::move(then)](Result& result) {
      self->portals_[name].result = result;
      then(self->portals_[name].result.value());
    });
  }

  void WriteResult(const Result& result, const std::vector<int16_t>& formats, bool with_description) {
    for (const auto& [name, value] : result.parameter_status) out_ += ParameterStatus(name, value);
    if (result.error) {
      out_ += ErrorResponse(*result.error);
      if (transaction_ == 'T') transaction_ = 'E';
      return;
    }
    if (result.empty) {
      out_ += EmptyQueryResponse();
      return;
    }
    if (result.returns_rows) {
      if (with_description) out_ += RowDescription(result.fields);
      for (const auto& row : result.rows) {
        std::vector<std::optional<std::string>> values;
        values.reserve(row.size());
        for (size_t i = 0; i < row.size() && i < result.fields.size(); ++i) {
          values.push_back(FormatOf(formats, i) == 1 ? BinaryValue(row[i], result.fields[i].type_oid)
                                                      : TextValue(row[i], result.fields[i].type_oid));
        }
        out_ += DataRow(values);
      }
    }
    for (const ErrorFields& notice : result.notices) out_ += NoticeResponse(notice);
    out_ += CommandComplete(result.tag);
  }

  // ---- Statements -------------------------------------------------------------

  // Answers one statement: the session's own at once, DPQL's through the
  // router on a database worker. `then` runs on the strand; after an
  // asynchronous answer the message loop resumes.
  void Run(const std::string& text, bool bound_text, std::function<void(Result&)> then) {
    Result result;
    SessionCommand command;
    try {
      command = ClassifyCommand(text);
    } catch (const SqlStateError& error) {
      result.error = Error(error.sqlstate(), error.what(), error.hint());
      return then(result);
    }
    if (transaction_ == 'E' && command.kind != SessionCommand::Kind::kRollback &&
        command.kind != SessionCommand::Kind::kCommit) {
      result.error = Error("25P02", "current transaction is aborted, commands ignored until end of transaction block",
                           "send ROLLBACK");
      return then(result);
    }
    if (command.kind != SessionCommand::Kind::kNone) {
      try {
        result = SessionResult(command);
      } catch (const SqlStateError& error) {
        result = Result{};
        result.error = Error(error.sqlstate(), error.what(), error.hint());
      }
      return then(result);
    }
    if (LooksLikeCatalogQuery(text)) {
      std::optional<CatalogAnswer> answer =
          AnswerCatalogQuery(text, state_.router.catalog(), settings_["dpql.dataset"]);
      if (!answer) {
        result.error = Error("0A000", "this catalog query is not one DPQL answers",
                             "DPQL answers DPQL queries and the catalog lookups of psql (\\d, \\dt) and "
                             "information_schema.tables/columns; see docs/CLIENTS.md");
        return then(result);
      }
      result.returns_rows = true;
      for (const pgwire::CatalogColumn& column : answer->columns) {
        result.fields.push_back({column.name, static_cast<uint32_t>(column.type_oid), TypeSize(static_cast<uint32_t>(column.type_oid)), -1, 0});
      }
      for (const auto& row : answer->rows) {
        std::vector<json> values;
        for (const auto& value : row) values.push_back(value ? json(*value) : json(nullptr));
        result.rows.push_back(std::move(values));
      }
      result.tag = answer->command_tag;
      return then(result);
    }
    // A DPQL statement: the same path as POST /v1/query.
    HttpRequest request;
    request.method = "POST";
    request.target = "/v1/query";
    request.session_analyst = analyst_;
    request.session_token_hash = token_hash_;
    request.project = settings_["dpql.project"];
    request.audit_source = "pg: query";
    // The session's default privacy options, where the query gives none.
    std::vector<std::pair<std::string, std::string>> defaults;
    if (!settings_["dpql.epsilon"].empty()) defaults.emplace_back("epsilon", settings_["dpql.epsilon"]);
    if (!settings_["dpql.confidence"].empty()) defaults.emplace_back("confidence", settings_["dpql.confidence"]);
    request.body = json{{"query", WithSessionPrivacy(text, defaults)}, {"dataset", settings_["dpql.dataset"]}}.dump();
    cancel_.store(false);
    auto response = std::make_shared<std::optional<HttpResponse>>();
    const bool posted = OnWorker(
        [self = shared_from_this(), request = std::move(request), response] {
          if (self->cancel_.load()) return;  // cancelled before it started: nothing ran
          *response = self->state_.router.Handle(request);
        },
        [self = shared_from_this(), response, text, bound_text, then = std::move(then)] {
          Result result;
          if (!*response) {
            result.error = Error("57014", "canceling statement due to user request",
                                 "the query had not started: nothing was charged");
          } else {
            result = self->FromResponse(**response, bound_text ? nullptr : &text);
          }
          auto finish = [self, result = std::move(result), then]() mutable {
            then(result);
            self->Process();
          };
          if ((*response) && (*response)->not_before && !self->state_.stopping &&
              *(*response)->not_before > std::chrono::steady_clock::now()) {
            // A failed query's answer waits out its time, like HTTP's.
            self->busy_ = true;
            self->hold_timer_.expires_at(*(*response)->not_before);
            self->hold_timer_.async_wait([self, finish = std::move(finish)](beast::error_code) mutable {
              self->busy_ = false;
              finish();
            });
            return;
          }
          finish();
        });
    if (!posted) {
      Result busy;
      busy.error = Error("53300", "the server has too many requests waiting", "retry shortly");
      then(busy);
    }
  }

  Result SessionResult(const SessionCommand& command) {
    Result result;
    result.tag = command.tag;
    using Kind = SessionCommand::Kind;
    switch (command.kind) {
      case Kind::kEmpty: result.empty = true; break;
      case Kind::kBegin:
        if (transaction_ == 'T') {
          result.notices.push_back(Error("25001", "there is already a transaction in progress", "", "WARNING"));
        }
        transaction_ = 'T';
        if (!told_no_transactions_) {  // once a session: drivers send BEGIN before every batch
          told_no_transactions_ = true;
          result.notices.push_back(Error("00000", "DPQL has no transactions: each query is charged when it runs, "
                                                  "and ROLLBACK does not refund it", "", "NOTICE"));
        }
        break;
      case Kind::kCommit:
        if (transaction_ == 'E') result.tag = "ROLLBACK";
        transaction_ = 'I';
        break;
      case Kind::kRollback: transaction_ = 'I'; break;
      case Kind::kDiscard:
        statements_.clear();
        portals_.clear();
        break;
      case Kind::kDeallocate:
        if (command.name == "all") {
          statements_.clear();
        } else if (!statements_.erase(command.name)) {
          throw SqlStateError("26000", "prepared statement \"" + command.name.substr(0, 63) + "\" does not exist");
        }
        break;
      case Kind::kShow: {
        result.returns_rows = true;
        if (command.name == "all") {
          result.fields = {{"name", kTextOid, -1, -1, 0}, {"setting", kTextOid, -1, -1, 0}};
          for (const Setting& setting : kSettings) result.rows.push_back({setting.name, settings_[setting.name]});
        } else {
          auto found = settings_.find(command.name);
          if (found == settings_.end()) {
            throw SqlStateError("42704", "unrecognized configuration parameter \"" + command.name.substr(0, 63) + "\"",
                                "DPQL's settings: dpql.dataset, dpql.epsilon, dpql.confidence, dpql.intervals, dpql.project; SHOW ALL "
                                "lists them all");
          }
          result.fields = {{command.name, kTextOid, -1, -1, 0}};
          result.rows.push_back({found->second});
        }
        result.tag = "SHOW";
        break;
      }
      case Kind::kSet: Set(command.name, command.value, result); break;
      case Kind::kReset:
        if (command.name == "all") {
          for (const Setting& setting : kSettings) {
            if (!ReadOnlySetting(setting.name) && std::string_view(setting.name) != "dpql.dataset") {
              settings_[setting.name] = setting.default_value;
            }
          }
        } else {
          const Setting* found = nullptr;
          for (const Setting& setting : kSettings) {
            if (setting.name == command.name) found = &setting;
          }
          if (found == nullptr) {
            throw SqlStateError("42704", "unrecognized configuration parameter \"" + command.name.substr(0, 63) + "\"");
          }
          if (command.name == "dpql.dataset") {
            throw SqlStateError("0A000", "dpql.dataset has no default to reset to", "SET dpql.dataset = NAME");
          }
          if (!ReadOnlySetting(command.name)) settings_[command.name] = found->default_value;
        }
        break;
      case Kind::kNone: break;
    }
    return result;
  }

  void Set(const std::string& name, const std::string& value, Result& result) {
    const Setting* known = nullptr;
    for (const Setting& setting : kSettings) {
      if (setting.name == name) known = &setting;
    }
    if (known == nullptr) {
      throw SqlStateError("42704", "unrecognized configuration parameter \"" + name.substr(0, 63) + "\"",
                          "DPQL's settings: dpql.dataset, dpql.epsilon, dpql.confidence, dpql.intervals, dpql.project");
    }
    if (ReadOnlySetting(name)) {
      throw SqlStateError("55P02", "parameter \"" + name + "\" cannot be changed");
    }
    std::string stored = value;
    if (name == "dpql.dataset") {
      if (state_.router.catalog().FindDataset(value) == nullptr) {
        throw SqlStateError("3D000", "dataset \"" + value.substr(0, 63) + "\" does not exist");
      }
    } else if (name == "dpql.epsilon" || name == "dpql.confidence") {
      // The engine checks the catalog's limits when a query uses the value.
      if (!value.empty() && (!IsPlainNumber(value) || std::stod(value) <= 0)) {
        throw SqlStateError("22023", name + " is a positive number such as 0.5, not \"" + value.substr(0, 40) + "\"",
                            "SET " + name + " = 0.5; RESET " + name + " goes back to the catalog's default");
      }
    } else if (name == "dpql.intervals") {
      std::string lower = LowerAscii(value);
      if (lower == "on" || lower == "true" || lower == "1") stored = "on";
      else if (lower == "off" || lower == "false" || lower == "0") stored = "off";
      else throw SqlStateError("22023", "dpql.intervals is on or off, not \"" + value.substr(0, 40) + "\"");
    } else if (name == "client_encoding") {
      std::string lower = LowerAscii(value);
      if (lower != "utf8" && lower != "utf-8" && lower != "unicode") {
        throw SqlStateError("22023", "DPQL speaks UTF8 only, not \"" + value.substr(0, 40) + "\"",
                            "SET client_encoding = 'UTF8'");
      }
      stored = "UTF8";
    } else if (name == "datestyle") {
      if (LowerAscii(value).find("iso") == std::string::npos) {
        throw SqlStateError("22023", "DPQL writes dates as ISO only", "SET DateStyle = 'ISO, MDY'");
      }
      stored = "ISO, MDY";
    }
    settings_[name] = stored;
    if (known->reported) result.parameter_status.emplace_back(ReportedName(name), stored);
  }

  // The router's answer (the HTTP API's JSON) as rows, or as an error with
  // its SQLSTATE and, for the client's own text, the position of the fault.
  Result FromResponse(const HttpResponse& response, const std::string* text) {
    Result result;
    json body = json::parse(response.body, nullptr, false);
    if (body.is_discarded()) {
      result.error = Error("XX000", "internal error: the answer could not be read");
      return result;
    }
    if (response.status != 200) {
      const json& error = body.value("error", json::object());
      const std::string code = error.value("code", "internal_error");
      ErrorCode known = ErrorCode::kInternalError;
      FindErrorCode(code, known);
      ErrorFields fields = Error(std::string(Info(known).sqlstate), error.value("message", "internal error"));
      fields.detail = "DPQL code: " + code;
      if (text != nullptr && error.contains("line") && error.contains("column")) {
        fields.position = CharacterPosition(*text, error.value("line", 0), error.value("column", 0));
      }
      result.error = std::move(fields);
      return result;
    }
    result.returns_rows = true;
    if (body.contains("explain")) {
      result.fields = {{"QUERY PLAN", kTextOid, -1, -1, 0}};
      std::string plan = body["explain"].is_string() ? body["explain"].get<std::string>() : body["explain"].dump(2);
      size_t start = 0;
      while (start <= plan.size()) {
        size_t end = plan.find('\n', start);
        std::string line = plan.substr(start, end == std::string::npos ? std::string::npos : end - start);
        if (!(end == std::string::npos && line.empty())) result.rows.push_back({line});
        if (end == std::string::npos) break;
        start = end + 1;
      }
      result.tag = "EXPLAIN";  // the plan states the cost; EXPLAIN spends nothing
      return result;
    }
    const json& columns = body.value("columns", json::array());
    const json& types = body.value("column_types", json::array());
    // With dpql.intervals on, each noisy column is followed by its interval.
    std::map<std::pair<size_t, std::string>, std::pair<json, json>> intervals;
    std::vector<bool> noisy(columns.size(), false);
    const bool with_intervals = settings_["dpql.intervals"] == "on";
    for (const json& entry : body.value("accuracy", json::array())) {
      const std::string column = entry.value("column", "");
      const size_t row = entry.value("row", size_t{0});
      const json& ci = entry.value("ci", json::array());
      if (ci.size() == 2) intervals[{row, column}] = {ci[0], ci[1]};
      for (size_t c = 0; c < columns.size(); ++c) {
        if (columns[c] == column) noisy[c] = true;
      }
    }
    for (size_t c = 0; c < columns.size(); ++c) {
      const std::string name = columns[c].get<std::string>();
      const uint32_t oid = TypeOid(c < types.size() ? types[c].get<std::string>() : "text");
      result.fields.push_back({name, oid, TypeSize(oid), -1, 0});
      if (with_intervals && noisy[c]) {
        result.fields.push_back({name + "_lo", kFloat8Oid, 8, -1, 0});
        result.fields.push_back({name + "_hi", kFloat8Oid, 8, -1, 0});
      }
    }
    const json& rows = body.value("rows", json::array());
    for (size_t r = 0; r < rows.size(); ++r) {
      std::vector<json> values;
      for (size_t c = 0; c < columns.size() && c < rows[r].size(); ++c) {
        values.push_back(rows[r][c]);
        if (with_intervals && noisy[c]) {
          auto found = intervals.find({r, columns[c].get<std::string>()});
          values.push_back(found == intervals.end() ? json(nullptr) : found->second.first);
          values.push_back(found == intervals.end() ? json(nullptr) : found->second.second);
        }
      }
      result.rows.push_back(std::move(values));
    }
    result.tag = "SELECT " + std::to_string(rows.size());
    AddCostNotice(body, result);
    return result;
  }

  // One NOTICE after each answer: what it cost and what budget is left, and
  // one per note or bias note the API would show.
  void AddCostNotice(const json& body, Result& result) {
    const json& cost = body.value("cost", json::object());
    std::string message = "cost ε ";
    message += Decimal(cost.value("epsilon", json(0))) + ", δ " + Decimal(cost.value("delta", json(0)));
    if (body.value("cached", false)) message += " (a repeat: served from the answer cache, no charge)";
    const json& budget = body.value("budget", json(nullptr));
    if (budget.is_object()) {
      message += "; budget left ε " + Decimal(budget.value("epsilon_remaining", json(0))) + ", δ " +
                 Decimal(budget.value("delta_remaining", json(0)));
      if (budget.contains("project")) message += " (project " + budget.value("project", "") + ")";
    }
    result.notices.push_back(Error("00000", message, "", "NOTICE"));
    for (const json& note : body.value("notes", json::array())) {
      if (note.is_string()) result.notices.push_back(Error("00000", note.get<std::string>(), "", "NOTICE"));
    }
    for (const json& note : body.value("bias", json::array())) {
      result.notices.push_back(Error("01000", note.value("message", ""), "", "WARNING"));
    }
  }

  beast::tcp_stream plain_;
  std::optional<beast::ssl_stream<beast::tcp_stream>> tls_;
  std::shared_ptr<PgServer::Impl> server_;  // shared: a session may outlive the PgServer in shutdown
  ServerState& state_;
  net::any_io_executor plain_executor_ = plain_.get_executor();
  MessageReader reader_;
  net::steady_timer hold_timer_;
  net::steady_timer idle_timer_{plain_executor_};
  bool idle_expired_ = false;
  std::array<char, kReadChunk> chunk_{};
  std::string startup_;  // bytes of the startup phase not yet parsed
  std::string out_;      // messages not yet written
  std::string writing_;  // the messages being written
  Phase phase_ = Phase::kStartup;
  bool busy_ = false;    // waiting on a database worker or a hold timer
  size_t drained_ = 0;   // bytes discarded after a FATAL
  bool skipping_ = false;
  char transaction_ = 'I';
  bool told_no_transactions_ = false;
  bool admitted_ = false;
  bool analyst_counted_ = false;
  int32_t pid_ = 0;
  std::atomic<bool> cancel_{false};
  std::string user_, database_, analyst_;
  std::optional<Analyst> login_;
  std::string login_failure_;
  std::string token_hash_;  // SHA-256 of the token this session logged in with (hex)
  std::optional<scram::ServerExchange> scram_;
  std::map<std::string, std::string> settings_;
  std::map<std::string, Statement> statements_;
  std::map<std::string, Portal> portals_;
};

void PgServer::Impl::Cancel(int32_t pid, int32_t secret) {
  std::shared_ptr<PgSession> session;
  {
    std::lock_guard lock(mutex);
    auto found = keys.find(pid);
    if (found == keys.end()) return;
    if (CRYPTO_memcmp(&found->second.secret, &secret, sizeof secret) != 0) return;
    session = found->second.session.lock();
  }
  if (session) session->Cancel();
}

void PgServer::Impl::Accept() {
  acceptor.async_accept(net::make_strand(state.ioc),
                        [self = shared_from_this()](beast::error_code ec, tcp::socket socket) {
                          if (ec) {
                            if (self->state.stopping || !self->acceptor.is_open()) return;
                            std::cerr << "dpqld: pg: accept failed: " << ec.message() << std::endl;
                          } else {
                            std::make_shared<PgSession>(std::move(socket), self)->Start();
                          }
                          self->Accept();
                        });
}

PgServer::PgServer(ServerState& state) : impl_(std::make_shared<Impl>(state)) {}
PgServer::~PgServer() = default;

void PgServer::Listen() {
  const ServerConfig& config = impl_->state.config;
  BindAndListen(impl_->acceptor, config.pg_host, config.pg_port,
                config.pg_host + ":" + std::to_string(config.pg_port) + " (listen_pg)", "127.0.0.1");
}

void PgServer::Accept() { impl_->Accept(); }

void PgServer::Close() {
  beast::error_code ignored;
  impl_->acceptor.close(ignored);
}

uint16_t PgServer::port() const {
  beast::error_code ec;
  auto endpoint = impl_->acceptor.local_endpoint(ec);
  return ec ? impl_->state.config.pg_port : endpoint.port();
}

}  // namespace dpql
