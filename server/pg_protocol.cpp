#include "server/pg_protocol.h"

#include <climits>
#include <cstdint>

namespace dpql::pgwire {

namespace {

std::string ErrorOrNotice(char type, const ErrorFields& fields) {
  MessageWriter writer;
  writer.Begin(type);
  // 'S' is localisable, 'V' never is; both carry the severity.
  writer.Byte('S').CString(fields.severity).Byte('V').CString(fields.severity);
  writer.Byte('C').CString(fields.sqlstate).Byte('M').CString(fields.message);
  if (!fields.detail.empty()) writer.Byte('D').CString(fields.detail);
  if (!fields.hint.empty()) writer.Byte('H').CString(fields.hint);
  if (fields.position) writer.Byte('P').CString(std::to_string(*fields.position));
  writer.Byte(0).End();
  return writer.Take();
}

}  // namespace

int32_t ReadInt32(std::string_view bytes, size_t at) {
  const auto byte = [&](size_t i) {
    return static_cast<uint32_t>(static_cast<unsigned char>(bytes[at + i]));
  };
  return static_cast<int32_t>(byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3));
}

StartupPacket ParseStartupPacket(std::string_view body) {
  BodyReader reader(body, "the startup packet");
  StartupPacket packet;
  const int32_t code = reader.Int32();
  switch (code) {
    case kSslRequestCode:
      reader.ExpectEnd();
      packet.kind = StartupPacket::Kind::kSslRequest;
      return packet;
    case kGssEncRequestCode:
      reader.ExpectEnd();
      packet.kind = StartupPacket::Kind::kGssEncRequest;
      return packet;
    case kCancelRequestCode:
      packet.kind = StartupPacket::Kind::kCancelRequest;
      packet.cancel_process_id = reader.Int32();
      packet.cancel_secret_key = reader.Int32();
      reader.ExpectEnd();
      return packet;
    default: break;
  }
  if (code >> 16 != 3) {
    throw ProtocolError("unsupported frontend protocol " + std::to_string(code >> 16) + "." +
                        std::to_string(code & 0xffff) + ": this server speaks protocol 3.0");
  }
  packet.protocol = code;
  // Name/value pairs, then a terminating NUL.
  while (true) {
    if (reader.AtEnd()) throw ProtocolError("the startup packet's parameters are not terminated by a NUL");
    std::string name = reader.CString();
    if (name.empty()) break;
    if (reader.AtEnd()) throw ProtocolError("startup parameter \"" + name + "\" has no value");
    std::string value = reader.CString();
    if (!packet.parameters.emplace(std::move(name), std::move(value)).second) {
      throw ProtocolError("a startup parameter is given twice");
    }
  }
  reader.ExpectEnd();
  if (packet.parameters.count("user") == 0 || packet.parameters.at("user").empty()) {
    throw ProtocolError("no user name in the startup packet: connect with user=<analyst name>");
  }
  return packet;
}

std::optional<FrontendMessage> MessageReader::Next() {
  const std::string_view pending(buffer_.data() + start_, buffer_.size() - start_);
  if (pending.size() < 5) return std::nullopt;
  const int32_t length = ReadInt32(pending, 1);
  if (length < 4) {
    throw ProtocolError("invalid message length " + std::to_string(length) + " for message type '" +
                        std::string(1, pending[0]) + "'");
  }
  const size_t body_size = static_cast<size_t>(length) - 4;
  if (body_size > max_body_bytes_) {
    throw ProtocolError("message of " + std::to_string(body_size) + " bytes is over this server's limit of " +
                        std::to_string(max_body_bytes_));
  }
  if (pending.size() < 5 + body_size) return std::nullopt;
  FrontendMessage message{pending[0], std::string(pending.substr(5, body_size))};
  start_ += 5 + body_size;
  // Drop what was consumed once it is most of the buffer.
  if (start_ > 4096 && start_ * 2 > buffer_.size()) {
    buffer_.erase(0, start_);
    start_ = 0;
  }
  return message;
}

void BodyReader::Short(std::string_view field) const {
  throw ProtocolError(what_ + " ends before its " + std::string(field) + " (byte " + std::to_string(at_) +
                      " of " + std::to_string(body_.size()) + ")");
}

int32_t BodyReader::Int32() {
  if (body_.size() - at_ < 4) Short("32-bit integer");
  const int32_t value = ReadInt32(body_, at_);
  at_ += 4;
  return value;
}

int16_t BodyReader::Int16() {
  if (body_.size() - at_ < 2) Short("16-bit integer");
  const auto hi = static_cast<unsigned char>(body_[at_]);
  const auto lo = static_cast<unsigned char>(body_[at_ + 1]);
  at_ += 2;
  return static_cast<int16_t>(static_cast<uint16_t>(hi << 8 | lo));
}

uint8_t BodyReader::Byte() {
  if (at_ >= body_.size()) Short("byte");
  return static_cast<uint8_t>(body_[at_++]);
}

std::string BodyReader::CString() {
  const size_t nul = body_.find('\0', at_);
  if (nul == std::string_view::npos) Short("string's terminating NUL");
  std::string text(body_.substr(at_, nul - at_));
  at_ = nul + 1;
  return text;
}

std::string BodyReader::Bytes(size_t count) {
  if (body_.size() - at_ < count) Short(std::to_string(count) + " bytes");
  std::string bytes(body_.substr(at_, count));
  at_ += count;
  return bytes;
}

void BodyReader::ExpectEnd() const {
  if (!AtEnd()) {
    throw ProtocolError(what_ + " has " + std::to_string(body_.size() - at_) +
                        " unexpected bytes at its end");
  }
}

