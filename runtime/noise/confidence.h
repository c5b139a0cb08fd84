#pragma once

// Confidence-interval half-widths for the exact noise distributions in
// samplers.h. The result is a post-processing of public parameters only (never
// of data), so floating point is fine here; every answer is rounded outward so
// an interval is never narrower than its stated confidence allows.

#include <cstdint>

#include "compiler/common/rational.h"

namespace dpql {

// Smallest k >= 0 with P(|X| > k) <= 1 - confidence for X ~ discrete Laplace
// with P(x) proportional to exp(-|x| / scale). scale > 0, confidence in (0, 1).
// Invalid parameters throw DpqlError(kInternal, "invalid_mechanism").
int64_t DiscreteLaplaceHalfWidth(const Rational& scale, const Rational& confidence);

// The same for the discrete Gaussian, P(x) proportional to exp(-x^2 / (2 sigma2)).
int64_t DiscreteGaussianHalfWidth(const Rational& sigma2, const Rational& confidence);

// P(|X| >= k) for the discrete Laplace: 1 for k <= 0, else 2 r^k / (1 + r)
// with r = exp(-1 / scale).
double DiscreteLaplaceTailProbability(const Rational& scale, int64_t k);

}  // namespace dpql
