#include "repl/completion.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <span>

#include "compiler/common/text.h"

namespace dpql {
namespace {

// The grammar's keywords (the K_ tokens of grammar/DPQL.g4) except RIGHT, FULL
// and CROSS, which it recognises only to refuse them; the unit tests keep this
// list equal to the grammar's.
constexpr const char* kKeywords[] = {
    "AND",      "AS",      "ASC",     "BETWEEN", "BUDGET", "BY",     "DATE",   "DESC",  "DESCRIBE",
    "DISTINCT", "EXPLAIN", "EXTRACT", "FALSE",   "FROM",   "GROUP",  "HAVING", "IN",    "INNER",
    "IS",       "JOIN",    "LEFT",    "LIKE",    "LIMIT",  "NOT",    "NULL",   "ON",    "OR",
    "ORDER",    "OUTER",   "PRIVACY", "SELECT",  "SHOW",   "TABLES", "TRUE",   "WHERE", "WITH",
};

// Words with a meaning that the grammar reads as identifiers: functions, date
// parts and the WITH PRIVACY options.
constexpr const char* kNames[] = {
    "COUNT",     "SUM",        "AVG",      "VARIANCE",   "STDDEV",   "MEDIAN",     "PERCENTILE",
    "BUCKET",    "DATE_TRUNC", "YEAR",     "MONTH",      "DOW",      "EPSILON",    "DELTA",
    "MECHANISM", "LAPLACE",    "GAUSSIAN", "MAX_GROUPS", "MAX_ROWS", "CONFIDENCE",
};

constexpr const char* kMetaCommands[] = {"\\d",      "\\budget", "\\releases", "\\release", "\\explain",
                                         "\\timing", "\\format", "\\help",     "\\q"};

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && LowerAscii(text.substr(0, prefix.size())) == LowerAscii(prefix);
}

// The last whitespace-separated word of `before`, lower-cased.
std::string PreviousWord(std::string_view before) {
  size_t end = before.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return "";
  size_t begin = before.find_last_of(" \t\r\n(,", end);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  return LowerAscii(before.substr(begin, end + 1 - begin));
}

bool HasUpper(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::isupper(c); });
}

bool HasLower(std::string_view text) {
  return std::any_of(text.begin(), text.end(), [](unsigned char c) { return std::islower(c); });
}

}  // namespace

void Completer::LoadDataset(const nlohmann::json& dataset) {
  tables_.clear();
  columns_.clear();
  if (!dataset.is_object() || !dataset.contains("tables")) return;
  std::set<std::string> columns;
  auto add_table = [&](const std::string& name, const nlohmann::json& table) {
    tables_.push_back(name);
    if (!table.is_object() || !table.contains("columns")) return;
    const nlohmann::json& list = table["columns"];
    if (list.is_array()) {
      for (const auto& column : list) {
        if (column.is_object() && column.contains("name") && column["name"].is_string()) {
          columns.insert(column["name"].get<std::string>());
        }
      }
    } else if (list.is_object()) {
      for (auto it = list.begin(); it != list.end(); ++it) columns.insert(it.key());
    }
  };
  const nlohmann::json& tables = dataset["tables"];
  if (tables.is_array()) {
    for (const auto& table : tables) {
      if (table.is_object() && table.contains("name") && table["name"].is_string()) {
        add_table(table["name"].get<std::string>(), table);
      }
    }
  } else if (tables.is_object()) {
    for (auto it = tables.begin(); it != tables.end(); ++it) add_table(it.key(), it.value());
  }
  columns_.assign(columns.begin(), columns.end());
}

std::span<const char* const> CompletionKeywords() { return kKeywords; }

std::span<const char* const> CompletionNames() { return kNames; }

std::vector<std::string> Completer::Complete(std::string_view word, std::string_view before) const {
  std::set<std::string> matches;
  std::string trimmed_before(before);
  trimmed_before.erase(0, std::min(trimmed_before.find_first_not_of(" \t"), trimmed_before.size()));

  if (!word.empty() && word.front() == '\\' && trimmed_before.empty()) {
    for (const char* command : kMetaCommands) {
      if (StartsWithIgnoringCase(command, word)) matches.insert(command);
    }
    return {matches.begin(), matches.end()};
  }

  std::string previous = PreviousWord(before);
  bool tables_only = previous == "from" || previous == "join" || previous == "describe" ||
                     previous == "\\d" || previous == "\\d+";
  for (const auto& table : tables_) {
    if (StartsWithIgnoringCase(table, word)) matches.insert(table);
  }
  if (!tables_only) {
    for (const auto& column : columns_) {
      if (StartsWithIgnoringCase(column, word)) matches.insert(column);
    }
    bool lower_case = HasLower(word) && !HasUpper(word);
    for (std::span<const char* const> words : {CompletionKeywords(), CompletionNames()}) {
      for (const char* keyword : words) {
        if (StartsWithIgnoringCase(keyword, word)) {
          matches.insert(lower_case ? LowerAscii(keyword) : std::string(keyword));
        }
      }
    }
  }
  return {matches.begin(), matches.end()};
}

}  // namespace dpql
