#include "repl/completion.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace dpql {
namespace {

constexpr const char* kKeywords[] = {
    "SELECT",     "FROM",     "WHERE",    "GROUP",     "BY",        "HAVING",   "ORDER",      "LIMIT",
    "ASC",        "DESC",     "JOIN",     "INNER",     "LEFT",      "ON",       "AND",        "OR",
    "NOT",        "IN",       "BETWEEN",  "IS",        "NULL",      "LIKE",     "AS",         "DISTINCT",
    "COUNT",      "SUM",      "AVG",      "VARIANCE",  "STDDEV",    "MEDIAN",   "PERCENTILE", "BUCKET",
    "DATE_TRUNC", "EXTRACT",  "YEAR",     "MONTH",     "DOW",       "DATE",     "TRUE",       "FALSE",
    "WITH",       "PRIVACY",  "EPSILON",  "DELTA",     "MECHANISM", "LAPLACE",  "GAUSSIAN",   "MAX_GROUPS",
    "MAX_ROWS",   "CONFIDENCE", "EXPLAIN", "SHOW",     "TABLES",    "DESCRIBE", "BUDGET",
};

constexpr const char* kMetaCommands[] = {"\\d", "\\budget", "\\explain", "\\timing", "\\format", "\\help", "\\q"};

std::string Lower(std::string_view text) {
  std::string out(text);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

bool StartsWithIgnoringCase(std::string_view text, std::string_view prefix) {
  return text.size() >= prefix.size() && Lower(text.substr(0, prefix.size())) == Lower(prefix);
}

// The last whitespace-separated word of `before`, lower-cased.
std::string PreviousWord(std::string_view before) {
  size_t end = before.find_last_not_of(" \t\r\n");
  if (end == std::string_view::npos) return "";
  size_t begin = before.find_last_of(" \t\r\n(,", end);
  begin = begin == std::string_view::npos ? 0 : begin + 1;
  return Lower(before.substr(begin, end + 1 - begin));
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
  bool tables_only = previous == "from" || previous == "join" || previous == "describe" || previous == "\\d" ||
                     previous == "\\d+";
  for (const auto& table : tables_) {
    if (StartsWithIgnoringCase(table, word)) matches.insert(table);
  }
  if (!tables_only) {
    for (const auto& column : columns_) {
      if (StartsWithIgnoringCase(column, word)) matches.insert(column);
    }
    bool lower_case = HasLower(word) && !HasUpper(word);
    for (const char* keyword : kKeywords) {
      if (StartsWithIgnoringCase(keyword, word)) matches.insert(lower_case ? Lower(keyword) : std::string(keyword));
    }
  }
  return {matches.begin(), matches.end()};
}

}  // namespace dpql
