#pragma once

// Splitting input into statements on `;`, the way the server's lexer sees the
// text: a `;` inside 'string literals', "quoted identifiers", `--` line
// comments or `/* */` block comments does not end a statement.

#include <string>
#include <string_view>
#include <vector>

namespace dpql {

struct Statement {
  std::string text;  // without the terminating `;`, surrounding whitespace trimmed
  int line = 1;      // 1-based line of the input where `text` starts
};

struct StatementScan {
  std::vector<Statement> complete;  // each ended by a `;`
  Statement rest;                   // text after the last `;` ("" if only whitespace/comments)
  bool rest_has_content = false;    // rest holds more than whitespace and comments
};

// Scans `input` into complete statements and the unfinished rest. Pieces that
// hold only whitespace and comments (e.g. ";;" or a trailing comment) are
// dropped.
StatementScan ScanStatements(std::string_view input);

// Every statement of a script: the complete ones and a final one that lacks
// its `;`.
std::vector<Statement> SplitStatements(std::string_view input);

}  // namespace dpql
