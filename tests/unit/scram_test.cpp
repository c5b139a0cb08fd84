// SCRAM-SHA-256, the server's side: RFC 7677's worked example end to end,
// then the negative controls (a wrong password, a tampered exchange,
// channel binding the server does not offer, malformed messages), and the
// verifier's text form as PostgreSQL writes it.

#include "runtime/ledger/scram.h"

#include <gtest/gtest.h>

#include "tests/support/scram_client.h"

#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace dpql::scram {
namespace {

// RFC 7677, section 3: user "user", password "pencil".
constexpr const char* kClientFirst = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr const char* kServerNonce = "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0";
constexpr const char* kServerFirst =
    "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
constexpr const char* kClientFinal =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+"
    "Ute9ytag9zjfMHgsqmmiz7AndVQ=";
constexpr const char* kServerFinal = "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=";

Verifier Pencil() { return MakeVerifier("pencil", Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096); }

TEST(ScramTest, Rfc7677ExampleAuthenticatesAndSignsTheServer) {
  ServerExchange exchange(Pencil(), kServerNonce);
  EXPECT_EQ(exchange.ClientFirst(kClientFirst), kServerFirst);
  const std::optional<std::string> final_message = exchange.ClientFinal(kClientFinal);
  ASSERT_TRUE(final_message.has_value());
  EXPECT_EQ(*final_message, kServerFinal);
}

TEST(ScramTest, WrongPasswordIsRefusedWithoutAnError) {
  ServerExchange exchange(MakeVerifier("pencil!", Base64Decode("W22ZaJ0SNY7soEsUEjb6gQ=="), 4096),
                          kServerNonce);
  exchange.ClientFirst(kClientFirst);
  EXPECT_FALSE(exchange.ClientFinal(kClientFinal).has_value());
}

TEST(ScramTest, TamperedProofNonceOrBindingIsRefused) {
  std::string proof = kClientFinal;
  proof[proof.size() - 3] = proof[proof.size() - 3] == 'A' ? 'B' : 'A';  // one proof bit
  {
    ServerExchange exchange(Pencil(), kServerNonce);
    exchange.ClientFirst(kClientFirst);
    EXPECT_FALSE(exchange.ClientFinal(proof).has_value());
  }
  {
    ServerExchange exchange(Pencil(), kServerNonce);
    exchange.ClientFirst(kClientFirst);
    std::string nonce = kClientFinal;
    nonce.replace(nonce.find("k0,p="), 2, "k1");
    EXPECT_THROW(exchange.ClientFinal(nonce), ScramError);
  }
  {
    // "y,," in the first message but "n,," (biws) claimed in the final one.
    ServerExchange exchange(Pencil(), kServerNonce);
    exchange.ClientFirst("y,,n=user,r=rOprNGfwEbeRWgbNEkqO");
    EXPECT_THROW(exchange.ClientFinal(kClientFinal), ScramError);
  }
}

TEST(ScramTest, MalformedAndUnsupportedMessagesThrow) {
  for (const char* first : {"", "p=tls-server-end-point,,n=user,r=abc", "x,,n=user,r=abc", "n,,r=abc",
                            "n,,n=user", "n,,n=user,r=", "n,,m=ext,n=user,r=abc", "n,x,n=user,r=abc"}) {
    ServerExchange exchange(Pencil(), kServerNonce);
    EXPECT_THROW(exchange.ClientFirst(first), ScramError) << first;
  }
  ServerExchange exchange(Pencil(), kServerNonce);
  EXPECT_THROW(exchange.ClientFinal(kClientFinal), ScramError) << "final before first";
  exchange.ClientFirst(kClientFirst);
  EXPECT_THROW(exchange.ClientFinal("c=biws,r=x"), ScramError) << "no proof";
  EXPECT_THROW(exchange.ClientFirst(kClientFirst), ScramError) << "a second first message";
}

TEST(ScramTest, Base64RoundTripsAndRefusesNonCanonicalText) {
  const std::vector<std::string> samples = {"",     "f",     "fo",     "foo",
                                            "foob", "fooba", "foobar", std::string("\0\xff\x10", 3)};
  for (const std::string& bytes : samples) {
    EXPECT_EQ(Base64Decode(Base64Encode(bytes)), bytes);
  }
  EXPECT_EQ(Base64Encode("foobar"), "Zm9vYmFy");
  EXPECT_EQ(Base64Encode("fo"), "Zm8=");
  for (const char* bad : {"Zm8", "Zm9=", "Z===", "Zm=8", "Zm8*", "=Zm8"}) {
    EXPECT_THROW(Base64Decode(bad), ScramError) << bad;
  }
}

TEST(ScramTest, NewVerifiersAreSaltedAndNoncesDiffer) {
  const Verifier a = NewVerifier("token");
  const Verifier b = NewVerifier("token");
  EXPECT_EQ(a.salt.size(), 16u);
  EXPECT_NE(a.salt, b.salt);
  EXPECT_NE(a.stored_key, b.stored_key);
  EXPECT_NE(ServerExchange::NewNonce(), ServerExchange::NewNonce());
  EXPECT_THROW(MakeVerifier("x", "salt", 0), ScramError);
  EXPECT_THROW(MakeVerifier("x", "", 1), ScramError);
}

// RFC 7677's verifier ("pencil") in PostgreSQL's form, as computed
// independently (Python's hashlib.pbkdf2_hmac and hmac).
constexpr const char* kPencilText =
    "SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ==$WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=:"
    "wfPLwcE6nTWhTAmQ7tl2KeoiWGPlZqQxSrmfPwDl2dU=";

TEST(ScramTest, VerifierTextIsPostgresqlsForm) {
  EXPECT_EQ(FormatVerifier(Pencil()), kPencilText);
  const Verifier parsed = ParseVerifier(kPencilText);
  EXPECT_EQ(parsed.iterations, 4096);
  EXPECT_EQ(parsed.salt, Pencil().salt);
  EXPECT_EQ(parsed.stored_key, Pencil().stored_key);
  EXPECT_EQ(parsed.server_key, Pencil().server_key);
  // The parsed verifier runs RFC 7677's exchange.
  ServerExchange exchange(parsed, kServerNonce);
  EXPECT_EQ(exchange.ClientFirst(kClientFirst), kServerFirst);
  EXPECT_EQ(exchange.ClientFinal(kClientFinal), std::optional<std::string>(kServerFinal));
}

TEST(ScramTest, VerifierTextRoundTripsAndAuthenticatesItsPasswordOnly) {
  for (int iterations : {1, 4096, 10000}) {
    const Verifier original = NewVerifier("dpql_secret-token", iterations);
    const std::string text = FormatVerifier(original);
    EXPECT_EQ(text.rfind("SCRAM-SHA-256$" + std::to_string(iterations) + ":", 0), 0u) << text;
    EXPECT_EQ(text.find("dpql_secret-token"), std::string::npos);
    const Verifier back = ParseVerifier(text);
    EXPECT_EQ(back.iterations, original.iterations);
    EXPECT_EQ(back.salt, original.salt);
    EXPECT_EQ(back.stored_key, original.stored_key);
    EXPECT_EQ(back.server_key, original.server_key);
    EXPECT_EQ(FormatVerifier(back), text);
    EXPECT_TRUE(ScramAuthenticates(back, "dpql_secret-token"));
    EXPECT_FALSE(ScramAuthenticates(back, "dpql_secret-tokem"));
    EXPECT_FALSE(ScramAuthenticates(back, ""));
  }
}

TEST(ScramTest, MalformedVerifierTextThrowsNamingThePart) {
  const std::string key = "WG5d8oPm3OtcPnkdi4Uo7BkeZkBFzpcXkuLmtbsT4qY=";
  const std::string salt = "W22ZaJ0SNY7soEsUEjb6gQ==";
  const std::string keys = "$" + key + ":" + key;
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"", "SCRAM-SHA-256$"},
      {"md5a3556571e93b0d20722ba62be61e8c2d", "SCRAM-SHA-256$"},
      {"scram-sha-256$4096:" + salt + keys, "SCRAM-SHA-256$"},
      {"SCRAM-SHA-1$4096:" + salt + keys, "SCRAM-SHA-256$"},
      {"SCRAM-SHA-256$4096:" + salt, "no '$'"},
      {"SCRAM-SHA-256$4096" + keys, "between iterations and salt"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + key, "between StoredKey and ServerKey"},
      {"SCRAM-SHA-256$4096:" + salt + keys + ":" + key, "more separators"},
      {"SCRAM-SHA-256$4096:" + salt + keys + "$" + key, "more separators"},
      {"SCRAM-SHA-256$4096:1:" + salt + keys, "more separators"},
      {"SCRAM-SHA-256$:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$0:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$04096:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$-1:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$+4096:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$4096 :" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$2147483648:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$99999999999:" + salt + keys, "iteration count"},
      {"SCRAM-SHA-256$4096:" + keys, "salt is empty"},
      {"SCRAM-SHA-256$4096:W22ZaJ0SNY7soEsUEjb6gQ=" + keys, "salt is not base64"},
      {"SCRAM-SHA-256$4096:W22Z*J0SNY7soEsUEjb6gQ==" + keys, "salt is not base64"},
      {"SCRAM-SHA-256$4096:" + salt + "$:" + key, "StoredKey is 0 bytes"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + key + ":", "ServerKey is 0 bytes"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + salt + ":" + key, "StoredKey is 16 bytes"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + Base64Encode(std::string(33, 'k')),
       "ServerKey is 33 bytes"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + key + "x:" + key, "StoredKey is not base64"},
      {"SCRAM-SHA-256$4096:" + salt + "$" + key + ":" + key.substr(0, 43) + "*", "ServerKey is not base64"},
  };
  for (const auto& [text, part] : cases) {
    try {
      ParseVerifier(text);
      ADD_FAILURE() << "accepted: " << text;
    } catch (const ScramError& e) {
      const std::string message = e.what();
      EXPECT_EQ(message.rfind("malformed SCRAM verifier: ", 0), 0u) << message;
      EXPECT_NE(message.find(part), std::string::npos) << text << " -> " << message;
      EXPECT_NE(message.find("dpqld admin new-token"), std::string::npos) << message;
    }
  }
  // The largest iteration count is accepted.
  EXPECT_EQ(ParseVerifier("SCRAM-SHA-256$2147483647:" + salt + keys).iterations, 2147483647);
}

}  // namespace
}  // namespace dpql::scram
