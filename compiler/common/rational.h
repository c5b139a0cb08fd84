#pragma once

// Exact numbers for everything privacy-relevant: epsilon, delta, sensitivities,
// noise scales and bounds. Never a float on the path from a parameter to noise.

#include <boost/multiprecision/cpp_int.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace dpql {

using BigInt = boost::multiprecision::cpp_int;
using Rational = boost::multiprecision::cpp_rational;

// Parses "12", "-3.25", "1e-6", "2.5E+3" exactly. Returns nullopt on anything else
// (no hex, no inf/nan, no leading '+' on the mantissa beyond one sign).
std::optional<Rational> ParseDecimal(std::string_view text);

// Smallest integer >= r / <= r.
BigInt Ceil(const Rational& r);
BigInt Floor(const Rational& r);

// A short decimal rendering for messages and JSON ("0.1", "1e-06" style is
// avoided: digits are exact up to `digits` significant places, then rounded).
std::string ToDecimalString(const Rational& r, int digits = 12);

// Nearest double (for display and post-processing only, never for sampling).
double ToDouble(const Rational& r);

// Fits-in-int64 conversion; nullopt when out of range.
std::optional<int64_t> ToInt64(const BigInt& v);

}  // namespace dpql
