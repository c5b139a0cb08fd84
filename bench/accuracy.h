#pragma once

// The accuracy harness of scripts/bench --accuracy (bench/accuracy_bench.cpp):
// releases one plan's exact aggregates many times through Release() and
// measures the released values against the exact unbounded answer, so that
// the bias of contribution bounding counts as error. Also the analytic errors
// of the mechanisms two other DP SQL systems would use for the same bounds
// (docs/results/accuracy.md cites their documentation). Tested by
// tests/unit/accuracy_harness_test.cpp.

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "compiler/planner/plan.h"
#include "runtime/random/random_source.h"
#include "runtime/release/result.h"

namespace dpql {

// The exact unbounded answer per group, keyed by the group's keys as text
// (KeyText of each key), e.g. from the plain SQL.
using Truth = std::map<std::vector<std::string>, double>;

// A released key as the text the truth is keyed by: integers in decimal,
// text and dates as they are (a midnight timestamp as its day), NULL as "NULL".
std::string KeyText(const Value& value);

struct AccuracyFigures {
  int repetitions = 0;
  int64_t groups = 0;  // groups with a truth, pooled with equal weight
  // Pooled over groups and repetitions: sqrt(mean over groups g and
  // repetitions r of e(g,r)^2), e = released - truth.
  double rmse = 0;
  // Standard error of rmse: the repetitions are independent, so the standard
  // deviation of the per-repetition mean square over sqrt(repetitions),
  // carried to the root by the delta method.
  double rmse_se = 0;
  // 95th percentile of |e(g,r)| over all groups and repetitions, with a 95%
  // bootstrap interval (resampling repetitions).
  double p95 = 0, p95_low = 0, p95_high = 0;
  // The bias part: b(g) = mean over r of e(g,r); bias_rms = sqrt(mean over g
  // of b(g)^2 - s(g)^2 / R), each b(g)^2 less its own sampling variance (s(g)
  // the standard deviation of e(g, .) over the R repetitions), so that pure
  // noise reads as about 0 and rmse^2 = bias_rms^2 + the noise part.
  // mean_error: the mean of e over everything (its sign says which way).
  double bias_rms = 0;
  double mean_error = 0;
  // Group releases where a group with a truth was not released (partition
  // selection): a count or sum then counts as 0, a mean or percentile is left out.
  int64_t missing = 0;
};

// Releases `exact` `repetitions` times with noise from `rng` and measures
// output `output` (a noisy output of `plan`) against `truth`. A group the
// plan releases but the truth lacks has truth 0 for a count or sum (a public
// domain's empty group) and is left out otherwise.
AccuracyFigures MeasureAccuracy(const Plan& plan, const ExactAggregates& exact, const Truth& truth,
                                int output, int repetitions, RandomSource& rng);

// The analytic error of one figure's noise: RMSE and 95th percentile of |noise|.
struct AnalyticError {
  double rmse = 0;
  double p95 = 0;
};

// Laplace with scale b: RMSE sqrt(2) b, P(|X| > t) = exp(-t / b).
AnalyticError LaplaceError(double scale);
// The discrete Laplace (geometric) with P(k) proportional to exp(-|k| / scale).
AnalyticError DiscreteLaplaceError(double scale);
// Gaussian with standard deviation sigma.
AnalyticError GaussianError(double sigma);
// The smallest sigma of the analytic Gaussian mechanism (Balle and Wang,
// ICML 2018, Thm. 8) for L2 sensitivity `l2` at (epsilon, delta): the
// calibration of Google's library's GaussianMechanism.
double AnalyticGaussianSigma(double l2, double epsilon, double delta);
// The classical Gaussian calibration sigma = l2 sqrt(2 ln(1.25/delta)) / epsilon
// (Dwork and Roth, Thm. A.1): SmartNoise SQL's Gaussian for large sensitivities.
double ClassicalGaussianSigma(double l2, double epsilon, double delta);

// A mean's error from the noise of its sum and count (delta method):
// sqrt(var_sum + m^2 var_count) / n, for true mean m (of the values as the
// sum holds them, e.g. centred) and n rows.
double MeanNoiseRmse(double var_sum, double var_count, double m, double n);

// What the peers would publish for one output of a plan with the same
// contribution bounds (max_groups = L0, rows per group = Linf), noise only:
// NaN where they have no closed form (percentiles) or no such aggregate.
struct PeerErrors {
  AnalyticError google_laplace;   // Laplace, L1 = L0 * Linf
  AnalyticError google_gaussian;  // analytic Gaussian, L2 = sqrt(L0) * Linf (needs delta > 0)
  AnalyticError smartnoise;       // geometric or Laplace, max_contrib = L0 * max_rows rows
  AnalyticError dpql_analytic;    // DPQL's own noise for this plan, from its distribution
  AnalyticError Best() const;     // the peer with the smallest RMSE (and its p95)
};

// A group as the peers' mean formulas need it: its bounded row count and its
// true mean (not centred). An AVG's peer errors are pooled over the groups as
// sqrt(mean of squares); other outputs ignore `groups`. `delta` is the delta a
// Gaussian peer may use (the query's, or 1e-6). Each peer spends the epsilon
// DPQL's plan spends on the figure (for an AVG, its sum's and count's, half
// each as both peers split it). dpql_analytic: DPQL's own noise (its exact
// variance and 95% interval half-width), the RMSE were there no bias.
struct GroupShape {
  double rows = 0;
  double mean = 0;
};
PeerErrors PeerAnalyticErrors(const Plan& plan, int output, double delta,
                              const std::vector<GroupShape>& groups);

}  // namespace dpql
