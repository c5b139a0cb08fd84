#pragma once

// TEST-ONLY. A deterministic RandomSource for reproducible statistical tests.
// Production code never includes or links this file (it lives in
// tests/support, which only test targets link); noise in production comes
// from SecureRandom alone.

#include <cstddef>
#include <cstdint>

#include "runtime/random/random_source.h"

namespace dpql {

// xoshiro256** (Blackman & Vigna) seeded through SplitMix64, so any uint64
// seed — including 0 — gives a well-mixed, reproducible stream.
class SeededRandom final : public RandomSource {
 public:
  explicit SeededRandom(uint64_t seed);
  void Fill(uint8_t* out, size_t size) override;

 private:
  uint64_t Next();

  uint64_t state_[4];
};

}  // namespace dpql
