#include "compiler/common/zcdp.h"

#include <cmath>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <utility>

#include "compiler/common/error.h"

namespace dpql {

namespace {

// Relative margin applied against the analyst. long double carries ~19
// significant digits; the terms below lose at most a few to cancellation.
constexpr long double kMargin = 1e-12L;
// The conversions aim at delta * e^-1e-9 rather than delta itself, so a bound
// re-evaluated elsewhere in double precision (or at a nearby order) still
// lands within delta. Its cost is a change of 1e-9 in ln(1/delta).
constexpr long double kLogDeltaMargin = 1e-9L;

[[noreturn]] void Invalid(const std::string& message) {
  throw DpqlError(ErrorCode::kInvalidMechanism, message);
}

long double ToLongDouble(const Rational& r) { return r.convert_to<long double>(); }

void CheckDelta(const Rational& delta) {
  if (delta <= 0 || delta >= 1) {
    Invalid("zCDP conversion needs 0 < delta < 1, got " + ToDecimalString(delta));
  }
}

// The order a = 1 + e^x with the best value of `score` (smaller is better):
// a coarse scan of x = ln(a - 1) over [-15, 25], then golden-section search
// around the best point. Any a is valid for the bounds below; searching only
// makes them tighter, so an imperfect optimum costs accuracy, never privacy.
long double BestOrder(const std::function<long double(long double)>& score) {
  constexpr long double kLow = -15, kHigh = 25, kStep = 0.05L;
  long double best_x = kLow, best = score(1 + std::exp(kLow));
  for (long double x = kLow + kStep; x <= kHigh; x += kStep) {
    const long double value = score(1 + std::exp(x));
    if (value < best) best = value, best_x = x;
  }
  long double lo = best_x - kStep, hi = best_x + kStep;
  const long double ratio = (std::sqrt(5.0L) - 1) / 2;
  for (int i = 0; i < 80; ++i) {
    const long double a = hi - ratio * (hi - lo), b = lo + ratio * (hi - lo);
    if (score(1 + std::exp(a)) < score(1 + std::exp(b))) {
      hi = b;
    } else {
      lo = a;
    }
  }
  const long double x = (lo + hi) / 2;
  return score(1 + std::exp(x)) < best ? 1 + std::exp(x) : 1 + std::exp(best_x);
}

// (ln delta + ln(a-1) - a ln(1 - 1/a)) / (a-1): the part of the largest rho
// at order a that does not involve epsilon.
long double DeltaTerm(long double log_delta, long double a) {
  return (log_delta + std::log(a - 1) - a * std::log1p(-1 / a)) / (a - 1);
}

}  // namespace

long double ZcdpLogDeltaAt(long double rho, long double epsilon, long double alpha) {
  return (alpha - 1) * (alpha * rho - epsilon) - std::log(alpha - 1) + alpha * std::log1p(-1 / alpha);
}

namespace {

Rational ComputeRhoForEpsilonDelta(const Rational& epsilon, const Rational& delta);

}  // namespace

// The search over orders costs ~1,000 evaluations of long double logs and
// exps (about 100 us, the largest part of compiling a Gaussian query), and
// its result depends only on (epsilon, delta), public parameters that
// repeat from query to query: remembered, bit for bit the same answer. The
// memo is bounded (cleared when full) and shared between threads.
Rational RhoForEpsilonDelta(const Rational& epsilon, const Rational& delta) {
  if (epsilon <= 0) Invalid("zCDP conversion needs epsilon > 0, got " + ToDecimalString(epsilon));
  CheckDelta(delta);
  static std::mutex mutex;
  static std::map<std::pair<Rational, Rational>, Rational> memo;
  constexpr size_t kMaxMemo = 1024;
  auto key = std::make_pair(epsilon, delta);
  {
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = memo.find(key); it != memo.end()) return it->second;
  }
  Rational rho = ComputeRhoForEpsilonDelta(epsilon, delta);
  std::lock_guard<std::mutex> lock(mutex);
  if (memo.size() >= kMaxMemo) memo.clear();
  memo.emplace(std::move(key), rho);
  return rho;
}

namespace {

Rational ComputeRhoForEpsilonDelta(const Rational& epsilon, const Rational& delta) {
  const long double eps = ToLongDouble(epsilon);
  const long double log_delta = std::log(ToLongDouble(delta)) - kLogDeltaMargin;
  // The catalog and the binder keep epsilon and delta far inside long double
  // (docs/LANGUAGE.md, "WITH PRIVACY"); anything else is refused, not guessed.
  if (!std::isfinite(eps) || !std::isfinite(log_delta) || !(eps > 0)) {
    Invalid("zCDP conversion out of range for epsilon " + ToDecimalString(epsilon) + ", delta " +
            ToDecimalString(delta));
  }
  // Cor. 13 at order a holds with delta exactly when
  //   rho <= R(a) = (epsilon + DeltaTerm(a)) / a,
  // so the largest rho is max_a R(a).
  auto rho_at = [&](long double a) { return (eps + DeltaTerm(log_delta, a)) / a; };
  const long double a = BestOrder([&](long double order) { return -rho_at(order); });
  const long double term = DeltaTerm(log_delta, a);
  const long double rho = (eps + term) / a - kMargin * (eps + std::fabs(term)) / a;
  if (std::isnan(rho)) Invalid("zCDP conversion failed for epsilon " + ToDecimalString(epsilon));
  if (!(rho > 0)) return Rational(0);
  // Round down to a multiple of 10^-15 (fewer digits for a rho so large
  // that the units would not fit 64 bits).
  int64_t digits = kRhoDenominatorDigits;
  while (digits > 0 && rho * std::pow(10.0L, static_cast<long double>(digits)) >= 1e18L) --digits;
  const long double units = std::floor(rho * std::pow(10.0L, static_cast<long double>(digits)));
  if (!(units < 1.8e19L)) Invalid("rho is out of range for epsilon " + ToDecimalString(epsilon));
  return Rational(BigInt(static_cast<unsigned long long>(units)),
                  boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(digits)));
}

}  // namespace

double EpsilonForRho(const Rational& rho, const Rational& delta) {
  if (rho < 0) Invalid("zCDP conversion needs rho >= 0, got " + ToDecimalString(rho));
  CheckDelta(delta);
  if (rho == 0) return 0;
  const long double r = ToLongDouble(rho);
  const long double log_inv_delta = -std::log(ToLongDouble(delta)) + kLogDeltaMargin;
  if (!std::isfinite(r) || !std::isfinite(log_inv_delta)) {
    Invalid("zCDP conversion out of range for rho " + ToDecimalString(rho) + ", delta " +
            ToDecimalString(delta));
  }
  // Cor. 13 solved for epsilon at order a:
  //   epsilon(a) = a rho + (ln(1/delta) + (a-1) ln(1 - 1/a) - ln a) / (a-1).
  auto tail = [&](long double a) {
    return (log_inv_delta + (a - 1) * std::log1p(-1 / a) - std::log(a)) / (a - 1);
  };
  const long double a = BestOrder([&](long double order) { return order * r + tail(order); });
  const long double epsilon = a * r + tail(a) + kMargin * (a * r + std::fabs(tail(a)));
  if (!std::isfinite(epsilon) || !std::isfinite(static_cast<double>(epsilon))) {
    Invalid("zCDP conversion out of range for rho " + ToDecimalString(rho));
  }
  if (!(epsilon > 0)) return 0;
  return static_cast<double>(std::nextafter(static_cast<double>(epsilon), 1e300));
}

Rational RhoOfPureDp(const Rational& epsilon) { return epsilon * epsilon / 2; }

}  // namespace dpql
