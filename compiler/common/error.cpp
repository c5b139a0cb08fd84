#include "compiler/common/error.h"

#include <algorithm>
#include <ostream>

namespace dpql {

namespace {

// Number of UTF-8 code points in s (continuation bytes are not counted).
size_t CodePoints(std::string_view s) {
  return static_cast<size_t>(std::count_if(
      s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

}  // namespace

std::string FormatCaret(std::string_view source, const SourceLocation& loc) {
  if (!loc.Known()) return {};
  size_t offset = std::min<size_t>(loc.offset, source.size());
  size_t newline = offset == 0 ? std::string_view::npos : source.rfind('\n', offset - 1);
  size_t line_start = newline == std::string_view::npos ? 0 : newline + 1;
  size_t line_end = source.find('\n', offset);
  if (line_end == std::string_view::npos) line_end = source.size();
  std::string_view line = source.substr(line_start, line_end - line_start);

  std::string out(line);
  out += '\n';
  // Tabs are kept so the caret lines up with the text above it.
  for (char c : source.substr(line_start, offset - line_start)) {
    if ((static_cast<unsigned char>(c) & 0xC0) == 0x80) continue;
    out += (c == '\t') ? '\t' : ' ';
  }
  out += '^';
  size_t underline_bytes = std::min<size_t>(loc.length, line_end - offset);
  size_t underline = CodePoints(source.substr(offset, underline_bytes));
  for (size_t i = 1; i < underline; ++i) out += '~';
  return out;
}

const char* ErrorKindName(ErrorKind kind) {
  switch (kind) {
    case ErrorKind::kSyntax: return "syntax_error";
    case ErrorKind::kSemantic: return "semantic_error";
    case ErrorKind::kPrivacy: return "privacy_error";
    case ErrorKind::kCatalog: return "catalog_error";
    case ErrorKind::kBudget: return "budget_exhausted";
    case ErrorKind::kAuth: return "unauthorized";
    case ErrorKind::kNotFound: return "not_found";
    case ErrorKind::kLimit: return "limit_exceeded";
    case ErrorKind::kRequest: return "request_error";
    case ErrorKind::kInternal: return "internal_error";
  }
  return "internal_error";
}

std::ostream& operator<<(std::ostream& out, ErrorCode code) { return out << Name(code); }

std::string FormatError(const DpqlError& error, std::string_view source) {
  const SourceLocation& loc = error.location();
  const std::string head = "error [" + std::string(Name(error.code())) + "]: " + error.what();
  if (!loc.Known()) return head;
  std::string out = std::to_string(loc.line) + ":" + std::to_string(loc.column) + ": " + head + "\n";
  out += FormatCaret(source, loc);
  return out;
}

}  // namespace dpql