MessageWriter& MessageWriter::Begin(char type) {
  if (open_) throw std::logic_error("MessageWriter::Begin inside an open message");
  out_.push_back(type);
  open_ = out_.size();
  out_.append(4, '\0');
  return *this;
}

MessageWriter& MessageWriter::Int32(int32_t value) {
  const auto bits = static_cast<uint32_t>(value);
  for (int shift = 24; shift >= 0; shift -= 8) out_.push_back(static_cast<char>(bits >> shift & 0xff));
  return *this;
}

MessageWriter& MessageWriter::Int16(int16_t value) {
  const auto bits = static_cast<uint16_t>(value);
  out_.push_back(static_cast<char>(bits >> 8 & 0xff));
  out_.push_back(static_cast<char>(bits & 0xff));
  return *this;
}

MessageWriter& MessageWriter::Byte(uint8_t value) {
  out_.push_back(static_cast<char>(value));
  return *this;
}

MessageWriter& MessageWriter::CString(std::string_view text) {
  // A NUL would end the string early and shift every later field.
  if (text.find('\0') != std::string_view::npos) throw std::logic_error("a protocol string holds a NUL byte");
  out_.append(text);
  out_.push_back('\0');
  return *this;
}

MessageWriter& MessageWriter::Bytes(std::string_view bytes) {
  out_.append(bytes);
  return *this;
}

MessageWriter& MessageWriter::End() {
  if (!open_) throw std::logic_error("MessageWriter::End without Begin");
  const size_t length = out_.size() - *open_;
  if (length > INT32_MAX) throw std::length_error("a protocol message over 2 GiB");
  for (int i = 0; i < 4; ++i) {
    out_[*open_ + static_cast<size_t>(i)] = static_cast<char>(length >> (24 - 8 * i) & 0xff);
  }
  open_.reset();
  return *this;
}

std::string MessageWriter::Take() {
  if (open_) throw std::logic_error("MessageWriter::Take inside an open message");
  return std::move(out_);
}

std::string AuthenticationOk() { return MessageWriter().Begin('R').Int32(0).End().Take(); }

std::string AuthenticationCleartextPassword() { return MessageWriter().Begin('R').Int32(3).End().Take(); }

std::string AuthenticationSasl(const std::vector<std::string>& mechanisms) {
  MessageWriter writer;
  writer.Begin('R').Int32(10);
  for (const std::string& mechanism : mechanisms) writer.CString(mechanism);
  return writer.Byte(0).End().Take();
}

std::string AuthenticationSaslContinue(std::string_view data) {
  return MessageWriter().Begin('R').Int32(11).Bytes(data).End().Take();
}

std::string AuthenticationSaslFinal(std::string_view data) {
  return MessageWriter().Begin('R').Int32(12).Bytes(data).End().Take();
}

std::string ParameterStatus(std::string_view name, std::string_view value) {
  return MessageWriter().Begin('S').CString(name).CString(value).End().Take();
}

std::string BackendKeyData(int32_t process_id, int32_t secret_key) {
  return MessageWriter().Begin('K').Int32(process_id).Int32(secret_key).End().Take();
}

std::string ReadyForQuery(char status) {
  return MessageWriter().Begin('Z').Byte(static_cast<uint8_t>(status)).End().Take();
}

std::string RowDescription(const std::vector<FieldDescription>& fields) {
  if (fields.size() > INT16_MAX) throw std::length_error("more than 32767 columns");
  MessageWriter writer;
  writer.Begin('T').Int16(static_cast<int16_t>(fields.size()));
  for (const FieldDescription& field : fields) {
    writer.CString(field.name).Int32(0).Int16(0);  // no table, no column number
    writer.Int32(static_cast<int32_t>(field.type_oid)).Int16(field.type_size).Int32(field.type_modifier);
    writer.Int16(field.format);
  }
  return writer.End().Take();
}

std::string DataRow(const std::vector<std::optional<std::string>>& values) {
  if (values.size() > INT16_MAX) throw std::length_error("more than 32767 columns");
  MessageWriter writer;
  writer.Begin('D').Int16(static_cast<int16_t>(values.size()));
  for (const std::optional<std::string>& value : values) {
    if (!value) {
      writer.Int32(-1);
      continue;
    }
    if (value->size() > INT32_MAX) throw std::length_error("a value over 2 GiB");
    writer.Int32(static_cast<int32_t>(value->size())).Bytes(*value);
  }
  return writer.End().Take();
}

std::string CommandComplete(std::string_view tag) {
  return MessageWriter().Begin('C').CString(tag).End().Take();
}

std::string EmptyQueryResponse() { return MessageWriter().Begin('I').End().Take(); }

std::string ParseComplete() { return MessageWriter().Begin('1').End().Take(); }
std::string BindComplete() { return MessageWriter().Begin('2').End().Take(); }
std::string CloseComplete() { return MessageWriter().Begin('3').End().Take(); }
std::string NoData() { return MessageWriter().Begin('n').End().Take(); }

std::string ParameterDescription(const std::vector<uint32_t>& type_oids) {
  MessageWriter writer;
  writer.Begin('t').Int16(static_cast<int16_t>(type_oids.size()));
  for (uint32_t oid : type_oids) writer.Int32(static_cast<int32_t>(oid));
  return writer.End().Take();
}

std::string ErrorResponse(const ErrorFields& fields) { return ErrorOrNotice('E', fields); }

std::string NoticeResponse(const ErrorFields& fields) { return ErrorOrNotice('N', fields); }

}  // namespace dpql::pgwire
