#pragma once

// SCRAM-SHA-256 (RFC 5802, RFC 7677), the server's side, as PostgreSQL
// clients speak it (libpq, psycopg, the JDBC driver): the password never
// crosses the wire, and the server keeps only a salted verifier of it. For
// DPQL's PostgreSQL front end the password is the analyst's bearer token.
//
// PostgreSQL's variant: the client's user name inside the SCRAM messages is
// ignored (the startup packet's `user` counts), and channel binding is not
// offered, so a client may send the GS2 header "n,," or "y,," but not "p=".
//
// The ledger keeps each analyst's verifier (dpql.analysts.scram_verifier) in
// PostgreSQL's own text form (FormatVerifier), so the wire-protocol front end
// can authenticate without ever holding the token.

#include <array>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

namespace dpql::scram {

inline constexpr int kDefaultIterations = 4096;

class ScramError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// What the server stores for one password: its salt and iteration count, and
// the keys derived from it (StoredKey = H(HMAC(SaltedPassword, "Client Key")),
// ServerKey = HMAC(SaltedPassword, "Server Key")).
struct Verifier {
  std::string salt;  // raw bytes
  int iterations = kDefaultIterations;
  std::array<unsigned char, 32> stored_key{};
  std::array<unsigned char, 32> server_key{};
};

// Derives the verifier of `password` (SaltedPassword = PBKDF2-HMAC-SHA-256).
// Throws ScramError for an iteration count below 1 or an empty salt.
Verifier MakeVerifier(std::string_view password, std::string_view salt, int iterations = kDefaultIterations);

// A verifier with a fresh random salt of 16 bytes.
Verifier NewVerifier(std::string_view password, int iterations = kDefaultIterations);

// PostgreSQL's text form of a verifier, as in pg_authid.rolpassword:
// "SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>", the salt and
// keys in padded base64.
std::string FormatVerifier(const Verifier& verifier);
// Reads FormatVerifier's form back. Throws ScramError, naming the part at
// fault but never quoting the text, for anything else: another prefix, an
// iteration count that is not a whole number from 1 to 2^31-1, an empty or
// non-canonical base64 salt, keys that are not 32 bytes, missing or extra
// separators.
Verifier ParseVerifier(std::string_view text);

// `count` bytes from OpenSSL's CSPRNG; throws ScramError if it fails.
std::string RandomBytes(size_t count);

std::string Base64Encode(std::string_view bytes);
// Throws ScramError on anything but canonical, padded base64.
std::string Base64Decode(std::string_view text);

// One authentication exchange. ClientFirst() answers the client-first-message
// with the server-first-message; ClientFinal() checks the client-final-message
// and returns the server-final-message ("v=...") when the proof is right, or
// nullopt when it is wrong (the password does not match). Malformed messages
// throw ScramError. A verifier for an unknown user should be a fixed dummy
// one, so that an unknown user and a wrong password look alike.
class ServerExchange {
 public:
  // `server_nonce`: printable, without ','; NewNonce() makes one.
  ServerExchange(Verifier verifier, std::string server_nonce);
  std::string ClientFirst(std::string_view client_first_message);
  std::optional<std::string> ClientFinal(std::string_view client_final_message);

  static std::string NewNonce();  // 18 random bytes, base64

 private:
  Verifier verifier_;
  std::string server_nonce_;
  std::string gs2_header_;
  std::string client_first_bare_;
  std::string server_first_;
  std::string nonce_;  // client nonce + server nonce
  bool first_done_ = false;
  bool final_done_ = false;
};

}  // namespace dpql::scram
