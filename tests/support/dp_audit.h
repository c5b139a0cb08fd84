#pragma once

// TEST-ONLY. The approximate-differential-privacy test of Google's
// statistical tests (statistical_tests_utils.h, VerifyApproximateDp), written
// for DPQL's audit: run a mechanism `trials` times on a database D and on a
// neighbour D', histogram both outputs, and estimate
//
//   T(D, D') = sum_x max(0, (c_D(x) - e^epsilon c_D'(x)) / trials).
//
// For an (epsilon, delta)-DP mechanism and any set S of outputs,
// P_D(S) <= e^epsilon P_D'(S) + delta; taking S = {x : p_D(x) > e^epsilon
// p_D'(x)} shows the true value of T is at most delta, in both directions. The
// estimate carries sampling noise, so the test accepts when both directions are
// at most delta + tolerance. Bucketing the outputs first is post-processing: a
// DP mechanism stays DP, so any bucketing is a valid test (coarse buckets cost
// power, fine ones add sampling bias).

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

namespace dpql {

// Bucket -> how many trials fell in it.
using OutputHistogram = std::map<int64_t, int64_t>;

// The bucket of a real-valued output: bucket k holds [origin + k*width,
// origin + (k+1)*width). Callers put the noise-free figures mid-bucket.
int64_t LatticeBucket(double value, double origin, double width);

// One direction of the test: sum_x max(0, (a(x) - e^epsilon b(x)) / trials).
double ApproximateDpTestValue(const OutputHistogram& a, const OutputHistogram& b, int64_t trials,
                              double epsilon);

// A bound on the sampling bias of one direction of the test value:
// E[T] - T_true <= sum_x E[max(0, W_x)] <= sum_x sd(W_x) / 2 for the
// zero-mean sampling error W_x of a(x)/n - e^epsilon b(x)/n, with the variance
// estimated from the observed frequencies. Used to size tolerances.
double ApproximateDpTestBias(const OutputHistogram& a, const OutputHistogram& b, int64_t trials,
                             double epsilon);

// A tolerance for one test of `trials` samples per database at `epsilon`:
// the larger direction's bias bound plus the deviation McDiarmid's inequality
// allows with probability alpha/2 per direction. One sample of d moves a
// direction's value by at most 1/trials and one of d_prime by at most
// e^epsilon/trials, so P(T - E[T] >= t) <= exp(-2 t^2 trials / (1 + e^{2 epsilon})).
// A mechanism that is (epsilon, delta)-DP then fails VerifyApproximateDp with
// this tolerance with probability at most about alpha (the bias term is a
// plug-in estimate from the observed frequencies).
double ApproximateDpTolerance(const OutputHistogram& d, const OutputHistogram& d_prime, int64_t trials,
                              double epsilon, double alpha);

struct ApproximateDpResult {
  double forward = 0;   // T(D, D')
  double backward = 0;  // T(D', D)
  double bound = 0;     // delta + tolerance
  bool accepted() const { return forward <= bound && backward <= bound; }
  double worst() const { return forward > backward ? forward : backward; }
};

// Both directions against delta + tolerance (VerifyApproximateDp).
ApproximateDpResult VerifyApproximateDp(const OutputHistogram& d, const OutputHistogram& d_prime,
                                        int64_t trials, double epsilon, double delta, double tolerance);

// Several independent runs of the test (each with its own samples); the
// mechanism passes when a strict majority accepts. A majority vote turns a
// per-run error rate p < 1/2 into a much smaller one (for 5 votes and
// p = 0.05: P(3 or more wrong) < 1.2e-3), in both directions of the decision.
struct MajorityVote {
  std::vector<ApproximateDpResult> runs;
  int accepting() const;
  bool accepted() const { return 2 * accepting() > static_cast<int>(runs.size()); }
  // The median test value over runs (the worse direction of each run).
  double median_value() const;
  std::string Describe() const;  // for failure messages and the docs' figures
};

MajorityVote RunMajorityVote(int votes, const std::function<ApproximateDpResult(int vote)>& run);

}  // namespace dpql
