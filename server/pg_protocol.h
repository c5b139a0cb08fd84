#pragma once

// PostgreSQL's frontend/backend protocol, version 3.0: reading the messages a
// client sends and writing the ones a server answers with (the protocol
// chapter of PostgreSQL's documentation, "Message Formats"). Bytes only: no
// sockets, no engine. The front end that speaks it to psql, libpq and the
// JDBC driver (issue: PostgreSQL wire protocol) builds on this.
//
// Every length and count read from a client is checked before it is used; a
// malformed message throws ProtocolError, whose text says what was wrong and
// where, and the connection is then closed by its owner.

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace dpql::pgwire {

// The codes of the startup phase's first packet (a length, then one of these).
inline constexpr int32_t kProtocolVersion3 = 196608;  // 3 << 16
inline constexpr int32_t kCancelRequestCode = 80877102;
inline constexpr int32_t kSslRequestCode = 80877103;
inline constexpr int32_t kGssEncRequestCode = 80877104;

// What PostgreSQL itself accepts for a startup packet.
inline constexpr size_t kMaxStartupPacketBytes = 10000;

class ProtocolError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// The big-endian int32 at `at` (the caller has checked that 4 bytes are there).
int32_t ReadInt32(std::string_view bytes, size_t at);

// The startup phase's packet, its 4-byte length already read and checked
// (at least 8, at most kMaxStartupPacketBytes).
struct StartupPacket {
  enum class Kind { kStartup, kSslRequest, kGssEncRequest, kCancelRequest };
  Kind kind = Kind::kStartup;
  int32_t protocol = 0;                           // kStartup: the version asked for
  std::map<std::string, std::string> parameters;  // kStartup: user, database, options, ...
  int32_t cancel_process_id = 0;                  // kCancelRequest
  int32_t cancel_secret_key = 0;                  // kCancelRequest
};

// Parses a startup packet's body (everything after its length). Refuses a
// protocol other than 3.x, a parameter list that is not name/value pairs of
// NUL-terminated strings ending in one more NUL, a repeated name, and a
// packet without `user`.
StartupPacket ParseStartupPacket(std::string_view body);

// A regular message: its type byte and its body (after the 4-byte length).
struct FrontendMessage {
  char type = 0;
  std::string body;
};

// Splits the bytes a client sends after the startup phase into messages.
// Feed() what arrived; Next() returns each complete message in turn. A
// length below 4 or a body above `max_body_bytes` throws ProtocolError at
// once, before the body is waited for, so an oversized message never
// allocates its claimed size.
class MessageReader {
 public:
  explicit MessageReader(size_t max_body_bytes) : max_body_bytes_(max_body_bytes) {}
  void Feed(std::string_view bytes) { buffer_.append(bytes); }
  std::optional<FrontendMessage> Next();
  // Bytes received but not yet returned as a message.
  size_t Pending() const { return buffer_.size() - start_; }

 private:
  size_t max_body_bytes_;
  std::string buffer_;
  size_t start_ = 0;
};

// Reads the fields of one message body in order; every read checks that the
// body holds it. `what` names the message in errors ("Bind", "Parse", ...).
class BodyReader {
 public:
  BodyReader(std::string_view body, std::string_view what) : body_(body), what_(what) {}
  // The reader keeps a view of the body: a temporary would dangle.
  BodyReader(std::string&& body, std::string_view what) = delete;
  int32_t Int32();
  int16_t Int16();
  uint8_t Byte();
  std::string CString();  // up to its NUL, which is consumed
  std::string Bytes(size_t count);
  bool AtEnd() const { return at_ == body_.size(); }
  // Throws unless every byte was read.
  void ExpectEnd() const;

 private:
  [[noreturn]] void Short(std::string_view field) const;
  std::string_view body_;
  std::string what_;
  size_t at_ = 0;
};

// Writes backend messages: Begin(type), the fields, End() (which fills in
// the length); Take() returns everything written so far.
class MessageWriter {
 public:
  MessageWriter& Begin(char type);
  MessageWriter& Int32(int32_t value);
  MessageWriter& Int16(int16_t value);
  MessageWriter& Byte(uint8_t value);
  MessageWriter& CString(std::string_view text);  // refuses text holding a NUL
  MessageWriter& Bytes(std::string_view bytes);
  MessageWriter& End();
  std::string Take();

 private:
  std::string out_;
  std::optional<size_t> open_;  // where the open message's length goes
};

// One column of a RowDescription.
struct FieldDescription {
  std::string name;
  uint32_t type_oid = 25;  // text
  int16_t type_size = -1;  // -1: variable length
  int32_t type_modifier = -1;
  int16_t format = 0;  // 0 text, 1 binary
};

// The fields of an ErrorResponse or NoticeResponse that DPQL sends.
struct ErrorFields {
  std::string severity = "ERROR";  // ERROR, FATAL, NOTICE, ...
  std::string sqlstate;            // five characters, e.g. "42601"
  std::string message;
  std::string detail;           // optional
  std::string hint;             // optional
  std::optional<int> position;  // 1-based character position in the query text
};

// Backend messages, each complete with its type and length.
std::string AuthenticationOk();
std::string AuthenticationCleartextPassword();
std::string AuthenticationSasl(const std::vector<std::string>& mechanisms);
std::string AuthenticationSaslContinue(std::string_view data);
std::string AuthenticationSaslFinal(std::string_view data);
std::string ParameterStatus(std::string_view name, std::string_view value);
std::string BackendKeyData(int32_t process_id, int32_t secret_key);
std::string ReadyForQuery(char status);  // 'I' idle, 'T' in a transaction, 'E' failed one
std::string RowDescription(const std::vector<FieldDescription>& fields);
std::string DataRow(const std::vector<std::optional<std::string>>& values);  // nullopt: NULL
std::string CommandComplete(std::string_view tag);                           // e.g. "SELECT 37"
std::string EmptyQueryResponse();
std::string ParseComplete();
std::string BindComplete();
std::string CloseComplete();
std::string NoData();
std::string ParameterDescription(const std::vector<uint32_t>& type_oids);
std::string ErrorResponse(const ErrorFields& fields);
std::string NoticeResponse(const ErrorFields& fields);

}  // namespace dpql::pgwire
