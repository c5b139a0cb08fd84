#include "runtime/ledger/tokens.h"

#include <openssl/crypto.h>

#include <cstdint>
#include <string_view>

#include "runtime/random/random_source.h"

namespace dpql {

namespace {

constexpr size_t kTokenBytes = 32;  // 256 bits
constexpr std::string_view kTokenPrefix = "dpql_";

std::string Base64Url(const uint8_t* data, size_t size) {
  static constexpr char kAlphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
  std::string out;
  uint32_t buffer = 0;
  int bits = 0;
  for (size_t i = 0; i < size; ++i) {
    buffer = (buffer << 8) | data[i];
    bits += 8;
    while (bits >= 6) {
      bits -= 6;
      out.push_back(kAlphabet[(buffer >> bits) & 0x3f]);
    }
  }
  if (bits > 0) out.push_back(kAlphabet[(buffer << (6 - bits)) & 0x3f]);
  return out;  // unpadded
}

}  // namespace

std::string NewToken() {
  SecureRandom random;
  uint8_t bytes[kTokenBytes];
  random.Fill(bytes, sizeof bytes);
  std::string token = std::string(kTokenPrefix) + Base64Url(bytes, sizeof bytes);
  OPENSSL_cleanse(bytes, sizeof bytes);
  return token;
}

}  // namespace dpql
