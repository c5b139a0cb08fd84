#include "repl/format.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <map>
#include <sstream>
#include <stdexcept>
#include <utility>

#include "compiler/common/text.h"

namespace dpql {
namespace {

using nlohmann::json;

const std::string kSeparator = "  \xC2\xB7  ";  // "  ·  "
const std::string kPlusMinus = " \xC2\xB1 ";    // " ± "
const std::string kEpsilon = "\xCE\xB5";        // "ε"
const std::string kDelta = "\xCE\xB4";          // "δ"
const std::string kRho = "\xCF\x81";            // "ρ"

// Largest number of decimals used to keep a small half-width visible.
constexpr int kMaxDecimals = 6;

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

// Shortest text that reads back as the same double ("0.1", "12", "1e-06").
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

// A plain (non-noisy) cell.
std::string CellText(const json& value) {
  if (value.is_null()) return "";
  if (value.is_string()) return value.get<std::string>();
  if (value.is_boolean()) return value.get<bool>() ? "true" : "false";
  if (value.is_number_integer()) return value.dump();
  if (value.is_number_float()) return ShortestDouble(value.get<double>());
  return value.dump();
}

bool IsNumericType(const std::string& type) {
  static const char* const kNumeric[] = {"int", "integer", "bigint", "smallint", "real", "double", "float",
                                         "numeric", "decimal"};
  std::string lower = LowerAscii(type);
  return std::any_of(std::begin(kNumeric), std::end(kNumeric), [&](const char* name) { return lower == name; });
}

// (row, column) -> [lo, hi] from the answer's "accuracy" entries. An entry
// without "row" applies to every row of its column.
struct Intervals {
  std::map<std::pair<size_t, size_t>, std::pair<double, double>> cells;
  std::map<size_t, std::pair<double, double>> whole_columns;
  std::optional<double> confidence;

