#pragma once

// Zero-concentrated differential privacy (zCDP) arithmetic on public
// parameters: the conversions between rho-zCDP and (epsilon, delta)-DP that
// calibrate the Gaussian mechanism, price queries in a zCDP-accounted dataset
// and show rho budgets as (epsilon, delta).
//
// Sources: Bun & Steinke 2016, "Concentrated Differential Privacy:
// Simplifications, Extensions, and Lower Bounds" (Prop. 1.4: epsilon-DP is
// epsilon^2/2-zCDP; Lemma 2.3: composition adds rho); Canonne, Kamath &
// Steinke 2020, "The Discrete Gaussian for Differential Privacy" (Thm. 14: the
// discrete Gaussian with variance parameter sigma^2 and L2 sensitivity D is
// D^2/(2 sigma^2)-zCDP; Cor. 13: rho-zCDP implies (epsilon, delta)-DP for
//   delta = inf_{a > 1} exp((a-1)(a rho - epsilon)) / (a-1) * (1 - 1/a)^a ).
//
// The conversions run in long double. Every answer is rounded against the
// analyst — a rho is never larger, an epsilon never smaller, than the exact
// conversion allows — with a relative margin far above the arithmetic error.

#include "compiler/common/rational.h"

namespace dpql {

// Denominator of the rationals RhoForEpsilonDelta returns (rho is rounded
// down to a multiple of 10^-15).
inline constexpr int64_t kRhoDenominatorDigits = 15;

// The largest rho (rounded down) such that rho-zCDP implies (epsilon,
// delta)-DP by CKS20 Cor. 13. epsilon > 0, 0 < delta < 1; anything else throws
// DpqlError(kInternal, "invalid_mechanism") — callers validate first.
// May return 0 when epsilon and delta are so small that no rho >= 10^-15 fits.
Rational RhoForEpsilonDelta(const Rational& epsilon, const Rational& delta);

// The smallest epsilon (rounded up, as a double for display) such that
// rho-zCDP implies (epsilon, delta)-DP by CKS20 Cor. 13. rho >= 0,
// 0 < delta < 1. Returns 0 for rho = 0.
double EpsilonForRho(const Rational& rho, const Rational& delta);

// The rho of a pure epsilon-DP mechanism: epsilon^2 / 2 (Bun-Steinke Prop. 1.4).
Rational RhoOfPureDp(const Rational& epsilon);

// ln of the CKS20 Cor. 13 delta bound at order `alpha` > 1: any single alpha
// gives a valid bound, the infimum the best one. Exposed for tests.
long double ZcdpLogDeltaAt(long double rho, long double epsilon, long double alpha);

}  // namespace dpql
