#pragma once

// Consistent hierarchies after noise: a release that measures each level of a
// tree (all -> trusts -> wards) with its own noisy query publishes figures that
// disagree (a trust's noisy total is not the sum of its wards' noisy counts)
// and can be negative. MakeConsistent turns them into figures in which every
// parent equals the sum of its children and every count is a non-negative
// integer (docs/PRIVACY.md, "Consistent hierarchies in releases").
//
// Method (Hay, Rastogi, Miklau & Suciu 2010, "Boosting the accuracy of
// differentially private histograms through consistency"; the real-valued
// step of the Census TopDown algorithm):
//  1. Weighted least squares. The noises are independent with known
//     variances, so the minimum-variance consistent estimate is generalised
//     least squares, which on a tree is solved exactly in two passes:
//     - bottom-up, each node's own measurement y (variance s) is combined
//       with the sum S of its children's subtree estimates (variance V, the
//       sum of theirs), inverse-variance weighted:
//         z = y + (S - y) * s / (s + V),   Z = s * V / (s + V);
//       an unmeasured node takes z = S, Z = V;
//     - top-down, the root keeps its z; each parent's final value x disagrees
//       with the sum S of its children's z by x - S, and each child c takes
//       the share Z_c / V of that disagreement.
//     A child whose subtree holds no measurement has no estimate of its own:
//     such children share what their measured siblings leave of the parent
//     equally (with one such child the split is exact; with several, the data
//     cannot tell them apart and the equal split is a stated choice).
//  2. Non-negative integers. The root is rounded to the nearest integer and
//     clamped at 0. Going down, each parent's integer P is split among its
//     children: their least-squares values are projected onto
//     {x >= 0, sum x = P} (Euclidean projection onto the simplex, by sorting)
//     and rounded by largest remainder, so every parent equals the sum of
//     its children exactly. Equal remainders (common: siblings with equal
//     variances share a disagreement equally) are ordered by a hash of the
//     child's key, the parent's integer and the child's whole part, then by
//     key and index: deterministic, yet not the same child every day (a fixed
//     order by key biased the first ward upwards by up to half a unit).
//
// Privacy: the input is the released noisy figures, their noise variances
// (public: they follow from the plan's epsilon split and sensitivities) and
// the tree (public: declared by the guardian). The output is a function of
// those alone, so by the post-processing property of differential privacy it
// costs no budget. It must never be given exact values: a caller that mixed
// an exact aggregate into `noisy` would publish it. Give it the noisy figures
// before any clamping at 0 (a query's answer clamps counts): clamped inputs
// bias the sums upwards where counts are small.
//
// Running time O(n log n) for n nodes (the sort of each family's children).

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "compiler/planner/plan.h"

namespace dpql {

// One node of a tree of released figures (e.g. all -> trusts -> wards).
struct HierarchyNode {
  std::string key;              // e.g. ward code, trust name, "all"; for messages and ties only
  int parent = -1;              // index of the parent node in the vector; -1 for the one root
  std::optional<double> noisy;  // the released noisy value; nullopt = not measured
  double variance = 0;          // the noise variance of `noisy` (> 0 when measured)
};

struct ConsistentFigures {
  std::vector<double> least_squares;  // per node: the weighted least-squares estimate (consistent, real)
  std::vector<int64_t> published;     // per node: non-negative integers, each parent == sum of its children
};

// The largest |noisy value| accepted: beyond 2^53 a double no longer holds
// every integer, so the published integers could not be exact.
inline constexpr double kHierarchyMaxMagnitude = 9007199254740992.0;  // 2^53

// Throws DpqlError for a malformed tree. The shape (kConfigError: the
// hierarchy a guardian declared cannot be made consistent): no node, no root
// or several roots, a parent index out of range, a cycle, a leaf that is not
// measured and has no measured ancestor. The numbers (kInternal: the caller
// computes them, so a bad one is a bug): a non-finite noisy value or one
// beyond kHierarchyMaxMagnitude, a measured node whose variance is not finite
// and > 0. Every message names the node by key and index.
ConsistentFigures MakeConsistent(const std::vector<HierarchyNode>& nodes);

// Step 2 for one family: splits `total` >= 0 into non-negative integers
// summing to exactly `total`, as close to `estimates` as the simplex
// projection and largest-remainder rounding make them. `keys` (same size)
// enter the order of equal remainders (see step 2 above). Throws kInternal for total < 0,
// mismatched sizes, non-finite estimates, or a positive total with no
// children.
std::vector<int64_t> ApportionInteger(int64_t total, const std::vector<double>& estimates,
                                      const std::vector<std::string>& keys);

// The variance of P(x) proportional to exp(-|x| / scale) on the integers:
// 2r / (1 - r)^2 with r = exp(-1 / scale) (about 2 scale^2 for large scales).
double DiscreteLaplaceVariance(const Rational& scale);

// The variance of P(x) proportional to exp(-x^2 / (2 sigma2)) on the integers,
// summed term by term (always below sigma2). Above sigma2 = 10^6 it returns
// sigma2: by Poisson summation the relative gap is about
// 8 pi^2 sigma2 exp(-2 pi^2 sigma2), below 10^-8000000 there.
double DiscreteGaussianVariance(const Rational& sigma2);

// The variance of the noise a plan's measure `m` gets, in units of the
// released value (the mechanism's variance in grid units times grid^2): the
// discrete Laplace with the measure's scale, or the discrete Gaussian with its
// sigma2. A histogram's cells each get this variance. A variance too small for
// a double (a figure whose noise is zero in practice) is returned as the
// smallest positive normal double, so it is always > 0. Throws kInternal for
// m out of range or a variance that overflows a double.
double MeasureNoiseVariance(const Plan& plan, size_t m);

}  // namespace dpql
