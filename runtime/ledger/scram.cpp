#include "runtime/ledger/scram.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include <algorithm>
#include <climits>
#include <cstdint>
#include <utility>
#include <vector>

namespace dpql::scram {

namespace {

using Key = std::array<unsigned char, 32>;

constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

Key Hmac(const Key& key, std::string_view data) {
  Key out{};
  unsigned int length = 0;
  if (HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
           reinterpret_cast<const unsigned char*>(data.data()), data.size(), out.data(),
           &length) == nullptr ||
      length != out.size()) {
    throw ScramError("HMAC-SHA-256 failed");
  }
  return out;
}

Key Sha256Of(const Key& data) {
  Key out{};
  SHA256(data.data(), data.size(), out.data());
  return out;
}

std::string_view AsText(const Key& key) { return {reinterpret_cast<const char*>(key.data()), key.size()}; }

// A SCRAM attribute "x=value" at the start of `part`: the value, or throws.
std::string Attribute(std::string_view part, char name, std::string_view message) {
  if (part.size() < 2 || part[0] != name || part[1] != '=') {
    throw ScramError("malformed SCRAM " + std::string(message) + ": expected the attribute '" +
                     std::string(1, name) + "='");
  }
  return std::string(part.substr(2));
}

// Splits at ',' into at most `parts` pieces (the last keeps any further commas).
std::vector<std::string_view> Split(std::string_view text) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (true) {
    const size_t comma = text.find(',', start);
    parts.push_back(
        text.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start));
    if (comma == std::string_view::npos) return parts;
    start = comma + 1;
  }
}

bool PrintableNonce(std::string_view nonce) {
  if (nonce.empty()) return false;
  for (char c : nonce) {
    if (c < 0x21 || c > 0x7e || c == ',') return false;
  }
  return true;
}

}  // namespace

std::string RandomBytes(size_t count) {
  std::string bytes(count, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(bytes.data()), static_cast<int>(count)) != 1) {
    throw ScramError("the random number generator failed");
  }
  return bytes;
}

std::string Base64Encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 3 <= bytes.size(); i += 3) {
    const uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16 |
                       static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8 |
                       static_cast<unsigned char>(bytes[i + 2]);
    for (int shift = 18; shift >= 0; shift -= 6) out.push_back(kAlphabet[n >> shift & 63]);
  }
  const size_t rest = bytes.size() - i;
  if (rest > 0) {
    uint32_t n = static_cast<uint32_t>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<uint32_t>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out.push_back(kAlphabet[n >> 18 & 63]);
    out.push_back(kAlphabet[n >> 12 & 63]);
    out.push_back(rest == 2 ? kAlphabet[n >> 6 & 63] : '=');
    out.push_back('=');
  }
  return out;
}

std::string Base64Decode(std::string_view text) {
  if (text.size() % 4 != 0) throw ScramError("base64 text whose length is not a multiple of 4");
  std::string out;
  for (size_t i = 0; i < text.size(); i += 4) {
    uint32_t n = 0;
    int padding = 0;
    for (size_t j = 0; j < 4; ++j) {
      const char c = text[i + j];
      if (c == '=' && i + 4 == text.size() && j >= 2) {
        ++padding;
        n <<= 6;
        continue;
      }
      const size_t value = kAlphabet.find(c);
      if (value == std::string_view::npos || padding > 0) throw ScramError("malformed base64");
      n = n << 6 | static_cast<uint32_t>(value);
    }
    out.push_back(static_cast<char>(n >> 16 & 0xff));
    if (padding < 2) out.push_back(static_cast<char>(n >> 8 & 0xff));
    if (padding < 1) out.push_back(static_cast<char>(n & 0xff));
  }
  if (Base64Encode(out) != text) throw ScramError("base64 text that is not in canonical form");
  return out;
}

namespace {

constexpr std::string_view kVerifierPrefix = "SCRAM-SHA-256$";

ScramError MalformedVerifier(const std::string& what) {
  return ScramError("malformed SCRAM verifier: " + what +
                    "; expected SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey> (base64); "
                    "`dpqld admin new-token NAME` stores a fresh one");
}

Key DecodeKey(std::string_view text, const char* name) {
  std::string bytes;
  try {
    bytes = Base64Decode(text);
  } catch (const ScramError& e) {
    throw MalformedVerifier(std::string("the ") + name + " is not base64 (" + e.what() + ")");
  }
  Key key{};
  if (bytes.size() != key.size()) {
    throw MalformedVerifier(std::string("the ") + name + " is " + std::to_string(bytes.size()) +
                            " bytes, not 32");
  }
  std::copy(bytes.begin(), bytes.end(), key.begin());
  return key;
}

}  // namespace

