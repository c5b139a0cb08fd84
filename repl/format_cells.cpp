#include "repl/format_cells.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "repl/format.h"

namespace dpql::format_cells {
namespace {

using nlohmann::json;

// Largest number of decimals used to keep a small half-width visible.
constexpr int kMaxDecimals = 6;

}  // namespace

std::string PadRight(const std::string& text, size_t width) {
  size_t shown = DisplayWidth(text);
  return shown >= width ? text : text + std::string(width - shown, ' ');
}

std::string PadLeft(const std::string& text, size_t width) {
  size_t shown = DisplayWidth(text);
  return shown >= width ? text : std::string(width - shown, ' ') + text;
}

std::string RightTrim(std::string text) {
  while (!text.empty() && (text.back() == ' ' || text.back() == '\n' || text.back() == '\r')) text.pop_back();
  return text;
}

std::string ShortestDouble(double value) {
  char buffer[64];
  auto [end, error] = std::to_chars(buffer, buffer + sizeof buffer, value);
  if (error != std::errc()) return std::to_string(value);
  return std::string(buffer, end);
}

std::string FixedDecimals(double value, int decimals) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.*f", decimals, value);
  std::string text = buffer;
  if (text == "-0" || text.find_first_not_of("-0.") == std::string::npos) {
    if (!text.empty() && text[0] == '-') text.erase(0, 1);  // no "-0.00"
  }
  return text;
}

std::string CellText(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) return ShortestDouble(value.get<double>());
  return value.dump();
}

std::pair<std::string, std::string> NoisyParts(double value, double lo, double hi, bool integral) {
  double half = std::max({value - lo, hi - value, 0.0});
  if (integral) {
    // Intervals of integer values have integer ends; the tolerance keeps
    // floating-point dust from rounding an exact 3 up to 4.
    double rounded_half = std::ceil(half - 1e-9);
    return {FixedDecimals(std::round(value), 0), FixedDecimals(std::max(rounded_half, 0.0), 0)};
  }
  int decimals = 2;
  while (decimals < kMaxDecimals && half > 0 && half * std::pow(10.0, decimals) < 1.0) ++decimals;
  double scale = std::pow(10.0, decimals);
  double rounded_half = std::ceil(half * scale - 1e-6) / scale;
  return {FixedDecimals(value, decimals), FixedDecimals(rounded_half, decimals)};
}

const json& Member(const json& object, const char* key) {
  static const json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

std::string Plural(size_t count, const char* one, const char* many) {
  return "(" + std::to_string(count) + " " + (count == 1 ? one : many) + ")";
}

}  // namespace dpql::format_cells
