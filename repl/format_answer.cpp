// A /v1/query or /v1/explain answer as a table with its footer, or as CSV.

#include "repl/format.h"

#include <algorithm>
#include <map>
#include <optional>
#include <utility>

#include "compiler/common/text.h"
#include "repl/format_cells.h"

namespace dpql {
namespace {

using nlohmann::json;
using namespace format_cells;

bool IsNumericType(const std::string& type) {
  static const char* const kNumeric[] = {"int",    "integer", "bigint",  "smallint", "real",
                                         "double", "float",   "numeric", "decimal"};
  std::string lower = LowerAscii(type);
  return std::any_of(std::begin(kNumeric), std::end(kNumeric),
                     [&](const char* name) { return lower == name; });
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
    if (!entry.is_object() || !entry.contains("ci") || !entry["ci"].is_array() || entry["ci"].size() != 2)
      continue;
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

// Right-aligned: of a numeric declared type or, with no declared type, every
// non-null value a number (and there is one).
bool IsNumericColumn(const json& rows, size_t column, const std::string& type) {
  if (!type.empty()) return IsNumericType(type);
  bool any = false;
  bool numeric = true;
  for (const json& row : rows) {
    const json& value = Cell(row, column);
    if (value.is_null()) continue;
    any = true;
    numeric = numeric && value.is_number();
  }
  return numeric && any;
}

// A noisy column: "value ± half" with the values right-aligned before the
// ± and the half-widths right-aligned after it.
void FillNoisyColumn(const json& rows, size_t c, const std::string& type, const Intervals& intervals,
                     std::vector<std::vector<std::string>>& cells) {
  bool integral_type =
      LowerAscii(type) == "int" || LowerAscii(type) == "integer" || LowerAscii(type) == "bigint";
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
    cells[r][c] =
        parts[r] ? PadLeft(parts[r]->first, value_width) + kPlusMinus + PadLeft(parts[r]->second, half_width)
                 : CellText(Cell(rows[r], c));
  }
}

// The footer's cost: what the statement spent (nothing for EXPLAIN or a
// cached answer); none when the answer states no cost.
std::optional<std::string> CostText(const json& answer, bool explain) {
  const json& cost = Member(answer, "cost");
  const json& cached = Member(answer, "cached");
  if (explain) {
    // In a /v1/query answer "cost" is what the statement spent; EXPLAIN
    // spends nothing (its plan text states what the query would cost).
    return "EXPLAIN: nothing spent";
  } else if (cached.is_boolean() && cached.get<bool>()) {
    return "cached answer: no cost";
  } else if (cost.is_object()) {
    const json& epsilon = Member(cost, "epsilon");
    const json& delta = Member(cost, "delta");
    bool has_delta = !delta.is_null() && FormatAmount(delta) != "0";
    std::string text = "cost: " + kEpsilon + " " + FormatAmount(epsilon);
    if (has_delta) text += ", " + kDelta + " " + FormatAmount(delta);
    if (const json& rho = Member(cost, "rho"); !rho.is_null()) text += ", " + kRho + " " + FormatAmount(rho);
    return text;
  }
  return std::nullopt;
}

// The footer's "budget left: ..."; none when the answer states no budget.
std::optional<std::string> BudgetLeftText(const json& answer) {
  const json& budget = Member(answer, "budget");
  if (!budget.is_object() || !budget.contains("epsilon_remaining")) return std::nullopt;
  std::string text = "budget left: ";
  // zCDP accounting: rho is the budget, epsilon its equivalent at the delta shown.
  if (budget.contains("rho_remaining"))
    text += kRho + " " + FormatAmount(budget["rho_remaining"]) + " \xE2\x89\x88 ";
  text += kEpsilon + " " + FormatAmount(budget["epsilon_remaining"]);
  const json& delta_total = Member(budget, "delta_total");
  if (budget.contains("delta_remaining") && !delta_total.is_null() && FormatAmount(delta_total) != "0") {
    text += ", " + kDelta + " " + FormatAmount(budget["delta_remaining"]);
  }
  return text;
}

}  // namespace

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
    right_align[c] = IsNumericColumn(rows, c, types[c]);
    if (!intervals.ColumnIsNoisy(c)) {
      for (size_t r = 0; r < rows.size(); ++r) cells[r][c] = CellText(Cell(rows[r], c));
      continue;
    }
    right_align[c] = true;
    FillNoisyColumn(rows, c, types[c], intervals, cells);
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
  if (auto cost = CostText(answer, explain)) parts.push_back(*cost);
  if (auto budget = BudgetLeftText(answer)) parts.push_back(*budget);
  Intervals intervals = ReadIntervals(answer, ColumnNames(answer));
  if (!intervals.cells.empty() || !intervals.whole_columns.empty()) {
    double confidence = intervals.confidence.value_or(0.95);
    parts.push_back(FormatAmount(confidence * 100) + "% intervals");
  }
  std::string footer;
  for (size_t i = 0; i < parts.size(); ++i)
    footer += (i == 0 ? "" : (i == 1 && !explain ? "  " : kSeparator)) + parts[i];
  // Notes from the server (e.g. suppressed groups) each get a line of their own.
  const json& notes = Member(answer, "notes");
  if (notes.is_array()) {
    for (const auto& note : notes) {
      if (note.is_string()) footer += "\nnote: " + note.get<std::string>();
    }
  }
  // What contribution bounding may have left out of the figures (an EXPLAIN's
  // plan text lists them already).
  const json& bias = Member(answer, "bias");
  if (bias.is_array() && !explain) {
    for (const auto& note : bias) {
      const json& message = Member(note, "message");
      if (message.is_string()) footer += "\nbias: " + message.get<std::string>();
    }
  }
  return footer;
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

}  // namespace dpql