std::string FormatVerifier(const Verifier& verifier) {
  return std::string(kVerifierPrefix) + std::to_string(verifier.iterations) + ":" +
         Base64Encode(verifier.salt) + "$" + Base64Encode(AsText(verifier.stored_key)) + ":" +
         Base64Encode(AsText(verifier.server_key));
}

Verifier ParseVerifier(std::string_view text) {
  if (text.substr(0, kVerifierPrefix.size()) != kVerifierPrefix) {
    throw MalformedVerifier("it does not start with \"SCRAM-SHA-256$\"");
  }
  text.remove_prefix(kVerifierPrefix.size());
  const size_t dollar = text.find('$');
  if (dollar == std::string_view::npos) throw MalformedVerifier("no '$' before the keys");
  const std::string_view head = text.substr(0, dollar);   // iterations:salt
  const std::string_view keys = text.substr(dollar + 1);  // StoredKey:ServerKey
  const size_t head_colon = head.find(':');
  const size_t keys_colon = keys.find(':');
  if (head_colon == std::string_view::npos) throw MalformedVerifier("no ':' between iterations and salt");
  if (keys_colon == std::string_view::npos) throw MalformedVerifier("no ':' between StoredKey and ServerKey");
  if (keys.find_first_of("$:", keys_colon + 1) != std::string_view::npos ||
      head.find(':', head_colon + 1) != std::string_view::npos) {
    throw MalformedVerifier("more separators than its four parts");
  }

  const std::string_view iterations = head.substr(0, head_colon);
  if (iterations.empty() || iterations.size() > 10 || iterations[0] == '0') {
    throw MalformedVerifier("the iteration count is not a whole number from 1 to 2147483647");
  }
  int64_t count = 0;
  for (char c : iterations) {
    if (c < '0' || c > '9') {
      throw MalformedVerifier("the iteration count is not a whole number from 1 to 2147483647");
    }
    count = count * 10 + (c - '0');
  }
  if (count > INT_MAX)
    throw MalformedVerifier("the iteration count is not a whole number from 1 to 2147483647");

  Verifier verifier;
  verifier.iterations = static_cast<int>(count);
  const std::string_view salt = head.substr(head_colon + 1);
  if (salt.empty()) throw MalformedVerifier("the salt is empty");
  try {
    verifier.salt = Base64Decode(salt);
  } catch (const ScramError& e) {
    throw MalformedVerifier(std::string("the salt is not base64 (") + e.what() + ")");
  }
  verifier.stored_key = DecodeKey(keys.substr(0, keys_colon), "StoredKey");
  verifier.server_key = DecodeKey(keys.substr(keys_colon + 1), "ServerKey");
  return verifier;
}

Verifier MakeVerifier(std::string_view password, std::string_view salt, int iterations) {
  if (iterations < 1) throw ScramError("the SCRAM iteration count must be at least 1");
  if (salt.empty()) throw ScramError("the SCRAM salt must not be empty");
  Key salted{};
  if (PKCS5_PBKDF2_HMAC(password.data(), static_cast<int>(password.size()),
                        reinterpret_cast<const unsigned char*>(salt.data()), static_cast<int>(salt.size()),
                        iterations, EVP_sha256(), static_cast<int>(salted.size()), salted.data()) != 1) {
    throw ScramError("PBKDF2-HMAC-SHA-256 failed");
  }
  Verifier verifier;
  verifier.salt = std::string(salt);
  verifier.iterations = iterations;
  verifier.stored_key = Sha256Of(Hmac(salted, "Client Key"));
  verifier.server_key = Hmac(salted, "Server Key");
  OPENSSL_cleanse(salted.data(), salted.size());
  return verifier;
}

Verifier NewVerifier(std::string_view password, int iterations) {
  return MakeVerifier(password, RandomBytes(16), iterations);
}

