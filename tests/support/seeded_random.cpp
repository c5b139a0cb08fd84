#include "tests/support/seeded_random.h"

#include <cstring>

namespace dpql {

namespace {

uint64_t SplitMix64(uint64_t& x) {
  uint64_t z = (x += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

uint64_t RotateLeft(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

SeededRandom::SeededRandom(uint64_t seed) {
  for (uint64_t& word : state_) word = SplitMix64(seed);
}

uint64_t SeededRandom::Next() {
  const uint64_t result = RotateLeft(state_[1] * 5, 7) * 9;
  const uint64_t t = state_[1] << 17;
  state_[2] ^= state_[0];
  state_[3] ^= state_[1];
  state_[1] ^= state_[2];
  state_[0] ^= state_[3];
  state_[2] ^= t;
  state_[3] = RotateLeft(state_[3], 45);
  return result;
}

void SeededRandom::Fill(uint8_t* out, size_t size) {
  while (size >= sizeof(uint64_t)) {
    const uint64_t word = Next();
    std::memcpy(out, &word, sizeof word);
    out += sizeof word;
    size -= sizeof word;
  }
  if (size > 0) {
    const uint64_t word = Next();
    std::memcpy(out, &word, size);
  }
}

}  // namespace dpql
