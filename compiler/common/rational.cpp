#include "compiler/common/rational.h"

#include <cctype>
#include <cmath>
#include <limits>
#include <sstream>

namespace dpql {

std::optional<Rational> ParseDecimal(std::string_view text) {
  size_t i = 0;
  bool negative = false;
  if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
  BigInt mantissa = 0;
  int64_t scale = 0;  // value = mantissa * 10^scale
  bool digits = false;
  for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
    mantissa = mantissa * 10 + (text[i] - '0');
    digits = true;
  }
  if (i < text.size() && text[i] == '.') {
    ++i;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      mantissa = mantissa * 10 + (text[i] - '0');
      --scale;
      digits = true;
    }
  }
  if (!digits) return std::nullopt;
  if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
    ++i;
    bool exp_negative = false;
    if (i < text.size() && (text[i] == '-' || text[i] == '+')) exp_negative = text[i++] == '-';
    int64_t exponent = 0;
    bool exp_digits = false;
    for (; i < text.size() && std::isdigit(static_cast<unsigned char>(text[i])); ++i) {
      exponent = exponent * 10 + (text[i] - '0');
      if (exponent > 4000) return std::nullopt;  // far beyond any meaningful parameter
      exp_digits = true;
    }
    if (!exp_digits) return std::nullopt;
    scale += exp_negative ? -exponent : exponent;
  }
  if (i != text.size()) return std::nullopt;
  if (scale < -4000 || scale > 4000) return std::nullopt;
  BigInt power = boost::multiprecision::pow(BigInt(10), static_cast<unsigned>(scale < 0 ? -scale : scale));
  Rational value = scale < 0 ? Rational(mantissa, power) : Rational(mantissa * power);
  return negative ? Rational(-value) : value;
}

BigInt Floor(const Rational& r) {
  BigInt n = boost::multiprecision::numerator(r);
  BigInt d = boost::multiprecision::denominator(r);
  BigInt q = n / d;  // truncates toward zero
  if (n < 0 && q * d != n) q -= 1;
  return q;
}

BigInt Ceil(const Rational& r) {
  BigInt f = Floor(r);
  return Rational(f) == r ? f : f + 1;
}

double ToDouble(const Rational& r) { return r.convert_to<double>(); }

std::string ToDecimalString(const Rational& r, int digits) {
  if (boost::multiprecision::denominator(r) == 1) {
    return boost::multiprecision::numerator(r).str();
  }
  std::ostringstream out;
  out.precision(digits);
  out << ToDouble(r);
  return out.str();
}

std::optional<int64_t> ToInt64(const BigInt& v) {
  if (v > std::numeric_limits<int64_t>::max() || v < std::numeric_limits<int64_t>::min()) {
    return std::nullopt;
  }
  return v.convert_to<int64_t>();
}

}  // namespace dpql