ServerExchange::ServerExchange(Verifier verifier, std::string server_nonce)
    : verifier_(std::move(verifier)), server_nonce_(std::move(server_nonce)) {
  if (!PrintableNonce(server_nonce_)) throw ScramError("the server nonce must be printable, without ','");
}

std::string ServerExchange::NewNonce() { return Base64Encode(RandomBytes(18)); }

std::string ServerExchange::ClientFirst(std::string_view message) {
  if (first_done_) throw ScramError("a second SCRAM client-first-message");
  first_done_ = true;
  // gs2-header: "n,," or "y,," (optionally with "a=authzid" between the commas).
  if (message.empty()) throw ScramError("empty SCRAM client-first-message");
  if (message[0] == 'p') {
    throw ScramError("SCRAM channel binding (SCRAM-SHA-256-PLUS) is not offered by this server");
  }
  if ((message[0] != 'n' && message[0] != 'y') || message.size() < 3 || message[1] != ',') {
    throw ScramError("malformed SCRAM client-first-message: expected the GS2 header \"n,,\"");
  }
  const size_t second = message.find(',', 2);
  if (second == std::string_view::npos)
    throw ScramError("malformed SCRAM client-first-message: no GS2 header");
  const std::string_view authzid = message.substr(2, second - 2);
  if (!authzid.empty() && authzid.substr(0, 2) != "a=") {
    throw ScramError("malformed SCRAM client-first-message: bad authorization identity");
  }
  gs2_header_ = std::string(message.substr(0, second + 1));
  client_first_bare_ = std::string(message.substr(second + 1));
  const std::vector<std::string_view> parts = Split(client_first_bare_);
  if (parts.size() < 2) throw ScramError("malformed SCRAM client-first-message: expected n=...,r=...");
  if (!parts[0].empty() && parts[0][0] == 'm') {
    throw ScramError("SCRAM mandatory extensions (m=) are not supported");
  }
  Attribute(parts[0], 'n', "client-first-message");  // the name: PostgreSQL uses the startup user
  const std::string client_nonce = Attribute(parts[1], 'r', "client-first-message");
  if (!PrintableNonce(client_nonce)) throw ScramError("malformed SCRAM client nonce");
  nonce_ = client_nonce + server_nonce_;
  server_first_ =
      "r=" + nonce_ + ",s=" + Base64Encode(verifier_.salt) + ",i=" + std::to_string(verifier_.iterations);
  return server_first_;
}

std::optional<std::string> ServerExchange::ClientFinal(std::string_view message) {
  if (!first_done_ || final_done_) throw ScramError("a SCRAM client-final-message out of order");
  final_done_ = true;
  const size_t proof_at = message.rfind(",p=");
  if (proof_at == std::string_view::npos) throw ScramError("malformed SCRAM client-final-message: no proof");
  const std::string_view without_proof = message.substr(0, proof_at);
  const std::vector<std::string_view> parts = Split(without_proof);
  if (parts.size() < 2) throw ScramError("malformed SCRAM client-final-message: expected c=...,r=...");
  if (Attribute(parts[0], 'c', "client-final-message") != Base64Encode(gs2_header_)) {
    throw ScramError("SCRAM channel binding data does not match the GS2 header");
  }
  if (Attribute(parts[1], 'r', "client-final-message") != nonce_) {
    throw ScramError("SCRAM nonce does not match this exchange");
  }
  const std::string proof = Base64Decode(message.substr(proof_at + 3));
  if (proof.size() != 32) throw ScramError("SCRAM proof of the wrong length");

  const std::string auth_message =
      client_first_bare_ + "," + server_first_ + "," + std::string(without_proof);
  const Key client_signature = Hmac(verifier_.stored_key, auth_message);
  Key client_key{};
  for (size_t i = 0; i < client_key.size(); ++i) {
    client_key[i] = static_cast<unsigned char>(static_cast<unsigned char>(proof[i]) ^ client_signature[i]);
  }
  const Key stored = Sha256Of(client_key);
  if (CRYPTO_memcmp(stored.data(), verifier_.stored_key.data(), stored.size()) != 0) return std::nullopt;
  return "v=" + Base64Encode(AsText(Hmac(verifier_.server_key, auth_message)));
}

}  // namespace dpql::scram
