// PostgreSQL protocol 3.0 messages: the startup packet and its refusals, the
// framing of client messages (split arrivals, bad and oversized lengths
// refused before the body is awaited), field reads that never run past a
// body, and backend messages byte for byte as the protocol defines them.

#include "server/pg_protocol.h"

#include <gtest/gtest.h>

#include <string>

namespace dpql::pgwire {
namespace {

std::string Int32Bytes(int32_t value) {
  return MessageWriter().Begin('x').Int32(value).End().Take().substr(5);
}

std::string Startup(const std::string& pairs, int32_t code = kProtocolVersion3) {
  return Int32Bytes(code) + pairs;
}

TEST(PgProtocolTest, StartupPacketReadsParametersAndSpecialRequests) {
  const StartupPacket packet =
      ParseStartupPacket(Startup(std::string("user\0planner\0database\0hospital\0\0", 32)));
  EXPECT_EQ(packet.kind, StartupPacket::Kind::kStartup);
  EXPECT_EQ(packet.parameters.at("user"), "planner");
  EXPECT_EQ(packet.parameters.at("database"), "hospital");

  EXPECT_EQ(ParseStartupPacket(Int32Bytes(kSslRequestCode)).kind, StartupPacket::Kind::kSslRequest);
  EXPECT_EQ(ParseStartupPacket(Int32Bytes(kGssEncRequestCode)).kind, StartupPacket::Kind::kGssEncRequest);
  const StartupPacket cancel =
      ParseStartupPacket(Int32Bytes(kCancelRequestCode) + Int32Bytes(1234) + Int32Bytes(-5));
  EXPECT_EQ(cancel.kind, StartupPacket::Kind::kCancelRequest);
  EXPECT_EQ(cancel.cancel_process_id, 1234);
  EXPECT_EQ(cancel.cancel_secret_key, -5);
}

TEST(PgProtocolTest, MalformedStartupPacketsAreRefusedWithTheReason) {
  struct Case {
    std::string body;
    std::string says;
  };
  const Case cases[] = {
      {Startup(std::string("user\0planner\0\0", 14), 2 << 16), "protocol 2.0"},
      {Startup(std::string("user\0planner\0", 13)), "not terminated"},
      {Startup(std::string("user\0planner\0database\0", 22)), "has no value"},
      {Startup(std::string("user\0a\0user\0b\0\0", 15)), "twice"},
      {Startup(std::string("database\0hospital\0\0", 19)), "no user name"},
      {Startup(std::string("user\0planner\0\0junk", 18)), "unexpected bytes"},
      {Int32Bytes(kSslRequestCode) + "x", "unexpected bytes"},
      {Int32Bytes(kCancelRequestCode) + Int32Bytes(1), "ends before"},
      {std::string("\0\3", 2), "ends before"},
  };
  for (const Case& c : cases) {
    try {
      ParseStartupPacket(c.body);
      ADD_FAILURE() << "accepted: " << c.says;
    } catch (const ProtocolError& e) {
      EXPECT_NE(std::string(e.what()).find(c.says), std::string::npos) << e.what();
    }
  }
}

TEST(PgProtocolTest, ReaderFramesMessagesArrivingInPieces) {
  const std::string query = MessageWriter().Begin('Q').CString("SELECT 1").End().Take();
  const std::string sync = MessageWriter().Begin('S').End().Take();
  const std::string bytes = query + sync;
  MessageReader reader(1 << 20);
  std::vector<FrontendMessage> messages;
  for (char byte : bytes) {  // one byte at a time: the worst split
    reader.Feed(std::string(1, byte));
    while (auto message = reader.Next()) messages.push_back(std::move(*message));
  }
  ASSERT_EQ(messages.size(), 2u);
  EXPECT_EQ(messages[0].type, 'Q');
  EXPECT_EQ(messages[0].body, std::string("SELECT 1\0", 9));
  EXPECT_EQ(messages[1].type, 'S');
  EXPECT_TRUE(messages[1].body.empty());
  EXPECT_EQ(reader.Pending(), 0u);
}

TEST(PgProtocolTest, BadAndOversizedLengthsAreRefusedBeforeTheBody) {
  MessageReader reader(1000);
  reader.Feed("Q" + Int32Bytes(3));
  EXPECT_THROW(reader.Next(), ProtocolError);

  MessageReader small(1000);
  small.Feed("Q" + Int32Bytes(1 << 30));  // claims 1 GiB, sends nothing more
  try {
    small.Next();
    FAIL() << "an oversized message was awaited";
  } catch (const ProtocolError& e) {
    EXPECT_NE(std::string(e.what()).find("over this server's limit of 1000"), std::string::npos) << e.what();
  }
  MessageReader negative(1000);
  negative.Feed("Q" + Int32Bytes(-1));
  EXPECT_THROW(negative.Next(), ProtocolError);
}

TEST(PgProtocolTest, BodyReaderNeverReadsPastTheBody) {
  const std::string body = Int32Bytes(7) + std::string("name\0", 5) + std::string("\0\2", 2);
  BodyReader reader(body, "Bind");
  EXPECT_EQ(reader.Int32(), 7);
  EXPECT_EQ(reader.CString(), "name");
  EXPECT_EQ(reader.Int16(), 2);
  reader.ExpectEnd();
  EXPECT_THROW(reader.Byte(), ProtocolError);
  const std::string abc = "abc";
  BodyReader unterminated(abc, "Parse");
  EXPECT_THROW(unterminated.CString(), ProtocolError);
  const std::string ab = "ab";
  BodyReader short_bytes(ab, "Bind");
  EXPECT_THROW(short_bytes.Bytes(3), ProtocolError);
}

TEST(PgProtocolTest, BackendMessagesAreByteExact) {
  EXPECT_EQ(AuthenticationOk(), std::string("R\0\0\0\x08\0\0\0\0", 9));
  EXPECT_EQ(ReadyForQuery('I'), std::string("Z\0\0\0\x05I", 6));
  EXPECT_EQ(CommandComplete("SELECT 2"), std::string("C\0\0\0\x0dSELECT 2\0", 14));
  EXPECT_EQ(AuthenticationSasl({"SCRAM-SHA-256"}), std::string("R\0\0\0\x17\0\0\0\x0aSCRAM-SHA-256\0\0", 24));
  EXPECT_EQ(DataRow({std::string("37"), std::nullopt}), std::string("D\0\0\0\x10\0\x02\0\0\0\x02"
                                                                    "37\xff\xff\xff\xff",
                                                                    17));
  const std::string row = RowDescription({{"ward_code", 25, -1, -1, 0}});
  EXPECT_EQ(row.substr(0, 7), std::string("T\0\0\0\x22\0\x01", 7));
  EXPECT_EQ(row.size(), 1u + 0x22);

  ErrorFields error;
  error.sqlstate = "42601";
  error.message = "missing FROM";
  error.position = 17;
  EXPECT_EQ(ErrorResponse(error),
            std::string("E\0\0\0\x2cSERROR\0VERROR\0C42601\0Mmissing FROM\0P17\0\0", 45));
  error.severity = "NOTICE";
  EXPECT_EQ(NoticeResponse(error)[0], 'N');
  EXPECT_THROW(CommandComplete(std::string("a\0b", 3)), std::logic_error);
}

}  // namespace
}  // namespace dpql::pgwire
