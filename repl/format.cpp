// The building blocks of repl/format.h: output format names, display width,
// the aligned table, amounts and noisy values, CSV fields, error text. The
// answers' renderings are in format_answer.cpp and format_catalog.cpp.

#include "repl/format.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "compiler/common/text.h"
#include "repl/format_cells.h"

namespace dpql {

using nlohmann::json;
using namespace format_cells;

std::optional<OutputFormat> ParseOutputFormat(std::string_view name) {
  std::string lower = LowerAscii(name);
  if (lower == "table" || lower == "aligned") return OutputFormat::kTable;
  if (lower == "csv") return OutputFormat::kCsv;
  if (lower == "json") return OutputFormat::kJson;
  return std::nullopt;
}

const char* OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable: return "table";
    case OutputFormat::kCsv: return "csv";
    case OutputFormat::kJson: return "json";
  }
  return "table";
}

size_t DisplayWidth(std::string_view text) {
  size_t width = 0;
  for (unsigned char c : text) {
    if ((c & 0xC0) != 0x80) ++width;  // count lead bytes, skip continuation bytes
  }
  return width;
}

std::string RenderTable(const std::vector<std::string>& header,
                        const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_align) {
  size_t columns = header.size();
  std::vector<size_t> widths(columns, 0);
  for (size_t c = 0; c < columns; ++c) widths[c] = DisplayWidth(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < columns && c < row.size(); ++c)
      widths[c] = std::max(widths[c], DisplayWidth(row[c]));
  }
  std::string out;
  std::string line;
  for (size_t c = 0; c < columns; ++c) {
    size_t total = widths[c] - DisplayWidth(header[c]);
    size_t left = total / 2;
    line += (c == 0 ? " " : " | ") + std::string(left, ' ') + header[c] + std::string(total - left, ' ');
  }
  out += RightTrim(line) + "\n";
  line.clear();
  for (size_t c = 0; c < columns; ++c) line += (c == 0 ? "-" : "-+-") + std::string(widths[c], '-');
  out += line + "-\n";
  for (const auto& row : rows) {
    line.clear();
    for (size_t c = 0; c < columns; ++c) {
      std::string cell = c < row.size() ? row[c] : "";
      bool right = c < right_align.size() && right_align[c];
      line += (c == 0 ? " " : " | ") + (right ? PadLeft(cell, widths[c]) : PadRight(cell, widths[c]));
    }
    out += RightTrim(line) + "\n";
  }
  return out;
}

std::string FormatAmount(double amount) {
  if (!std::isfinite(amount)) return ShortestDouble(amount);
  if (amount == std::floor(amount) && std::fabs(amount) < 1e15) return FixedDecimals(amount, 0);
  if (std::fabs(amount) < 1e-3) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3g", amount);
    return buffer;
  }
  std::string text = FixedDecimals(amount, 6);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

std::string FormatAmount(const json& amount) {
  if (amount.is_string()) return amount.get<std::string>();
  if (amount.is_number_integer()) return amount.dump();
  if (amount.is_number()) return FormatAmount(amount.get<double>());
  if (amount.is_null()) return "";
  return amount.dump();
}

std::string FormatNoisyValue(double value, double lo, double hi, bool integral) {
  auto [shown, half] = NoisyParts(value, lo, hi, integral);
  return shown + kPlusMinus + half;
}

std::string CsvField(std::string_view field) {
  bool quote = field.find_first_of(",\"\r\n") != std::string_view::npos ||
               (!field.empty() && (field.front() == ' ' || field.back() == ' '));
  if (!quote) return std::string(field);
  std::string out = "\"";
  for (char c : field) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

std::string FormatJson(const json& answer) { return answer.dump() + "\n"; }

std::string FormatErrorText(std::string_view code, std::string_view message, int line, int column,
                            std::string_view query) {
  std::string out = "ERROR" + (code.empty() ? std::string() : " [" + std::string(code) + "]") + ": " +
                    RightTrim(std::string(message)) + "\n";
  if (line <= 0 || column <= 0) return out;
  // Find the line'th line of the query.
  size_t begin = 0;
  for (int l = 1; l < line; ++l) {
    size_t newline = query.find('\n', begin);
    if (newline == std::string_view::npos) return out;
    begin = newline + 1;
  }
  size_t end = query.find('\n', begin);
  std::string text(query.substr(begin, end == std::string_view::npos ? std::string_view::npos : end - begin));
  if (!text.empty() && text.back() == '\r') text.pop_back();
  std::replace(text.begin(), text.end(), '\t', ' ');
  std::string prefix = "LINE " + std::to_string(line) + ": ";
  size_t offset = std::min(static_cast<size_t>(column - 1), DisplayWidth(text));
  out += prefix + text + "\n";
  out += std::string(prefix.size() + offset, ' ') + "^\n";
  return out;
}

}  // namespace dpql
