#pragma once

// Where released noise comes from. Release() asks a NoiseSource for one draw
// per (group, measure) and never samples itself, so the engine can serve draws
// from pools filled ahead of need (noise_pool.h: the time of a release does not
// depend on the values it uses) while tests draw directly from a seeded source.

#include <map>
#include <memory>
#include <mutex>

#include "compiler/common/rational.h"
#include "runtime/noise/samplers.h"
#include "runtime/random/random_source.h"

namespace dpql {

// One exact noise distribution: the mechanism and its parameter.
struct NoiseSpec {
  enum class Kind { kDiscreteLaplace, kDiscreteGaussian };
  Kind kind = Kind::kDiscreteLaplace;
  Rational parameter;  // kDiscreteLaplace: the scale; kDiscreteGaussian: sigma^2

  static NoiseSpec Laplace(const Rational& scale) { return {Kind::kDiscreteLaplace, scale}; }
  static NoiseSpec Gaussian(const Rational& sigma2) { return {Kind::kDiscreteGaussian, sigma2}; }

  // An order for map keys, not by size: rationals are kept in lowest terms, so
  // (numerator, denominator) names each value once, and comparing two integers
  // is far cheaper than comparing two rationals (a release looks a
  // distribution up once per noisy value).
  bool operator<(const NoiseSpec& other) const {
    if (kind != other.kind) return kind < other.kind;
    const auto& num = boost::multiprecision::numerator(parameter);
    const auto& other_num = boost::multiprecision::numerator(other.parameter);
    if (num != other_num) return num < other_num;
    return boost::multiprecision::denominator(parameter) <
           boost::multiprecision::denominator(other.parameter);
  }
  bool operator==(const NoiseSpec& other) const { return kind == other.kind && parameter == other.parameter; }
};

// A sampler for one NoiseSpec with its parameter validated once.
class SpecSampler {
 public:
  explicit SpecSampler(const NoiseSpec& spec);
  BigInt Sample(RandomSource& rng) const;

 private:
  std::unique_ptr<DiscreteLaplaceSampler> laplace_;
  std::unique_ptr<DiscreteGaussianSampler> gaussian_;
};

class NoiseSource {
 public:
  virtual ~NoiseSource() = default;
  // One draw from `spec`'s distribution, independent of every other draw.
  virtual BigInt Draw(const NoiseSpec& spec) = 0;
  // Uniform random bits for mechanisms whose distribution depends on the data
  // and so cannot be drawn ahead (their timing is theirs to bound).
  virtual RandomSource& Random() = 0;
};

// Samples on demand from `rng` (not thread-safe: one caller at a time). For
// tests, which inject the seeded RNG, and for callers with no timing observer.
class DirectNoise final : public NoiseSource {
 public:
  explicit DirectNoise(RandomSource& rng) : rng_(rng) {}
  BigInt Draw(const NoiseSpec& spec) override;
  RandomSource& Random() override { return rng_; }

 private:
  RandomSource& rng_;
  std::map<NoiseSpec, SpecSampler> samplers_;  // validated once per spec
};

}  // namespace dpql
