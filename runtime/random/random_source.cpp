#include "runtime/random/random_source.h"

#include <sys/random.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "compiler/common/error.h"

namespace dpql {

uint64_t RandomSource::NextUint64() {
  uint64_t value;
  Fill(reinterpret_cast<uint8_t*>(&value), sizeof value);
  return value;
}

uint64_t RandomSource::UniformBelow(uint64_t n) {
  // Accept only draws below the largest multiple of n, so every residue is
  // equally likely.
  const uint64_t limit = UINT64_MAX - (UINT64_MAX % n);
  for (;;) {
    uint64_t draw = NextUint64();
    if (draw < limit) return draw % n;
  }
}

BigInt RandomSource::UniformBelow(const BigInt& n) {
  if (n <= UINT64_MAX) return BigInt(UniformBelow(n.convert_to<uint64_t>()));
  // Draw just enough random bits and reject values >= n (expected < 2 tries).
  const size_t bits = boost::multiprecision::msb(n) + 1;
  const size_t words = (bits + 63) / 64;
  const size_t excess = words * 64 - bits;
  for (;;) {
    BigInt draw = 0;
    for (size_t i = 0; i < words; ++i) draw = (draw << 64) | BigInt(NextUint64());
    draw >>= excess;
    if (draw < n) return draw;
  }
}

bool RandomSource::FairBit() {
  uint8_t byte;
  Fill(&byte, 1);
  return (byte & 1) != 0;
}

void SecureRandom::Refill() {
  size_t filled = 0;
  while (filled < sizeof buffer_) {
    ssize_t got = getrandom(buffer_ + filled, sizeof buffer_ - filled, 0);
    if (got < 0) {
      if (errno == EINTR) continue;
      throw DpqlError(ErrorCode::kRandomFailure,
                      std::string("the system random generator failed: ") + std::strerror(errno));
    }
    filled += static_cast<size_t>(got);
  }
  available_ = sizeof buffer_;
}

void SecureRandom::Fill(uint8_t* out, size_t size) {
  std::lock_guard<std::mutex> lock(mutex_);
  while (size > 0) {
    if (available_ == 0) Refill();
    size_t take = size < available_ ? size : available_;
    // Bytes are consumed from the end and wiped so none is ever handed out twice.
    uint8_t* from = buffer_ + (available_ - take);
    std::memcpy(out, from, take);
    std::memset(from, 0, take);
    available_ -= take;
    out += take;
    size -= take;
  }
}

}  // namespace dpql
