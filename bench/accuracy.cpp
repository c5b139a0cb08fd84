#include "bench/accuracy.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <stdexcept>

#include "runtime/release/hierarchy.h"
#include "runtime/release/release.h"

namespace dpql {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

double ToNumber(const Value& value) {
  if (const auto* i = std::get_if<int64_t>(&value)) return static_cast<double>(*i);
  if (const auto* d = std::get_if<double>(&value)) return *d;
  throw std::invalid_argument("the measured output is not a number");
}

bool Additive(OutputKind kind) { return kind == OutputKind::kCount || kind == OutputKind::kSum; }

// The 95th percentile of `values` (reordered).
double Percentile95(std::vector<double>& values) {
  if (values.empty()) return kNaN;
  const size_t k = static_cast<size_t>(std::ceil(0.95 * static_cast<double>(values.size()))) - 1;
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(k), values.end());
  return values[k];
}

double StandardNormalCdf(double x) { return 0.5 * std::erfc(-x / std::sqrt(2.0)); }

}  // namespace

std::string KeyText(const Value& value) {
  if (std::holds_alternative<std::monostate>(value)) return "NULL";
  if (const auto* i = std::get_if<int64_t>(&value)) return std::to_string(*i);
  if (const auto* d = std::get_if<double>(&value)) return std::to_string(*d);
  if (const auto* b = std::get_if<bool>(&value)) return *b ? "true" : "false";
  const std::string& text = std::get<std::string>(value);
  // A day as a timestamp at midnight (DATE_TRUNC) is the day itself.
  if (text.size() == 19 && text.compare(10, 9, " 00:00:00") == 0) return text.substr(0, 10);
  return text;
}

AccuracyFigures MeasureAccuracy(const Plan& plan, const ExactAggregates& exact, const Truth& truth,
                                int output, int repetitions, RandomSource& rng) {
  if (output < 0 || static_cast<size_t>(output) >= plan.outputs.size() ||
      plan.outputs[static_cast<size_t>(output)].kind == OutputKind::kKey) {
    throw std::invalid_argument("MeasureAccuracy: output " + std::to_string(output) +
                                " is not a noisy output");
  }
  if (repetitions < 2) throw std::invalid_argument("MeasureAccuracy: at least 2 repetitions");
  const bool additive = Additive(plan.outputs[static_cast<size_t>(output)].kind);
  std::vector<size_t> key_outputs;
  for (size_t o = 0; o < plan.outputs.size(); ++o) {
    if (plan.outputs[o].kind == OutputKind::kKey) key_outputs.push_back(o);
  }

  // released[g][r]: group g's released value in repetition r (NaN: not released).
  std::map<std::vector<std::string>, size_t> index;
  std::vector<std::vector<double>> released;
  std::vector<double> group_truth;
  auto group = [&](const std::vector<std::string>& keys) {
    auto [it, added] = index.emplace(keys, released.size());
    if (added) {
      released.emplace_back(static_cast<size_t>(repetitions), kNaN);
      auto t = truth.find(keys);
      group_truth.push_back(t != truth.end() ? t->second : (additive ? 0.0 : kNaN));
    }
    return it->second;
  };
  for (const auto& [keys, value] : truth) group(keys);
  for (int r = 0; r < repetitions; ++r) {
    const QueryResult result = Release(plan, exact, rng);
    for (const auto& row : result.rows) {
      std::vector<std::string> keys;
      for (size_t o : key_outputs) keys.push_back(KeyText(row[o]));
      const size_t g = group(keys);
      released[g][static_cast<size_t>(r)] = ToNumber(row[static_cast<size_t>(output)]);
    }
  }

  // errors[g][r] = released - truth; NaN where there is nothing to compare.
  AccuracyFigures figures;
  figures.repetitions = repetitions;
  std::vector<std::vector<double>> errors;
  for (size_t g = 0; g < released.size(); ++g) {
    if (std::isnan(group_truth[g])) continue;  // a mean or percentile without a true value
    std::vector<double> e(static_cast<size_t>(repetitions), kNaN);
    for (size_t r = 0; r < e.size(); ++r) {
      double v = released[g][r];
      if (std::isnan(v)) {
        if (group_truth[g] != 0) ++figures.missing;
        if (!additive) continue;
        v = 0;  // not released: a reader takes the count or sum as 0
      }
      e[r] = v - group_truth[g];
    }
    errors.push_back(std::move(e));
  }
  figures.groups = static_cast<int64_t>(errors.size());
  if (errors.empty()) throw std::invalid_argument("MeasureAccuracy: no group has both a truth and a release");

  double sum_sq = 0, sum_e = 0, count = 0, bias_sq = 0;
  std::vector<double> per_rep_sq(static_cast<size_t>(repetitions), 0), per_rep_n(per_rep_sq.size(), 0);
  std::vector<double> pooled;
  for (const auto& e : errors) {
    double group_sum = 0, group_n = 0, group_sq = 0;
    for (size_t r = 0; r < e.size(); ++r) {
      if (std::isnan(e[r])) continue;
      sum_sq += e[r] * e[r];
      sum_e += e[r];
      count += 1;
      group_sum += e[r];
      group_n += 1;
      group_sq += e[r] * e[r];
      per_rep_sq[r] += e[r] * e[r];
      per_rep_n[r] += 1;
      pooled.push_back(std::fabs(e[r]));
    }
    if (group_n > 1) {
      // b(g)^2 less its own sampling variance s(g)^2 / n: unbiased for the squared bias.
      const double b = group_sum / group_n;
      const double s2 = (group_sq - group_n * b * b) / (group_n - 1);
      bias_sq += b * b - s2 / group_n;
    }
  }
  const double mse = sum_sq / count;
  figures.rmse = std::sqrt(mse);
  figures.mean_error = sum_e / count;
  figures.bias_rms = std::sqrt(std::max(0.0, bias_sq / static_cast<double>(errors.size())));
  // Standard error of the mean square from the spread of the independent repetitions' own mean squares.
  double reps = 0, rep_mean = 0, rep_var = 0;
  for (size_t r = 0; r < per_rep_sq.size(); ++r) {
    if (per_rep_n[r] == 0) continue;
    const double m = per_rep_sq[r] / per_rep_n[r];
    reps += 1;
    const double delta = m - rep_mean;
    rep_mean += delta / reps;
    rep_var += delta * (m - rep_mean);
  }
  const double se_mse = reps > 1 ? std::sqrt(rep_var / (reps - 1) / reps) : kNaN;
  figures.rmse_se = figures.rmse > 0 ? se_mse / (2 * figures.rmse) : 0;
  figures.p95 = Percentile95(pooled);

  // Bootstrap over repetitions for the percentile's interval: a fixed
  // resampling stream (a linear congruential generator seeded from the
  // repetitions), so the report is reproducible and draws nothing from `rng`.
  const int resamples = pooled.size() > 200000 ? 100 : 200;
  uint64_t state = 0x9E3779B97F4A7C15ULL ^ static_cast<uint64_t>(repetitions);
  auto next = [&state](uint64_t n) {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return (state >> 33) % n;
  };
  std::vector<double> estimates, sample;
  for (int b = 0; b < resamples; ++b) {
    sample.clear();
    for (int i = 0; i < repetitions; ++i) {
      const size_t r = static_cast<size_t>(next(static_cast<uint64_t>(repetitions)));
      for (const auto& e : errors) {
        if (!std::isnan(e[r])) sample.push_back(std::fabs(e[r]));
      }
    }
    estimates.push_back(Percentile95(sample));
  }
  std::sort(estimates.begin(), estimates.end());
  figures.p95_low = estimates[static_cast<size_t>(0.025 * (resamples - 1))];
  figures.p95_high = estimates[static_cast<size_t>(std::ceil(0.975 * (resamples - 1)))];
  return figures;
}

