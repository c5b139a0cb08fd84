// libFuzzer harness over the PostgreSQL wire protocol's parsing
// (server/pg_protocol.h) and SCRAM-SHA-256's server side (runtime/ledger/scram.h):
// the bytes a client may send before and after it has authenticated.
//
// The first input byte picks the path (its value mod 4), the rest is its input:
//   0  ParseStartupPacket over the bytes (the body after the 4-byte length);
//   1  MessageReader with a message size limit picked by the next byte, fed
//      in chunks of 1..64 bytes (their sizes drawn from a generator seeded by
//      the byte after), then each message's fields read
//      with BodyReader as the front end reads Query, Parse, Bind, Execute,
//      Describe, Close, PasswordMessage and the rest;
//   2  a SCRAM exchange against a fixed verifier: client-first-message, then
//      client-final-message (the input split at its first NUL);
//   3  backend messages written with MessageWriter from input strings, read
//      back with MessageReader and BodyReader: a difference aborts.
//
// ProtocolError and ScramError are the documented answers to bad input and
// end a run quietly. Anything else is a finding: another exception escapes
// and aborts, and the sanitizers abort on memory errors, leaks and undefined
// behaviour. scripts/fuzz runs it beside the compiler's harness.

#include <fuzzer/FuzzedDataProvider.h>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "server/pg_protocol.h"
#include "runtime/ledger/scram.h"

