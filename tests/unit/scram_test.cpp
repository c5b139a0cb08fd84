// SCRAM-SHA-256, the server's side: RFC 7677's worked example end to end,
// then the negative controls (a wrong password, a tampered exchange,
// channel binding the server does not offer, malformed messages).

#include "server/scram.h"

#include <gtest/gtest.h>

#include <string>
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

}  // namespace
}  // namespace dpql::scram