  const std::pair<double, double>* Find(size_t row, size_t column) const {
    auto cell = cells.find({row, column});
    if (cell != cells.end()) return &cell->second;
    auto whole = whole_columns.find(column);
    return whole == whole_columns.end() ? nullptr : &whole->second;
  }
  bool ColumnIsNoisy(size_t column) const {
    if (whole_columns.count(column)) return true;
    for (const auto& [key, interval] : cells) {
      if (key.second == column) return true;
    }
    return false;
  }
};

Intervals ReadIntervals(const json& answer, const std::vector<std::string>& columns) {
  Intervals intervals;
  if (!answer.contains("accuracy") || !answer["accuracy"].is_array()) return intervals;
  for (const json& entry : answer["accuracy"]) {
    if (!entry.is_object() || !entry.contains("ci") || !entry["ci"].is_array() || entry["ci"].size() != 2) continue;
    if (!entry["ci"][0].is_number() || !entry["ci"][1].is_number()) continue;
    std::pair<double, double> ci{entry["ci"][0].get<double>(), entry["ci"][1].get<double>()};
    if (entry.contains("confidence") && entry["confidence"].is_number() && !intervals.confidence) {
      intervals.confidence = entry["confidence"].get<double>();
    }
    size_t column = columns.size();
    if (entry.contains("column") && entry["column"].is_string()) {
      auto found = std::find(columns.begin(), columns.end(), entry["column"].get<std::string>());
      column = static_cast<size_t>(found - columns.begin());
    } else if (entry.contains("column") && entry["column"].is_number_unsigned()) {
      column = entry["column"].get<size_t>();
    }
    if (column >= columns.size()) continue;
    if (entry.contains("row") && entry["row"].is_number_unsigned()) {
      intervals.cells[{entry["row"].get<size_t>(), column}] = ci;
    } else {
      intervals.whole_columns[column] = ci;
    }
  }
  return intervals;
}

std::vector<std::string> ColumnNames(const json& answer) {
  std::vector<std::string> names;
  if (answer.contains("columns") && answer["columns"].is_array()) {
    for (const json& column : answer["columns"]) {
      if (column.is_string()) {
        names.push_back(column.get<std::string>());
      } else if (column.is_object() && column.contains("name") && column["name"].is_string()) {
        names.push_back(column["name"].get<std::string>());
      } else {
        names.push_back(column.dump());
      }
    }
  }
  return names;
}

std::vector<std::string> ColumnTypes(const json& answer, size_t count) {
  std::vector<std::string> types(count);
  if (answer.contains("column_types") && answer["column_types"].is_array()) {
    for (size_t c = 0; c < count && c < answer["column_types"].size(); ++c) {
      if (answer["column_types"][c].is_string()) types[c] = answer["column_types"][c].get<std::string>();
    }
  }
  return types;
}

const json& Rows(const json& answer) {
  static const json kEmpty = json::array();
  return answer.contains("rows") && answer["rows"].is_array() ? answer["rows"] : kEmpty;
}

const json& Cell(const json& row, size_t column) {
  static const json kNull;
  return row.is_array() && column < row.size() ? row[column] : kNull;
}

// "value" and "half-width" of a noisy cell, separately so a column can align
// its ± signs.
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

// name -> entry, for catalog parts given either as [{"name": ...}, ...] or as
// {"name": {...}, ...}.
std::vector<std::pair<std::string, const json*>> Entries(const json& container) {
  std::vector<std::pair<std::string, const json*>> entries;
  if (container.is_array()) {
    for (const json& entry : container) {
      if (entry.is_object() && entry.contains("name") && entry["name"].is_string()) {
        entries.emplace_back(entry["name"].get<std::string>(), &entry);
      }
    }
  } else if (container.is_object()) {
    for (auto it = container.begin(); it != container.end(); ++it) entries.emplace_back(it.key(), &it.value());
  }
  return entries;
}

const json& Member(const json& object, const char* key) {
  static const json kNull;
  return object.is_object() && object.contains(key) ? object[key] : kNull;
}

bool IsPrivate(const json& table) {
  const json& flag = Member(table, "private");
  return flag.is_boolean() && flag.get<bool>();
}

std::string Plural(size_t count, const char* one, const char* many) {
  return "(" + std::to_string(count) + " " + (count == 1 ? one : many) + ")";
}

}  // namespace

std::optional<OutputFormat> ParseOutputFormat(std::string_view name) {
  std::string lower = LowerAscii(name);
  if (lower == "table" || lower == "aligned") return OutputFormat::kTable;
  if (lower == "csv") return OutputFormat::kCsv;
  if (lower == "json") return OutputFormat::kJson;
  return std::nullopt;
}

const char* OutputFormatName(OutputFormat format) {
  switch (format) {
    case OutputFormat::kTable:
      return "table";
    case OutputFormat::kCsv:
      return "csv";
    case OutputFormat::kJson:
      return "json";
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

std::string RenderTable(const std::vector<std::string>& header, const std::vector<std::vector<std::string>>& rows,
                        const std::vector<bool>& right_align) {
  size_t columns = header.size();
  std::vector<size_t> widths(columns, 0);
  for (size_t c = 0; c < columns; ++c) widths[c] = DisplayWidth(header[c]);
  for (const auto& row : rows) {
    for (size_t c = 0; c < columns && c < row.size(); ++c) widths[c] = std::max(widths[c], DisplayWidth(row[c]));
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

std::string FormatTable(const json& answer) {
  if (answer.contains("explain") && !answer.contains("columns")) {
    std::string text = CellText(answer["explain"]);
    if (!text.empty() && text.back() != '\n') text += "\n";
    return text;
  }
  std::vector<std::string> names = ColumnNames(answer);
  std::vector<std::string> types = ColumnTypes(answer, names.size());
  Intervals intervals = ReadIntervals(answer, names);
  const json& rows = Rows(answer);

  std::vector<std::vector<std::string>> cells(rows.size(), std::vector<std::string>(names.size()));
  std::vector<bool> right_align(names.size(), false);
  for (size_t c = 0; c < names.size(); ++c) {
    bool numeric = IsNumericType(types[c]);
    if (types[c].empty()) {
      // No declared type: numeric when every non-null value is a number.
      bool any = false;
      numeric = true;
      for (const json& row : rows) {
        const json& value = Cell(row, c);
        if (value.is_null()) continue;
        any = true;
        numeric = numeric && value.is_number();
      }
      numeric = numeric && any;
    }
    right_align[c] = numeric;
    if (!intervals.ColumnIsNoisy(c)) {
      for (size_t r = 0; r < rows.size(); ++r) cells[r][c] = CellText(Cell(rows[r], c));
      continue;
    }
    // Noisy column: "value ± half" with the values right-aligned before the
    // ± and the half-widths right-aligned after it.
    right_align[c] = true;
    bool integral_type = LowerAscii(types[c]) == "int" || LowerAscii(types[c]) == "integer" || LowerAscii(types[c]) == "bigint";
    std::vector<std::optional<std::pair<std::string, std::string>>> parts(rows.size());
    size_t value_width = 0, half_width = 0;
    for (size_t r = 0; r < rows.size(); ++r) {
      const json& value = Cell(rows[r], c);
      const auto* ci = intervals.Find(r, c);
      if (ci && value.is_number()) {
        bool integral = integral_type || value.is_number_integer();
        parts[r] = NoisyParts(value.get<double>(), ci->first, ci->second, integral);
        value_width = std::max(value_width, DisplayWidth(parts[r]->first));
        half_width = std::max(half_width, DisplayWidth(parts[r]->second));
      }
    }
    for (size_t r = 0; r < rows.size(); ++r) {
      cells[r][c] = parts[r] ? PadLeft(parts[r]->first, value_width) + kPlusMinus + PadLeft(parts[r]->second, half_width)
                             : CellText(Cell(rows[r], c));
    }
  }
  return RenderTable(names, cells, right_align);
}

std::string FormatFooter(const json& answer) {
  std::vector<std::string> parts;
  bool explain = answer.contains("explain") && !answer.contains("columns");
  if (!explain) {
    size_t rows = Rows(answer).size();
    parts.push_back(Plural(rows, "row", "rows"));
  }
  const json& cost = Member(answer, "cost");
  const json& cached = Member(answer, "cached");
  if (explain) {
    // In a /v1/query answer "cost" is what the statement spent; EXPLAIN
    // spends nothing (its plan text states what the query would cost).
    parts.push_back("EXPLAIN: nothing spent");
  } else if (cached.is_boolean() && cached.get<bool>()) {
    parts.push_back("cached answer: no cost");
  } else if (cost.is_object()) {
    const json& epsilon = Member(cost, "epsilon");
    const json& delta = Member(cost, "delta");
    bool has_delta = !delta.is_null() && FormatAmount(delta) != "0";
    std::string text = "cost: " + kEpsilon + " " + FormatAmount(epsilon);
    if (has_delta) text += ", " + kDelta + " " + FormatAmount(delta);
    if (const json& rho = Member(cost, "rho"); !rho.is_null()) text += ", " + kRho + " " + FormatAmount(rho);
    parts.push_back(text);
  }
  const json& budget = Member(answer, "budget");
  if (budget.is_object() && budget.contains("epsilon_remaining")) {
    std::string text = "budget left: ";
    // zCDP accounting: rho is the budget, epsilon its equivalent at the delta shown.
    if (budget.contains("rho_remaining")) text += kRho + " " + FormatAmount(budget["rho_remaining"]) + " \xE2\x89\x88 ";
    text += kEpsilon + " " + FormatAmount(budget["epsilon_remaining"]);
    const json& delta_total = Member(budget, "delta_total");
    if (budget.contains("delta_remaining") && !delta_total.is_null() && FormatAmount(delta_total) != "0") {
      text += ", " + kDelta + " " + FormatAmount(budget["delta_remaining"]);
    }
    parts.push_back(text);
  }
  Intervals intervals = ReadIntervals(answer, ColumnNames(answer));
  if (!intervals.cells.empty() || !intervals.whole_columns.empty()) {
    double confidence = intervals.confidence.value_or(0.95);
    parts.push_back(FormatAmount(confidence * 100) + "% intervals");
  }
  std::string footer;
  for (size_t i = 0; i < parts.size(); ++i) footer += (i == 0 ? "" : (i == 1 && !explain ? "  " : kSeparator)) + parts[i];
  // Notes from the server (e.g. suppressed groups) each get a line of their own.
  const json& notes = Member(answer, "notes");
  if (notes.is_array()) {
    for (const auto& note : notes) {
      if (note.is_string()) footer += "\nnote: " + note.get<std::string>();
    }
  }
  return footer;
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

std::string FormatCsv(const json& answer) {
  if (answer.contains("explain") && !answer.contains("columns")) {
    return "explain\n" + CsvField(CellText(answer["explain"])) + "\n";
  }
  std::vector<std::string> names = ColumnNames(answer);
  Intervals intervals = ReadIntervals(answer, names);
  const json& rows = Rows(answer);
  std::vector<bool> noisy(names.size());
  std::string out;
  auto raw = [](const json& value) {
    // Full precision for programs: numbers exactly as the server sent them.
    if (value.is_number()) return value.dump();
    return CellText(value);
  };
  for (size_t c = 0; c < names.size(); ++c) {
    noisy[c] = intervals.ColumnIsNoisy(c);
    out += (c == 0 ? "" : ",") + CsvField(names[c]);
    if (noisy[c]) out += "," + CsvField(names[c] + "_ci_lower") + "," + CsvField(names[c] + "_ci_upper");
  }
  out += "\n";
  for (size_t r = 0; r < rows.size(); ++r) {
    for (size_t c = 0; c < names.size(); ++c) {
      out += (c == 0 ? "" : ",") + CsvField(raw(Cell(rows[r], c)));
      if (noisy[c]) {
        const auto* ci = intervals.Find(r, c);
        out += ci ? "," + ShortestDouble(ci->first) + "," + ShortestDouble(ci->second) : ",,";
      }
    }
    out += "\n";
  }
  return out;
}

std::string FormatJson(const json& answer) { return answer.dump() + "\n"; }

std::string FormatExplain(const json& answer) {
  std::string out = FormatTable(json{{"explain", Member(answer, "explain")}});
  const json& cost = Member(answer, "cost");
  if (cost.is_object()) {
    // A /v1/explain answer's cost is what running the query would spend.
    out += "cost if run: " + kEpsilon + " " + FormatAmount(Member(cost, "epsilon"));
    const json& delta = Member(cost, "delta");
    if (!delta.is_null() && FormatAmount(delta) != "0") out += ", " + kDelta + " " + FormatAmount(delta);
    out += "  " + std::string("(nothing spent)") + "\n";
  }
  return out;
}

std::string FormatErrorText(std::string_view message, int line, int column, std::string_view query) {
  std::string out = "ERROR: " + RightTrim(std::string(message)) + "\n";
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

std::string FormatBudgets(const json& answer) {
  std::vector<std::string> header = {"Dataset", kEpsilon + " total", kEpsilon + " spent", kEpsilon + " left",
                                     kDelta + " total",  kDelta + " spent",  kDelta + " left"};
  const char* keys[] = {"epsilon_total", "epsilon_spent", "epsilon_remaining", "delta_total", "delta_spent",
                        "delta_remaining"};
  std::vector<std::vector<std::string>> rows;
  const json& budgets = Member(answer, "budgets");
  // zCDP datasets add their rho budget; the columns appear only when one has it.
  bool any_rho = false;
  if (budgets.is_array()) {
    for (const json& budget : budgets) any_rho |= budget.is_object() && budget.contains("rho_total");
  }
  std::vector<bool> right = {false, true, true, true, true, true, true};
  if (any_rho) {
    header.insert(header.end(), {kRho + " total", kRho + " spent", kRho + " left"});
    right.insert(right.end(), {true, true, true});
  }
  if (budgets.is_array()) {
    for (const json& budget : budgets) {
      std::vector<std::string> row = {CellText(Member(budget, "dataset"))};
      for (const char* key : keys) row.push_back(FormatAmount(Member(budget, key)));
      if (any_rho) {
        for (const char* key : {"rho_total", "rho_spent", "rho_remaining"}) {
          const json& value = Member(budget, key);
          row.push_back(value.is_null() ? "" : FormatAmount(value));
        }
      }
      rows.push_back(std::move(row));
    }
  }
  return RenderTable(header, rows, right) + Plural(rows.size(), "dataset", "datasets") + "\n";
}

const json* FindDataset(const json& catalog, std::string_view name) {
  auto entries = Entries(Member(catalog, "datasets"));
  for (const auto& [entry_name, entry] : entries) {
    if (name.empty() || entry_name == name) return entry;
  }
  return nullptr;
}

std::string FormatTableList(const json& dataset) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, table] : Entries(Member(dataset, "tables"))) {
    size_t columns = Entries(Member(*table, "columns")).size();
    rows.push_back({name, IsPrivate(*table) ? "private" : "public", std::to_string(columns)});
  }
  std::string out = RenderTable({"Table", "Kind", "Columns"}, rows, {false, false, true});
  out += Plural(rows.size(), "table", "tables");
  const json& unit = Member(dataset, "privacy_unit");
  if (unit.is_string()) out += "  privacy unit: " + unit.get<std::string>();
  out += "\n";
  const json& defaults = Member(dataset, "defaults");
  if (defaults.is_object()) {
    // What a query without WITH PRIVACY gets.
    std::string text;
    auto add = [&](const char* key, const std::string& label) {
      const json& value = Member(defaults, key);
      if (value.is_null()) return;
      text += (text.empty() ? "" : ", ") + label + " " +
              (value.is_string() ? value.get<std::string>() : FormatAmount(value));
    };
    add("epsilon", kEpsilon);
    add("delta", kDelta);
    add("max_groups", "max_groups");
    add("max_rows", "max_rows");
    add("mechanism", "mechanism");
    const json& confidence = Member(defaults, "confidence");
    if (confidence.is_number()) text += (text.empty() ? "" : ", ") + FormatAmount(confidence.get<double>() * 100) + "% intervals";
    if (!text.empty()) out += "defaults per query: " + text + "\n";
  }
  return out;
}

std::string FormatTableDescription(const json& dataset, std::string_view table_name) {
  const json* table = nullptr;
  std::string known;
  std::string canonical;
  for (const auto& [name, entry] : Entries(Member(dataset, "tables"))) {
    if (LowerAscii(name) == LowerAscii(table_name)) {
      table = entry;
      canonical = name;
    }
    known += (known.empty() ? "" : ", ") + name;
  }
  if (!table) {
    throw std::invalid_argument("no table \"" + std::string(table_name) + "\" in this dataset; tables are: " +
                                (known.empty() ? "(none)" : known));
  }
  const json& unit = Member(dataset, "privacy_unit");
  std::string unit_name = unit.is_string() ? unit.get<std::string>() : "";
  bool is_private = IsPrivate(*table);

  std::vector<std::vector<std::string>> rows;
  for (const auto& [name, column] : Entries(Member(*table, "columns"))) {
    std::string type = CellText(Member(*column, "type"));
    std::string bounds;
    const json& lower = Member(*column, "lower");
    const json& upper = Member(*column, "upper");
    if (!lower.is_null() || !upper.is_null()) bounds = FormatAmount(lower) + " .. " + FormatAmount(upper);
    std::string domain;
    const json& values = Member(*column, "domain");
    const json& from = Member(*column, "domain_from");
    const json& unit_flag = Member(*column, "privacy_unit");
    if (is_private && (name == unit_name || (unit_flag.is_boolean() && unit_flag.get<bool>()))) {
      domain = "privacy unit (never output)";
    } else if (values.is_array()) {
      constexpr size_t kShown = 8;
      for (size_t i = 0; i < values.size() && i < kShown; ++i) domain += (i == 0 ? "" : ", ") + CellText(values[i]);
      if (values.size() > kShown) domain += ", \xE2\x80\xA6 (" + std::to_string(values.size()) + " values)";
    } else if (from.is_string()) {
      domain = "values of " + from.get<std::string>();
    }
    rows.push_back({name, type, bounds, domain});
  }
  std::string title = "Table \"" + canonical + "\" (" +
                      (is_private ? "private: each " + (unit_name.empty() ? std::string("person") : unit_name) +
                                        "'s rows are protected together; only noisy aggregates"
                                  : std::string("public dimension: may be joined and grouped by")) +
                      ")\n";
  return title + RenderTable({"Column", "Type", "Bounds", "Public domain"}, rows, {}) +
         Plural(rows.size(), "column", "columns") + "\n";
}

}  // namespace dpql