namespace dpql::pgwire {
namespace {

void Check(bool ok) {
  if (!ok) std::abort();
}

// The fields of one frontend message, in the order the protocol chapter's
// "Message Formats" gives them. Counts are read as the front end reads them:
// a negative or oversized one must end in ProtocolError, never in a huge
// allocation or a read past the body.
void ReadFields(const FrontendMessage& message) {
  const std::string& body = message.body;
  switch (message.type) {
    case 'Q': {  // Query
      BodyReader reader(body, "Query");
      (void)reader.CString();
      reader.ExpectEnd();
      return;
    }
    case 'P': {  // Parse: name, query, parameter type OIDs
      BodyReader reader(body, "Parse");
      (void)reader.CString();
      (void)reader.CString();
      const int16_t count = reader.Int16();
      for (int i = 0; i < count; ++i) (void)reader.Int32();
      reader.ExpectEnd();
      return;
    }
    case 'B': {  // Bind: portal, statement, formats, values, result formats
      BodyReader reader(body, "Bind");
      (void)reader.CString();
      (void)reader.CString();
      const int16_t formats = reader.Int16();
      for (int i = 0; i < formats; ++i) (void)reader.Int16();
      const int16_t values = reader.Int16();
      for (int i = 0; i < values; ++i) {
        const int32_t length = reader.Int32();
        if (length == -1) continue;  // NULL
        // Any other negative length, read as a size, is far over the body.
        const std::string value = reader.Bytes(static_cast<size_t>(static_cast<uint32_t>(length)));
        Check(value.size() == static_cast<size_t>(length));
      }
      const int16_t results = reader.Int16();
      for (int i = 0; i < results; ++i) (void)reader.Int16();
      reader.ExpectEnd();
      return;
    }
    case 'E': {  // Execute: portal, row limit
      BodyReader reader(body, "Execute");
      (void)reader.CString();
      (void)reader.Int32();
      reader.ExpectEnd();
      return;
    }
    case 'D':    // Describe
    case 'C': {  // Close: 'S' or 'P', then a name
      BodyReader reader(body, "Describe");
      (void)reader.Byte();
      (void)reader.CString();
      reader.ExpectEnd();
      return;
    }
    case 'p': {  // PasswordMessage, SASLInitialResponse or SASLResponse
      BodyReader reader(body, "SASLInitialResponse");
      (void)reader.CString();  // the mechanism
      const int32_t length = reader.Int32();
      if (length != -1) (void)reader.Bytes(static_cast<size_t>(static_cast<uint32_t>(length)));
      reader.ExpectEnd();
      return;
    }
    default: {  // Sync, Flush, Terminate and unknown types: no fields
      BodyReader reader(body, "Sync");
      reader.ExpectEnd();
      return;
    }
  }
}

void FuzzStartup(std::string_view body) {
  const StartupPacket packet = ParseStartupPacket(body);
  if (packet.kind == StartupPacket::Kind::kStartup) {
    Check(packet.protocol >> 16 == 3);
    Check(packet.parameters.count("user") == 1 && !packet.parameters.at("user").empty());
  }
}

// input: [limit selector][chunking seed][the bytes a client sends]
void FuzzMessages(std::string_view input) {
  if (input.size() < 2) return;
  static constexpr size_t kLimits[] = {0, 16, 1024, 1 << 16};
  MessageReader reader(kLimits[static_cast<unsigned char>(input[0]) % 4]);
  // Chunk sizes 1..64 from a small generator seeded by the input, so the same
  // bytes arrive split in many ways across the corpus.
  uint32_t state = static_cast<unsigned char>(input[1]) * 2654435761U + 1;
  std::string_view rest = input.substr(2);
  size_t fed = 0;
  size_t returned = 0;
  while (!rest.empty()) {
    state = state * 1664525U + 1013904223U;
    const size_t chunk = std::min<size_t>(rest.size(), 1 + (state >> 24) % 64);
    reader.Feed(rest.substr(0, chunk));
    rest.remove_prefix(chunk);
    fed += chunk;
    while (std::optional<FrontendMessage> message = reader.Next()) {
      returned += 5 + message->body.size();
      try {
        ReadFields(*message);
      } catch (const ProtocolError&) {
        // A malformed body: the connection would close; keep reading here.
      }
    }
    Check(reader.Pending() == fed - returned);
  }
}

// input: client-first-message NUL client-final-message
void FuzzScram(std::string_view input) {
  // One derivation for the whole run: PBKDF2 is slow by design.
  static const scram::Verifier verifier = scram::MakeVerifier("pencil", "fuzz-salt", 4096);
  const size_t nul = input.find('\0');
  const std::string_view first = input.substr(0, nul);
  const std::string_view final = nul == std::string_view::npos ? std::string_view() : input.substr(nul + 1);
  scram::ServerExchange exchange(verifier, "3rfcNHYJY1ZVvWVs7j");
  const std::string server_first = exchange.ClientFirst(first);
  Check(server_first.rfind("r=", 0) == 0);
  // Without the password the proof is wrong: a pass here would be a finding.
  Check(!exchange.ClientFinal(final).has_value());
}

void FuzzRoundTrip(std::string_view input) {
  FuzzedDataProvider data(reinterpret_cast<const uint8_t*>(input.data()), input.size());
  std::vector<std::optional<std::string>> values;
  const size_t count = data.ConsumeIntegralInRange<size_t>(0, 8);
  for (size_t i = 0; i < count; ++i) {
    if (data.ConsumeBool()) {
      values.emplace_back(std::nullopt);
    } else {
      values.emplace_back(data.ConsumeRandomLengthString(256));
    }
  }
  ErrorFields fields;
  fields.sqlstate = data.ConsumeRandomLengthString(8);
  fields.message = data.ConsumeRandomLengthString(256);
  if (data.ConsumeBool()) fields.position = data.ConsumeIntegral<int>();
  std::string wire = DataRow(values);
  const bool has_nul = fields.sqlstate.find('\0') != std::string::npos ||
                       fields.message.find('\0') != std::string::npos;
  if (!has_nul) wire += ErrorResponse(fields);

  MessageReader reader(1 << 20);
  reader.Feed(wire);
  const std::optional<FrontendMessage> row = reader.Next();
  Check(row.has_value() && row->type == 'D');
  BodyReader fields_of_row(row->body, "DataRow");
  Check(fields_of_row.Int16() == static_cast<int16_t>(values.size()));
  for (const std::optional<std::string>& value : values) {
    const int32_t length = fields_of_row.Int32();
    if (!value) {
      Check(length == -1);
    } else {
      Check(fields_of_row.Bytes(static_cast<size_t>(length)) == *value);
    }
  }
  fields_of_row.ExpectEnd();
  if (!has_nul) {
    const std::optional<FrontendMessage> error = reader.Next();
    Check(error.has_value() && error->type == 'E');
    BodyReader fields_of_error(error->body, "ErrorResponse");
    std::vector<std::pair<uint8_t, std::string>> read;
    while (true) {
      const uint8_t code = fields_of_error.Byte();
      if (code == 0) break;
      read.emplace_back(code, fields_of_error.CString());
    }
    fields_of_error.ExpectEnd();
    Check(read.size() == (fields.position ? 5U : 4U));
    Check(read[2].first == 'C' && read[2].second == fields.sqlstate);
    Check(read[3].first == 'M' && read[3].second == fields.message);
    if (fields.position) Check(read[4].first == 'P' && read[4].second == std::to_string(*fields.position));
  }
  Check(!reader.Next().has_value() && reader.Pending() == 0);
}

}  // namespace
}  // namespace dpql::pgwire

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* bytes, size_t size) {
  using namespace dpql::pgwire;
  if (size == 0) return 0;
  const std::string_view input(reinterpret_cast<const char*>(bytes) + 1, size - 1);
  try {
    switch (bytes[0] % 4) {
      case 0: FuzzStartup(input); break;
      case 1: FuzzMessages(input); break;
      case 2: FuzzScram(input); break;
      default: FuzzRoundTrip(input); break;
    }
  } catch (const ProtocolError&) {
  } catch (const dpql::scram::ScramError&) {
  }
  return 0;
}
