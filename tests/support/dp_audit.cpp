#include "tests/support/dp_audit.h"

#include <algorithm>
#include <cmath>
#include <iomanip>
#include <sstream>

namespace dpql {

namespace {

int64_t CountAt(const OutputHistogram& histogram, int64_t bucket) {
  auto it = histogram.find(bucket);
  return it == histogram.end() ? 0 : it->second;
}

}  // namespace

int64_t LatticeBucket(double value, double origin, double width) {
  return static_cast<int64_t>(std::floor((value - origin) / width));
}

double ApproximateDpTestValue(const OutputHistogram& a, const OutputHistogram& b, int64_t trials,
                              double epsilon) {
  // Only buckets where a has mass can contribute: max(0, 0 - e^eps b) = 0.
  const double factor = std::exp(epsilon);
  double total = 0;
  for (const auto& [bucket, count] : a) {
    const double excess = static_cast<double>(count) - factor * static_cast<double>(CountAt(b, bucket));
    if (excess > 0) total += excess;
  }
  return total / static_cast<double>(trials);
}

double ApproximateDpTestBias(const OutputHistogram& a, const OutputHistogram& b, int64_t trials,
                             double epsilon) {
  const double n = static_cast<double>(trials);
  const double factor2 = std::exp(2 * epsilon);
  // Every bucket either histogram saw: where neither has mass the error is 0.
  OutputHistogram both = a;
  for (const auto& [bucket, count] : b) both[bucket] += 0;
  double bias = 0;
  for (const auto& entry : both) {
    const double p = static_cast<double>(CountAt(a, entry.first)) / n;
    const double q = static_cast<double>(CountAt(b, entry.first)) / n;
    const double variance = (p * (1 - p) + factor2 * q * (1 - q)) / n;
    bias += std::sqrt(variance) / 2;
  }
  return bias;
}

double ApproximateDpTolerance(const OutputHistogram& d, const OutputHistogram& d_prime, int64_t trials,
                              double epsilon, double alpha) {
  const double bias = std::max(ApproximateDpTestBias(d, d_prime, trials, epsilon),
                               ApproximateDpTestBias(d_prime, d, trials, epsilon));
  const double deviation =
      std::sqrt(std::log(2 / alpha) * (1 + std::exp(2 * epsilon)) / (2 * static_cast<double>(trials)));
  return bias + deviation;
}

ApproximateDpResult VerifyApproximateDp(const OutputHistogram& d, const OutputHistogram& d_prime,
                                        int64_t trials, double epsilon, double delta, double tolerance) {
  ApproximateDpResult result;
  result.forward = ApproximateDpTestValue(d, d_prime, trials, epsilon);
  result.backward = ApproximateDpTestValue(d_prime, d, trials, epsilon);
  result.bound = delta + tolerance;
  return result;
}

int MajorityVote::accepting() const {
  return static_cast<int>(
      std::count_if(runs.begin(), runs.end(), [](const auto& r) { return r.accepted(); }));
}

double MajorityVote::median_value() const {
  if (runs.empty()) return 0;
  std::vector<double> values;
  for (const auto& r : runs) values.push_back(r.worst());
  std::sort(values.begin(), values.end());
  return values[values.size() / 2];
}

std::string MajorityVote::Describe() const {
  std::ostringstream out;
  out << accepting() << "/" << runs.size() << " runs accept; test values (forward/backward, bound "
      << std::setprecision(4) << (runs.empty() ? 0.0 : runs.front().bound) << "):";
  for (const auto& r : runs) out << " " << r.forward << "/" << r.backward;
  return out.str();
}

MajorityVote RunMajorityVote(int votes, const std::function<ApproximateDpResult(int vote)>& run) {
  MajorityVote outcome;
  for (int vote = 0; vote < votes; ++vote) outcome.runs.push_back(run(vote));
  return outcome;
}

}  // namespace dpql
