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

// Smallest h >= 0 (up to a relative 1e-3, rounded outward) with
// P(|X - c Y| > h) <= 1 - confidence, for independent discrete Laplace X and Y
// with scales scale_x and scale_y and a real c: the error of a ratio of noisy
// figures (docs/PRIVACY.md, "Means"). Computed by summing over Y's pmf, with
// the mass beyond the truncation point counted as misses. When Y's scale is
// too large for that (over ~300 at 95%) it returns the union bound
// HW_X(1 - a/2) + |c| HW_Y(1 - a/2), a = 1 - confidence, which is never smaller.
long double DiscreteLaplaceDifferenceHalfWidth(const Rational& scale_x, const Rational& scale_y,
                                               long double c, const Rational& confidence);

// P(|X| >= k) for the discrete Laplace: 1 for k <= 0, else 2 r^k / (1 + r)
// with r = exp(-1 / scale).
double DiscreteLaplaceTailProbability(const Rational& scale, int64_t k);

}  // namespace dpql