AnalyticError LaplaceError(double scale) { return {std::sqrt(2.0) * scale, scale * std::log(20.0)}; }

AnalyticError DiscreteLaplaceError(double scale) {
  // P(k) proportional to q^|k|, q = exp(-1/scale): variance 2q / (1 - q)^2,
  // P(|X| > k) = 2 q^(k+1) / (1 + q).
  const double q = std::exp(-1 / scale);
  const double k = std::ceil(std::log(0.05 * (1 + q) / 2) / std::log(q) - 1);
  return {std::sqrt(2 * q) / (1 - q), std::max(0.0, k)};
}

AnalyticError GaussianError(double sigma) { return {sigma, 1.959963984540054 * sigma}; }

double AnalyticGaussianSigma(double l2, double epsilon, double delta) {
  // delta(sigma) = Phi(l2/(2 sigma) - eps sigma/l2) - e^eps Phi(-l2/(2 sigma) - eps sigma/l2)
  // decreases in sigma; bisect for the smallest sigma with delta(sigma) <= delta.
  auto achieved = [&](double sigma) {
    const double a = l2 / (2 * sigma), b = epsilon * sigma / l2;
    return StandardNormalCdf(a - b) - std::exp(epsilon) * StandardNormalCdf(-a - b);
  };
  double low = 1e-9 * l2, high = l2;
  while (achieved(high) > delta) high *= 2;
  for (int i = 0; i < 200 && high - low > 1e-12 * high; ++i) {
    const double mid = (low + high) / 2;
    (achieved(mid) > delta ? low : high) = mid;
  }
  return high;
}

double ClassicalGaussianSigma(double l2, double epsilon, double delta) {
  return l2 * std::sqrt(2 * std::log(1.25 / delta)) / epsilon;
}

double MeanNoiseRmse(double var_sum, double var_count, double m, double n) {
  return std::sqrt(var_sum + m * m * var_count) / std::max(n, 1.0);
}

AnalyticError PeerErrors::Best() const {
  AnalyticError best{kNaN, kNaN};
  for (const AnalyticError& e : {google_laplace, google_gaussian, smartnoise}) {
    if (!std::isnan(e.rmse) && (std::isnan(best.rmse) || e.rmse < best.rmse)) best = e;
  }
  return best;
}

