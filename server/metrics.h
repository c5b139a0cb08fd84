#pragma once

// Prometheus counters and a latency histogram for `GET /metrics`. Thread-safe.

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace dpql {

class Metrics {
 public:
  // One finished request: `route` is the matched route ("/v1/query", or
  // "unknown" for unmatched paths, so labels stay bounded).
  void RecordRequest(const std::string& route, int status, double seconds);
  // A refused request, by error code ("budget_exhausted", "unauthorized", ...).
  void RecordRefusal(const std::string& code);
  // Epsilon charged to a budget by a released (non-cached) answer.
  void RecordEpsilonSpent(double epsilon);

  // The Prometheus text exposition (version 0.0.4).
  std::string Render() const;

 private:
  static constexpr std::array<double, 12> kBuckets = {0.005, 0.01, 0.025, 0.05, 0.1,  0.25,
                                                      0.5,   1.0,  2.5,   5.0,  10.0, 30.0};
  mutable std::mutex mutex_;
  std::map<std::pair<std::string, int>, uint64_t> requests_;
  std::map<std::string, uint64_t> refusals_;
  std::array<uint64_t, kBuckets.size()> bucket_counts_{};
  uint64_t duration_count_ = 0;
  double duration_sum_ = 0;
  double epsilon_spent_ = 0;
};

}  // namespace dpql
