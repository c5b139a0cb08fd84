#pragma once

// Exact noise samplers (Canonne, Kamath, Steinke 2020, "The Discrete Gaussian
// for Differential Privacy", algorithms 1-3). Every parameter is an exact
// rational and every random choice is a uniform integer drawn by rejection, so
// the output distribution is exactly the stated one: no floating point is
// involved anywhere in sampling.
//
// Running time depends on the value drawn (larger |noise| takes longer), as in
// every CKS-style sampler; callers that fear a timing observer should draw
// noise ahead of need, as runtime/noise/noise_pool.h does (Jin et al. 2022;
// docs/PRIVACY.md, "Timing: noise is drawn ahead of need").

#include <cstdint>

#include "compiler/common/rational.h"
#include "runtime/random/random_source.h"

namespace dpql {

// Validation failures throw DpqlError(ErrorCode::kInvalidMechanism):
// parameters reach the samplers only after the planner computed them, so a bad
// one is a bug, never user input.

// true with probability p, p in [0, 1].
bool SampleBernoulli(const Rational& p, RandomSource& rng);

// true with probability exp(-gamma), gamma >= 0.
bool SampleBernoulliExp(const Rational& gamma, RandomSource& rng);

// P(x) proportional to exp(-|x| / scale) on the integers, scale > 0.
// For a count with sensitivity D and budget eps, scale D/eps gives eps-DP.
BigInt SampleDiscreteLaplace(const Rational& scale, RandomSource& rng);

// P(x) proportional to exp(-x^2 / (2 sigma2)) on the integers, sigma2 > 0.
BigInt SampleDiscreteGaussian(const Rational& sigma2, RandomSource& rng);

// The same samplers with the parameter validated and pre-digested once, for
// callers that draw many values at one scale (one per released cell).
class DiscreteLaplaceSampler {
 public:
  explicit DiscreteLaplaceSampler(const Rational& scale);
  BigInt Sample(RandomSource& rng) const;

 private:
  BigInt t_, s_;  // scale = t_ / s_ in lowest terms
  // Fast path: both fit comfortably in machine words.
  bool fast_ = false;
  uint64_t fast_t_ = 0, fast_s_ = 0;
};

class DiscreteGaussianSampler {
 public:
  explicit DiscreteGaussianSampler(const Rational& sigma2);
  BigInt Sample(RandomSource& rng) const;

 private:
  BigInt a_, b_;  // sigma2 = a_ / b_ in lowest terms
  BigInt t_;      // floor(sigma) + 1, the Laplace scale proposals come from
  // Fast path: proposals and the acceptance exponent fit machine words.
  bool fast_ = false;
  uint64_t fast_a_ = 0, fast_bt_ = 0, fast_den_ = 0, fast_t_ = 0;  // a, b*t, 2*a*b*t^2, t
};

namespace internal {
// The arbitrary-precision path only. The public functions choose a machine-word
// fast path when the parameters are small; these exist so tests can check that
// both paths give the same distribution.
bool SampleBernoulliExpBigPath(const Rational& gamma, RandomSource& rng);
BigInt SampleDiscreteLaplaceBigPath(const Rational& scale, RandomSource& rng);
BigInt SampleDiscreteGaussianBigPath(const Rational& sigma2, RandomSource& rng);
}  // namespace internal

}  // namespace dpql
