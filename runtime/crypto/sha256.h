#pragma once

// SHA-256 (OpenSSL) and its hex rendering: bearer-token hashes (runtime/ledger),
// the answer cache's key (runtime/cache) and the readiness probe's statement
// names (runtime/pg).

#include <array>
#include <cstddef>
#include <string>
#include <string_view>

namespace dpql {

std::array<unsigned char, 32> Sha256(std::string_view data);

// Lower-case hex digits of `size` bytes.
std::string HexEncode(const unsigned char* data, size_t size);

// SHA-256 of `data` as 64 lower-case hex digits.
std::string Sha256Hex(std::string_view data);

}  // namespace dpql
