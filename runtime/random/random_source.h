#pragma once

// The one source of randomness for noise. Production code uses SecureRandom
// (the kernel CSPRNG). Tests may construct the engine with a seeded source from
// tests/support/; no production target links or includes one.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>

#include "compiler/common/rational.h"

namespace dpql {

class RandomSource {
 public:
  virtual ~RandomSource() = default;

  // Fills `out` with uniformly random bytes.
  virtual void Fill(uint8_t* out, size_t size) = 0;

  uint64_t NextUint64();
  // Uniform in [0, n) by rejection (no modulo bias). n > 0.
  uint64_t UniformBelow(uint64_t n);
  BigInt UniformBelow(const BigInt& n);
  bool FairBit();
};

// getrandom(2), buffered. Thread-safe.
class SecureRandom final : public RandomSource {
 public:
  SecureRandom() = default;
  void Fill(uint8_t* out, size_t size) override;

 private:
  void Refill();

  std::mutex mutex_;
  uint8_t buffer_[4096];
  size_t available_ = 0;
};

}  // namespace dpql
