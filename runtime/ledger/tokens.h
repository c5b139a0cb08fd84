#pragma once

// Bearer tokens: "dpql_" + 43 base64url characters (256 random bits from
// SecureRandom). The ledger stores only a token's SHA-256 (Sha256Hex).

#include <cstddef>
#include <string>

#include "runtime/crypto/sha256.h"

namespace dpql {

// Longer texts are no token: refused before hashing.
inline constexpr size_t kMaxTokenLength = 256;

// A fresh random token (exposed for tests).
std::string NewToken();

}  // namespace dpql
