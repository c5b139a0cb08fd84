#include "runtime/noise/samplers.h"

#include <string>

#include "compiler/common/error.h"

namespace dpql {

namespace {

using u128 = unsigned __int128;

// Parameters below this bound take the machine-word path: products such as
// t * k or y * b * t then stay far from 2^64 / 2^128 in practice, and any
// step that would overflow anyway drops to BigInt for that step only.
constexpr uint64_t kFastLimit = uint64_t{1} << 31;

[[noreturn]] void Invalid(const std::string& message) {
  throw DpqlError(ErrorCode::kInvalidMechanism, message);
}

BigInt ToBigInt(u128 v) {
  BigInt result = static_cast<uint64_t>(v >> 64);
  result <<= 64;
  result |= static_cast<uint64_t>(v);
  return result;
}

// Hands out random bits from 64-bit words of the source, so a fair coin costs
// one bit and a uniform draw below n costs about log2(n) bits instead of a
// whole word each. Lives for one sampler call; leftover bits are discarded,
// never reused elsewhere.
class BitStream {
 public:
  explicit BitStream(RandomSource& rng) : rng_(rng) {}

  bool Bit() {
    if (available_ == 0) Refill();
    const bool bit = (word_ & 1) != 0;
    word_ >>= 1;
    --available_;
    return bit;
  }

  // k uniformly random bits, 1 <= k <= 64.
  uint64_t Bits(int k) {
    if (k <= available_) return Take(k);
    const int have = available_;
    const uint64_t low = Take(have);
    Refill();
    return low | (Take(k - have) << have);
  }

  // Uniform in [0, n), n >= 1: draw the fewest bits that can hold n - 1 and
  // reject values >= n (fewer than 2 tries on average, no modulo bias).
  uint64_t UniformBelow(uint64_t n) {
    if (n == 1) return 0;
    const int k = 64 - __builtin_clzll(n - 1);
    for (;;) {
      const uint64_t draw = Bits(k);
      if (draw < n) return draw;
    }
  }

  BigInt UniformBelow(const BigInt& n) {
    if (n <= UINT64_MAX) return BigInt(UniformBelow(n.convert_to<uint64_t>()));
    const unsigned bits = boost::multiprecision::msb(BigInt(n - 1)) + 1;
    for (;;) {
      BigInt draw = 0;
      for (unsigned remaining = bits; remaining > 0;) {
        const int k = remaining < 64 ? static_cast<int>(remaining) : 64;
        draw <<= k;
        draw |= Bits(k);
        remaining -= static_cast<unsigned>(k);
      }
      if (draw < n) return draw;
    }
  }

 private:
  // Invariant: word_ holds exactly available_ unused bits, zeros above them.
  uint64_t Take(int k) {
    if (k == 0) return 0;
    if (k == 64) {
      const uint64_t all = word_;
      word_ = 0;
      available_ = 0;
      return all;
    }
    const uint64_t value = word_ & ((uint64_t{1} << k) - 1);
    word_ >>= k;
    available_ -= k;
    return value;
  }

  void Refill() {
    word_ = rng_.NextUint64();
    available_ = 64;
  }

