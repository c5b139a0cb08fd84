#include "repl/statements.h"

namespace dpql {
namespace {

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

// Trims `piece` (which starts at `line`) and returns it with the line of its
// first non-space character.
Statement MakeStatement(std::string_view piece, int line) {
  size_t begin = 0;
  while (begin < piece.size() && IsSpace(piece[begin])) {
    if (piece[begin] == '\n') ++line;
    ++begin;
  }
  size_t end = piece.size();
  while (end > begin && IsSpace(piece[end - 1])) --end;
  return Statement{std::string(piece.substr(begin, end - begin)), line};
}

}  // namespace

StatementScan ScanStatements(std::string_view input) {
  StatementScan scan;
  size_t start = 0;    // where the current piece begins
  int start_line = 1;  // its line
  int line = 1;        // the line at position i
  bool has_content = false;
  size_t i = 0;
  while (i < input.size()) {
    char c = input[i];
    char next = i + 1 < input.size() ? input[i + 1] : '\0';
    if (c == '\n') {
      ++line;
      ++i;
    } else if (c == '-' && next == '-') {
      while (i < input.size() && input[i] != '\n') ++i;
    } else if (c == '/' && next == '*') {
      i += 2;
      while (i < input.size() && !(input[i] == '*' && i + 1 < input.size() && input[i + 1] == '/')) {
        if (input[i] == '\n') ++line;
        ++i;
      }
      i = i < input.size() ? i + 2 : i;
    } else if (c == '\'' || c == '"') {
      // A quoted literal or identifier; a doubled quote is an escaped quote.
      has_content = true;
      ++i;
      while (i < input.size()) {
        if (input[i] == c) {
          if (i + 1 < input.size() && input[i + 1] == c) {
            i += 2;
            continue;
          }
          break;
        }
        if (input[i] == '\n') ++line;
        ++i;
      }
      i = i < input.size() ? i + 1 : i;
    } else if (c == ';') {
      if (has_content) scan.complete.push_back(MakeStatement(input.substr(start, i - start), start_line));
      ++i;
      start = i;
      start_line = line;
      has_content = false;
    } else {
      if (!IsSpace(c)) has_content = true;
      ++i;
    }
  }
  scan.rest_has_content = has_content;
  if (has_content) scan.rest = MakeStatement(input.substr(start), start_line);
  return scan;
}

std::vector<Statement> SplitStatements(std::string_view input) {
  StatementScan scan = ScanStatements(input);
  if (scan.rest_has_content) scan.complete.push_back(scan.rest);
  return scan.complete;
}

}  // namespace dpql