PeerErrors PeerAnalyticErrors(const Plan& plan, int output, double delta,
                              const std::vector<GroupShape>& groups) {
  const PlanOutput& out = plan.outputs.at(static_cast<size_t>(output));
  // A measure's epsilon share (a Gaussian measure is calibrated by rho and
  // leaves it 0: the query's epsilon split evenly, as the planner splits it).
  auto epsilon_of = [&plan](const Measure& m) {
    if (m.epsilon > 0) return ToDouble(m.epsilon);
    return ToDouble(plan.select.privacy.epsilon) / static_cast<double>(plan.measures.size());
  };
  const double l0 = static_cast<double>(plan.groups_bound);
  const double max_rows = static_cast<double>(plan.select.privacy.max_rows);
  PeerErrors peers;
  const AnalyticError none{kNaN, kNaN};
  peers.google_laplace = peers.google_gaussian = peers.smartnoise = peers.dpql_analytic = none;

  // DPQL's own noise: its exact variance (runtime/release/hierarchy.h) and interval half-width.
  auto dpql_noise = [&plan](int measure) {
    const Measure& m = plan.measures.at(static_cast<size_t>(measure));
    const double half_width = static_cast<double>(MeasureHalfWidth(m, Rational(95, 100))) * ToDouble(m.grid);
    return AnalyticError{std::sqrt(MeasureNoiseVariance(plan, static_cast<size_t>(measure))), half_width};
  };

  if (out.kind == OutputKind::kCount || out.kind == OutputKind::kSum) {
    const Measure& m = plan.measures.at(static_cast<size_t>(out.measure));
    const double eps = epsilon_of(m);
    const double linf = ToDouble(Rational(m.per_group_bound) * m.grid);  // one person, one group
    peers.google_laplace = LaplaceError(l0 * linf / eps);
    peers.google_gaussian = GaussianError(AnalyticGaussianSigma(std::sqrt(l0) * linf, eps, delta));
    // SmartNoise SQL keeps max_contrib rows per person over the whole table:
    // L0 * (rows per group) rows keep the same contributions, and each row
    // moves one figure by at most its bound (1 for a count).
    const double row_bound = m.kind == MeasureKind::kUnitCount ? 1.0 : linf / max_rows;
    const double rows = m.kind == MeasureKind::kUnitCount ? l0 : l0 * max_rows;
    // Geometric (discrete Laplace) for counts and for integer sums up to a
    // sensitivity of 1000, Laplace above (privacy.py, Mechanisms.large).
    const double l1 = rows * row_bound;
    const bool integer = m.kind != MeasureKind::kSum || m.column->type == ColumnType::kInt;
    peers.smartnoise = integer && l1 <= 1000 ? DiscreteLaplaceError(l1 / eps) : LaplaceError(l1 / eps);
    peers.dpql_analytic = dpql_noise(out.measure);
    return peers;
  }
  if (out.kind != OutputKind::kAvg) return peers;  // percentiles, variances: no closed form here

  // AVG: a noisy sum over a noisy count, each with half of the output's epsilon.
  const Measure& sum = plan.measures.at(static_cast<size_t>(out.measure));
  const Measure& cnt = plan.measures.at(static_cast<size_t>(out.count_measure));
  const double eps = epsilon_of(sum) + epsilon_of(cnt);
  const double lower = ToDouble(out.lower), upper = ToDouble(out.upper);
  const double mid = (lower + upper) / 2, half = (upper - lower) / 2;
  const double largest = std::max(std::fabs(lower), std::fabs(upper));
  auto pool = [&](double var_sum, double var_count, bool centred) {
    double sq = 0;
    for (const GroupShape& g : groups) {
      const double r = MeanNoiseRmse(var_sum, var_count, centred ? g.mean - mid : g.mean, g.rows);
      sq += r * r;
    }
    return AnalyticError{groups.empty() ? kNaN : std::sqrt(sq / static_cast<double>(groups.size())), kNaN};
  };
  auto laplace_var = [](double l1, double e) { return 2 * (l1 / e) * (l1 / e); };
  const double rows = l0 * max_rows;
  // Google's BoundedMean: a normalised (centred) sum and a count, epsilon / 2 each.
  peers.google_laplace = pool(laplace_var(rows * half, eps / 2), laplace_var(rows, eps / 2), true);
  const double sg_sum = AnalyticGaussianSigma(std::sqrt(l0) * max_rows * half, eps / 2, delta / 2);
  const double sg_cnt = AnalyticGaussianSigma(std::sqrt(l0) * max_rows, eps / 2, delta / 2);
  peers.google_gaussian = pool(sg_sum * sg_sum, sg_cnt * sg_cnt, true);
  // SmartNoise SQL: SUM(x) / COUNT(x), the sum not centred.
  peers.smartnoise = pool(laplace_var(rows * largest, eps / 2), laplace_var(rows, eps / 2), false);
  const AnalyticError s = dpql_noise(out.measure), c = dpql_noise(out.count_measure);
  peers.dpql_analytic = pool(s.rmse * s.rmse, c.rmse * c.rmse, true);
  return peers;
}

}  // namespace dpql