  RandomSource& rng_;
  uint64_t word_ = 0;
  int available_ = 0;
};

// ---- Bernoulli(p / q) --------------------------------------------------------

bool BernoulliFast(uint64_t p, uint64_t q, BitStream& bits) { return bits.UniformBelow(q) < p; }

bool BernoulliBig(const BigInt& p, const BigInt& q, BitStream& bits) { return bits.UniformBelow(q) < p; }

// ---- Bernoulli(exp(-gamma)), CKS20 algorithm 1 ---------------------------------

// exp(-1): K <- 1; while Bernoulli(1/K): K <- K + 1; return K odd.
bool BernoulliExpMinusOne(BitStream& bits) {
  uint64_t k = 1;
  while (bits.UniformBelow(k) == 0) ++k;
  return (k & 1) == 1;
}

// exp(-num/den) for 0 <= num <= den: the same loop with Bernoulli(gamma / K).
bool BernoulliExpUnitFast(uint64_t num, uint64_t den, BitStream& bits) {
  if (num == 0) return true;  // Bernoulli(0) fails at K = 1, and 1 is odd
  for (uint64_t k = 1;; ++k) {
    const u128 q = static_cast<u128>(den) * k;
    const bool success = (q >> 64) == 0 ? BernoulliFast(num, static_cast<uint64_t>(q), bits)
                                        : BernoulliBig(BigInt(num), ToBigInt(q), bits);
    if (!success) return (k & 1) == 1;
  }
}

bool BernoulliExpUnitBig(const BigInt& num, const BigInt& den, BitStream& bits) {
  if (num == 0) return true;
  for (uint64_t k = 1;; ++k) {
    if (!BernoulliBig(num, den * k, bits)) return (k & 1) == 1;
  }
}

// exp(-(whole + rem/den)) = exp(-1)^whole * exp(-rem/den), rem < den.
bool BernoulliExpFast(u128 whole, uint64_t rem, uint64_t den, BitStream& bits) {
  for (u128 i = 0; i < whole; ++i) {
    if (!BernoulliExpMinusOne(bits)) return false;
  }
  return BernoulliExpUnitFast(rem, den, bits);
}

// exp(-num/den), num >= 0, den > 0.
bool BernoulliExpBig(const BigInt& num, const BigInt& den, BitStream& bits) {
  const BigInt whole = num / den;
  for (BigInt i = 0; i < whole; ++i) {
    if (!BernoulliExpMinusOne(bits)) return false;
  }
  return BernoulliExpUnitBig(num - whole * den, den, bits);
}

// ---- Discrete Laplace with scale t/s, CKS20 algorithm 2 ------------------------

struct Draw {
  bool negative;
  u128 magnitude;
};

BigInt ToSigned(const Draw& d) {
  BigInt v = (d.magnitude >> 64) == 0 ? BigInt(static_cast<uint64_t>(d.magnitude)) : ToBigInt(d.magnitude);
  if (d.negative) v = -v;
  return v;
}

Draw DiscreteLaplaceFast(uint64_t t, uint64_t s, BitStream& bits) {
  for (;;) {
    const uint64_t u = bits.UniformBelow(t);
    if (!BernoulliExpUnitFast(u, t, bits)) continue;
    // X = U + t*V is geometric: P(X = x) proportional to exp(-x/t).
    uint64_t v = 0;
    while (BernoulliExpMinusOne(bits)) ++v;
    const u128 x = static_cast<u128>(t) * v + u;
    const u128 y = (x >> 64) == 0 ? static_cast<u128>(static_cast<uint64_t>(x) / s) : x / s;
    const bool negative = bits.Bit();
    if (negative && y == 0) continue;  // otherwise 0 would be counted twice
    return {negative, y};
  }
}

BigInt DiscreteLaplaceBig(const BigInt& t, const BigInt& s, BitStream& bits) {
  for (;;) {
    const BigInt u = bits.UniformBelow(t);
    if (!BernoulliExpUnitBig(u, t, bits)) continue;
    BigInt v = 0;
    while (BernoulliExpMinusOne(bits)) ++v;
    const BigInt y = (u + t * v) / s;
    const bool negative = bits.Bit();
    if (negative && y == 0) continue;
    return negative ? BigInt(-y) : y;
  }
}

// ---- Discrete Gaussian, CKS20 algorithm 3 --------------------------------------

void ValidateSigma2(const Rational& sigma2) {
  if (sigma2.sign() <= 0) {
    Invalid("discrete Gaussian variance sigma^2 must be positive, got " + ToDecimalString(sigma2) +
            "; derive it from a positive sensitivity and a positive rho/epsilon");
  }
}

// floor(sigma) + 1 where sigma^2 = a/b: floor(sqrt(x)) = isqrt(floor(x)).
BigInt GaussianProposalScale(const BigInt& a, const BigInt& b) {
  return boost::multiprecision::sqrt(BigInt(a / b)) + 1;
}

// Accept a proposal y with probability exp(-(|y| - sigma^2/t)^2 / (2 sigma^2))
// = exp(-(|y| b t - a)^2 / (2 a b t^2)).
bool GaussianAcceptBig(const BigInt& abs_y, const BigInt& a, const BigInt& b, const BigInt& t,
                       BitStream& bits) {
  const BigInt diff = abs_y * b * t - a;
  return BernoulliExpBig(diff * diff, 2 * a * b * t * t, bits);
}

BigInt DiscreteGaussianBig(const BigInt& a, const BigInt& b, BitStream& bits) {
  const BigInt t = GaussianProposalScale(a, b);
  for (;;) {
    const BigInt y = DiscreteLaplaceBig(t, 1, bits);
    if (GaussianAcceptBig(boost::multiprecision::abs(y), a, b, t, bits)) return y;
  }
}

void ValidateScale(const Rational& scale) {
  if (scale.sign() <= 0) {
    Invalid("discrete Laplace scale must be positive, got " + ToDecimalString(scale) +
            "; the scale is sensitivity / epsilon, so both must be positive");
  }
}

void ValidateGamma(const Rational& gamma) {
  if (gamma.sign() < 0) {
    Invalid("Bernoulli(exp(-gamma)) needs gamma >= 0, got " + ToDecimalString(gamma));
  }
}

}  // namespace

// ---- Public entry points -------------------------------------------------------

bool SampleBernoulli(const Rational& p, RandomSource& rng) {
  const BigInt& num = boost::multiprecision::numerator(p);
  const BigInt& den = boost::multiprecision::denominator(p);
  if (num.sign() < 0 || num > den) {
    Invalid("Bernoulli probability must be in [0, 1], got " + ToDecimalString(p));
  }
  BitStream bits(rng);
  if (den < UINT64_MAX) return BernoulliFast(num.convert_to<uint64_t>(), den.convert_to<uint64_t>(), bits);
  return BernoulliBig(num, den, bits);
}

bool SampleBernoulliExp(const Rational& gamma, RandomSource& rng) {
  ValidateGamma(gamma);
  BitStream bits(rng);
  const BigInt& num = boost::multiprecision::numerator(gamma);
  const BigInt& den = boost::multiprecision::denominator(gamma);
  if (num < UINT64_MAX && den < kFastLimit) {
    const uint64_t n = num.convert_to<uint64_t>();
    const uint64_t d = den.convert_to<uint64_t>();
    return BernoulliExpFast(n / d, n % d, d, bits);
  }
  return BernoulliExpBig(num, den, bits);
}

DiscreteLaplaceSampler::DiscreteLaplaceSampler(const Rational& scale) {
  ValidateScale(scale);
  t_ = boost::multiprecision::numerator(scale);
  s_ = boost::multiprecision::denominator(scale);
  if (t_ < kFastLimit && s_ < kFastLimit) {
    fast_ = true;
    fast_t_ = t_.convert_to<uint64_t>();
    fast_s_ = s_.convert_to<uint64_t>();
  }
}

BigInt DiscreteLaplaceSampler::Sample(RandomSource& rng) const {
  BitStream bits(rng);
  if (fast_) return ToSigned(DiscreteLaplaceFast(fast_t_, fast_s_, bits));
  return DiscreteLaplaceBig(t_, s_, bits);
}

BigInt SampleDiscreteLaplace(const Rational& scale, RandomSource& rng) {
  return DiscreteLaplaceSampler(scale).Sample(rng);
}

DiscreteGaussianSampler::DiscreteGaussianSampler(const Rational& sigma2) {
  ValidateSigma2(sigma2);
  a_ = boost::multiprecision::numerator(sigma2);
  b_ = boost::multiprecision::denominator(sigma2);
  t_ = GaussianProposalScale(a_, b_);
  // Fast when the proposal is fast and 2 a b t^2 fits a word; then for a
  // proposal |y| < 2^64, (|y| b t - a)^2 fits 128 bits unless |y| is absurd.
  if (a_ < kFastLimit && b_ < kFastLimit && t_ < kFastLimit) {
    const BigInt den = 2 * a_ * b_ * t_ * t_;
    const BigInt bt = b_ * t_;
    if (den < UINT64_MAX && bt < UINT64_MAX) {
      fast_ = true;
      fast_a_ = a_.convert_to<uint64_t>();
      fast_bt_ = bt.convert_to<uint64_t>();
      fast_den_ = den.convert_to<uint64_t>();
      fast_t_ = t_.convert_to<uint64_t>();
    }
  }
}

BigInt DiscreteGaussianSampler::Sample(RandomSource& rng) const {
  BitStream bits(rng);
  if (!fast_) return DiscreteGaussianBig(a_, b_, bits);
  for (;;) {
    const Draw y = DiscreteLaplaceFast(fast_t_, 1, bits);
    bool accept;
    if ((y.magnitude >> 64) == 0) {
      const u128 m = y.magnitude * fast_bt_;  // < 2^128: both factors < 2^64
      const u128 diff = m >= fast_a_ ? m - fast_a_ : fast_a_ - m;
      if ((diff >> 64) == 0) {
        const u128 num = diff * diff;
        accept = BernoulliExpFast(num / fast_den_, static_cast<uint64_t>(num % fast_den_), fast_den_, bits);
      } else {
        accept = GaussianAcceptBig(ToBigInt(y.magnitude), a_, b_, t_, bits);
      }
    } else {
      accept = GaussianAcceptBig(ToBigInt(y.magnitude), a_, b_, t_, bits);
    }
    if (accept) return ToSigned(y);
  }
}

BigInt SampleDiscreteGaussian(const Rational& sigma2, RandomSource& rng) {
  return DiscreteGaussianSampler(sigma2).Sample(rng);
}

namespace internal {

bool SampleBernoulliExpBigPath(const Rational& gamma, RandomSource& rng) {
  ValidateGamma(gamma);
  BitStream bits(rng);
  return BernoulliExpBig(boost::multiprecision::numerator(gamma), boost::multiprecision::denominator(gamma),
                         bits);
}

BigInt SampleDiscreteLaplaceBigPath(const Rational& scale, RandomSource& rng) {
  ValidateScale(scale);
  BitStream bits(rng);
  return DiscreteLaplaceBig(boost::multiprecision::numerator(scale),
                            boost::multiprecision::denominator(scale), bits);
}

BigInt SampleDiscreteGaussianBigPath(const Rational& sigma2, RandomSource& rng) {
  ValidateSigma2(sigma2);
  BitStream bits(rng);
  return DiscreteGaussianBig(boost::multiprecision::numerator(sigma2),
                             boost::multiprecision::denominator(sigma2), bits);
}

}  // namespace internal

}  // namespace dpql
