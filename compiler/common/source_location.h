#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace dpql {

// A position in the query text. Lines and columns are 1-based (column counts
// characters, not bytes); offset/length are byte positions used to draw carets.
struct SourceLocation {
  uint32_t line = 0;
  uint32_t column = 0;
  uint32_t offset = 0;
  uint32_t length = 0;

  bool Known() const { return line > 0; }
};

// Renders "line:column", the source line, and a caret under the located text:
//   2:8: error: unknown column "agee"
//   SELECT agee FROM admissions;
//          ^~~~
std::string FormatCaret(std::string_view source, const SourceLocation& loc);

}  // namespace dpql
