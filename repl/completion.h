#pragma once

// Tab-completion candidates: DPQL keywords, the dataset's table names and
// column names (from GET /v1/catalog), and meta-commands. Independent of
// libedit so it can be unit-tested; repl.cpp hooks it into the line editor.

#include <nlohmann/json.hpp>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace dpql {

// The words offered besides catalog names and meta-commands: the grammar's
// keywords (all but the refused RIGHT, FULL and CROSS), and the function,
// date-part and option names, which the grammar reads as identifiers.
std::span<const char* const> CompletionKeywords();
std::span<const char* const> CompletionNames();

class Completer {
 public:
  // Remembers the tables and columns of `dataset` (an entry of the catalog).
  void LoadDataset(const nlohmann::json& dataset);

  // Candidates for the word `word` being typed, given the text of the line
  // before it. Matching ignores case; keywords follow the case the user typed
  // (lower-case input gets lower-case keywords). After FROM/JOIN/DESCRIBE or
  // `\d` only tables are offered. Sorted, without duplicates.
  std::vector<std::string> Complete(std::string_view word, std::string_view before) const;

  const std::vector<std::string>& tables() const { return tables_; }
  const std::vector<std::string>& columns() const { return columns_; }

 private:
  std::vector<std::string> tables_;
  std::vector<std::string> columns_;
};

}  // namespace dpql
