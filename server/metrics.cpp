#include "server/metrics.h"

#include <sstream>

namespace dpql {

namespace {

// Label values are our own route names and error codes, but escape anyway.
std::string Escape(const std::string& value) {
  std::string out;
  for (char c : value) {
    if (c == '\\' || c == '"') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out;
}

// Up to 12 significant digits: "0.005", "3.5", "1234.56789".
std::string Number(double value) {
  std::ostringstream out;
  out.precision(12);
  out << value;
  return out.str();
}

}  // namespace

void Metrics::RecordRequest(const std::string& route, int status, double seconds) {
  std::lock_guard lock(mutex_);
  ++requests_[{route, status}];
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    if (seconds <= kBuckets[i]) ++bucket_counts_[i];
  }
  ++duration_count_;
  duration_sum_ += seconds;
}

void Metrics::RecordRefusal(const std::string& code) {
  std::lock_guard lock(mutex_);
  ++refusals_[code];
}

void Metrics::RecordEpsilonSpent(double epsilon) {
  std::lock_guard lock(mutex_);
  epsilon_spent_ += epsilon;
}

std::string Metrics::Render() const {
  std::lock_guard lock(mutex_);
  std::ostringstream out;
  out << "# HELP dpql_requests_total HTTP requests served, by route and status.\n"
      << "# TYPE dpql_requests_total counter\n";
  for (const auto& [key, count] : requests_) {
    out << "dpql_requests_total{route=\"" << Escape(key.first) << "\",status=\"" << key.second << "\"} "
        << count << "\n";
  }
  out << "# HELP dpql_request_duration_seconds Time from a complete request to its response.\n"
      << "# TYPE dpql_request_duration_seconds histogram\n";
  for (size_t i = 0; i < kBuckets.size(); ++i) {
    out << "dpql_request_duration_seconds_bucket{le=\"" << kBuckets[i] << "\"} " << bucket_counts_[i] << "\n";
  }
  out << "dpql_request_duration_seconds_bucket{le=\"+Inf\"} " << duration_count_ << "\n"
      << "dpql_request_duration_seconds_sum " << Number(duration_sum_) << "\n"
      << "dpql_request_duration_seconds_count " << duration_count_ << "\n";
  out << "# HELP dpql_epsilon_spent_total Epsilon charged to analysts' budgets by this process.\n"
      << "# TYPE dpql_epsilon_spent_total counter\n"
      << "dpql_epsilon_spent_total " << Number(epsilon_spent_) << "\n";
  out << "# HELP dpql_refusals_total Refused requests, by error code.\n"
      << "# TYPE dpql_refusals_total counter\n";
  for (const auto& [code, count] : refusals_) {
    out << "dpql_refusals_total{code=\"" << Escape(code) << "\"} " << count << "\n";
  }
  return out.str();
}

}  // namespace dpql
